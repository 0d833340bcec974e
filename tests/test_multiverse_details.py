"""Details of the multiverse (SPEC 6b) that tests/test_multiverse.py leaves open: the rows and state
``train_specs`` hands on, a diverged member's row, the tie-breaking of the tuned choice, and the
bookkeeping of the verdict tables. Small generated data and synthetic specification tables."""

import logging
import math

import numpy as np
import pandas as pd
import pytest
import torch
from test_multiverse import _jitter, _params, _task, synthetic_specs

from gupta_stdp import multiverse
from gupta_stdp.claims import specs
from gupta_stdp.data import holdout
from gupta_stdp.multiverse import SpecConfig, bias_of, train_specs
from gupta_stdp.rules.base import Member
from gupta_stdp.train import Trainer

METRICS = {"accuracy", "auc", "mean_out_y0", "mean_out_y1"}


def _fit():
    return holdout(_task(), 0.2, [0, 1], split_seed=0)


def _cfg(rule="bp", **kw):
    base = {"rule": rule, "epochs": 0, "batch_size": 30, "lrs": [1e-3], "dtype": torch.float64, "fused_adam": False,
            "settings": {"impl": "reference"} if rule == "stdp" else {}, "checkpoints": [1]}
    return SpecConfig(**{**base, **kw})


# ---------------------------------------------------------------- train_specs


@pytest.mark.parametrize("rule", ["stdp", "fa"])
def test_rows_name_the_method_and_the_state_is_the_rules(rule):
    """Every row carries the member's method (the rule's name: the column spec_train writes), its
    seed, rate, bias, checkpoint and split, and nothing else but the metrics; the result's state is
    the rule's fixed tensors (STDP's z, FA's feedback matrices), equal to those of the same
    population built afresh. Mutations: the "method" key renamed, ``Member(None, ...)`` in
    ``SpecConfig.members``, and the state replaced by None; this test fails on each."""
    fit, xv, yv = _fit()
    cfg = _cfg(rule, lrs=[1e-3, 3e-3])
    res = train_specs(fit, xv, yv, [0, 1], cfg)
    assert len(res.rows) == 2 * 2 * 2  # rates x seeds x splits
    for r in res.rows:
        assert set(r) == {"method", "seed", "lr", "bias", "epochs", "split", "diverged", *METRICS}
        assert r["method"] == rule
    assert [m.method for m in res.members] == [rule] * 4
    fresh = Trainer(fit, [0, 1], _cfg(rule, lrs=[1e-3, 3e-3], epochs=1)).rule.state()
    assert res.state and set(res.state) == set(fresh)
    for k, v in fresh.items():
        assert torch.equal(res.state[k], v), k


def test_stdp_without_a_bias_list_is_labelled_by_its_real_handling():
    """An STDP population without ``biases`` runs the rule's own bias handling, presynaptic_one
    (its biases learn): its rows say "presynaptic_one" and its checkpoint equals that of a
    population that asks for presynaptic_one explicitly. ``bias_of`` is the label spec_train writes
    into the checkpoints too. Mutations: ``bias_of``'s default "presynaptic_one" replaced by None,
    "XX...XX", "PRESYNAPTIC_ONE" or dropped; this test fails on each."""
    fit, xv, yv = _fit()
    plain = train_specs(fit, xv, yv, [0, 1], _cfg("stdp", biases=[]))
    named = train_specs(fit, xv, yv, [0, 1], _cfg("stdp", biases=["presynaptic_one"]))
    assert {r["bias"] for r in plain.rows} == {"presynaptic_one"}
    assert plain.rows == named.rows
    for a, b in zip(plain.checkpoints[1], named.checkpoints[1]):
        assert torch.equal(a["weight"], b["weight"]) and torch.equal(a["bias"], b["bias"])
    assert bias_of(Member("stdp", 0, {}), "stdp") == "presynaptic_one"
    assert bias_of(Member("stdp", 0, {"bias": "frozen"}), "stdp") == "frozen"
    assert bias_of(Member("bp", 0, {"bias": "frozen"}), "bp") == "trained"


