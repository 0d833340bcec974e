"""The attack stage's bookkeeping: which examples go to which model, one point set per attack,
the worst case, diverged members, the per-example file, and the sanity checks read from them."""

import numpy as np
import pandas as pd
import pytest
import torch

from gupta_stdp import claims, config as cfgmod, derived, examples, model, sanity
from gupta_stdp.data import PairData
from gupta_stdp.examples import BROKEN, NO_RESULT, OUTSIDE, SKIPPED, SURVIVED
from gupta_stdp.jobs import attack as job
from gupta_stdp.jobs import square as square_job

X = torch.rand(60, 16, generator=torch.Generator().manual_seed(0))
Y = (torch.arange(60) % 2).float()
ATTACKS = {"fgsm": {"eps": [8]}, "sweep": {"eps": [4, 8, 64]}, "pgd": {"steps": 3, "restarts": 1, "check": {"n_points": 40}},
           "square": {"n_points": 20, "max_iter": 20, "eps": [8]}}


def make_run(tmp, rules=("bp", "stdp"), poison=None):
    """Model files of ``rules`` (stdp with its variant stdp-frozen) for seeds 10, 11, attacked by
    the job; ``poison``: (method, seed index) whose weights are made NaN (a diverged member)."""
    files, models = [], {}
    for rule in rules:
        labels = [rule, "stdp-frozen"] if rule == "stdp" else [rule]
        params = model.init_params([10, 11] * len(labels), n_in=16)
        for layer in params:
            layer["weight"].mul_(3 if rule == "bp" else 2)
        members = [[lab, s] for lab in labels for s in (10, 11)]
        for k, lab in enumerate(labels):
            models[lab] = model.select_seeds(params, slice(2 * k, 2 * k + 2))
        if poison and poison[0] in labels:
            k = labels.index(poison[0]) * 2 + poison[1]
            params[1]["weight"][k] = float("nan")
        files.append(str(tmp / f"{rule}.pt"))
        torch.save({"rule": rule, "members": members, "params": params, "state": {}}, files[-1])
    config = cfgmod.load(None, seeds=[10, 11], methods=list(rules), attacks=ATTACKS)
    out = {"examples": tmp / "examples.npz", "diagnostics": tmp / "diagnostics.csv", "square": tmp / "square.npz"}
    mp = pytest.MonkeyPatch()
    mp.setattr(job, "load_pair", lambda *a, **k: PairData(X, Y, X, Y))
    runtime = {"device": "cpu", "root": str(tmp)}
    job.run_attacks(cfgmod.attack_params(config, "mnist"), "mnist", "0v1", files, out, runtime)
    square_job.run_square(cfgmod.square_params(config, "mnist"), "mnist", "0v1", files, out["examples"], {"examples": out["square"]},
                   runtime)
    mp.undo()
    ex = pd.concat([examples.read(out["examples"]), examples.read(out["square"])], ignore_index=True)
    return ex, derived.attack_table(ex, "mnist", "0v1"), models, out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("attack"))


def _acc(table, method, attack, eps_255, source=None):
    sel = table[(table.method == method) & (table.attack == attack) & np.isclose(table.eps, eps_255 / 255)]
    if source is not None:
        sel = sel[sel.source == source]
    return sel.sort_values("seed").accuracy.tolist()


def test_transfer_examples_come_from_the_partner_of_the_same_seed(run):
    from gupta_stdp import attacks

    ex, table, models, _ = run
    t = table[table.attack.str.startswith("transfer")]
    assert set(t[t.method != "bp"].source) == {"bp"} and set(t[t.method == "bp"].source) == {"stdp"}
    grad = attacks.input_gradient(models["bp"], X, Y, "margin")
    adv = attacks.fgsm(models["bp"], X, Y, 8 / 255, loss="margin", grad=grad)
    for target in ("stdp", "stdp-frozen"):
        expected = attacks.correct(models[target], adv, Y).float().mean(dim=1).tolist()
        assert _acc(table, target, "transfer_fgsm", 8) == pytest.approx(expected)
    assert not (t.method == t.source).any()


