"""The trainer: learning, determinism, batched seeds = single seeds, divergence, initialisation."""

import pandas as pd
import pytest
import torch
from torch import nn

from gupta_stdp import model
from gupta_stdp.data import DataError
from gupta_stdp.metrics import chance_accuracy
from gupta_stdp.synthetic import pair_data
from gupta_stdp.train import TrainConfig, train


@pytest.fixture(scope="module")
def small():
    return pair_data(n_train=600, n_test=200, n_features=784, seed=3)


def _frame(res):
    return pd.DataFrame(res.rows)


@pytest.mark.parametrize("method", ["stdp", "bp"])
def test_both_methods_beat_chance(small, method):
    res = train(small, [0, 1], TrainConfig(method=method, epochs=6, batch_size=25, impl="reference"))
    final = _frame(res).query("epoch == 6 and split == 'test'")
    chance = chance_accuracy(small.y_test)
    assert (final.accuracy > chance + 0.2).all(), final
    assert (final.auc > 0.9).all()


def test_same_seed_gives_identical_numbers(small):
    cfg = TrainConfig(method="stdp", epochs=3, batch_size=50, impl="reference")
    a, b = _frame(train(small, [5], cfg)), _frame(train(small, [5], cfg))
    pd.testing.assert_frame_equal(a, b)
    c = _frame(train(small, [6], cfg))
    assert not a.drop(columns="seed").equals(c.drop(columns="seed"))


@pytest.mark.parametrize("method", ["stdp", "bp"])
def test_batched_seeds_match_single_seed_runs(small, method):
    cfg = TrainConfig(method=method, epochs=3, batch_size=64, impl="reference")
    together = _frame(train(small, [0, 1, 2], cfg))
    for seed in (0, 2):
        alone = _frame(train(small, [seed], cfg))
        mine = together[together.seed == seed].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone, check_exact=False, rtol=1e-4, atol=1e-4)


def test_init_is_pytorch_default_for_the_seed():
    params = model.init_params([7, 8], n_in=5)
    torch.manual_seed(8)
    layers = [nn.Linear(5, 32), nn.Linear(32, 16), nn.Linear(16, 1)]
    for layer, ref in zip(params, layers):
        assert torch.equal(layer["weight"][1], ref.weight.detach())
        assert torch.equal(layer["bias"][1], ref.bias.detach())


def test_methods_start_from_the_same_weights(small):
    from gupta_stdp.train import Trainer

    a = Trainer(small, [3], TrainConfig(method="stdp", epochs=1, batch_size=50))
    b = Trainer(small, [3], TrainConfig(method="bp", epochs=1, batch_size=50))
    for la, lb in zip(a.params, b.params):
        assert torch.equal(la["weight"], lb["weight"].detach())


def test_rule_eps_zero_on_the_pole_is_reported_as_diverged():
    """Inputs of exactly 2p make the update infinite when eps = 0: the run is marked diverged,
    its metrics are NaN, and it is not carried on silently."""
    x = torch.full((40, 4), 1.0)
    y = torch.tensor([0.0, 1.0] * 20)
    from gupta_stdp.data import PairData

    data = PairData(x, y, x, y)
    # Put the first hidden layer's output at exactly 0.5, the pole for x = 1.
    res_cfg = TrainConfig(method="stdp", epochs=3, batch_size=20, stdp_eps=0.0, impl="reference")
    from gupta_stdp.train import Trainer

    tr = Trainer(data, [0], res_cfg)
    for layer in tr.params:
        layer["weight"].zero_()
        layer["bias"].zero_()
    res = tr.run()
    df = _frame(res)
    assert res.diverged_epoch[0] == 1
    assert df.diverged.all() and df.accuracy.isna().all()
    assert len(df) == 3 * 2  # every epoch still has its (NaN) row


@pytest.mark.parametrize(
    "kw, match",
    [({"batch_size": 10_000}, "batch_size"), ({"epochs": 0}, "epochs"), ({"bias": "maybe"}, "stdp.bias"),
     ({"method": "hebb"}, "method"), ({"stdp_eps": -1.0}, "stdp.eps")],
)
def test_bad_training_settings_fail_before_training(small, kw, match):
    cfg = dict(method="stdp", epochs=1, batch_size=50)
    cfg.update(kw)
    with pytest.raises((ValueError, DataError), match=match):
        train(small, [0], TrainConfig(**cfg))


@pytest.mark.parametrize("every, expected_tracked", [(1, 12), (5, 3), (0, 0)])
def test_rule_stats_sampling(small, every, expected_tracked):
    """600 points at batch 50 = 12 steps: statistics on steps 0, 5, 10 for every=5, none for 0."""
    from gupta_stdp.train import Trainer

    tr = Trainer(small, [0], TrainConfig(method="stdp", epochs=1, batch_size=50, impl="reference", stats_every=every))
    calls = []
    original = tr._track
    tr._track = lambda acts, upd: (calls.append(1), original(acts, upd))
    res = tr.run()
    assert len(calls) == expected_tracked
    assert len(res.rule_stats) == (3 if expected_tracked else 0)  # one row per layer and seed
    if expected_tracked:
        assert all(0 <= r["eps_dominated_share"] <= 1 and r["max_abs_update"] >= r["mean_abs_update"]
                   for r in res.rule_stats)
