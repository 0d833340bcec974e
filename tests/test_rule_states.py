"""The rules' registry, their fixed state (feedback matrices: streams, ranges, names, device), the
base class defaults, BP's loss, and the attack losses, against independent references."""

from pathlib import Path

import pytest
import torch

from gupta_stdp import model, rules
from gupta_stdp.attacks import losses
from gupta_stdp.rules import bp, stdp
from gupta_stdp.rules.base import Member, Rule
from gupta_stdp.seeding import subseed

F64 = torch.float64
RULES_DIR = Path(rules.__file__).parent


def _draw(seed, tag, shape, bound):
    """Reference: uniform in [-bound, bound] from the sub-seed (seed, tag), drawn in float64."""
    gen = torch.Generator().manual_seed(subseed(seed, tag))
    return (2 * torch.rand(shape, generator=gen, dtype=F64) - 1) * bound


def _members(name, seeds):
    return [Member(name, s) for s in seeds]


def test_every_registered_rule_resolves_to_its_module_file_and_class():
    """names() lists the registry; module_name(name) is the file the workflow hashes as that rule's
    code (rules/<module>.py), and it defines the class get(name) returns, whose ``name`` is the
    registry name. Mutations: names() broken, module_name splitting on another separator or taking
    the class part: this fails."""
    assert rules.names() == list(rules.RULES)
    for name in rules.names():
        module = rules.module_name(name)
        assert (RULES_DIR / f"{module}.py").is_file(), module
        cls = rules.get(name)
        assert cls.__module__ == f"gupta_stdp.rules.{module}" and cls.name == name


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fixed_uniform_is_a_float64_draw_from_the_members_sub_seed(dtype):
    """[M, *shape] uniform in [-bound, bound]: member m's rows are torch.rand in float64 from the
    sub-seed (m.seed, tag), cast to the rule's dtype; members of one seed share them. Mutations: the
    draw in float32 (dtype None or not given), or the tag dropped from the sub-seed: this fails."""
    rule = Rule(_members("fa", (0, 1, 0)), [5, 3, 1], dtype=dtype)
    got = rule.fixed_uniform("feedback7", (3, 4), 0.25)
    assert got.dtype == dtype and got.shape == (3, 3, 4)
    for i, seed in enumerate((0, 1, 0)):
        assert torch.equal(got[i], _draw(seed, "feedback7", (3, 4), 0.25).to(dtype))


def test_fa_state_names_each_matrix_after_the_weight_it_stands_for():
    """Three hidden layers (sizes 5, 4, 3, 2, 1): FA's state is B2, B3, B4, each of the shape of W_k,
    drawn from the sub-seed 'feedback<k>' in [-1/sqrt(fan_in), 1/sqrt(fan_in)] (SPEC 2b); and they
    are the matrices the backward pass uses for W_k: with W_k set to B_k, FA's update is BP's
    gradient. Mutations: the layer numbering of the tags or of the state's names starting elsewhere
    (0 or 3), the tag dropped: this fails."""
    sizes = [5, 4, 3, 2, 1]
    fa = rules.get("fa")(_members("fa", (0, 1)), sizes, dtype=F64)
    state = fa.state()
    assert list(state) == ["B2", "B3", "B4"]
    for k in (2, 3, 4):
        n_out, n_in = sizes[k], sizes[k - 1]
        for i, seed in enumerate((0, 1)):
            assert torch.equal(state[f"B{k}"][i], _draw(seed, f"feedback{k}", (n_out, n_in), n_in**-0.5))
    params = [{key: v.double() for key, v in layer.items()} for layer in model.init_params([0, 1], 5, hidden=sizes[1:-1])]
    for k in (2, 3, 4):
        params[k - 1]["weight"] = state[f"B{k}"]
    g = torch.Generator().manual_seed(3)
    x = torch.rand(2, 8, 5, generator=g, dtype=F64)
    y = (torch.rand(2, 8, generator=g, dtype=F64) < 0.5).to(F64)
    acts, logit = model.forward(params, x)
    for (gw, gb), (rw, rb) in zip(fa.updates(acts, logit, y, params), bp.gradients(params, x, y)):
        torch.testing.assert_close(gw, rw, rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(gb, rb, rtol=1e-12, atol=1e-15)


def test_dfa_state_names_each_matrix_after_its_hidden_layer():
    """DFA's D_l for hidden layers 1 and 2 (widths 4 and 3): shape [1, n_l], drawn from the sub-seed
    'direct<l>' in [-1/sqrt(n_l), 1/sqrt(n_l)], saved as D1, D2. Mutations: the numbering of the tags
    or the state's names starting at 0 or 2, the tag dropped: this fails."""
    dfa = rules.get("dfa")(_members("dfa", (0, 1)), [5, 4, 3, 1], dtype=F64)
    state = dfa.state()
    assert list(state) == ["D1", "D2"]
    for layer, n in ((1, 4), (2, 3)):
        for i, seed in enumerate((0, 1)):
            assert torch.equal(state[f"D{layer}"][i], _draw(seed, f"direct{layer}", (1, n), n**-0.5))


@pytest.mark.parametrize("name", ["fa", "dfa"])
def test_fixed_matrices_live_on_the_rules_device(name):
    """PyTorch's meta device stands in for a GPU: the fixed matrices are moved there. Mutations: the
    device dropped from the final .to(): they stay on the CPU and this fails."""
    rule = rules.get(name)(_members(name, (0, 1)), [5, 4, 3, 1], device="meta", dtype=F64)
    assert [t.device.type for t in rule.state().values()] == ["meta", "meta"]


def test_a_rule_built_without_a_batch_size_plans_for_batch_100(monkeypatch):
    """The base class's batch size defaults to 100, which STDP's impl 'auto' uses to decide whether
    compiling pays (members x batch x weights >= 200 000): 100 x 1 990 weights stays eager, 100 x
    2 000 compiles (torch.compile is stubbed out here: only the decision is checked). Mutation: the
    default 101 (the first network would compile): this fails."""
    monkeypatch.setattr(stdp, "compiled", lambda fn: fn)
    auto = {"impl": "auto"}
    below = stdp.STDP([Member("stdp", 0, auto)], [198, 10, 1])
    at = stdp.STDP([Member("stdp", 0, auto)], [199, 10, 1])
    assert below.batch_size == 100
    assert (below.impl_used, at.impl_used) == ("reference", "auto")


def _bce_reference(z, y):
    p = torch.sigmoid(z)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))