def test_transfer_is_symmetric_for_every_rule(tmp_path):
    """C5's comparison is attacked like C2's: FA meets BP's examples and BP meets FA's (besides
    STDP's), so BP has one worst case per partner rule. (Mutation: BP's partner fixed to STDP, as
    before, leaves no transfer from FA and fails this.)"""
    ex, table, _, _ = make_run(tmp_path, rules=("bp", "stdp", "fa"))
    bp = table[(table.method == "bp") & table.attack.isin(["transfer_pgd", "worst", "pgd_or_transfer"])]
    assert set(bp.source) == {"stdp", "fa"}
    assert set(table[(table.method == "fa") & (table.attack == "transfer_pgd")].source) == {"bp"}
    assert "stdp-frozen" not in set(bp.source)  # variants are targets, never BP's partner


def test_variants_are_attacked_up_to_the_paper_eps(run):
    """The rules meet the whole plan; STDP's ablation variants every eps up to the paper's largest, so
    that their worst case at the paper's eps carries the same smaller eps as BP's."""
    table = run[1]
    eps = lambda m: set((table[(table.method == m) & (table.eps > 0)].eps * 255).round(6))  # noqa: E731
    assert eps("stdp-frozen") == {4, 8} and eps("stdp") == eps("bp") == {4, 8, 64}


def test_every_full_set_attack_saw_every_point_and_the_cascade_only_skips_broken_points(run):
    ex = run[0]
    derived.check_coverage(ex)  # raises otherwise
    full = ex[ex.attack.isin(derived.FULL_SET)]
    assert all(((c != OUTSIDE) & (c != SKIPPED)).all() for c in full.correct)
    for attack, n in (("square", 20), ("pgd_2x", 40)):
        rows = ex[ex.attack == attack]
        assert len(rows) and all((c != OUTSIDE).sum() == n for c in rows.correct)
    # the subsets nest: Square's points are among the convergence run's
    sq, p2 = ex[ex.attack == "square"].correct.iloc[0], ex[ex.attack == "pgd_2x"].correct.iloc[0]
    assert ((sq == OUTSIDE) | (p2 != OUTSIDE)).all()


def test_a_point_an_attack_never_saw_is_not_counted_as_surviving(run):
    """Mutation of the cascade: mark a point that no earlier attack broke as SKIPPED by Square. The
    old worst case counted such a point as robust; the coverage check now refuses the file."""
    ex = run[0].copy()
    i = next(i for i, r in enumerate(ex.itertuples()) if r.attack == "square" and (r.correct == SURVIVED).any())
    c = ex.correct.iloc[i].copy()
    c[np.flatnonzero(c == SURVIVED)[0]] = SKIPPED
    ex.at[ex.index[i], "correct"] = c
    with pytest.raises(derived.CoverageError, match="skipped points that no earlier attack"):
        derived.with_derived(ex)
    ex = run[0].copy()
    c = ex.correct.iloc[0].copy()
    c[0] = OUTSIDE
    ex.at[ex.index[0], "correct"] = c
    with pytest.raises(derived.CoverageError, match="did not see every test point"):
        derived.with_derived(ex)


def test_worst_is_no_better_than_any_attack_on_the_same_points(run):
    """Per model, eps and partner: worst <= every full-set attack and clean; worst_subset <= every
    attack on the subset, the subset attacks included (a SKIPPED point counts as broken)."""
    ex = run[0]
    rows = derived.with_derived(ex)
    for (method, seed), g in rows.groupby(["method", "seed"]):
        clean = g[g.attack == "clean"].correct.iloc[0] == SURVIVED
        for w in g[g.attack.isin(["worst", "worst_subset"])].itertuples():
            ok = w.correct == SURVIVED
            pts = w.correct != OUTSIDE
            assert not (ok & ~clean).any()
            for a in g[np.isclose(g.eps_255, w.eps_255) & (g.attack != "clean")].itertuples():
                if a.attack in derived.TRANSFER + ("pgd_or_transfer",) and a.source != w.source:
                    continue
                if a.attack in derived.SUBSET_CASCADE and w.attack == "worst":
                    continue
                seen = pts & (a.correct != OUTSIDE)
                assert (ok[seen] <= (a.correct[seen] == SURVIVED)).all(), (method, seed, w.attack, a.attack)


