"""The trainer: every rule learns; determinism; a population member is the run it would be alone
(checked where that is well posed); divergence; initialisation; per-seed splits."""

import pandas as pd
import pytest
import torch
from torch import nn

from gupta_stdp import model, rules
from gupta_stdp.data import DataError, PairData, load_pair
from gupta_stdp.metrics import chance_accuracy
from gupta_stdp.synthetic import pair_data
from gupta_stdp.train import TrainConfig, Trainer, train

RULES = list(rules.RULES)


@pytest.fixture(scope="module")
def small():
    return pair_data(n_train=600, n_test=200, n_features=784, seed=3)


def _frame(res):
    return pd.DataFrame(res.rows)


def _cfg(rule, **kw):
    settings = {"impl": "reference"} if rule == "stdp" else {}
    return TrainConfig(rule=rule, settings=settings, **kw)


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_beats_chance(small, rule):
    res = train(small, [0, 1], _cfg(rule, epochs=10, batch_size=25))
    final = _frame(res).query("epoch == 10 and split == 'test'")
    chance = chance_accuracy(small.y_test)
    assert (final.accuracy > chance + 0.2).all(), final
    assert (final.auc > 0.9).all()


def test_same_seed_gives_identical_numbers(small):
    cfg = _cfg("stdp", epochs=3, batch_size=50)
    a, b = _frame(train(small, [5], cfg)), _frame(train(small, [5], cfg))
    pd.testing.assert_frame_equal(a, b)
    c = _frame(train(small, [6], cfg))
    assert not a.drop(columns="seed").equals(c.drop(columns="seed"))


def _one_step(data, seeds, cfg):
    """The parameters after one training step, and the update the rule handed to Adam."""
    tr = Trainer(data, seeds, cfg)
    xb, yb = next(tr.batches())
    tr.step(xb, yb)
    return tr, [layer["weight"].grad for layer in tr.params]


