"""The verdict rules of the claims table, on synthetic tables built to give each verdict."""

import numpy as np
import pandas as pd
import pytest

from gupta_stdp import claims, config as cfgmod

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


def _attacks(stdp_adv, bp_adv, pair="0v1", noise=0.0):
    rows, rng = [], np.random.default_rng(1)
    for seed in SEEDS:
        for method, adv in (("stdp", stdp_adv), ("bp", bp_adv)):
            for eps in (0, 4, 8, 12):
                acc = 0.99 if eps == 0 else adv + noise * rng.standard_normal()
                rows.append({"dataset": "mnist", "pair": pair, "method": method, "seed": seed, "attack": "fgsm",
                             "eps": eps / 255, "accuracy": acc})
    return pd.DataFrame(rows)


@pytest.fixture
def config():
    return cfgmod.load(None, claims={"n_boot": 2000})


def _verdict(table, claim):
    return table.set_index("claim").loc[claim, "verdict"]


@pytest.mark.parametrize("stdp, bp, noise, expected", [
    (0.97, 0.99, 0.0, "supported"),        # a little below, inside the margin
    (0.70, 0.99, 0.0, "not supported"),    # far below
    (0.90, 0.99, 0.2, "inconclusive"),     # too noisy to tell
])
def test_c1_verdicts(config, stdp, bp, noise, expected):
    table, by_pair = claims.compute(_epochs(stdp, bp, noise=noise), _attacks(0.5, 0.5), config)
    assert _verdict(table, "C1") == expected
    assert by_pair.query("claim == 'C1'").verdict.iloc[0] == expected


@pytest.mark.parametrize("stdp_adv, bp_adv, noise, expected", [
    (0.8, 0.4, 0.0, "supported"),
    (0.3, 0.6, 0.0, "not supported"),
    (0.5, 0.5, 0.3, "inconclusive"),
])
def test_c2_verdicts(config, stdp_adv, bp_adv, noise, expected):
    table, _ = claims.compute(_epochs(0.95, 0.99), _attacks(stdp_adv, bp_adv, noise=noise), config)
    assert _verdict(table, "C2") == expected


def test_c2_needs_a_majority_of_pairs(config):
    ep = pd.concat([_epochs(0.95, 0.99, pair=p) for p in ("0v1", "0v2", "0v3")])
    at = pd.concat([_attacks(0.8, 0.4, pair="0v1"), _attacks(0.8, 0.4, pair="0v2"), _attacks(0.2, 0.6, pair="0v3")])
    table, _ = claims.compute(ep, at, config)
    assert _verdict(table, "C2") == "supported"  # 2 of 3 pairs
    at = pd.concat([_attacks(0.8, 0.4, pair="0v1"), _attacks(0.2, 0.6, pair="0v2"), _attacks(0.2, 0.6, pair="0v3")])
    assert _verdict(claims.compute(ep, at, config)[0], "C2") == "not supported"


@pytest.mark.parametrize("early, final, expected", [
    (0.5, 0.98, "supported"),       # poor early, catches up
    (0.99, 0.99, "not supported"),  # never poor
    (0.5, 0.6, "not supported"),    # never catches up
])
def test_c3_verdicts(config, early, final, expected):
    ep = _epochs(final, 0.99, dataset="iris", n_epochs=100, stdp_early=early)
    table, _ = claims.compute(ep, _attacks(0.5, 0.5), config)
    assert _verdict(table, "C3") == expected


def test_c3_without_iris_is_inconclusive(config):
    table, _ = claims.compute(_epochs(0.97, 0.99), _attacks(0.5, 0.5), config)
    assert _verdict(table, "C3") == "inconclusive"


def test_c4_is_computed_from_the_equations(config):
    table, _ = claims.compute(_epochs(0.97, 0.99), _attacks(0.5, 0.5), config)
    row = table.set_index("claim").loc["C4"]
    assert row.verdict == "supported"
    assert row.eq6_peak_pos > row.eq6_peak_neg and row.eq5_peak_pos < row.eq5_peak_neg


def test_diverged_seeds_are_left_out_and_counted(config):
    ep = _epochs(0.97, 0.99)
    ep.loc[(ep.seed == 0) & (ep.method == "stdp"), "accuracy"] = np.nan
    _, by_pair = claims.compute(ep, _attacks(0.5, 0.5), config)
    c1 = by_pair.query("claim == 'C1'").iloc[0]
    assert c1.n_seeds == 4 and c1.n_excluded == 1


def test_bootstrap_ci_is_deterministic_and_covers_the_mean():
    v = [0.1, -0.05, 0.02, 0.07, 0.0]
    a, b = claims.bootstrap_ci(v), claims.bootstrap_ci(v)
    assert a == b
    mean, sd, lo, hi, n = a
    assert lo <= mean <= hi and n == 5
    assert np.isnan(claims.bootstrap_ci([0.3])[2])


def test_c2_variants_become_verdict_columns(config):
    at = _attacks(0.8, 0.4)
    pgd = at.assign(attack="pgd", accuracy=np.where(at.method == "stdp", 0.2, 0.6))  # PGD reverses the picture
    pgd = pgd[pgd.eps > 0]
    table, by_pair = claims.compute(_epochs(0.95, 0.99), pd.concat([at, pgd]), config)
    c2 = table.set_index("claim").loc["C2"]
    assert c2.verdict == "supported" and c2.verdict_pgd == "not supported"
    assert set(by_pair.query("claim == 'C2'").variant) == {"fgsm", "pgd", "sweep_fgsm", "sweep_pgd"}
    assert "verdict_transfer_fgsm" not in table.columns  # no transfer rows, no transfer verdict


def test_pairs_are_not_crossed_between_datasets(config):
    """Two datasets with different pairs: each claim counts exactly the pairs that were run."""
    ep = pd.concat([_epochs(0.97, 0.99, dataset="iris", pair="1v2"), _epochs(0.97, 0.99, pair="0v3"),
                    _epochs(0.97, 0.99, pair="0v5")])
    at = pd.concat([_attacks(0.8, 0.4, pair="0v3"), _attacks(0.8, 0.4, pair="0v5")])
    table, by_pair = claims.compute(ep, at, config)
    c1 = by_pair[(by_pair.claim == "C1") & (by_pair.variant == "accuracy")]
    assert sorted(zip(c1.dataset, c1.pair)) == [("iris", "1v2"), ("mnist", "0v3"), ("mnist", "0v5")]
    assert table.set_index("claim").loc["C1", "n_pairs"] == 3
    assert table.set_index("claim").loc["C2", "n_pairs"] == 2
    assert (by_pair.n_seeds > 0).all()