def test_bp_loss_is_the_mean_bce_over_the_batch_summed_over_members():
    """bce for [M, B] logits is sum over members of the batch mean; for one member's [B] logits, the
    batch mean. Mutation: the mean over dim +1 (fails on a single member's [B] logits)."""
    z = torch.tensor([[-2.0, 0.5, 3.0], [1.0, -1.0, 0.25]], dtype=F64)
    y = torch.tensor([[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]], dtype=F64)
    torch.testing.assert_close(bp.bce(z, y), _bce_reference(z, y).mean(dim=1).sum(), rtol=1e-14, atol=0)
    torch.testing.assert_close(bp.bce(z[1], y[1]), _bce_reference(z[1], y[1]).mean(), rtol=1e-14, atol=0)


def test_attack_losses_per_point():
    """margin = -(2y - 1) * logit: -logit for class 1, +logit for class 0; bce from the logit.
    Mutation: 3y - 1 in the margin (class 1 gets -2 logit): this fails."""
    z = torch.tensor([[-2.0, 0.5, 3.0, -0.75]], dtype=F64)
    y = torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=F64)
    torch.testing.assert_close(losses.point_loss(z, y, "margin"), torch.tensor([[-2.0, 0.5, -3.0, 0.75]], dtype=F64),
                               rtol=0, atol=0)
    torch.testing.assert_close(losses.point_loss(z, y, "bce"), _bce_reference(z, y), rtol=1e-14, atol=0)


def test_input_gradient_defaults_to_the_bce_gradient_of_the_network():
    """The attacks' default loss is the paper's BCE: d BCE / dx = (sigmoid(logit) - y) d logit / dx,
    with d logit / dx = W1^T (sigma'(h1) * W2^T (sigma'(h2) * W3^T)) written out by hand for one
    hidden pair of layers. Mutations: another default loss name ('XXbceXX', 'BCE' raise): this fails."""
    params = [{k: v.double() for k, v in layer.items()} for layer in model.init_params([4], 3, hidden=(5, 2))]
    x = torch.tensor([[0.1, 0.9, 0.4], [0.7, 0.2, 0.5]], dtype=F64)
    y = torch.tensor([1.0, 0.0], dtype=F64)
    (w1, b1), (w2, b2), (w3, b3) = [(p["weight"][0], p["bias"][0]) for p in params]
    expected = []
    for xi, yi in zip(x, y):
        h1 = torch.sigmoid(w1 @ xi + b1)
        h2 = torch.sigmoid(w2 @ h1 + b2)
        z = w3 @ h2 + b3
        dz_dx = w1.T @ (h1 * (1 - h1) * (w2.T @ (h2 * (1 - h2) * w3[0])))
        expected.append((torch.sigmoid(z) - yi) * dz_dx)
    got = losses.input_gradient(params, x, y)
    torch.testing.assert_close(got[0], torch.stack(expected), rtol=1e-12, atol=1e-15)