def test_a_diverged_member_scores_nan_and_is_left_out_of_the_logged_mean(caplog):
    """A member whose weights are not finite (lr 1e308: the first Adam step, lr / (1 - beta1), overflows to inf) gets
    NaN for every metric and ``diverged`` True, with the same keys as a finite member; the finite
    members of the same population keep real numbers. The progress line's mean validation accuracy
    is over the finite members only, and NaN when every member diverged. Mutations: the finite check
    bypassed (``or True``), ``dict.fromkeys`` given None / no keys / no value (None instead of NaN),
    and ``_mean`` returning None-sums, always NaN, dividing by zero on an empty list, or multiplying
    by the count; this test fails on each."""
    fit, xv, yv = _fit()
    caplog.set_level(logging.INFO, logger="gupta_stdp.multiverse")
    res = train_specs(fit, xv, yv, [0, 1], _cfg(lrs=[1e-3, 1e308]))
    bad = [r for r in res.rows if r["lr"] == 1e308]
    good = [r for r in res.rows if r["lr"] == 1e-3]
    assert len(bad) == len(good) == 4
    for r in bad:
        assert r["diverged"] is True
        assert all(isinstance(r[k], float) and math.isnan(r[k]) for k in METRICS), r
    for r in good:
        assert r["diverged"] is False and all(math.isfinite(r[k]) for k in METRICS), r
    mean = sum(r["accuracy"] for r in good if r["split"] == "val") / 2
    assert _logged_mean(caplog.messages) == [f"{mean:.3f}"]
    caplog.clear()
    train_specs(fit, xv, yv, [0, 1], _cfg(lrs=[1e308]))
    assert _logged_mean(caplog.messages) == ["nan"]


def _logged_mean(messages):
    """The mean validation accuracy of each progress line, as printed."""
    return [m.split("mean validation accuracy ")[1].split()[0] for m in messages if "mean validation accuracy" in m]


def test_training_stops_at_the_last_checkpoint(monkeypatch):
    """The population trains exactly the last checkpoint's epochs (3 here): an extra epoch after it
    would cost a whole epoch of every member and be thrown away. Mutation: ``range(1, last + 2)``;
    this test fails (it counts the epochs' batch passes)."""
    epochs = []

    class Counting(Trainer):
        def batches(self):
            epochs.append(1)
            return super().batches()

    monkeypatch.setattr(multiverse, "Trainer", Counting)
    fit, xv, yv = _fit()
    res = train_specs(fit, xv, yv, [0], _cfg(checkpoints=[3, 1]))
    assert len(epochs) == 3 and sorted(res.checkpoints) == [1, 3]


def test_non_finite_weights_with_finite_outputs_still_count_as_diverged(monkeypatch):
    """The finite check is on the weights, not on the outputs: a member with an infinite bias of a
    hidden sigmoid unit (that unit outputs 1 for every input, so every logit stays finite and
    ``binary_metrics`` alone would score it) gets NaN for every metric and ``diverged`` True; the
    other member keeps its numbers. Mutation: ``metrics[i] if finite[i] or True``; this test fails."""
    from gupta_stdp import model

    class Broken(Trainer):
        def step(self, xb, yb):
            super().step(xb, yb)
            with torch.no_grad():
                self.params[0]["bias"][1, 0] = math.inf  # member 1 (seed 1)

    monkeypatch.setattr(multiverse, "Trainer", Broken)
    fit, xv, yv = _fit()
    res = train_specs(fit, xv, yv, [0, 1], _cfg())
    assert torch.isfinite(model.output_logit(res.checkpoints[1], xv)).all()  # the outputs are finite
    for r in res.rows:
        if r["seed"] == 1:
            assert r["diverged"] is True and all(math.isnan(r[k]) for k in METRICS), r
        else:
            assert r["diverged"] is False and all(math.isfinite(r[k]) for k in METRICS), r


# ---------------------------------------------------------------- the tuned choice (validation only)
MNIST = {"lr": 1e-3, "batch_size": 100, "epochs": 2}  # the paper's MNIST setting in _params()
SETTINGS = [(lr, b, e, bias) for lr in (1e-3, 3e-3) for b in (50, 100) for e in (1, 2)
            for bias in ("frozen", "presynaptic_one")]


def _choice_table(val, test=None, dataset="mnist", method="stdp", seeds=(0,), settings=SETTINGS):
    """Validation and test rows of one pair: ``val(setting, seed)`` / ``test(setting, seed)`` give
    the accuracies (default test: 0.5)."""
    rows = []
    for seed in seeds:
        for s in settings:
            for split, f in (("val", val), ("test", test or (lambda s, seed: 0.5))):
                rows.append({"dataset": dataset, "pair": "0v1", "method": method, "seed": seed,
                             **dict(zip(specs.FACTORS, s)), "split": split, "attack": "clean", "eps": 0.0,
                             "accuracy": f(s, seed)})
    return pd.DataFrame(rows)


