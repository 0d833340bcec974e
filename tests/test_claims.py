"""The verdict rules of the claims table, on synthetic tables built to give each verdict, and the
intervals and tests they rest on."""

import numpy as np
import pandas as pd
import pytest

from gupta_stdp import claims, config as cfgmod, stats

SEEDS = range(5)


def _epochs(stdp_final, bp_final, dataset="mnist", pair="0v1", n_epochs=20, stdp_early=None, noise=0.0):
    """Test accuracy per epoch: linear ramps ending at the given final values (per seed)."""
    rows, rng = [], np.random.default_rng(0)
    for seed in SEEDS:
        for method, final in (("stdp", stdp_final), ("bp", bp_final)):
            start = stdp_early if (method == "stdp" and stdp_early is not None) else final
            for e in range(1, n_epochs + 1):
                acc = start + (final - start) * min(1.0, e / (n_epochs / 2)) + noise * rng.standard_normal()
                for split in ("train", "test"):
                    rows.append({"dataset": dataset, "pair": pair, "method": method, "seed": seed, "epoch": e,
                                 "split": split, "accuracy": acc, "auc": 0.9, "diverged": False})
    return pd.DataFrame(rows)


def _attacks(stdp_adv, bp_adv, pair="0v1", noise=0.0, methods=("stdp", "bp")):
    rows, rng = [], np.random.default_rng(1)
    for seed in SEEDS:
        for method, adv in zip(methods, (stdp_adv, bp_adv)):
            rows.append({"dataset": "mnist", "pair": pair, "method": method, "seed": seed, "attack": "clean",
                         "eps": 0.0, "accuracy": 0.99})
            for eps in (4, 8, 12):
                rows.append({"dataset": "mnist", "pair": pair, "method": method, "seed": seed, "attack": "fgsm",
                             "eps": eps / 255, "accuracy": adv + noise * rng.standard_normal()})
    return pd.DataFrame(rows)


NO_SANITY = pd.DataFrame(columns=["dataset", "pair", "method", "seed", "check", "value", "passed"])


@pytest.fixture
def config():
    return cfgmod.claims_params(cfgmod.load(None))


def _compute(epochs, attacks, params, sanity=NO_SANITY):
    return claims.compute(epochs, attacks, sanity, params)


def _verdict(table, claim):
    return table.set_index("claim").loc[claim, "verdict"]


@pytest.mark.parametrize("stdp, bp, noise, expected", [
    (0.97, 0.99, 0.0, "supported"),        # a little below, inside the margin
    (0.70, 0.99, 0.0, "not supported"),    # far below
    (0.90, 0.99, 0.2, "inconclusive"),     # too noisy to tell
])
def test_c1_verdicts(config, stdp, bp, noise, expected):
    table, by_pair = _compute(_epochs(stdp, bp, noise=noise), _attacks(0.5, 0.5), config)
    assert _verdict(table, "C1") == expected
    assert by_pair.query("claim == 'C1'").verdict.iloc[0] == expected


@pytest.mark.parametrize("stdp_adv, bp_adv, noise, expected", [
    (0.8, 0.4, 0.0, "supported"),
    (0.3, 0.6, 0.0, "not supported"),
    (0.5, 0.5, 0.3, "inconclusive"),
])
def test_c2_verdicts(config, stdp_adv, bp_adv, noise, expected):
    table, _ = _compute(_epochs(0.95, 0.99), _attacks(stdp_adv, bp_adv, noise=noise), config)
    assert _verdict(table, "C2") == expected


def test_c2_needs_a_majority_of_pairs(config):
    ep = pd.concat([_epochs(0.95, 0.99, pair=p) for p in ("0v1", "0v2", "0v3")])
    at = pd.concat([_attacks(0.8, 0.4, pair="0v1"), _attacks(0.8, 0.4, pair="0v2"), _attacks(0.2, 0.6, pair="0v3")])
    table, _ = _compute(ep, at, config)
    assert _verdict(table, "C2") == "supported"  # 2 of 3 pairs
    at = pd.concat([_attacks(0.8, 0.4, pair="0v1"), _attacks(0.2, 0.6, pair="0v2"), _attacks(0.2, 0.6, pair="0v3")])
    assert _verdict(_compute(ep, at, config)[0], "C2") == "not supported"


@pytest.mark.parametrize("early, final, expected", [
    (0.5, 0.98, "supported"),       # poor early, catches up
    (0.99, 0.99, "not supported"),  # never poor
    (0.5, 0.6, "not supported"),    # never catches up
])
def test_c3_verdicts(config, early, final, expected):
    ep = _epochs(final, 0.99, dataset="iris", n_epochs=100, stdp_early=early)
    table, _ = _compute(ep, _attacks(0.5, 0.5), config)
    assert _verdict(table, "C3") == expected


def test_c3_without_iris_is_inconclusive(config):
    table, _ = _compute(_epochs(0.97, 0.99), _attacks(0.5, 0.5), config)
    assert _verdict(table, "C3") == "inconclusive"


def test_c4_is_computed_from_the_equations(config):
    table, _ = _compute(_epochs(0.97, 0.99), _attacks(0.5, 0.5), config)
    row = table.set_index("claim").loc["C4"]
    assert row.verdict == "supported"
    assert row.eq6_peak_pos > row.eq6_peak_neg and row.eq5_peak_pos < row.eq5_peak_neg


def test_diverged_seeds_are_left_out_and_counted(config):
    ep = _epochs(0.97, 0.99)
    ep.loc[(ep.seed == 0) & (ep.method == "stdp"), "accuracy"] = np.nan
    _, by_pair = _compute(ep, _attacks(0.5, 0.5), config)
    c1 = by_pair.query("claim == 'C1'").iloc[0]
    assert c1.n_seeds == 4 and c1.n_excluded == 1


