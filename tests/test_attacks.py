"""FGSM against adversarial-robustness-toolbox and against a closed-form linear case."""

import numpy as np
import pytest
import torch
from torch import nn

from gupta_stdp import attacks, model


TwoLogit = attacks.TwoLogit


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    params = model.init_params([0, 1], n_in=20)
    for layer in params:  # larger weights than the default, so gradients are far from zero
        layer["weight"].mul_(3)
    x = torch.rand(64, 20, generator=g)
    y = (torch.rand(64, generator=g) < 0.5).float()
    return params, x, y


@pytest.mark.parametrize("eps_255", [4, 8, 12])
def test_fgsm_matches_art(batch, eps_255):
    from art.attacks.evasion import FastGradientMethod
    from art.estimators.classification import PyTorchClassifier

    params, x, y = batch
    ours = attacks.fgsm(params, x, y, eps_255 / 255)
    for s in range(2):
        clf = PyTorchClassifier(model=TwoLogit(params, s), loss=nn.CrossEntropyLoss(), input_shape=(20,),
                                nb_classes=2, clip_values=(0.0, 1.0), device_type="cpu")
        art = FastGradientMethod(clf, norm=np.inf, eps=eps_255 / 255, eps_step=eps_255 / 255, targeted=False)
        onehot = np.eye(2, dtype=np.float32)[y.long().numpy()]
        theirs = art.generate(x=x.numpy(), y=onehot)
        np.testing.assert_allclose(ours[s].numpy(), theirs, atol=1e-6)


def test_fgsm_closed_form_on_a_linear_model():
    """For logit = w.x + b the BCE input gradient is (sigmoid(logit) - y) w, so FGSM moves every
    feature by eps against the label's side: x - eps sign(w) for y = 1, x + eps sign(w) for y = 0.
    A one-layer parameter list is exactly that model (the trainer's forward works for any depth)."""
    w = torch.tensor([[0.5, -2.0, 1.0]])
    x = torch.full((2, 3), 0.5)
    y = torch.tensor([1.0, 0.0])
    params = [{"weight": w.unsqueeze(0), "bias": torch.zeros(1, 1)}]
    adv = attacks.fgsm(params, x, y, 0.1)[0]
    expected = torch.stack([x[0] - 0.1 * w[0].sign(), x[1] + 0.1 * w[0].sign()])
    torch.testing.assert_close(adv, expected)


def test_fgsm_clips_to_the_unit_box(batch):
    params, x, y = batch
    adv = attacks.fgsm(params, x, y, 0.5)
    assert adv.min() >= 0 and adv.max() <= 1
    assert (adv - x).abs().max() <= 0.5 + 1e-6


def test_eps_zero_is_clean_accuracy(batch):
    """The attack job's eps-0 row is the clean accuracy: crafting at eps 0 returns the inputs."""
    from gupta_stdp import jobs

    params, x, y = batch
    clean = attacks.accuracy_on(params, x.expand(2, *x.shape), y)
    for kind in ("fgsm", "pgd"):
        x0 = jobs.craft(kind, params, x, y, 0.0, {"seed": 0, "steps": 3, "restarts": 1, "step_factor": 2.5})
        assert torch.equal(x0, x.expand(2, *x.shape))
        assert [r["accuracy"] for r in attacks.accuracy_on(params, x0, y)] == [c["accuracy"] for c in clean]


@pytest.mark.parametrize("eps_255", [8, 32])
def test_pgd_matches_art(batch, eps_255):
    """Without a random start PGD is deterministic: it must equal ART's ProjectedGradientDescent."""
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    params, x, y = batch
    eps = eps_255 / 255
    ours = attacks.pgd(params, x, y, eps, steps=10, step_size=eps / 4, restarts=1, random_start=False)
    for s in range(2):
        clf = PyTorchClassifier(model=TwoLogit(params, s), loss=nn.CrossEntropyLoss(), input_shape=(20,),
                                nb_classes=2, clip_values=(0.0, 1.0), device_type="cpu")
        art = ProjectedGradientDescent(clf, norm=np.inf, eps=eps, eps_step=eps / 4, max_iter=10, targeted=False,
                                       num_random_init=0, batch_size=64, verbose=False)
        theirs = art.generate(x=x.numpy(), y=np.eye(2, dtype=np.float32)[y.long().numpy()])
        np.testing.assert_allclose(ours[s].numpy(), theirs, atol=1e-5)


def test_pgd_stays_in_the_ball_and_is_at_least_as_strong_as_fgsm(batch):
    params, x, y = batch
    eps = 16 / 255
    adv = attacks.pgd(params, x, y, eps, steps=20, restarts=3, generator=torch.Generator().manual_seed(0))
    assert ((adv - x).abs() <= eps + 1e-6).all() and adv.min() >= 0 and adv.max() <= 1
    pgd_wrong = attacks.misclassified(params, adv, y).float().mean(dim=1)
    fgsm_wrong = attacks.misclassified(params, attacks.fgsm(params, x, y, eps), y).float().mean(dim=1)
    assert (pgd_wrong >= fgsm_wrong).all()