def _chosen(choices):
    return [tuple(r) for r in choices[specs.FACTORS].itertuples(index=False)]


def test_a_tie_goes_to_the_papers_setting_bias_included():
    """Every STDP setting ties on validation: the choice is the paper's setting, STDP's paper bias
    handling (presynaptic_one) included, and it says so; 16 candidates, all tied, none invalid.
    Mutations: ``paper.get("bias")`` looked up under another key (no STDP setting is ever the
    paper's: the choice falls to the shortest, smallest, frozen one); ``n_tied`` counted with
    ``!=``; the n_* / paper_setting keys renamed (their columns come out NaN); this test fails."""
    out = specs.tuned_choices(_choice_table(lambda s, seed: 0.8), _params()["paper"])
    assert len(out) == 1
    r = out.iloc[0]
    assert _chosen(out) == [(1e-3, 100, 2, "presynaptic_one")]
    assert out.paper_setting.tolist() == [True]
    assert (r.n_candidates, r.n_invalid, r.n_tied) == (16, 0, 16)
    assert r.val_accuracy == 0.8 and r.test_accuracy == 0.5


def test_ties_without_the_papers_setting_go_to_shortest_smallest_slowest():
    """No candidate is the paper's setting (its rate, 1e-2, is not in the grid): a tie goes to the
    shortest training, then the smallest batch, then the smallest rate, then the bias handling by
    name (frozen). Two steps checked on their own: a shorter run with a larger batch beats a longer
    one with a smaller batch, and a smaller batch with a larger rate beats the reverse. Mutations:
    any of the four ``ascending`` flags of epochs, batch size, rate and bias flipped; this test
    fails on each."""
    paper = {"datasets": {"mnist": {**MNIST, "lr": 1e-2}}, "bias": "presynaptic_one"}
    out = specs.tuned_choices(_choice_table(lambda s, seed: 0.8), paper)
    assert _chosen(out) == [(1e-3, 50, 1, "frozen")] and not out.paper_setting.iloc[0]
    two = [(3e-3, 100, 1, "frozen"), (1e-3, 50, 2, "frozen")]  # epochs decide before batch and rate
    assert _chosen(specs.tuned_choices(_choice_table(lambda s, seed: 0.8, settings=two), paper)) == [two[0]]
    two = [(3e-3, 50, 1, "frozen"), (1e-3, 100, 1, "frozen")]  # batch decides before rate
    assert _chosen(specs.tuned_choices(_choice_table(lambda s, seed: 0.8, settings=two), paper)) == [two[0]]
    two = [(3e-3, 50, 1, "frozen"), (1e-3, 50, 1, "presynaptic_one")]  # rate decides before bias
    assert _chosen(specs.tuned_choices(_choice_table(lambda s, seed: 0.8, settings=two), paper)) == [two[1]]


def test_accuracies_tie_at_nine_decimals():
    """Accuracies are compared to 9 decimals: a setting 3e-10 above the paper's (the best two of 16)
    is a tie (the paper's wins, n_tied 2); one 3e-9 above is better. Mutation: ``round(10)``; this test fails."""
    def val(bump):
        return lambda s, seed: {(1e-3, 100, 2, "presynaptic_one"): 0.75, (3e-3, 50, 1, "frozen"): 0.75 + bump}.get(s, 0.7)

    params = _params()["paper"]
    tie = specs.tuned_choices(_choice_table(val(3e-10)), params)
    assert _chosen(tie) == [(1e-3, 100, 2, "presynaptic_one")] and tie.n_tied.iloc[0] == 2
    win = specs.tuned_choices(_choice_table(val(3e-9)), params)
    assert _chosen(win) == [(3e-3, 50, 1, "frozen")] and win.n_tied.iloc[0] == 1


