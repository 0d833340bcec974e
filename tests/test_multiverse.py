"""The multiverse (SPEC 6b, issue 17): per-member learning rates, checkpoints, the validation split,
the tuned choice, and the verdict per specification. Small generated data; float64 where a
comparison of trained weights must be exact."""

import numpy as np
import pandas as pd
import pytest
import torch

from gupta_stdp import config as cfgmod
from gupta_stdp.claims import specs
from gupta_stdp.data import PairData, holdout, load_iris_splits
from gupta_stdp.multiverse import SpecConfig, train_specs
from gupta_stdp.synthetic import pair_data
from gupta_stdp.train import TrainConfig, Trainer


def _task(n_train=120, n_test=40, n_in=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n_train + n_test, n_in, generator=g, dtype=torch.float64)
    y = (x[:, 0] + 0.3 * x[:, 1] > 0.65).double()
    return PairData(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def _one_step(rule: str, lrs: list[float], seeds=(0, 1), settings=None, variants=None, fused=False, steps=1):
    cfg = TrainConfig(rule=rule, epochs=1, batch_size=40, lrs=lrs, dtype=torch.float64, fused_adam=fused,
                      settings=settings or ({"impl": "reference"} if rule == "stdp" else {}), variants=variants or {})
    t = Trainer(_task(), list(seeds), cfg)
    for _, (xb, yb) in zip(range(steps), t.batches()):
        t.step(xb, yb)
    return t


@pytest.mark.parametrize("fused", [False, True], ids=["foreach", "fused"])
@pytest.mark.parametrize("rule", ["stdp", "bp", "fa"])
def test_per_member_learning_rate_equals_runs_alone(rule, fused):
    """A population with learning rates (a, b) is, member by member, the two runs trained alone at
    a and at b: float64, three steps, every weight and bias equal to the last bit, with either Adam
    (the multiverse uses the fused one). Fails if the rates share one Adam group (the population's
    first rate for all), or if a group's views are the wrong members' rows."""
    a, b = 3e-4, 3e-3
    both = _one_step(rule, [a, b], fused=fused, steps=3)  # three steps: Adam's state enters from the second
    assert [m.lr for m in both.members] == [a, a, b, b]
    for k, lr in enumerate((a, b)):
        alone = _one_step(rule, [lr], fused=fused, steps=3)
        for layer_pop, layer_alone in zip(both.params, alone.params):
            for name in ("weight", "bias"):
                assert torch.equal(layer_pop[name][2 * k : 2 * k + 2], layer_alone[name]), (rule, lr, name)
    # and the two rates differ: a step at b moved the weights further than a step at a
    w0 = _one_step(rule, [a, b]).params[0]["weight"]
    moved = [(w0[i] - Trainer(_task(), [0, 1], TrainConfig(rule=rule, epochs=1, batch_size=40, dtype=torch.float64,
             settings={"impl": "reference"} if rule == "stdp" else {})).params[0]["weight"][i % 2]).abs().max()
             for i in range(4)]
    assert moved[2] > 2 * moved[0] and moved[3] > 2 * moved[1]


@pytest.mark.parametrize("fused", [False, True], ids=["foreach", "fused"])
@pytest.mark.parametrize("rule", ["stdp", "bp", "fa", "dfa", "sign"])
def test_first_adam_step_of_each_rate_is_lr_times_the_sign_of_its_gradient(rule, fused):
    """Adam's first step is -lr g / (|g| + 1e-8) elementwise, for each group's own rate and the
    gradient the rule handed it. PyTorch's fused CPU Adam once mishandled BP's non-contiguous
    gradients (README, Performance): this fails if it does so here."""
    a, b = 3e-4, 3e-3
    before = _one_step(rule, [a, b], fused=fused, steps=0)
    after = _one_step(rule, [a, b], fused=fused)
    for group, lr in zip(after.optimizer.param_groups, (a, b)):
        blk = group["block"]
        olds = [t[blk] for layer in before.params for t in (layer["weight"], layer["bias"])]
        for new, old in zip(group["params"], olds):
            g = new.grad
            assert g is not None
            torch.testing.assert_close(new, old - lr * g / (g.abs() + 1e-8), rtol=0, atol=1e-12)


def test_one_learning_rate_keeps_the_default_trainer():
    """Without ``lrs`` the trainer is the one of the main run: one Adam group over the whole tensors."""
    t = _one_step("stdp", None)
    groups = t.optimizer.param_groups
    assert len(groups) == 1 and groups[0]["lr"] == 1e-3
    assert all(p.data_ptr() == q.data_ptr() and p.shape == q.shape for p, q in zip(groups[0]["params"], t.trained))


def test_members_of_one_rate_must_be_contiguous():
    """Adam's groups are views of contiguous blocks: a population that interleaves rates is refused."""
    from gupta_stdp.rules.base import Member

    class Interleaved(TrainConfig):
        def members(self, seeds):
            return [Member(self.rule, s, {}, lr) for s in seeds for lr in (1e-3, 3e-3)]

    with pytest.raises(ValueError, match="contiguous"):
        Trainer(_task(), [0, 1], Interleaved(rule="bp", epochs=1, batch_size=40, lrs=[1e-3, 3e-3]))


@pytest.mark.parametrize("rule", ["stdp", "bp"])
def test_checkpoint_k_equals_a_run_of_k_epochs(rule):
    """Checkpoint 2 of a 4-epoch run holds the weights and scores of a 2-epoch run of the same seeds,
    and the weights of the main run's training loop after 2 epochs (float64). Fails if a checkpoint
    aliases the live weights (later epochs would overwrite it)."""
    data = _task()
    fit, xv, yv = holdout(data, 0.2, [0, 1], split_seed=0)
    kw = dict(rule=rule, epochs=0, batch_size=30, lrs=[1e-3, 3e-3], dtype=torch.float64,
              settings={"impl": "reference"} if rule == "stdp" else {},
              biases=["presynaptic_one", "frozen"] if rule == "stdp" else [])
    long = train_specs(fit, xv, yv, [0, 1], SpecConfig(checkpoints=[2, 4], **kw))
    short = train_specs(fit, xv, yv, [0, 1], SpecConfig(checkpoints=[2], **kw))
    plain = Trainer(fit, [0, 1], SpecConfig(checkpoints=[2], **{**kw, "epochs": 2})).run()  # the main run's loop
    for a, b, c in zip(long.checkpoints[2], short.checkpoints[2], plain.params):
        for name in ("weight", "bias"):
            assert torch.equal(a[name], b[name]) and torch.equal(a[name], c[name])
    assert not torch.equal(long.checkpoints[2][0]["weight"], long.checkpoints[4][0]["weight"])
    rows = pd.DataFrame(long.rows)
    pd.testing.assert_frame_equal(rows[rows.epochs == 2].reset_index(drop=True), pd.DataFrame(short.rows))
    assert set(rows.split) == {"val", "test"}


@pytest.mark.parametrize("rule", ["stdp", "bp"])
def test_scores_are_each_members_own_on_its_seeds_splits(rule):
    """Each row's validation and test accuracy is that member's checkpoint scored on its own seed's
    splits (IRIS: a split per seed), computed here directly; the bias column is STDP's handling,
    "trained" for BP. Fails if a member is scored on another seed's points, or its numbers are NaN."""
    from gupta_stdp import model

    iris = load_iris_splits("1v2", [0, 1])
    fit, xv, yv = holdout(iris, 0.1, [0, 1])
    cfg = SpecConfig(rule=rule, epochs=0, batch_size=40, lrs=[1e-3, 3e-2], checkpoints=[3, 6],
                     settings={"impl": "reference"} if rule == "stdp" else {},
                     biases=["presynaptic_one", "frozen"] if rule == "stdp" else [])
    res = train_specs(fit, xv, yv, [0, 1], cfg)
    rows = pd.DataFrame(res.rows)
    assert rows.accuracy.between(0, 1).all() and not rows.diverged.any()
    assert set(rows.bias) == ({"presynaptic_one", "frozen"} if rule == "stdp" else {"trained"})
    for epoch, params in res.checkpoints.items():
        for i, m in enumerate(res.members):
            s = [0, 1].index(m.seed)
            one = model.select_seeds(params, slice(i, i + 1))
            for split, (x, y) in (("val", (xv[s], yv[s])), ("test", (fit.x_test[s], fit.y_test[s]))):
                acc = ((model.output_logit(one, x)[0] >= 0).float() == y).float().mean().item()
                got = rows[(rows.epochs == epoch) & (rows.split == split) & (rows.seed == m.seed) & (rows.lr == m.lr)
                           & (rows.bias == (m.settings.get("bias", "presynaptic_one") if rule == "stdp" else "trained"))]
                assert len(got) == 1 and got.accuracy.iloc[0] == pytest.approx(acc), (epoch, split, m)
    with pytest.raises(ValueError, match="checkpoints"):
        train_specs(fit, xv, yv, [0, 1], SpecConfig(rule="bp", epochs=0, batch_size=40, checkpoints=[0, 2]))


def test_stdp_population_holds_every_rate_and_bias():
    """One STDP population: seeds x rates x bias handlings, each member its own bias handling."""
    fit, xv, yv = holdout(_task(), 0.2, [0, 1], split_seed=0)
    res = train_specs(fit, xv, yv, [0, 1], SpecConfig(rule="stdp", epochs=0, batch_size=30, lrs=[1e-3, 3e-3],
                                                      settings={"impl": "reference"}, checkpoints=[1],
                                                      biases=["presynaptic_one", "frozen"]))
    rows = pd.DataFrame(res.rows)
    assert len(res.members) == 8
    assert rows.groupby(["lr", "bias", "seed", "split"]).size().eq(1).all() and len(rows) == 16
    # frozen biases do not move; presynaptic_one biases do
    init = Trainer(fit, [0, 1], TrainConfig(rule="stdp", epochs=1, batch_size=30)).params
    frozen = [i for i, m in enumerate(res.members) if m.settings["bias"] == "frozen"]
    moving = [i for i, m in enumerate(res.members) if m.settings["bias"] == "presynaptic_one"]
    b = res.checkpoints[1][0]["bias"]
    assert torch.allclose(b[frozen].double(), init[0]["bias"][[res.members[i].seed for i in frozen]].double())
    assert not torch.allclose(b[moving].double(), init[0]["bias"][[res.members[i].seed for i in moving]].double())


def test_validation_split_never_meets_the_test_split():
    """The validation points come from the training split only, never from the test split; they and
    the remaining training points partition the training split; the share is stratified. Shared
    split (MNIST-size) and per-seed splits (IRIS). Fails if the holdout draws from x_test."""
    data = pair_data(400, 100, seed=3)
    fit, xv, yv = holdout(data, 0.1, [0, 1, 2], split_seed=0)
    rows = lambda x: {tuple(r) for r in x.tolist()}  # noqa: E731 - generated rows are distinct
    assert not rows(xv) & rows(data.x_test)
    assert not rows(xv) & rows(fit.x_train)
    assert rows(xv) | rows(fit.x_train) == rows(data.x_train)
    assert len(yv) == 40 and torch.equal(fit.x_test, data.x_test)
    assert abs(yv.mean().item() - data.y_train.mean().item()) < 0.03  # stratified
    iris = load_iris_splits("1v2", [0, 1])
    fit, xv, yv = holdout(iris, 0.1, [0, 1])
    assert xv.shape[:2] == (2, 8) and fit.x_train.shape[:2] == (2, 72)
    assert (yv.sum(dim=1) == 4).all()  # 4 of each class, per seed
    def rows_sorted(x):
        return sorted(map(tuple, x.tolist()))

    for s in range(2):  # per seed: validation + rest = that seed's training split, as multisets of rows
        assert rows_sorted(torch.cat([xv[s], fit.x_train[s]])) == rows_sorted(iris.x_train[s])
    assert torch.equal(fit.x_test, iris.x_test)  # the test splits untouched
    assert not torch.equal(xv[0], xv[1])  # drawn per seed


def test_validation_share_too_small_is_refused():
    from gupta_stdp.data import DataError

    with pytest.raises(DataError, match="multiverse.validation"):
        holdout(pair_data(12, 10, seed=0), 0.05, [0])


# ---------------------------------------------------------------- verdicts on a synthetic table
GRID = {"iris": {"epochs": [5, 10], "batch_size": [40]}, "mnist": {"epochs": [1, 2], "batch_size": [50, 100]}}
PAIRS = [("iris", "0v1"), ("mnist", "0v1"), ("mnist", "0v2")]


def _params(**extra):
    config = cfgmod.load(None, seeds=[0, 1, 2, 3, 4, 5],
                         datasets={"iris": {"pairs": ["0v1"], "epochs": 10, "batch_size": 40},
                                   "mnist": {"pairs": ["0v1", "0v2"], "epochs": 2, "batch_size": 100}},
                         multiverse={"enabled": True, "lr": [1e-3, 3e-3], "datasets": GRID})
    return {**cfgmod.spec_claims_params(config), **extra}


def synthetic_specs(value, seeds=range(6), fa=False) -> pd.DataFrame:
    """A specifications table: ``value(method, dataset, lr, batch_size, epochs, bias, split, attack, seed)``
    gives each accuracy."""
    rows = []
    for dataset, pair in PAIRS:
        g = GRID[dataset]
        methods = [("stdp", ["presynaptic_one", "frozen"]), ("bp", ["trained"])] + ([("fa", ["trained"])] if fa else [])
        for method, biases in methods:
            for lr in (1e-3, 3e-3):
                for b in g["batch_size"]:
                    for e in g["epochs"]:
                        for bias in biases:
                            for seed in seeds:
                                for split, attack, eps in (("val", "clean", 0), ("test", "clean", 0),
                                                           ("test", "fgsm", 8 / 255), ("test", "worst", 8 / 255)):
                                    if split == "test" or attack == "clean":
                                        rows.append({"dataset": dataset, "pair": pair, "method": method, "seed": seed,
                                                     "lr": lr, "batch_size": b, "epochs": e, "bias": bias,
                                                     "split": split, "attack": attack, "eps": eps,
                                                     "accuracy": value(method, dataset, lr, b, e, bias, split, attack,
                                                                       seed)})
    return pd.DataFrame(rows)


def _jitter(seed):
    return 0.002 * ((seed * 7919) % 5 - 2)


def test_verdict_counts_per_specification():
    """C2 on FGSM: STDP wins by 0.1 at lr 3e-3 and loses by 0.1 at lr 1e-3, on every pair; so of the
    2 x 2 x 2 x 2 = 16 specifications (levels of batch and epochs across data sets), 8 are supported
    and 8 not supported. C1 (clean accuracy): STDP is 0.2 below BP with frozen biases (not
    supported) and equal to it otherwise (supported). Fails if BP's rows are not paired with both
    bias handlings, if the data sets' levels are not aligned, or if a verdict is inverted."""
    def value(method, dataset, lr, b, e, bias, split, attack, seed):
        base = 0.8 + _jitter(seed)
        if method == "bp":
            return base
        if attack == "fgsm":
            return base + (0.1 if lr == 3e-3 else -0.1)
        return base - (0.2 if bias == "frozen" else 0.0) + 0.001 * (seed % 2)

    table = synthetic_specs(value)
    out = specs.per_specification(table, _params())
    c2 = out[(out.claim == "C2") & (out.reading == "fgsm")]
    assert len(c2) == 16 and set(c2.n_pairs) == {3}
    assert (c2[c2.lr == 3e-3].verdict == "supported").all() and (c2[c2.lr == 1e-3].verdict == "not supported").all()
    assert set(c2.batch_size) == {"40/50", "40/100"} and set(c2.epochs) == {"5/1", "10/2"}
    c1 = out[out.claim == "C1"]
    assert (c1[c1.bias == "frozen"].verdict == "not supported").all()
    assert (c1[c1.bias == "presynaptic_one"].verdict == "supported").all()
    assert set(c2.method) == {"stdp"} and set(c2.level_datasets) == {"iris/mnist"}
    assert sorted(set(zip(c2.batch_level, c2.batch_size))) == [(0, "40/50"), (1, "40/100")]
    assert sorted(set(zip(c2.epochs_level, c2.epochs))) == [(0, "5/1"), (1, "10/2")]
    c1p = c1[c1.bias == "presynaptic_one"]  # a spread over seeds: a real interval around the mean
    assert (c1p.ci_low < c1p.mean_diff).all() and (c1p.mean_diff < c1p.ci_high).all() and (c1p.n_seeds == 6).all()
    # the order of the rows changes nothing (MNIST's rows first: IRIS's one batch size is repeated per level)
    again = specs.per_specification(table.iloc[::-1].reset_index(drop=True), _params())
    key = ["claim", "reading", "lr", "batch_level", "epochs_level", "bias"]
    a, b = (d.sort_values(key).reset_index(drop=True) for d in (out, again))
    pd.testing.assert_series_equal(a.verdict, b.verdict)
    assert (b.n_pairs == 3).all()
    summary = specs.summarise(out).set_index(["claim", "reading"])
    assert summary.loc[("C2", "fgsm"), ["specs_total", "specs_supported", "specs_not_supported"]].tolist() == [16, 8, 8]
    # no paper pair: nothing to judge, no pooled difference
    none = specs.per_specification(table, _params(paper_pairs={}))
    assert set(none.verdict) == {"inconclusive"} and (none.n_pairs == 0).all() and (none.n_seeds == 0).all()
    assert none.mean_diff.isna().all() and none.ci_low.isna().all() and none.ci_high.isna().all()
    assert summary.loc[("C1", "accuracy"), ["specs_supported", "specs_not_supported"]].tolist() == [8, 8]
    # the pooled difference and its interval: +0.1 at 3e-3 (no spread: the jitter is BP's and STDP's alike)
    assert np.allclose(c2[c2.lr == 3e-3].mean_diff, 0.1)


def test_a_diverged_seed_is_counted_not_hidden():
    """A member with no number (diverged: NaN) leaves its seed out of that pair, counted in n_excluded."""
    def value(method, dataset, lr, b, e, bias, split, attack, seed):
        if method == "stdp" and seed == 0 and lr == 3e-3 and dataset == "iris":
            return np.nan
        return 0.8 + _jitter(seed) + (0.1 if method == "stdp" and attack != "clean" else 0)

    out = specs.per_specification(synthetic_specs(value), _params())
    c2 = out[(out.claim == "C2") & (out.reading == "fgsm")]
    assert (c2[c2.lr == 3e-3].n_excluded == 1).all() and (c2[c2.lr == 1e-3].n_excluded == 0).all()
    # the pooled interval leaves that seed out too (it has no number on one pair), as every claim does
    assert (c2[c2.lr == 3e-3].n_seeds == 5).all() and (c2[c2.lr == 1e-3].n_seeds == 6).all()


def test_tuned_choice_reads_validation_only():
    """A planted setting (lr 3e-3, batch 100, 2 epochs) is the best on test and the worst on
    validation for STDP: the tuned choice never takes it; it takes the validation-best one (lr
    1e-3, batch 50, 1 epoch, frozen). Fails if the choice reads the test split."""
    planted = (3e-3, 100, 2, "presynaptic_one")
    best_val = (1e-3, 50, 1, "frozen")

    def value(method, dataset, lr, b, e, bias, split, attack, seed):
        key = (lr, b, e, bias)
        if method == "stdp" and dataset == "mnist":
            if key == planted:
                return 0.99 if split == "test" else 0.50
            if key == best_val:
                return 0.70 if split == "test" else 0.95
        return 0.80 + _jitter(seed)

    params = _params()
    table = synthetic_specs(value)
    choices = specs.tuned_choices(table, params["paper"])
    mine = choices[(choices.method == "stdp") & (choices.dataset == "mnist")]
    assert len(mine) == 2 * 6  # per pair and seed: each seed tunes on its own validation points
    for r in mine.itertuples():
        assert (r.lr, r.batch_size, r.epochs, r.bias) == best_val
        assert r.val_accuracy == pytest.approx(0.95) and r.test_accuracy == pytest.approx(0.70)
    # a tie goes to the paper's setting (lr 1e-3, the data set's batch size and epochs, presynaptic_one)
    bp = choices[(choices.method == "bp") & (choices.dataset == "mnist")]
    assert bp.paper_setting.all() and (bp.lr == 1e-3).all() and (bp.batch_size == 100).all() and (bp.epochs == 2).all()
    tuned = specs.tuned_verdicts(table, choices, params).set_index(["claim", "reading"])
    assert set(tuned.kind) == {"tuned"}
    # at its validation-best setting STDP is 0.1 below BP on test on both MNIST pairs: C1 is not
    # supported (it would be supported at the planted, test-best setting)
    assert tuned.loc[("C1", "accuracy"), "verdict"] == "not supported"
    assert tuned.loc[("C1", "accuracy"), "mean_diff"] == pytest.approx(-0.2 / 3, abs=0.002)  # BP: 0.8 + jitter


def test_claims_table_gains_the_multiverse_columns():
    """claims.csv: specs_total, specs_supported, specs_not_supported and verdict_tuned for C1 and C2
    (the headline reading unsuffixed, each reading suffixed); none for C3 and C4."""
    def value(method, dataset, lr, b, e, bias, split, attack, seed):
        return 0.8 + _jitter(seed) + (0.1 if method == "stdp" and attack == "fgsm" else 0)

    params = _params()
    table = synthetic_specs(value)
    verdicts = pd.concat([specs.per_specification(table, params),
                          specs.tuned_verdicts(table, specs.tuned_choices(table, params["paper"]), params)])
    claims = pd.DataFrame({"claim": ["C1", "C2", "C3", "C4"], "verdict": ["x"] * 4})
    out = specs.claim_columns(claims, verdicts)
    pd.testing.assert_frame_equal(out[claims.columns], claims)  # the main run's verdicts untouched
    out = out.set_index("claim")
    assert out.loc["C2", "specs_total"] == 16 and out.loc["C2", "specs_supported"] == 16
    assert out.loc["C2", "verdict_tuned"] == "supported" and out.loc["C2", "verdict_tuned_fgsm"] == "supported"
    assert out.loc["C2", "specs_supported_worst"] == 0
    assert out.loc["C1", "specs_total"] == 16
    assert pd.isna(out.loc["C3", "specs_total"]) and pd.isna(out.loc["C4", "verdict_tuned"])
    line = specs.sentence(specs.summarise(verdicts).set_index("reading").loc["fgsm"].to_dict() | {"claim": "C2"}, "FGSM")
    assert line.startswith("C2 on FGSM is supported in 16 of 16 specifications, not supported in 0")


def test_multiverse_config_errors():
    """The data sets' lists of a factor must be equally long (or hold one value); BP must run."""
    with pytest.raises(cfgmod.ConfigError, match="same length"):
        cfgmod.check(cfgmod.load(None, multiverse={"enabled": True, "datasets": {
            "mnist": {"epochs": [1, 2], "batch_size": [50]}, "iris": {"epochs": [1, 2, 3], "batch_size": [40]}}}))
    with pytest.raises(cfgmod.ConfigError, match="add bp"):
        cfgmod.check(cfgmod.load(None, methods=["stdp"], multiverse={"enabled": True}))
    cfgmod.check(cfgmod.load(None, multiverse={"enabled": True}))  # the defaults are fine
    with pytest.raises(cfgmod.ConfigError, match=r"fa not in methods"):  # nothing left to compare with BP
        cfgmod.check(cfgmod.load(None, multiverse={"enabled": True, "methods": ["fa", "bp"]}))
    # one list of one data set: every other list keeps its default (MNIST's too)
    one = cfgmod.load(None, multiverse={"enabled": True, "datasets": {"iris": {"epochs": [10, 20, 30]}}})
    assert cfgmod.multiverse_grid(one, "iris") == {"epochs": [10, 20, 30], "batch_size": [20, 40, 80]}
    assert cfgmod.multiverse_grid(one, "mnist") == {"epochs": [10, 30, 60], "batch_size": [50, 100, 200]}
    with pytest.raises(cfgmod.ConfigError, match="multiverse.methods: 'hebb'"):
        cfgmod.check(cfgmod.load(None, multiverse={"enabled": True, "methods": ["stdp", "bp", "hebb"]}))
    # every rule runs in the main grid; the multiverse trains the rules a claim compares
    every = cfgmod.load(None, methods=["stdp", "bp", "fa", "dfa", "sign"], multiverse={"enabled": True})
    assert cfgmod.multiverse_methods(every) == ["stdp", "bp", "fa"]


def test_report_section_names_diverged_specifications():
    """The report's section, from the verdicts and tuned choices: a specification that lost a seed is
    named with its level names (e.g. batch size "40/50") and counted; the tuned table summarises the
    seeds' choices; every sentence's numbers are the summary's."""
    from gupta_stdp import report

    def value(method, dataset, lr, b, e, bias, split, attack, seed):
        if method == "stdp" and seed == 0 and lr == 3e-3 and dataset == "iris":
            return np.nan
        return 0.8 + _jitter(seed) + (0.1 if method == "stdp" and attack != "clean" else 0)

    params = _params()
    table = synthetic_specs(value)
    choices = specs.tuned_choices(table, params["paper"])
    verdicts = pd.concat([specs.per_specification(table, params), specs.tuned_verdicts(table, choices, params)])
    config = cfgmod.load(None, datasets={"iris": {"pairs": ["0v1"], "epochs": 10, "batch_size": 40},
                                         "mnist": {"pairs": ["0v1", "0v2"], "epochs": 2, "batch_size": 100}},
                         multiverse={"enabled": True, "lr": [1e-3, 3e-3], "datasets": GRID})
    claims = specs.claim_columns(pd.DataFrame({"claim": ["C1", "C2"], "verdict_accuracy": ["supported"] * 2,
                                               "verdict_fgsm": [np.nan, "supported"]}), verdicts)
    sec = report.multiverse_section({"spec_verdicts": verdicts, "spec_tuned": choices, "claims": claims}, config,
                                    {"specification_curve": "x.png"})
    assert "lr 0.003, batch size 40/50" in sec["diverged"] and "left out" in sec["diverged"]
    assert sec["figure"] == "x.png" and "chosen (seeds)" in sec["tuned"]
    summary = specs.summarise(verdicts).set_index(["claim", "reading"])
    c2 = summary.loc[("C2", "fgsm")]
    assert any(f"supported in {c2.specs_supported} of {c2.specs_total}" in t for t in sec["sentences"])
    assert sec["n_choices"] == len(choices) == 3 * 2 * 6


def test_c5_gets_its_specifications_when_fa_runs():
    """C5 (FA against BP, no bias factor): 2 x 2 x 2 = 8 specifications, judged by C2's rule; FA
    wins under the worst case by 0.1 everywhere, so all 8 are supported; without FA there is no C5."""
    def value(method, dataset, lr, b, e, bias, split, attack, seed):
        return 0.8 + _jitter(seed) + (0.1 if method == "fa" and attack == "worst" else 0)

    out = specs.per_specification(synthetic_specs(value, fa=True), _params())
    c5 = out[(out.claim == "C5") & (out.reading == "worst")]
    assert len(c5) == 8 and set(c5.bias) == {"trained"} and (c5.verdict == "supported").all()
    assert len(out[out.claim == "C2"]) == 2 * 16  # STDP's comparisons unchanged by FA's presence
    assert "C5" not in set(specs.per_specification(synthetic_specs(value), _params()).claim)
