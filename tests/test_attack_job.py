"""The attack stage's bookkeeping: which examples go to which model, the worst case, the
per-example file, and the sanity checks read from them."""

import numpy as np
import pandas as pd
import pytest
import torch

from gupta_stdp import attacks, config as cfgmod, examples, model, sanity
from gupta_stdp.data import PairData
from gupta_stdp.jobs import attack as job


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attack")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(60, 16, generator=g)
    y = (torch.arange(60) % 2).float()
    bp = model.init_params([10, 11], n_in=16)
    for layer in bp:
        layer["weight"].mul_(3)
    stdp = model.init_params([10, 11, 10, 11], n_in=16)  # stdp seeds 10, 11, then stdp-frozen seeds 10, 11
    files = []
    for rule, params, members in (("bp", bp, [["bp", 10], ["bp", 11]]),
                                  ("stdp", stdp, [["stdp", 10], ["stdp", 11], ["stdp-frozen", 10], ["stdp-frozen", 11]])):
        files.append(str(tmp / f"{rule}.pt"))
        torch.save({"rule": rule, "members": members, "params": params, "state": {}}, files[-1])
    config = cfgmod.load(None, seeds=[10, 11], attacks={
        "fgsm": {"eps": [8]}, "sweep": {"eps": [8, 64]}, "pgd": {"steps": 3, "restarts": 1, "check": {"n_points": 20}},
        "decision": {"n_samples": 10, "max_iter": 20, "eps": [8]}})
    params = cfgmod.attack_params(config, "mnist")
    out = {k: tmp / f"{k}.{ext}" for k, ext in (("attacks", "csv"), ("diagnostics", "csv"), ("examples", "npz"))}
    mp = pytest.MonkeyPatch()
    mp.setattr(job, "load_pair", lambda *a, **k: PairData(x, y, x, y))
    table = job.run_attacks(params, "mnist", "0v1", files, out, {"device": "cpu", "root": str(tmp)})
    mp.undo()
    models = {"bp": bp, "stdp": model.select_seeds(stdp, slice(0, 2)), "stdp-frozen": model.select_seeds(stdp, slice(2, 4))}
    return table, models, x, y, out


def _acc(table, method, attack, eps_255):
    sel = table[(table.method == method) & (table.attack == attack) & np.isclose(table.eps, eps_255 / 255)]
    return sel.sort_values("seed").accuracy.tolist()


def test_transfer_examples_come_from_the_surrogate_of_the_same_seed(run):
    table, models, x, y, _ = run
    t = table[table.attack.str.startswith("transfer")]
    assert set(t[t.method != "bp"].source) == {"bp"} and set(t[t.method == "bp"].source) == {"stdp"}
    grad = attacks.input_gradient(models["bp"], x, y, "margin")
    adv = attacks.fgsm(models["bp"], x, y, 8 / 255, loss="margin", grad=grad)
    for target in ("stdp", "stdp-frozen"):
        expected = attacks.correct(models[target], adv, y).float().mean(dim=1).tolist()
        assert _acc(table, target, "transfer_fgsm", 8) == pytest.approx(expected)
    assert not (table.attack.str.startswith("transfer") & (table.method == table.source)).any()


def test_variants_are_attacked_at_the_paper_eps_only(run):
    table = run[0]
    assert set(table[(table.method == "stdp-frozen") & (table.eps > 0)].eps.round(6)) == {round(8 / 255, 6)}
    assert set(table[(table.method == "stdp") & (table.eps > 0)].eps.round(6)) == {round(8 / 255, 6), round(64 / 255, 6)}


def test_worst_case_is_no_better_than_any_attack(run):
    table = run[0]
    for (method, seed, eps), g in table[table.eps > 0].groupby(["method", "seed", "eps"]):
        full = g[g.n_points == g.n_points.max()]
        worst = full[full.attack == "worst"].accuracy.iloc[0]
        clean = table[(table.method == method) & (table.seed == seed) & (table.attack == "clean")].accuracy.iloc[0]
        assert worst <= full[full.attack != "worst"].accuracy.min() + 1e-12 and worst <= clean


def test_examples_file_round_trip_and_subsets(run):
    table, _, _, _, out = run
    ex = examples.read(out["examples"])
    assert len(ex) == len(table) and all(len(c) == 60 for c in ex.correct)
    sq = ex[ex.attack == "square"]
    assert all((c >= 0).sum() == 10 for c in sq.correct)  # a subset: -1 elsewhere
    merged = ex.merge(table.assign(eps_255=(table.eps * 255).round(6)), on=["method", "seed", "attack", "source"])
    merged = merged[np.isclose(merged.eps_255_x, merged.eps_255_y)]
    for row in merged.itertuples():
        seen = row.correct >= 0
        assert row.accuracy == pytest.approx((row.correct[seen] == 1).mean()) and row.n_points == seen.sum()


def test_sanity_checks_from_the_job_outputs(run):
    table, _, _, _, out = run
    checks = sanity.from_tables(table.assign(dataset="mnist", pair="0v1"), {("mnist", "0v1"): examples.read(out["examples"])})
    assert set(checks.check) == set(sanity.CHECKS)
    assert set(checks.method) == {"bp", "stdp", "stdp-frozen"}
    assert checks.value.notna().all() and checks.passed.isin([True, False]).all()


def test_sanity_checks_catch_constructed_failures():
    """Tables built so that each check fails once: PGD weaker than FGSM, accuracy 0.5 at the largest
    eps, transfer stronger than white-box, noise stronger than PGD."""
    rows = []
    for attack, eps, acc in (("fgsm", 8, 0.6), ("fgsm_margin", 8, 0.6), ("fgsm_margin", 64, 0.1), ("pgd", 8, 0.7),
                             ("pgd", 64, 0.5), ("transfer_pgd", 8, 0.4), ("transfer_fgsm", 8, 0.9), ("noise", 8, 0.65),
                             ("noise", 64, 0.6)):
        rows.append({"dataset": "mnist", "pair": "0v1", "method": "stdp", "seed": 0, "attack": attack,
                     "eps": eps / 255, "accuracy": acc, "n_points": 10, "source": "stdp"})
    checks = sanity.from_tables(pd.DataFrame(rows), {}).set_index("check")
    assert not checks.loc["pgd_ge_fgsm", "passed"] and checks.loc["pgd_ge_fgsm", "value"] == pytest.approx(0.4)  # 64/255: 0.5 vs 0.1
    assert not checks.loc["zero_at_largest_eps", "passed"] and checks.loc["zero_at_largest_eps", "value"] == 0.5
    assert not checks.loc["transfer_le_whitebox", "passed"]
    assert not checks.loc["noise_le_pgd", "passed"]
    ok = pd.DataFrame(rows).assign(accuracy=lambda d: np.where(d.attack == "pgd", 0.0, d.accuracy))
    good = sanity.from_tables(ok, {}).set_index("check")
    assert good.passed.all()