def test_diverged_candidates_missing_test_rows_and_datasets_without_a_paper_setting():
    """Seed 0's models all diverged (NaN): it has no choice, and seed 1 still gets its own; seed 1's
    NaN candidates are counted invalid, never chosen; a chosen setting without a test row keeps its
    choice with a NaN test accuracy; a data set the paper never used (no paper setting) is tuned
    with no setting marked the paper's; with no valid candidate at all the result is an empty table
    with the documented columns. Mutations: ``continue`` -> ``break`` after an empty group; the
    merge with the test rows made an inner join; ``paper["datasets"].get(dataset)`` without its
    ``{}`` default (None.get fails); the columns of the choices dropped (an empty table has none);
    the n_invalid / n_candidates keys renamed; this test fails on each."""
    best = (3e-3, 100, 1, "frozen")

    def val(s, seed):
        if seed == 0 or s[1] == 50:  # seed 0: every model; seed 1: every batch-50 model diverged
            return np.nan
        return 0.9 if s == best else 0.6

    table = _choice_table(val, seeds=(0, 1))
    table = table[~((table.split == "test") & (table.seed == 1) & (table.lr == 3e-3) & (table.batch_size == 100)
                    & (table.epochs == 1) & (table.bias == "frozen"))]  # the chosen setting's test row is missing
    out = specs.tuned_choices(table, _params()["paper"])
    assert list(out.columns) == specs.TUNED_COLUMNS
    assert out.seed.tolist() == [1] and _chosen(out) == [best]
    r = out.iloc[0]
    assert (r.n_candidates, r.n_invalid, r.n_tied) == (16, 8, 1) and math.isnan(r.test_accuracy)
    fashion = specs.tuned_choices(_choice_table(lambda s, seed: 0.8, dataset="fashion_mnist"), _params()["paper"])
    assert _chosen(fashion) == [(1e-3, 50, 1, "frozen")] and not fashion.paper_setting.any()
    none = specs.tuned_choices(_choice_table(lambda s, seed: np.nan), _params()["paper"])
    assert none.empty and list(none.columns) == specs.TUNED_COLUMNS


def test_tuned_summary_counts_and_words():
    """The report's summary of the choices, in the choices' order (MNIST's pair before IRIS's as
    given): the settings the seeds chose, most frequent first with their counts (the bias named for
    STDP, not for BP's "trained"), the mean validation and test accuracy, how many choices were the
    paper's and how many broke a tie (n_tied > 1). Mutations: the pairs sorted; the settings least
    frequent first; the text None or joined otherwise; the bias shown always, never or inverted;
    every column key renamed; ``n_tied >= 1`` or ``> 2``; this test fails on each."""
    a, b = (1e-3, 100, 2, "presynaptic_one"), (3e-3, 50, 1, "frozen")
    rows = [("mnist", "stdp", 0, a, 0.9, 0.8, True, 1), ("mnist", "stdp", 1, b, 0.7, 0.6, False, 2),
            ("mnist", "stdp", 2, b, 0.8, 0.5, False, 3), ("mnist", "stdp", 3, b, 0.6, 0.7, False, 1),
            ("iris", "bp", 0, (1e-3, 40, 10, "trained"), 1.0, 0.5, True, 4)]
    choices = pd.DataFrame([{"dataset": d, "pair": "0v1", "method": m, "seed": s, **dict(zip(specs.FACTORS, f)),
                             "val_accuracy": v, "test_accuracy": t, "n_candidates": 16, "n_invalid": 0,
                             "n_tied": k, "paper_setting": p} for d, m, s, f, v, t, p, k in rows],
                           columns=specs.TUNED_COLUMNS)
    got = specs.tuned_summary(choices)
    want = pd.DataFrame([
        {"dataset": "mnist", "pair": "0v1", "method": "stdp",
         "chosen (seeds)": "lr 0.003, batch 50, 1 epochs, frozen (3); lr 0.001, batch 100, 2 epochs, presynaptic_one (1)",
         "val_accuracy": (0.9 + 0.7 + 0.8 + 0.6) / 4, "test_accuracy": (0.8 + 0.6 + 0.5 + 0.7) / 4,
         "paper's setting": "1 of 4", "ties broken": 2},
        {"dataset": "iris", "pair": "0v1", "method": "bp", "chosen (seeds)": "lr 0.001, batch 40, 10 epochs (1)",
         "val_accuracy": 1.0, "test_accuracy": 0.5, "paper's setting": "1 of 1", "ties broken": 1}])
    pd.testing.assert_frame_equal(got, want)