def test_a_point_broken_at_one_eps_is_broken_at_every_larger_eps(run):
    rows = derived.with_derived(run[0])
    for (method, seed, source), g in rows[rows.attack == "worst"].groupby(["method", "seed", "source"]):
        g = g.sort_values("eps_255")
        ok = np.stack([c == SURVIVED for c in g.correct])
        assert (ok[1:] <= ok[:-1]).all(), (method, seed)  # a point robust at a larger eps is robust at smaller
    table = run[1]
    w = table[table.attack == "worst"].sort_values("eps")
    assert (w.groupby(["method", "seed", "source"]).accuracy.diff().dropna() <= 0).all()


def test_examples_file_round_trip(run):
    ex, table, _, out = run
    assert all(len(c) == 60 for c in ex.correct)
    merged = table.merge(derived.with_derived(ex).assign(eps=lambda d: d.eps_255 / 255),
                         on=["method", "seed", "attack", "source"])
    merged = merged[np.isclose(merged.eps_x, merged.eps_y)]
    for row in merged.itertuples():
        seen = row.correct != OUTSIDE
        assert row.accuracy == pytest.approx((row.correct[seen] == SURVIVED).mean()) and row.n_points == seen.sum()


def test_a_diverged_member_is_nan_everywhere(tmp_path):
    """NaN weights give NaN logits, which the paper's threshold reads as class 0 (accuracy ~0.5 under
    every attack). Now every result of the member, and every transfer result carried from it, is
    NO_RESULT: NaN in the attack table, in worst and in McNemar; the other seed is untouched."""
    ex, table, _, out = make_run(tmp_path, poison=("stdp", 1))
    stdp11 = table[(table.method == "stdp") & (table.seed == 11)]
    assert len(stdp11) and stdp11.accuracy.isna().all()
    assert table[(table.method == "stdp") & (table.seed == 10)].accuracy.notna().all()
    bp11 = table[(table.method == "bp") & (table.seed == 11)]
    carried = bp11.attack.isin(["transfer_fgsm", "transfer_pgd", "pgd_or_transfer", "worst", "worst_subset"])
    assert bp11[carried].accuracy.isna().all() and bp11[~carried].accuracy.notna().all()
    assert all((c == NO_RESULT).all() for c in ex[(ex.method == "stdp") & (ex.seed == 11)].correct)
    mc = claims.mcnemar_table({("mnist", "0v1"): ex}, 8, {"stdp": "stdp", "bp": "bp", "stdp-frozen": "stdp"})
    bad = mc[(mc.method == "stdp") & (mc.seed == 11)]
    assert len(bad) and bad.p_value.isna().all() and mc[(mc.method == "stdp") & (mc.seed == 10)].p_value.notna().all()
    diag = pd.read_csv(out["diagnostics"])
    assert diag[(diag.method == "stdp") & (diag.seed == 11)].drop(columns=["dataset", "pair", "method", "seed"]).isna().all().all()


def test_sanity_checks_from_the_job_outputs(run):
    ex, table, _, _ = run
    checks = sanity.from_tables(table, {("mnist", "0v1"): ex}, largest_eps=64)
    assert set(checks.check) == set(sanity.CHECKS)
    assert set(checks.method) == {"bp", "stdp", "stdp-frozen"}
    assert checks.value.notna().all()
    # the subset checks read what the cascade added: the share of its points each broke
    sq = checks[checks.check == "square_le_whitebox"].set_index(["method", "seed"]).value
    for r in ex[ex.attack == "square"].itertuples():
        assert sq[(r.method, r.seed)] >= (r.correct == BROKEN).sum() / (r.correct != OUTSIDE).sum() - 1e-12


