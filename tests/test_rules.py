"""The rules without weight transport (SPEC 2b) against backpropagation's gradient."""

import pytest
import torch

from gupta_stdp import attacks, model, rules
from gupta_stdp.rules import bp
from gupta_stdp.rules.base import Member
from gupta_stdp.synthetic import pair_data
from gupta_stdp.train import TrainConfig, Trainer, angles


def _net(sizes, seeds=(0, 1), scale=1.0):
    """float64 parameters for ``sizes`` and a batch: exact comparisons are well posed in float64."""
    params = [{k: v.double() * scale for k, v in layer.items()} for layer in model.init_params(list(seeds), sizes[0],
                                                                                               hidden=sizes[1:-1])]
    g = torch.Generator().manual_seed(1)
    x = torch.rand(len(seeds), 16, sizes[0], generator=g, dtype=torch.float64)
    y = (torch.rand(len(seeds), 16, generator=g) < 0.5).double()
    return params, x, y


def _rule(name, sizes, seeds=(0, 1)):
    return rules.get(name)([Member(name, s) for s in seeds], sizes, dtype=torch.float64)


def _updates(rule, params, x, y):
    acts, logit = model.forward(params, x)
    return rule.updates(acts, logit, y, params)


def _assert_is_bp(got, params, x, y):
    for (gw, gb), (rw, rb) in zip(got, bp.gradients(params, x, y)):
        torch.testing.assert_close(gw, rw, rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(gb, rb, rtol=1e-12, atol=1e-15)


def test_bp_rule_is_autograd_of_the_bce():
    sizes = [10, 32, 16, 1]
    params, x, y = _net(sizes)
    leaves = [{k: v.clone().requires_grad_(True) for k, v in layer.items()} for layer in params]
    loss = sum(torch.nn.functional.binary_cross_entropy_with_logits(model.output_logit(
        model.select_seeds(leaves, slice(s, s + 1)), x[s : s + 1])[0], y[s]) for s in range(2))
    loss.backward()
    got = bp.gradients(params, x, y)
    for layer, (gw, gb) in zip(leaves, got):
        torch.testing.assert_close(gw, layer["weight"].grad, rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(gb, layer["bias"].grad, rtol=1e-12, atol=1e-15)


def test_fa_with_the_forward_weights_as_feedback_is_bp():
    sizes = [10, 32, 16, 1]
    params, x, y = _net(sizes)
    fa = _rule("fa", sizes)
    assert [b.shape for b in fa.feedback] == [params[1]["weight"].shape, params[2]["weight"].shape]
    fa.feedback = [params[1]["weight"].clone(), params[2]["weight"].clone()]
    _assert_is_bp(_updates(fa, params, x, y), params, x, y)


def test_fa_with_its_own_feedback_is_not_bp():
    sizes = [10, 32, 16, 1]
    params, x, y = _net(sizes)
    got = _updates(_rule("fa", sizes), params, x, y)
    ref = bp.gradients(params, x, y)
    assert not torch.allclose(got[0][0], ref[0][0])
    torch.testing.assert_close(got[-1][0], ref[-1][0], rtol=1e-12, atol=1e-15)  # the output layer's is BP's


def test_dfa_with_one_hidden_layer_and_the_output_weights_as_feedback_is_bp():
    sizes = [10, 8, 1]
    params, x, y = _net(sizes)
    dfa = _rule("dfa", sizes)
    assert [d.shape for d in dfa.feedback] == [(2, 1, 8)]
    dfa.feedback = [params[1]["weight"].clone()]  # D1: [1, n_1], the shape of W2
    _assert_is_bp(_updates(dfa, params, x, y), params, x, y)


def test_sign_symmetry_with_unit_magnitude_weights_is_bp():
    sizes = [10, 32, 16, 1]
    params, x, y = _net(sizes)
    for layer in params[1:]:
        layer["weight"] = layer["weight"].sign()  # magnitude 1: sign(W) = W
    _assert_is_bp(_updates(_rule("sign", sizes), params, x, y), params, x, y)


def test_fixed_matrices_follow_the_seed_and_the_spec_ranges():
    fa, dfa = _rule("fa", [784, 32, 16, 1], seeds=(0, 1, 0)), _rule("dfa", [784, 32, 16, 1], seeds=(0, 1, 0))
    for mats, bounds in ((fa.feedback, (32**-0.5, 16**-0.5)), (dfa.feedback, (32**-0.5, 16**-0.5))):
        for m, bound in zip(mats, bounds):
            assert torch.equal(m[0], m[2]) and not torch.equal(m[0], m[1])  # per seed, fixed
            assert m.abs().max() <= bound and m.abs().max() > 0.8 * bound


@pytest.mark.parametrize("name", [r for r in rules.RULES if r != "bp"])
def test_no_rule_but_bp_builds_an_autograd_graph(name):
    data = pair_data(n_train=200, n_test=50, n_features=20, seed=1)
    tr = Trainer(data, [0, 1], TrainConfig(rule=name, epochs=1, batch_size=20,
                                           settings={"impl": "reference"} if name == "stdp" else {}))
    assert not tr.rule.autograd
    xb, yb = next(tr.batches())
    acts, logit = model.forward(tr.params, xb)
    assert logit.grad_fn is None
    for gw, gb in tr.rule.updates(acts, logit, yb, tr.params):
        assert gw.grad_fn is None and gb.grad_fn is None and not gw.requires_grad
    assert all(not t.requires_grad for layer in tr.params for t in layer.values())
    assert rules.get("bp").autograd


def test_alignment_angle_of_bp_against_itself_is_zero():
    params, x, y = _net([10, 32, 16, 1])
    g = [w for w, _ in bp.gradients(params, x, y)]
    assert all(torch.equal(a, torch.zeros(2, dtype=torch.float64)) for a in angles(g, g))
    opposite = angles(g, [-w for w in g])
    assert all(torch.allclose(a, torch.full((2,), 180.0, dtype=torch.float64)) for a in opposite)


def test_attacks_differentiate_the_true_network_not_the_feedback_path():
    """An FA model whose feedback matrices differ from its weights: the attack's input gradient is
    autograd's through the trained forward pass, not what the feedback path would send back."""
    data = pair_data(n_train=200, n_test=50, n_features=25, seed=2)
    tr = Trainer(data, [0], TrainConfig(rule="fa", epochs=3, batch_size=20))
    tr.run()
    assert not torch.allclose(tr.rule.feedback[0], tr.params[1]["weight"])
    x, y = data.x_test[:10], data.y_test[:10]
    net = torch.nn.Sequential(torch.nn.Linear(25, 32), torch.nn.Sigmoid(), torch.nn.Linear(32, 16), torch.nn.Sigmoid(),
                              torch.nn.Linear(16, 1))
    with torch.no_grad():
        for lin, layer in zip([net[0], net[2], net[4]], tr.params):
            lin.weight.copy_(layer["weight"][0])
            lin.bias.copy_(layer["bias"][0])
    xr = x.clone().requires_grad_(True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xr)[:, 0], y, reduction="sum")
    (expected,) = torch.autograd.grad(loss, xr)
    got = attacks.input_gradient(tr.params, x, y, "bce")[0]
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-7)
    # what the feedback path would give instead: delta_1 W1 with FA's deltas
    acts, _ = model.forward(tr.params, x.unsqueeze(0))
    e = acts[-1] - y.view(1, -1, 1)
    fa_path = tr.rule.hidden_deltas(e, acts, tr.params)[0] @ tr.params[0]["weight"]
    assert not torch.allclose(fa_path[0], expected, rtol=1e-2, atol=1e-6)


