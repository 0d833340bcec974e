"""The STDP rule of SPEC section 2 against naive loops, the paper's identities and its locality."""

import itertools

import pytest
import torch

from gupta_stdp import curves, model
from gupta_stdp.rules import stdp
from gupta_stdp.rules.stdp import local_updates
from gupta_stdp.train import TrainConfig, Trainer


def naive_update(x, p, z, eps):
    """SPEC 2 written as a per-element triple loop, in float64."""
    bsz, n_in = x.shape
    n_out = p.shape[1]
    dw = torch.zeros(n_out, n_in, dtype=torch.float64)
    for j, i, b in itertools.product(range(n_out), range(n_in), range(bsz)):
        xi, pj = float(x[b, i]), float(p[b, j])
        dw[j, i] += z[b, j] * xi**3 * pj * (xi - pj) / ((2 * pj - xi) ** 2 + eps) / bsz
    return dw


@pytest.mark.parametrize("eps", [1e-9, 1e-3])
def test_rule_matches_triple_loop(eps):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(7, 5, generator=g, dtype=torch.float64)
    p = torch.rand(7, 3, generator=g, dtype=torch.float64)
    z = torch.where(torch.rand(7, 3, generator=g) < 0.5, -1.0, 1.0).double()
    got = stdp.stdp_rule(x, p, z, eps)
    torch.testing.assert_close(got, naive_update(x, p, z, eps), rtol=1e-12, atol=0)


def test_rule_carries_leading_seed_dimension():
    g = torch.Generator().manual_seed(2)
    x, p = torch.rand(3, 6, 4, generator=g), torch.rand(3, 6, 2, generator=g)
    z = torch.where(torch.rand(3, 6, 2, generator=g) < 0.5, -1.0, 1.0)
    batched = stdp.stdp_rule(x, p, z, 1e-9)
    for s in range(3):
        torch.testing.assert_close(batched[s], stdp.stdp_rule(x[s], p[s], z[s], 1e-9))


def test_eq6_equals_eq7():
    """SPEC 2: with T_pre = 1/x, T_post = 1/p and dT = T_post - T_pre, eq. 6 equals eq. 7."""
    g = torch.Generator().manual_seed(3)
    x = torch.rand(1000, generator=g, dtype=torch.float64) * 0.98 + 0.01
    p = torch.rand(1000, generator=g, dtype=torch.float64) * 0.98 + 0.01
    keep = (2 * p - x).abs() > 1e-3
    x, p = x[keep], p[keep]
    t_pre, t_post = 1 / x, 1 / p
    dt = t_post - t_pre
    lhs = dt / (t_pre**2 * (t_pre - dt) ** 2)
    torch.testing.assert_close(lhs, curves.eq7(x, p), rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(curves.eq6(dt, t_pre), curves.eq7(x, p), rtol=1e-9, atol=1e-12)


def test_eq5_and_eq6_asymmetry():
    """Appendix A: eq. 6 peaks higher for dT > 0 than for dT < 0; eq. 5 the reverse."""
    dt = torch.linspace(-0.9, 0.9, 181, dtype=torch.float64)
    for f, pos_higher in ((curves.eq6, True), (curves.eq5, False)):
        v = f(dt, 1.0)
        assert (v[dt > 0].max() > -v[dt < 0].min()) == pos_higher


def test_hidden_associativity_balanced_and_fixed():
    for seed in range(20):
        zs = stdp.hidden_associativity(seed, [32, 16])
        for z, n in zip(zs, (32, 16)):
            assert set(z.tolist()) == {-1.0, 1.0}
            assert int((z == 1).sum()) == n // 2
        again = stdp.hidden_associativity(seed, [32, 16])
        assert all(torch.equal(a, b) for a, b in zip(zs, again))
    assert not torch.equal(stdp.hidden_associativity(0, [32])[0], stdp.hidden_associativity(1, [32])[0])


def test_associativity_flips_with_label():
    z = stdp.hidden_associativity(0, [32])[0]
    sign = torch.tensor([1.0, -1.0, 1.0])  # y = 1, 0, 1
    zz = stdp.associativity(sign, z)
    assert torch.equal(zz[0], z) and torch.equal(zz[1], -z) and torch.equal(zz[2], z)
    out = stdp.associativity(sign, torch.ones(1))
    assert out[:, 0].tolist() == [1.0, -1.0, 1.0]


def _trainer(rule="stdp", align_every=0, stats_every=0, **settings):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 10, generator=g)
    y = (x[:, 0] > 0.5).float()
    from gupta_stdp.data import PairData

    return Trainer(PairData(x, y, x, y), [0, 1], TrainConfig(rule=rule, epochs=1, batch_size=16, settings=settings,
                                                             align_every=align_every, stats_every=stats_every))


ONES = torch.ones(2, 1)  # bias mask: both members learn their biases


def test_stdp_training_never_uses_autograd(monkeypatch):
    import torch._dynamo  # noqa: F401 - Adam's step imports it lazily; import it before patching autograd

    def forbidden(*a, **k):
        raise AssertionError("autograd was called on the STDP path")

    monkeypatch.setattr(torch.Tensor, "backward", forbidden)
    monkeypatch.setattr(torch.autograd, "grad", forbidden)
    monkeypatch.setattr(torch.autograd, "backward", forbidden)
    tr = _trainer(impl="reference")
    before = [layer["weight"].clone() for layer in tr.params]
    tr.run()
    for layer, w0 in zip(tr.params, before):
        assert not layer["weight"].requires_grad and layer["weight"].grad_fn is None
        assert not torch.equal(layer["weight"], w0)