def test_sanity_checks_catch_constructed_failures():
    """Tables built so that each check fails once: PGD weaker than FGSM, accuracy 0.5 at the largest
    eps, transfer stronger than white-box, noise stronger than PGD; Square and the doubled PGD
    breaking points the suite left. Then the same with every attack as strong as it should be."""
    rows = []
    for attack, eps, acc, src in (("fgsm", 8, 0.6, "stdp"), ("fgsm_margin", 8, 0.6, "stdp"), ("fgsm_margin", 64, 0.1, "stdp"),
                                  ("pgd", 8, 0.7, "stdp"), ("pgd", 64, 0.5, "stdp"), ("transfer_pgd", 8, 0.4, "bp"),
                                  ("transfer_fgsm", 8, 0.9, "bp"), ("noise", 8, 0.65, "stdp"), ("noise", 64, 0.6, "stdp")):
        rows.append({"dataset": "mnist", "pair": "0v1", "method": "stdp", "seed": 0, "attack": attack,
                     "eps": eps / 255, "accuracy": acc, "n_points": 10, "points": "all", "source": src})
    code = np.array([BROKEN, BROKEN, SURVIVED, SKIPPED] + [OUTSIDE] * 6, dtype=np.int8)
    ex = pd.DataFrame([{"method": "stdp", "seed": 0, "attack": a, "eps_255": 8.0, "source": "stdp", "correct": code}
                       for a in ("square", "pgd_2x")])
    checks = sanity.from_tables(pd.DataFrame(rows), {("mnist", "0v1"): ex}, largest_eps=64).set_index("check")
    assert not checks.loc["pgd_ge_fgsm", "passed"] and checks.loc["pgd_ge_fgsm", "value"] == pytest.approx(0.4)
    assert not checks.loc["zero_at_largest_eps", "passed"] and checks.loc["zero_at_largest_eps", "value"] == 0.5
    assert not checks.loc["transfer_le_whitebox", "passed"]
    assert not checks.loc["noise_le_pgd", "passed"]
    assert not checks.loc["square_le_whitebox", "passed"] and checks.loc["square_le_whitebox", "value"] == 0.5
    assert not checks.loc["pgd_converged", "passed"]
    ok = pd.DataFrame(rows).assign(accuracy=lambda d: np.where(d.attack == "pgd", 0.0, d.accuracy))
    ok.loc[ok.attack.str.startswith("transfer"), "accuracy"] = 0.95
    fine = ex.assign(correct=[np.where(code == BROKEN, SURVIVED, code).astype(np.int8)] * 2)
    good = sanity.from_tables(ok, {("mnist", "0v1"): fine}, largest_eps=64).set_index("check")
    assert good.passed.all() and len(good) == len(sanity.CHECKS)
    none = sanity.from_tables(ok, {}, largest_eps=None)
    assert set(none.check) == {"pgd_ge_fgsm", "noise_le_pgd", "transfer_le_whitebox"}  # the others could not run


def test_the_worst_case_carries_a_break_to_every_larger_eps():
    """A point PGD breaks at 4/255 but not at 8/255 (a weaker iterate there) is broken in the worst
    case at 8/255 too: an example within the smaller ball lies within the larger. (Mutation: no carry
    leaves it robust at 8.)"""
    ok, broke = np.array([SURVIVED] * 3, dtype=np.int8), np.array([BROKEN, SURVIVED, SURVIVED], dtype=np.int8)
    rows = [("clean", 0.0, ok)] + [(a, e, broke if (a, e) == ("pgd", 4.0) else ok)
                                   for a in ("fgsm", "fgsm_margin", "noise", "pgd") for e in (4.0, 8.0)]
    ex = pd.DataFrame([{"method": "stdp", "seed": 0, "attack": a, "eps_255": e, "source": "stdp", "correct": c}
                       for a, e, c in rows])
    worst = derived.with_derived(ex).query("attack == 'worst'").set_index("eps_255").correct
    assert worst[4.0].tolist() == worst[8.0].tolist() == [BROKEN, SURVIVED, SURVIVED]