def test_the_readme_example_of_adding_a_rule_works(monkeypatch):
    """The README's worked example, as written there: one module plus one registry line."""
    import re
    import sys
    import types

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    line = re.search(r'`("half": "half:HalfBackprop",)`', readme).group(1)
    module = types.ModuleType("gupta_stdp.rules.half")
    module.__package__ = "gupta_stdp.rules"
    exec(compile(code, "rules/half.py", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "gupta_stdp.rules.half", module)
    name, target = [s.strip().strip('"') for s in line.rstrip(",").split(":", 1)]
    monkeypatch.setitem(rules.RULES, name, target)
    from gupta_stdp import config as cfgmod
    from gupta_stdp.train import train

    cfgmod.check(cfgmod.load(None, methods=["stdp", "bp", "half"]))
    data = pair_data(n_train=300, n_test=100, n_features=784, seed=4)
    res = train(data, [0], TrainConfig(rule="half", epochs=8, batch_size=20))
    final = [r for r in res.rows if r["epoch"] == 8 and r["split"] == "test"][0]
    assert final["accuracy"] > 0.9
    params, x, y = _net([10, 32, 16, 1])
    half = _rule("half", [10, 32, 16, 1])
    got, ref = _updates(half, params, x, y), bp.gradients(params, x, y)
    torch.testing.assert_close(got[-1][0], ref[-1][0], rtol=1e-12, atol=1e-15)  # output layer: BP's
    torch.testing.assert_close(got[1][0], 0.5 * ref[1][0], rtol=1e-12, atol=1e-15)  # one layer down: half
