"""The compiled (fused) STDP update against the reference, away from and at the x = 2p pole; and
what happens where torch.compile cannot build a kernel (a node without a C++ compiler)."""

import logging

import pytest
import torch

from gupta_stdp.rules import stdp
from gupta_stdp.rules.stdp import Guarded, compiled, local_updates, select


@pytest.fixture(scope="module")
def fast():
    return compiled(local_updates)


def _acts(seed, x_scale=1.0, p_shift=0.0, shape=(2, 16, 40, 8, 4)):
    g = torch.Generator().manual_seed(seed)
    s, b, n_in, n_h, n_h2 = shape
    acts = [x_scale * torch.rand(s, b, n_in, generator=g),
            p_shift + (1 - p_shift) * torch.rand(s, b, n_h, generator=g),
            p_shift + (1 - p_shift) * torch.rand(s, b, n_h2, generator=g),
            p_shift + (1 - p_shift) * torch.rand(s, b, 1, generator=g)]
    sign = torch.where(torch.rand(s, b, generator=g) < 0.5, -1.0, 1.0)
    zs = [torch.stack([stdp.hidden_associativity(k, [n_h, n_h2])[i] for k in range(s)]) for i in range(2)]
    return acts, sign, [*zs, torch.ones(s, 1)]


def _compare(a, b, **tol):
    for (dw, db), (dw2, db2) in zip(a, b):
        torch.testing.assert_close(dw2, dw, **tol)
        torch.testing.assert_close(db2, db, **tol)


EPS = torch.tensor([1e-9, 1e-3]).view(2, 1, 1, 1)  # one eps per member
MASK = torch.tensor([[1.0], [0.0]])  # member 1 has frozen biases


def test_compiled_matches_reference_away_from_pole(fast):
    """One step, float32, no pole anywhere (inputs <= 0.45, outputs >= 0.5): a well-posed comparison."""
    acts, sign, zs = _acts(0, x_scale=0.45, p_shift=0.5)
    acts[1], acts[2] = 0.45 * acts[1], 0.45 * acts[2]  # as inputs of the next layer they stay small
    _compare(local_updates(acts, sign, zs, EPS, MASK), fast(acts, sign, zs, EPS, MASK), rtol=1e-5, atol=1e-7)


def test_compiled_matches_reference_at_the_pole(fast):
    """At x = 2p exactly the update is 1/eps-sized: both must give the same huge number, and
    both must give a non-finite one when eps = 0."""
    acts, sign, zs = _acts(1)
    acts[1][..., 0] = 0.3
    acts[0][..., 0] = 0.6  # input 0 sits on the pole of hidden neuron 0 for every sample
    ref = local_updates(acts, sign, zs, 1e-9, MASK)
    got = fast(acts, sign, zs, 1e-9, MASK)
    assert ref[0][0].abs().max() > 1e5
    torch.testing.assert_close(got[0][0], ref[0][0], rtol=1e-5, atol=1e-2)
    assert not torch.isfinite(local_updates(acts, sign, zs, 0.0, MASK)[0][0]).all()
    assert not torch.isfinite(fast(acts, sign, zs, 0.0, MASK)[0][0]).all()


def test_select_by_impl_and_size():
    assert select(local_updates, "auto", 10) is local_updates
    assert isinstance(select(local_updates, "auto", 10**7), Guarded)
    assert select(local_updates, "reference", 10**7) is local_updates
    assert isinstance(select(local_updates, "compiled", 1), Guarded)
    with pytest.raises(ValueError, match="stdp.impl"):
        select(local_updates, "magic", 1)


def _broken_compile(monkeypatch):
    def failing(fn):
        def run(*a):
            raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found")
        return run
    monkeypatch.setattr(stdp, "compiled", failing)
    monkeypatch.setattr(stdp, "_compile_failure", [])


def test_auto_falls_back_to_the_eager_rule_with_one_warning(monkeypatch, caplog):
    _broken_compile(monkeypatch)
    acts, sign, zs = _acts(2)
    guarded, other = Guarded(local_updates, "auto"), Guarded(stdp.eps_dominated, "auto")
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            out = guarded(acts, sign, zs, EPS, MASK)
            other(acts, EPS)
    _compare(local_updates(acts, sign, zs, EPS, MASK), out, rtol=0, atol=0)  # the eager rule itself
    warnings = [r for r in caplog.records if "could not build the fused STDP update" in r.getMessage()]
    assert len(warnings) == 1 and guarded.impl == "reference" and other.impl == "reference"


def test_compiled_fails_with_a_clear_message(monkeypatch):
    _broken_compile(monkeypatch)
    acts, sign, zs = _acts(3)
    with pytest.raises(RuntimeError, match=r"stdp.impl is 'compiled'.*C\+\+ compiler.*stdp.impl: auto"):
        Guarded(local_updates, "compiled")(acts, sign, zs, EPS, MASK)


def test_a_real_error_in_the_rule_is_not_taken_for_a_compile_failure(monkeypatch):
    _broken_compile(monkeypatch)
    acts, sign, zs = _acts(4)
    with pytest.raises(RuntimeError):  # shapes that do not fit: the eager rule raises too
        Guarded(local_updates, "auto")(acts, sign[:, :3], zs, EPS, MASK)