@pytest.mark.parametrize("rule", RULES)
def test_a_population_member_is_the_run_it_would_be_alone(small, rule):
    """Stacking members changes nothing but speed. Compared where the comparison is well posed:
    one step in float64 (the STDP dynamics amplify float rounding, which depends on the reduction
    order and the CPU's vector width, so multi-epoch float32 runs are not compared). Batch order,
    initial weights and fixed rule state are compared exactly."""
    data = small.to(dtype=torch.float64)
    variants = {"stdp-eps0.001": {"eps": 1e-3}, "stdp-frozen": {"bias": "frozen"}} if rule == "stdp" else {}
    together, grads = _one_step(data, [0, 1, 2], _cfg(rule, epochs=1, batch_size=64, dtype=torch.float64,
                                                      variants=variants))
    for i, m in enumerate(together.members):
        alone_cfg = _cfg(rule, epochs=1, batch_size=64, dtype=torch.float64)
        if m.method != rule:
            alone_cfg.settings = {**alone_cfg.settings, **variants[m.method]}
        alone, grads1 = _one_step(data, [m.seed], alone_cfg)
        for k, (layer, layer1) in enumerate(zip(together.params, alone.params)):
            torch.testing.assert_close(grads[k][i], grads1[k][0], rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(layer["weight"][i], layer1["weight"][0], rtol=0, atol=1e-12)
            torch.testing.assert_close(layer["bias"][i], layer1["bias"][0], rtol=0, atol=1e-12)


def test_batch_order_and_rule_state_do_not_depend_on_the_population(small):
    together = Trainer(small, [0, 1], _cfg("fa", epochs=1, batch_size=50))
    alone = Trainer(small, [1], _cfg("fa", epochs=1, batch_size=50))
    (xb, _), (xb1, _) = next(together.batches()), next(alone.batches())
    assert torch.equal(xb[1], xb1[0])
    for b, b1 in zip(together.rule.feedback, alone.rule.feedback):
        assert torch.equal(b[1], b1[0])


def test_init_is_pytorch_default_for_the_seed():
    params = model.init_params([7, 8], n_in=5)
    torch.manual_seed(8)
    layers = [nn.Linear(5, 32), nn.Linear(32, 16), nn.Linear(16, 1)]
    for layer, ref in zip(params, layers):
        assert torch.equal(layer["weight"][1], ref.weight.detach())
        assert torch.equal(layer["bias"][1], ref.bias.detach())


def test_every_rule_starts_from_the_same_weights(small):
    starts = [Trainer(small, [3], _cfg(rule, epochs=1, batch_size=50)).params for rule in RULES]
    for other in starts[1:]:
        for la, lb in zip(starts[0], other):
            assert torch.equal(la["weight"], lb["weight"].detach())


def test_iris_split_follows_the_seed():
    """Repeated stratified splits: each seed its own split, both methods of a seed the same one."""
    data = load_pair("iris", "1v2", [0, 1, 2])
    assert data.x_train.shape == (3, 80, 4) and data.x_test.shape == (3, 20, 4)
    assert not torch.equal(data.x_test[0], data.x_test[1])
    assert (data.y_test.sum(dim=1) == 10).all()  # stratified: 10 of each class
    again = load_pair("iris", "1v2", [1])
    assert torch.equal(again.x_test[0], data.x_test[1])
    res = train(data, [0, 1, 2], _cfg("bp", epochs=2, batch_size=40))
    assert len(_frame(res)) == 3 * 2 * 2


def test_rule_eps_zero_on_the_pole_is_reported_as_diverged():
    """Inputs of exactly 2p make the update infinite when eps = 0: the run is marked diverged,
    its metrics are NaN, and it is not carried on silently."""
    x = torch.full((40, 4), 1.0)
    y = torch.tensor([0.0, 1.0] * 20)
    tr = Trainer(PairData(x, y, x, y), [0], TrainConfig(rule="stdp", epochs=3, batch_size=20,
                                                        settings={"eps": 0.0, "impl": "reference"}))
    for layer in tr.params:  # the first hidden layer's output is then exactly 0.5, the pole for x = 1
        layer["weight"].zero_()
        layer["bias"].zero_()
    res = tr.run()
    df = _frame(res)
    assert res.diverged_epoch[("stdp", 0)] == 1
    assert df.diverged.all() and df.accuracy.isna().all()
    assert len(df) == 3 * 2  # every epoch still has its (NaN) row


@pytest.mark.parametrize(
    "kw, match",
    [({"batch_size": 10_000}, "batch_size"), ({"epochs": 0}, "epochs"), ({"settings": {"bias": "maybe"}}, "stdp.bias"),
     ({"rule": "hebb"}, "method"), ({"settings": {"eps": -1.0}}, "stdp.eps")],
)
def test_bad_training_settings_fail_before_training(small, kw, match):
    cfg = dict(rule="stdp", epochs=1, batch_size=50)
    cfg.update(kw)
    with pytest.raises((ValueError, DataError), match=match):
        train(small, [0], TrainConfig(**cfg))


@pytest.mark.parametrize("every, expected_tracked", [(1, 12), (5, 3), (0, 0)])
def test_rule_stats_sampling(small, every, expected_tracked):
    """600 points at batch 50 = 12 steps: statistics on steps 0, 5, 10 for every=5, none for 0."""
    tr = Trainer(small, [0], TrainConfig(rule="stdp", epochs=1, batch_size=50, settings={"impl": "reference"},
                                         stats_every=every))
    calls = []
    original = tr.rule.track
    tr.rule.track = lambda acts, upd: (calls.append(1), original(acts, upd))
    res = tr.run()
    assert len(calls) == expected_tracked
    assert len(res.rule_stats) == (3 if expected_tracked else 0)  # one row per layer and member
    if expected_tracked:
        assert all(0 <= r["eps_dominated_share"] <= 1 and r["max_abs_update"] >= r["mean_abs_update"]
                   for r in res.rule_stats)


@pytest.mark.parametrize("rule", RULES)
def test_the_first_adam_step_moves_each_weight_by_lr_times_the_sign_of_its_gradient(small, rule):
    """Adam's first step is -lr g / (|g| + 1e-8), elementwise, for the gradient the rule handed to
    it. (This caught PyTorch's fused CPU Adam mishandling BP's non-contiguous gradients.)"""
    data = small.to(dtype=torch.float64)
    tr = Trainer(data, [0, 1], _cfg(rule, epochs=1, batch_size=64, dtype=torch.float64))
    before = [{k: v.detach().clone() for k, v in layer.items()} for layer in tr.params]
    xb, yb = next(tr.batches())
    tr.step(xb, yb)
    for layer, old in zip(tr.params, before):
        for k in ("weight", "bias"):
            g = layer[k].grad
            expected = old[k] - 1e-3 * g / (g.abs() + 1e-8)
            torch.testing.assert_close(layer[k].detach(), expected, rtol=0, atol=1e-12)


def test_bp_training_is_torch_adam_on_an_nn_module_for_several_steps(small):
    """Five steps of the trainer's BP (member 0 of a population of two) against nn.Sequential with
    torch.optim.Adam at its defaults, in float64 on the same batches: equal to rounding. Mutations:
    Adam betas (0.8, 0.99), another lr, or the BCE summed instead of averaged over the batch."""
    data = small.to(dtype=torch.float64)
    tr = Trainer(data, [0, 1], _cfg("bp", epochs=1, batch_size=50, dtype=torch.float64))
    ref = nn.Sequential(nn.Linear(784, 32), nn.Sigmoid(), nn.Linear(32, 16), nn.Sigmoid(), nn.Linear(16, 1)).double()
    with torch.no_grad():
        for lin, layer in zip([ref[0], ref[2], ref[4]], tr.params):
            lin.weight.copy_(layer["weight"][0])
            lin.bias.copy_(layer["bias"][0])
    opt = torch.optim.Adam(ref.parameters(), lr=1e-3)
    for _, (xb, yb) in zip(range(5), tr.batches()):
        tr.step(xb, yb)
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(ref(xb[0]).squeeze(-1), yb[0]).backward()
        opt.step()
    for lin, layer in zip([ref[0], ref[2], ref[4]], tr.params):
        torch.testing.assert_close(layer["weight"][0].detach(), lin.weight.detach(), rtol=0, atol=1e-12)
        torch.testing.assert_close(layer["bias"][0].detach(), lin.bias.detach(), rtol=0, atol=1e-12)


def test_the_epoch_table_reports_each_split_of_the_final_weights(small):
    """The last epoch's train and test rows are the metrics of the returned weights on the train and
    the test split. Mutation: swap the splits in Trainer.evaluate and this fails."""
    from gupta_stdp.metrics import binary_metrics

    data = pair_data(n_train=400, n_test=300, n_features=784, seed=5)  # splits of different size and content
    res = train(data, [0], _cfg("bp", epochs=2, batch_size=50))
    rows = _frame(res).query("epoch == 2").set_index("split")
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        m = binary_metrics(model.output_logit(res.params, x), y)[0]
        assert rows.loc[split, "accuracy"] == pytest.approx(m["accuracy"], abs=1e-12)
        assert rows.loc[split, "auc"] == pytest.approx(m["auc"], abs=1e-12)
    assert rows.loc["train", "accuracy"] != rows.loc["test", "accuracy"]