def test_c2_variants_become_verdict_columns(config):
    at = _attacks(0.8, 0.4)
    pgd = at.assign(attack="pgd", accuracy=np.where(at.method == "stdp", 0.2, 0.6))  # PGD reverses the picture
    pgd = pgd[pgd.eps > 0]
    table, by_pair = _compute(_epochs(0.95, 0.99), pd.concat([at, pgd]), config)
    c2 = table.set_index("claim").loc["C2"]
    assert c2.verdict == "supported" and c2.verdict_pgd == "not supported"
    assert set(by_pair.query("claim == 'C2'").variant) == {"fgsm", "pgd", "fgsm_8", "pgd_8", "sweep_pgd"}
    assert pd.isna(c2.verdict_transfer)  # no transfer rows, no transfer verdict


def test_pairs_are_not_crossed_between_datasets(config):
    """Two datasets with different pairs: each claim counts exactly the pairs that were run."""
    ep = pd.concat([_epochs(0.97, 0.99, dataset="iris", pair="1v2"), _epochs(0.97, 0.99, pair="0v3"),
                    _epochs(0.97, 0.99, pair="0v5")])
    at = pd.concat([_attacks(0.8, 0.4, pair="0v3"), _attacks(0.8, 0.4, pair="0v5")])
    table, by_pair = _compute(ep, at, config)
    c1 = by_pair[(by_pair.claim == "C1") & (by_pair.variant == "accuracy")]
    assert sorted(zip(c1.dataset, c1.pair)) == [("iris", "1v2"), ("mnist", "0v3"), ("mnist", "0v5")]
    assert table.set_index("claim").loc["C1", "n_pairs"] == 3
    assert table.set_index("claim").loc["C2", "n_pairs"] == 2
    assert (by_pair.n_seeds > 0).all()


@pytest.mark.parametrize("n", [3, 5, 10])
def test_the_default_interval_covers_as_it_claims(n):
    """Normal data, 2,000 draws: the 95% t-interval of the mean covers the true mean in 93-97% of
    draws (a percentile bootstrap of 5 values covers about 85%)."""
    rng = np.random.default_rng(n)
    hits = [(lambda iv: iv.low <= 0.3 <= iv.high)(stats.interval(rng.normal(0.3, 0.1, n))) for _ in range(2000)]
    assert 0.93 <= np.mean(hits) <= 0.97


def test_bca_is_available_and_t_is_scipys():
    v = [0.1, -0.05, 0.02, 0.07, 0.0, 0.04]
    t = stats.interval(v)
    lo, hi = __import__("scipy").stats.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=np.std(v, ddof=1) / len(v) ** 0.5)
    assert (t.low, t.high) == pytest.approx((lo, hi)) and t.half_width == pytest.approx((hi - lo) / 2)
    b = stats.interval(v, method="bca", n_boot=2000)
    assert b.low < np.mean(v) < b.high and b == stats.interval(v, method="bca", n_boot=2000)
    assert np.isnan(stats.interval([0.3]).low)
    with pytest.raises(ValueError, match="claims.interval"):
        stats.interval(v, method="percentile")


def test_mcnemar_is_the_exact_binomial_test():
    a = [1] * 12 + [0] * 3 + [1] * 10
    b = [0] * 12 + [1] * 3 + [1] * 10
    only_a, only_b, p = stats.mcnemar(a, b)
    assert (only_a, only_b) == (12, 3)
    assert p == pytest.approx(__import__("scipy").stats.binomtest(3, 15, 0.5).pvalue)
    assert stats.mcnemar([1, 0], [1, 0])[2] == 1.0


def test_claims_report_their_half_width(config):
    table, by_pair = _compute(_epochs(0.97, 0.99, noise=0.01), _attacks(0.5, 0.5), config)
    c1 = table.set_index("claim").loc["C1"]
    rows = by_pair[(by_pair.claim == "C1") & (by_pair.variant == "accuracy")]
    assert c1.half_width_median == pytest.approx(rows.half_width.median()) and c1.half_width_median > 0
    assert "lowest CI lower bound" in c1.deciding


def test_c5_judges_feedback_alignment_by_c2s_rule(config):
    at = pd.concat([_attacks(0.5, 0.5), _attacks(0.8, 0.4, methods=("fa", "bp"))])
    at = at.drop_duplicates(["dataset", "pair", "method", "seed", "attack", "eps"])
    ep = pd.concat([_epochs(0.97, 0.99), _epochs(0.97, 0.99).query("method == 'stdp'").assign(method="fa")])
    table, by_pair = _compute(ep, at, config)
    assert _verdict(table, "C5") == "supported" and _verdict(table, "C2") == "inconclusive"
    assert set(by_pair.query("claim == 'C2'").method) == {"stdp", "fa"}
    no_fa, _ = _compute(_epochs(0.97, 0.99), _attacks(0.5, 0.5), config)
    assert "C5" not in set(no_fa.claim)


def test_failed_sanity_checks_are_named_beside_the_verdicts_they_weaken(config):
    bad = pd.DataFrame([{"dataset": "mnist", "pair": "0v1", "method": "stdp", "seed": s, "check": "pgd_converged",
                         "value": 0.05, "passed": s != 0} for s in SEEDS])
    table, _ = _compute(_epochs(0.95, 0.99), _attacks(0.8, 0.4), config, sanity=bad)
    note = table.set_index("claim").loc["C2", "sanity"]
    assert "verdict_pgd: pgd_converged fails on 1 of 5 models" in note
    table, _ = _compute(_epochs(0.95, 0.99), _attacks(0.8, 0.4), config)
    assert table.set_index("claim").loc["C2", "sanity"] == "all checks pass"