def test_pgd_restarts_keep_earlier_successes(batch):
    params, x, y = batch
    eps = 8 / 255
    one = attacks.pgd(params, x, y, eps, steps=5, restarts=1, generator=torch.Generator().manual_seed(1))
    many = attacks.pgd(params, x, y, eps, steps=5, restarts=4, generator=torch.Generator().manual_seed(1))
    broken_one = attacks.misclassified(params, one, y)
    broken_many = attacks.misclassified(params, many, y)
    assert (broken_many | ~broken_one).all()  # a point broken by restart 1 stays broken


def test_transfer_bookkeeping(batch, tmp_path, monkeypatch):
    """transfer_* rows of a method are that method's models attacked with examples crafted on the
    other method's model of the same seed; white-box rows come from the model itself."""
    from gupta_stdp import config as cfgmod, jobs
    from gupta_stdp.data import PairData

    params, x, y = batch
    other = [{k: v.flip(0) * 0.5 for k, v in layer.items()} for layer in params]  # a different pair of models
    paths = {}
    for method, p in (("bp", params), ("stdp", other)):
        paths[method] = tmp_path / f"{method}.pt"
        torch.save({"seeds": [10, 11], "params": p, "hidden_z": []}, paths[method])
    monkeypatch.setattr(jobs, "load_task", lambda *a, **k: PairData(x, y, x, y))
    cfg = cfgmod.load(None, attacks={"fgsm": {"eps": [8]}, "sweep": {"enabled": False}, "pgd": {"enabled": False}})
    out = jobs.run_attacks(cfg, "mnist", "0v1", {m: str(p) for m, p in paths.items()}, tmp_path / "a.csv")
    t = out[(out.attack == "transfer_fgsm") & (out.method == "stdp")].sort_values("seed")
    assert set(t.source) == {"bp"} and list(t.seed) == [10, 11]
    expected = attacks.accuracy_on(other, attacks.fgsm(params, x, y, 8 / 255), y)
    assert list(t.accuracy) == [m["accuracy"] for m in expected]
    wb = out[(out.attack == "fgsm") & (out.method == "stdp") & (out.eps > 0)].sort_values("seed")
    assert set(wb.source) == {"stdp"}
    assert list(wb.accuracy) == [m["accuracy"] for m in attacks.accuracy_on(other, attacks.fgsm(other, x, y, 8 / 255), y)]
    assert not ((out.attack.str.startswith("transfer")) & (out.method == out.source)).any()


def test_diagnostics_on_constructed_saturation():
    """Layer 1 weights of 60 on inputs of 1 put every first-layer unit at sigmoid(180), which is
    exactly 1.0 in float32: saturation share 1, and the sigmoid's derivative y (1 - y) is exactly 0,
    so no gradient reaches the input. (sigmoid(-180) is a tiny non-zero float and would leak one.)"""
    params = model.init_params([0, 1], n_in=3)
    params[0]["weight"][0] = 60.0
    params[0]["bias"][0] = 0.0
    x = torch.ones(50, 3)
    y = (torch.arange(50) % 2).float()
    d = attacks.diagnostics(params, x, y)
    assert d[0]["sat_layer1"] == 1.0 and d[0]["grad_zero_share"] == 1.0 and d[0]["grad_l1_mean"] == 0.0
    assert d[1]["sat_layer1"] < 0.5 and d[1]["grad_zero_share"] == 0.0 and d[1]["grad_l1_mean"] > 0
    assert set(d[0]) >= {"sat_layer1", "sat_layer2", "sat_layer3", "accuracy", "auc", "mean_out_y0", "mean_out_y1"}


def test_hopskipjump_distances_bound_the_decision(batch):
    """Decision-based distances: 0 for points the model already gets wrong, positive for the others,
    finite (at most 1, the size of the input box) where the attack found an adversarial example,
    and the same twice for the same seed."""
    params, x, y = batch
    idx = attacks.subset(y, 10)
    assert len(idx) == 10 and y[idx].sum() == 5
    d = attacks.hopskipjump_distances(params, x[idx], y[idx], max_iter=5, max_eval=200, init_eval=10)
    wrong = attacks.misclassified(params, x[idx], y[idx])
    assert (d[wrong] == 0).all() and (d[~wrong] > 0).all()
    assert torch.isfinite(d).any() and (d[torch.isfinite(d)] <= 1).all()
    again = attacks.hopskipjump_distances(params, x[idx], y[idx], max_iter=5, max_eval=200, init_eval=10)
    assert torch.equal(d, again)  # seeded


class _Payload:
    """Unpickling this runs code: what torch.load(weights_only=True) must refuse."""

    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_model_files_cannot_run_code(tmp_path, monkeypatch):
    from gupta_stdp import jobs

    monkeypatch.chdir(tmp_path)
    torch.save({"seeds": [0], "params": [], "evil": _Payload()}, tmp_path / "model.pt")
    with pytest.raises(Exception, match="(?i)weights_only|unpickl|global"):
        jobs.load_model(tmp_path / "model.pt")
    assert not (tmp_path / "PWNED").exists()