def test_tied_settings_keep_the_order_of_their_first_choice():
    """Eleven seeds choose ten settings, the seventh twice: the summary lists that one first, then the
    other nine in the order of their first choice, on every CPU. Mutation: the sort without
    ``kind="stable"`` (numpy's quicksort reorders these ties, in a way that depends on the CPU's
    vector sort); this test fails where it does (it did on this project's machine)."""
    settings = [(lr, b, 1, "trained") for lr in (1e-3, 3e-3, 3e-4) for b in (20, 40, 80, 160)][:10]
    picked = settings + [settings[6]]
    choices = pd.DataFrame([{"dataset": "iris", "pair": "0v1", "method": "bp", "seed": s,
                             **dict(zip(specs.FACTORS, f)), "val_accuracy": 0.5, "test_accuracy": 0.5,
                             "n_candidates": 12, "n_invalid": 0, "n_tied": 1, "paper_setting": False}
                            for s, f in enumerate(picked)], columns=specs.TUNED_COLUMNS)
    text = specs.tuned_summary(choices)["chosen (seeds)"].iloc[0]
    order = [settings[6]] + settings[:6] + settings[7:]
    assert text == "; ".join(f"lr {lr:g}, batch {b}, 1 epochs ({2 if (lr, b) == settings[6][:2] else 1})"
                             for lr, b, _, _ in order)

# ---------------------------------------------------------------- verdicts per specification and tuned
def _fgsm_ahead(method, dataset, lr, b, e, bias, split, attack, seed):
    """STDP and FA ahead of BP by 0.1 under attack, equal on clean accuracy (seed jitter shared)."""
    return 0.8 + _jitter(seed) + (0.1 if method != "bp" and attack != "clean" else 0.0)


ONE_LEVEL = {"iris": {"epochs": [10], "batch_size": [40]}, "mnist": {"epochs": [2], "batch_size": [100]}}


def _small(table, attacks=True):
    """The paper's batch size and length only (one level each: few specifications, a fast test);
    ``attacks=False``: the clean rows only (C1 alone is judged)."""
    keep = (table.batch_size == table.dataset.map({"iris": 40, "mnist": 100})) & (
        table.epochs == table.dataset.map({"iris": 10, "mnist": 2}))
    if not attacks:
        keep &= table.attack == "clean"
    return table[keep].reset_index(drop=True)


def test_only_comparable_claims_are_judged_and_the_table_keeps_its_columns():
    """A claim is judged only where its method and BP both ran: with FA and BP but no STDP, C5 gets
    its 2 specifications (two rates) per reading (tuned: its two readings) and C1/C2 none; without
    BP nothing is judged, and the result is an empty table with the verdict columns. The tuned rows
    name their method, carry NaN (float) for the factors, and have exactly the verdict columns.
    Mutations: ``continue`` -> ``break`` when a claim's method is missing (C5 never reached) in
    ``per_specification`` and ``tuned_verdicts``; ``or`` -> ``and`` in the check for BP; the
    "method" key renamed; the factors None; ``columns=VERDICT_COLUMNS`` dropped; this test fails
    on each."""
    params = _params(grid=ONE_LEVEL)
    table = _small(synthetic_specs(_fgsm_ahead, fa=True))
    fa_only = table[table.method != "stdp"]
    out = specs.per_specification(fa_only, params)
    assert list(out.columns) == specs.VERDICT_COLUMNS
    assert set(out.claim) == {"C5"} and len(out) == 2 * 2 and set(out.method) == {"fa"}
    tuned = specs.tuned_verdicts(fa_only, specs.tuned_choices(fa_only, params["paper"]), params)
    assert list(tuned.columns) == specs.VERDICT_COLUMNS
    assert tuned[["claim", "reading", "method"]].values.tolist() == [["C5", "fgsm", "fa"], ["C5", "worst", "fa"]]
    assert tuned.verdict.tolist() == ["supported", "supported"]
    assert tuned[specs.FACTORS].isna().all().all()
    assert all(pd.api.types.is_float_dtype(tuned[f]) for f in specs.FACTORS)
    both = pd.concat([out, tuned])  # the verdict table: the rate column stays numeric
    assert pd.api.types.is_float_dtype(both.lr)
    no_bp = table[table.method != "bp"]
    for empty in (specs.per_specification(no_bp, params),
                  specs.tuned_verdicts(no_bp, specs.tuned_choices(no_bp, params["paper"]), params)):
        assert empty.empty and list(empty.columns) == specs.VERDICT_COLUMNS