def test_update_is_local_and_reads_only_the_label_sign():
    """Layer k's update depends on its own x, p and Z only: changing the layers above it (the
    output side) leaves it unchanged. The label enters only as +1/-1."""
    tr = _trainer(impl="reference")
    xb = tr.data.x_train[:16].expand(2, 16, 10)
    yb = tr.data.y_train[:16].expand(2, 16)
    acts, _ = model.forward(tr.params, xb)
    zs = tr.rule.layer_zs
    ref = local_updates(acts, 2 * yb - 1, zs, 1e-9, ONES)
    other = [dict(layer) for layer in tr.params]
    other[1] = {k: torch.randn_like(v) for k, v in other[1].items()}
    other[2] = {k: torch.randn_like(v) for k, v in other[2].items()}
    acts2, _ = model.forward(other, xb)
    upd2 = local_updates(acts2, 2 * yb - 1, zs, 1e-9, ONES)
    torch.testing.assert_close(upd2[0][0], ref[0][0], rtol=0, atol=0)
    # Flipping every label flips the sign of every update (Z -> -Z) and nothing else.
    flipped = local_updates(acts, 1 - 2 * yb, zs, 1e-9, ONES)
    for (a, b), (c, d) in zip(ref, flipped):
        torch.testing.assert_close(c, -a)
        torch.testing.assert_close(d, -b)


def test_bias_modes():
    frozen = _trainer(bias="frozen", impl="reference")
    b0 = [layer["bias"].clone() for layer in frozen.params]
    frozen.run()
    assert all(torch.equal(layer["bias"], b) for layer, b in zip(frozen.params, b0))
    learned = _trainer(bias="presynaptic_one", impl="reference")
    b0 = [layer["bias"].clone() for layer in learned.params]
    learned.run()
    assert all(not torch.equal(layer["bias"], b) for layer, b in zip(learned.params, b0))


def test_bias_update_is_the_rule_with_x_equal_one():
    g = torch.Generator().manual_seed(4)
    p = torch.rand(2, 8, 3, generator=g)
    acts = [torch.rand(2, 8, 5, generator=g), p]
    (dw, db), = local_updates(acts, torch.ones(2, 8), [torch.ones(2, 3)], 1e-9, ONES)
    expected = (p * (1 - p) / ((2 * p - 1) ** 2 + 1e-9)).mean(dim=1)
    torch.testing.assert_close(db, expected)
    assert dw.shape == (2, 3, 5)


def test_rule_hands_adam_minus_dw_and_frozen_members_keep_their_biases():
    """The STDP rule's gradient for Adam is -dW (Adam then moves weights along +dW); a member with
    frozen biases gets a zero bias gradient, so Adam leaves its biases exactly as they were."""
    tr = Trainer(_trainer().data, [0], TrainConfig(rule="stdp", epochs=1, batch_size=16, settings={"impl": "reference"},
                                                   variants={"stdp-frozen": {"bias": "frozen"}}))
    xb, yb = next(tr.batches())
    acts, logit = model.forward(tr.params, xb)
    grads = tr.rule.updates(acts, logit, yb, tr.params)
    upd = local_updates(acts, 2 * yb - 1, tr.rule.layer_zs, tr.rule.eps_b, tr.rule.bias_mask)
    for (gw, gb), (dw, db) in zip(grads, upd):
        assert torch.equal(gw, -dw) and torch.equal(gb, -db)
        assert gb[1].abs().sum() == 0 and gb[0].abs().sum() > 0  # member 1 is stdp-frozen


def test_eps_dominated_counts_exactly_the_triples_below_sqrt_eps():
    """(2p - x)^2 < eps on a hand-made layer: x = (0.5, 0.1), p = (0.26, 0.9): the differences 2p - x
    are 0.02, 0.42 (p = 0.26) and 1.3, 1.7 (p = 0.9); with eps = 0.01 only the first is dominated
    (0.0004 < 0.01): 1 of 4. Mutation: compare with <= sqrt(eps) unsquared, or drop the square."""
    from gupta_stdp.rules.stdp import eps_dominated

    x = torch.tensor([[[0.5, 0.1]]], dtype=torch.float64)  # [M=1, B=1, n_in=2]
    p = torch.tensor([[[0.26, 0.9]]], dtype=torch.float64)  # [M, B, n_out=2]
    assert eps_dominated([x, p], 0.01)[0].tolist() == [1]
    assert eps_dominated([x, p], 0.2)[0].tolist() == [2]  # 0.0004 and 0.1764 < 0.2
    assert eps_dominated([x, p], 1e-9)[0].tolist() == [0]


def test_stdp_training_never_uses_autograd_as_the_workflow_runs_it(monkeypatch):
    """With the alignment angle and rule statistics sampled (the workflow's setting), autograd runs
    only inside the angle's reference (BP's gradient, bp.gradients), never for the STDP update."""
    import torch._dynamo  # noqa: F401

    from gupta_stdp.rules import bp

    inside = []

    def forbidden(*a, **k):
        raise AssertionError("autograd was called on the STDP path")

    real_grad, real_gradients = torch.autograd.grad, bp.gradients

    def grad(*a, **k):
        if not inside:
            forbidden()
        return real_grad(*a, **k)

    def gradients(*a, **k):
        inside.append(1)
        try:
            return real_gradients(*a, **k)
        finally:
            inside.pop()

    monkeypatch.setattr(torch.Tensor, "backward", forbidden)
    monkeypatch.setattr(torch.autograd, "backward", forbidden)
    monkeypatch.setattr(torch.autograd, "grad", grad)
    monkeypatch.setattr(bp, "gradients", gradients)
    tr = _trainer(impl="reference", align_every=1, stats_every=1)
    res = tr.run()
    assert res.alignment and res.rule_stats  # the angle was measured: autograd did run, in its place
