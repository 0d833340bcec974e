"""The compiled (fused) rule against the reference, away from and at the x = 2p pole."""

import pytest
import torch

from gupta_stdp import stdp

compiled = pytest.importorskip("torch._inductor")  # the compiled path needs inductor


@pytest.fixture(scope="module")
def fast():
    return stdp.get_rule("compiled", 0)


def _inputs(seed, shape=(2, 16, 40, 8)):
    g = torch.Generator().manual_seed(seed)
    s, b, n_in, n_out = shape
    x = torch.rand(s, b, n_in, generator=g)
    p = torch.rand(s, b, n_out, generator=g)
    z = torch.where(torch.rand(s, b, n_out, generator=g) < 0.5, -1.0, 1.0)
    return x, p, z


def test_compiled_matches_reference_away_from_pole(fast):
    x, p, z = _inputs(0)
    x, p = 0.45 * x, 0.5 + 0.5 * p  # then 2p - x >= 0.55: no pole anywhere
    torch.testing.assert_close(fast(x, p, z, 1e-9), stdp.stdp_rule(x, p, z, 1e-9), rtol=1e-5, atol=1e-7)


def test_compiled_matches_reference_at_the_pole(fast):
    """At x = 2p exactly the update is 1/eps-sized: both must give the same huge number, and
    both must give a non-finite one when eps = 0."""
    x, p, z = _inputs(1, (1, 4, 6, 3))
    x[..., 0] = 2 * p[..., 0]  # neuron 0 sits on the pole for input 0
    x = x.clamp(max=1.0)
    p[..., 0] = x[..., 0] / 2
    ref = stdp.stdp_rule(x, p, z, 1e-9)
    got = fast(x, p, z, 1e-9)
    assert ref.abs().max() > 1e5
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-3)
    assert not torch.isfinite(stdp.stdp_rule(x, p, z, 0.0)).all()
    assert not torch.isfinite(fast(x, p, z, 0.0)).all()


def test_auto_picks_by_size():
    assert stdp.get_rule("auto", 10) is stdp.stdp_rule
    assert stdp.get_rule("auto", 10**7) is not stdp.stdp_rule
    assert stdp.get_rule("reference", 10**7) is stdp.stdp_rule
    with pytest.raises(ValueError, match="stdp.impl"):
        stdp.get_rule("magic", 1)