def test_specifications_come_out_in_their_own_order():
    """The rows of a claim and reading come out ordered by specification (rate, batch level, epochs
    level, bias), whatever the order of the input table's rows: the same table with each data set's
    rows reversed gives the identical verdict table. Mutations: ``groupby(SPEC, sort=False)`` /
    ``sort=None`` (first appearance order); this test fails."""
    params = _params(grid=ONE_LEVEL)
    table = _small(synthetic_specs(_fgsm_ahead, seeds=range(4)), attacks=False)
    out = specs.per_specification(table, params)
    # each data set's rows reversed (the data sets' order names the levels, "40/100", so it stays)
    shuffled = pd.concat([g.iloc[::-1] for _, g in table.groupby("dataset", sort=False)], ignore_index=True)
    again = specs.per_specification(shuffled, params)
    pd.testing.assert_frame_equal(out, again)
    assert list(zip(out.lr, out.bias)) == [(1e-3, "frozen"), (1e-3, "presynaptic_one"), (3e-3, "frozen"),
                                           (3e-3, "presynaptic_one")]
    assert set(out.claim) == {"C1"} and set(out.batch_size) == {"40/100"}


def test_judge_without_a_paper_pair_has_no_pooled_difference():
    """``judge`` on rows of pairs the paper did not use: no pair decides (inconclusive, 0 pairs) and
    the pooled difference is absent: 0 seeds and NaN mean and bounds, under the same keys as when it
    is present; the same with no rows at all. Mutations: the keys "mean_diff", "ci_low", "ci_high"
    renamed in the no-difference branch (``per_specification`` would hide it: its columns fill in
    NaN); ``_paper``'s mask without ``dtype=bool`` (an empty mask becomes float and selects columns,
    not rows); this test fails on each."""
    params = _params()
    table = synthetic_specs(_fgsm_ahead)
    one = specs._value(table, "fgsm", params["report_eps"])
    one = one[(one.lr == 1e-3) & (one.bias != "frozen") & one.batch_size.isin([40, 100]) & one.epochs.isin([10, 2])]
    keys = {"verdict", "n_pairs", "n_supported", "n_not_supported", "n_inconclusive", "n_excluded", "n_seeds",
            "mean_diff", "ci_low", "ci_high"}
    with_pairs = specs.judge(one, "C2", "fgsm", "fgsm", params)
    assert set(with_pairs) == keys and with_pairs["n_pairs"] == 3 and with_pairs["verdict"] == "supported"
    assert with_pairs["mean_diff"] == pytest.approx(0.1)
    none = specs.judge(one, "C2", "fgsm", "fgsm", {**params, "paper_pairs": {}})
    assert set(none) == keys and none["n_seeds"] == 0 and none["n_pairs"] == 0 and none["verdict"] == "inconclusive"
    assert all(math.isnan(none[k]) for k in ("mean_diff", "ci_low", "ci_high"))
    # no rows at all (e.g. an eps that did not run): the same answer, no error
    assert specs.judge(one.iloc[:0], "C2", "fgsm", "fgsm", params) == pytest.approx(none, nan_ok=True)


def _verdicts():
    """A hand-made verdict table: C2 on FGSM before C1 (not the sorted order)."""
    rows = [("specification", "C2", "fgsm", v) for v in ("supported", "supported", "not supported", "inconclusive",
                                                          "inconclusive", "inconclusive")]
    rows += [("tuned", "C2", "fgsm", "not supported")]
    rows += [("specification", "C2", "worst", "not supported"), ("tuned", "C2", "worst", "not supported")]
    rows += [("specification", "C1", "accuracy", "supported")]  # no tuned row: not run
    return pd.DataFrame(rows, columns=["kind", "claim", "reading", "verdict"])


