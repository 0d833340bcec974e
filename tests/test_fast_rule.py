"""The compiled (fused) updates against the reference, away from and at the x = 2p pole."""

import pytest
import torch

from gupta_stdp import stdp
from gupta_stdp.train import compiled_local_updates, local_updates, select_updates


@pytest.fixture(scope="module")
def fast():
    return compiled_local_updates()


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


def test_compiled_matches_reference_away_from_pole(fast):
    # inputs <= 0.45 and outputs >= 0.5 in every layer, so |2p - x| >= 0.55: no pole anywhere
    acts, sign, zs = _acts(0, x_scale=0.45, p_shift=0.5)
    acts[1], acts[2] = 0.45 * acts[1], 0.45 * acts[2]  # as inputs of the next layer they stay small
    ref = local_updates(acts, sign, zs, 1e-9, True)
    _compare(ref, fast(acts, sign, zs, 1e-9, True), rtol=1e-5, atol=1e-7)


def test_compiled_matches_reference_at_the_pole(fast):
    """At x = 2p exactly the update is 1/eps-sized: both must give the same huge number, and
    both must give a non-finite one when eps = 0."""
    acts, sign, zs = _acts(1)
    acts[1][..., 0] = 0.3
    acts[0][..., 0] = 0.6  # input 0 sits on the pole of hidden neuron 0 for every sample
    ref = local_updates(acts, sign, zs, 1e-9, False)
    got = fast(acts, sign, zs, 1e-9, False)
    assert ref[0][0].abs().max() > 1e5
    torch.testing.assert_close(got[0][0], ref[0][0], rtol=1e-5, atol=1e-2)
    assert not torch.isfinite(local_updates(acts, sign, zs, 0.0, False)[0][0]).all()
    assert not torch.isfinite(fast(acts, sign, zs, 0.0, False)[0][0]).all()


def test_select_updates_by_impl_and_size():
    assert select_updates("auto", 10) is local_updates
    assert select_updates("auto", 10**7) is compiled_local_updates()
    assert select_updates("reference", 10**7) is local_updates
    assert select_updates("compiled", 1) is compiled_local_updates()
    with pytest.raises(ValueError, match="stdp.impl"):
        select_updates("magic", 1)


def test_training_with_compiled_updates_matches_reference():
    from gupta_stdp.synthetic import pair_data
    from gupta_stdp.train import TrainConfig, train

    data = pair_data(n_train=300, n_test=100, n_features=196, seed=1)
    runs = {impl: train(data, [0, 1], TrainConfig(method="stdp", epochs=2, batch_size=64, impl=impl)).rows
            for impl in ("reference", "compiled")}
    for a, b in zip(runs["reference"], runs["compiled"]):
        assert a["epoch"] == b["epoch"] and a["seed"] == b["seed"]
        assert a["accuracy"] == pytest.approx(b["accuracy"], abs=0.02)
        assert a["auc"] == pytest.approx(b["auc"], abs=0.02)