def test_summary_counts_per_claim_and_reading():
    """``summarise``: per claim and reading, in the table's order, the specifications' counts (6 = 2
    supported + 1 not + 3 inconclusive) and the tuned verdict ("not run" without a tuned row); and
    ``sentence`` puts the same counts in words, the inconclusive ones included. Mutations: the
    groups sorted; the tuned verdict taken from the specification rows (``!=``); inconclusive
    counted with ``!=``; "not run" misspelt; ``inc = n + s - ns`` / ``n - s + ns`` / None in
    ``sentence``; this test fails on each."""
    got = specs.summarise(_verdicts())
    want = pd.DataFrame([
        {"claim": "C2", "reading": "fgsm", "specs_total": 6, "specs_supported": 2, "specs_not_supported": 1,
         "specs_inconclusive": 3, "verdict_tuned": "not supported"},
        {"claim": "C2", "reading": "worst", "specs_total": 1, "specs_supported": 0, "specs_not_supported": 1,
         "specs_inconclusive": 0, "verdict_tuned": "not supported"},
        {"claim": "C1", "reading": "accuracy", "specs_total": 1, "specs_supported": 1, "specs_not_supported": 0,
         "specs_inconclusive": 0, "verdict_tuned": "not run"}])
    pd.testing.assert_frame_equal(got, want)
    assert specs.sentence(want.iloc[0].to_dict(), "FGSM") == (
        "C2 on FGSM is supported in 2 of 6 specifications, not supported in 1, inconclusive in 3; with each "
        "method tuned on validation data it is not supported.")
    assert specs.sentence(want.iloc[1].to_dict(), "the worst case") == (
        "C2 on the worst case is supported in 0 of 1 specifications, not supported in 1; with each method tuned "
        "on validation data it is not supported.")


def test_claim_columns_only_for_catalogued_claims_with_specifications():
    """claims.csv's multiverse columns: a claim without specification rows (C3, listed first) gets
    none and the later claims still get theirs; a claim id the catalogue does not know (C9) gets
    none even when the verdicts name it; the columns are exactly the counts and tuned verdict per
    reading (suffixed) plus the headline's unsuffixed, the counts as nullable integers. Mutations:
    ``continue`` -> ``break`` (C1 after C3 gets nothing); ``or`` -> ``and`` (C9 reaches
    ``claim.headline`` of None); "claim"/"reading" no longer excluded from the copied keys (extra
    columns); the "specs_" prefix test or the Int64 cast changed (float counts); this test fails."""
    verdicts = pd.concat([_verdicts(), pd.DataFrame([("specification", "C9", "accuracy", "supported")],
                                                    columns=["kind", "claim", "reading", "verdict"])])
    claims = pd.DataFrame({"claim": ["C3", "C1", "C2", "C9"], "verdict": ["a", "b", "c", "d"]})
    out = specs.claim_columns(claims, verdicts)
    counts = ["specs_total", "specs_supported", "specs_not_supported", "specs_inconclusive"]
    per = [f"{k}_{r}" for r in ("fgsm", "worst", "accuracy") for k in (*counts, "verdict_tuned")]
    assert set(out.columns) == {"claim", "verdict", *counts, "verdict_tuned", *per}
    out = out.set_index("claim")
    assert out.loc[["C3", "C9"], [*counts, "verdict_tuned", *per]].isna().all().all()
    assert out.loc["C1", "specs_total"] == 1 and out.loc["C1", "verdict_tuned"] == "not run"
    assert out.loc["C2", counts].tolist() == [6, 2, 1, 3] and out.loc["C2", "specs_inconclusive_worst"] == 0
    assert all(str(out[c].dtype) == "Int64" for c in out.columns if c.startswith("specs_"))


def test_levels_table_is_a_fresh_table_in_the_data_sets_order():
    """``with_levels``: the data sets in the order they come (MNIST's rows first here), IRIS's rows
    (one batch size, one length) repeated once per level, MNIST's at their positions in its lists,
    and a fresh 0..n-1 index (no label twice: ``.loc`` by label stays one row). Mutations: the data
    sets sorted (``groupby`` sort True); ``ignore_index`` False / None / dropped; this test fails."""
    grid = {"mnist": {"epochs": [1, 2], "batch_size": [50, 100]}, "iris": {"epochs": [10], "batch_size": [40]}}
    table = pd.DataFrame({"dataset": ["mnist", "mnist", "iris"], "batch_size": [100, 50, 40], "epochs": [2, 1, 10]})
    out = specs.with_levels(table, grid)
    assert out.index.equals(pd.RangeIndex(len(out)))
    want = pd.DataFrame({"dataset": ["mnist", "mnist", "iris", "iris", "iris", "iris"],
                         "batch_size": [100, 50, 40, 40, 40, 40], "epochs": [2, 1, 10, 10, 10, 10],
                         "batch_level": [1, 0, 0, 1, 0, 1], "epochs_level": [1, 0, 0, 0, 1, 1]})
    pd.testing.assert_frame_equal(out, want)
