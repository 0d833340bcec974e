"""FGSM against adversarial-robustness-toolbox and against a closed-form linear case."""

import numpy as np
import pytest
import torch
from torch import nn

from gupta_stdp import attacks, model
from gupta_stdp.attacks.square import square as square_attack
from gupta_stdp.jobs.attack import subset


class TwoLogit(torch.nn.Module):
    """One member of the batched network as a 2-class classifier for adversarial-robustness-toolbox:
    logits [0, l], so that softmax cross-entropy equals the BCE of the sigmoid output and the logit
    difference equals the margin. Inputs of any shape are flattened."""

    def __init__(self, params, index: int):
        super().__init__()
        for k, layer in enumerate(model.select_seeds(params, slice(index, index + 1))):
            self.register_buffer(f"w{k}", layer["weight"].detach().clone())
            self.register_buffer(f"b{k}", layer["bias"].detach().clone())
        self.n_layers = len(params)

    def forward(self, x):
        params = [{"weight": getattr(self, f"w{k}"), "bias": getattr(self, f"b{k}")} for k in range(self.n_layers)]
        logit = model.output_logit(params, x.float().flatten(1).unsqueeze(0))[0]
        return torch.stack([torch.zeros_like(logit), logit], dim=-1)


def art_classifier(params, index: int, input_shape: tuple[int, ...]):
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(model=TwoLogit(params, index), loss=nn.CrossEntropyLoss(), input_shape=input_shape,
                             nb_classes=2, clip_values=(0.0, 1.0), device_type="cpu")


def misclassified(params, x, y):
    return ~attacks.correct(params, x, y)


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


def test_eps_zero_changes_nothing(batch):
    params, x, y = batch
    clean = attacks.correct(params, x, y)
    assert torch.equal(attacks.fgsm(params, x, y, 0.0), x.expand(2, *x.shape))
    adv = attacks.pgd(params, x, y, 0.0, steps=3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(adv, x.expand(2, *x.shape)) and torch.equal(attacks.correct(params, adv, y), clean)


@pytest.mark.parametrize("eps_255", [8, 32])
def test_pgd_matches_art(batch, eps_255):
    """Without a random start PGD is deterministic: it must equal ART's ProjectedGradientDescent."""
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    params, x, y = batch
    eps = eps_255 / 255
    ours = attacks.pgd(params, x, y, eps, steps=10, step_size=eps / 4, restarts=1, random_start=False, loss="bce",
                       early_stop=False)
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
    pgd_wrong = misclassified(params, adv, y).float().mean(dim=1)
    fgsm_wrong = misclassified(params, attacks.fgsm(params, x, y, eps), y).float().mean(dim=1)
    assert (pgd_wrong >= fgsm_wrong).all()


def test_pgd_keeps_the_first_success_and_is_no_weaker_than_the_last_iterate(batch):
    """With early stopping a point broken by any iterate stays broken (its example is returned):
    never weaker than counting the last iterate alone, and the same where nothing breaks."""
    params, x, y = batch
    for eps in (2 / 255, 16 / 255):
        kw = dict(steps=10, restarts=2, generator=None)
        first = attacks.pgd(params, x, y, eps, **kw, random_start=False)
        last = attacks.pgd(params, x, y, eps, **kw, random_start=False, early_stop=False)
        broken_first, broken_last = ~attacks.correct(params, first, y), ~attacks.correct(params, last, y)
        assert (broken_first | ~broken_last).all()
        assert ((first - x).abs() <= eps + 1e-6).all()


def test_pgd_restarts_keep_earlier_successes(batch):
    params, x, y = batch
    eps = 8 / 255
    one = attacks.pgd(params, x, y, eps, steps=5, restarts=1, generator=torch.Generator().manual_seed(1))
    many = attacks.pgd(params, x, y, eps, steps=5, restarts=4, generator=torch.Generator().manual_seed(1))
    broken_one = misclassified(params, one, y)
    broken_many = misclassified(params, many, y)
    assert (broken_many | ~broken_one).all()  # a point broken by restart 1 stays broken


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
    assert d[0]["sat_layer1"] == 1.0 and d[0]["bce_grad_zero_share"] == 1.0 and d[0]["margin_grad_zero_share"] == 1.0
    assert d[0]["grad_l1_mean"] == 0.0
    assert d[1]["sat_layer1"] < 0.5 and d[1]["bce_grad_zero_share"] == 0.0 and d[1]["grad_l1_mean"] > 0
    assert set(d[0]) >= {"sat_layer1", "sat_layer2", "sat_layer3", "accuracy", "auc", "mean_out_y0", "mean_out_y1"}


class _Payload:
    """Unpickling this runs code: what torch.load(weights_only=True) must refuse."""

    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_model_files_cannot_run_code(tmp_path, monkeypatch):
    from gupta_stdp.jobs.attack import load_model

    monkeypatch.chdir(tmp_path)
    torch.save({"seeds": [0], "params": [], "evil": _Payload()}, tmp_path / "model.pt")
    with pytest.raises(Exception, match="(?i)weights_only|unpickl|global"):
        load_model(tmp_path / "model.pt")
    assert not (tmp_path / "PWNED").exists()


def test_margin_and_bce_gradients_share_their_sign_until_bce_saturates():
    """Where the BCE input gradient is non-zero it has the margin's sign (FGSM steps agree); on a
    confident class-1 point sigmoid(logit) rounds to 1.0 in float32 and BCE's gradient vanishes,
    while the margin's does not."""
    params = model.init_params([0], n_in=6)
    g = torch.Generator().manual_seed(3)
    x, y = torch.rand(40, 6, generator=g), (torch.rand(40, generator=g) < 0.5).float()
    bce, margin = attacks.input_gradient(params, x, y, "bce"), attacks.input_gradient(params, x, y, "margin")
    nz = bce != 0
    assert nz.any() and torch.equal(bce.sign()[nz], margin.sign()[nz])
    params[-1]["bias"].fill_(40.0)  # logit ~ 40: sigmoid is exactly 1.0 in float32
    yy = torch.ones(40)
    assert (attacks.input_gradient(params, x, yy, "bce") == 0).all()
    assert (attacks.input_gradient(params, x, yy, "margin") != 0).any()
    assert attacks.diagnostics(params, x, yy)[0]["bce_grad_zero_share"] == 1.0


def test_pgd_over_many_eps_in_one_pass_equals_one_eps_at_a_time():
    """The attack job runs every eps in one batched pass (the points repeated once per eps, one
    random-start generator per eps). Float64, so that the comparison is well posed."""
    params = [{k: v.double() * 3 for k, v in layer.items()} for layer in model.init_params([0, 1], n_in=20)]
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(30, 20, generator=g, dtype=torch.float64), (torch.rand(30, generator=g) < 0.5).double()
    eps = [4 / 255, 16 / 255, 32 / 255]
    gens = lambda: [torch.Generator().manual_seed(10 + k) for k in range(3)]  # noqa: E731
    eps_pt = torch.tensor(eps, dtype=torch.float64).repeat_interleave(30)
    batched = attacks.pgd(params, x.repeat(3, 1), y.repeat(3), eps_pt, steps=5, step_size=eps_pt / 4, restarts=2,
                          generator=gens())
    for k, e in enumerate(eps):
        one = attacks.pgd(params, x, y, e, steps=5, step_size=e / 4, restarts=2, generator=gens()[k])
        torch.testing.assert_close(batched[:, 30 * k : 30 * (k + 1)], one, rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def fragile():
    """A small model on generated 28 x 28 inputs that a few 1/255 already attack (a signal of
    0.02 per pixel), trained with BP."""
    from gupta_stdp.data import PairData
    from gupta_stdp.train import TrainConfig, train

    g = torch.Generator().manual_seed(0)
    u = torch.where(torch.rand(784, generator=g) < 0.5, -1.0, 1.0)

    def make(n):
        y = (torch.rand(n, generator=g) < 0.5).float()
        return (0.5 + 0.02 * (2 * y - 1)[:, None] * u + 0.15 * torch.randn(n, 784, generator=g)).clamp(0, 1), y

    data = PairData(*make(600), *make(200))
    params = train(data, [0], TrainConfig(rule="bp", epochs=5, batch_size=25)).params
    idx = subset(data.y_test, 100)
    return params, data.x_test[idx], data.y_test[idx]


def test_square_attack_is_arts(fragile):
    """The batched Square Attack against ART's SquareAttack on one model, same seed: ART's random
    draws, so the same adversarial examples, up to float rounding in ART's float64 path (a few ulp),
    which can flip an accept decision now and then: compared per point, and on accuracy."""
    from art.attacks.evasion import SquareAttack

    params, x, y = fragile
    ours = square_attack(params, x, y, 2 / 255, 300, p_init=0.05, seed=3, art_draws=True)[0]
    np.random.seed(3)
    art = SquareAttack(art_classifier(params, 0, (1, 28, 28)), norm=np.inf, eps=2 / 255, max_iter=300,
                       p_init=0.05, nb_restarts=1, batch_size=100, verbose=False)
    theirs = torch.as_tensor(art.generate(x=x.numpy().reshape(-1, 1, 28, 28),
                                          y=np.eye(2, dtype=np.float32)[y.long().numpy()]).reshape(len(x), -1))
    same = ((ours - theirs).abs().amax(dim=1) <= 1e-6).float().mean()
    assert same >= 0.95, f"only {same:.0%} of the points got ART's example"
    acc = [attacks.correct(params, a, y).float().mean().item() for a in (ours, theirs)]
    assert abs(acc[0] - acc[1]) <= 0.02 and acc[0] < attacks.correct(params, x, y).float().mean().item()
    assert ((ours - x).abs() <= 2 / 255 + 1e-6).all() and ours.min() >= 0 and ours.max() <= 1


@pytest.mark.slow
def test_square_attack_converges_at_the_default_budget(fragile):
    """The query budget of the default config: doubling it changes accuracy by at most 0.01 on this
    model, and the score-based attack then breaks what PGD breaks, no more."""
    from gupta_stdp import config as cfgmod

    budget = cfgmod.load()["attacks"]["square"]["max_iter"]
    params, x, y = fragile
    eps = 2 / 255
    acc = [attacks.correct(params, square_attack(params, x, y, eps, n, seed=0), y).float().mean().item()
           for n in (budget, 2 * budget)]
    assert abs(acc[1] - acc[0]) <= 0.01, acc
    pgd = attacks.pgd(params, x, y, eps, steps=20, restarts=2, generator=torch.Generator().manual_seed(0))
    clean = attacks.correct(params, x, y).float().mean().item()
    assert attacks.correct(params, pgd, y).float().mean().item() <= acc[0] < clean


def test_pgd_first_restart_run_to_the_end_gives_converged_transfer_examples():
    """full_first_restart: the first restart's last iterate of every point is exactly what PGD
    without early stopping returns (one restart, same start), while the first-success examples,
    and so the attack's own accuracy, are those of the early-stopping run. Float64: well posed.
    (Mutation: returning the first-success iterate as ``last`` fails the first assertion.)"""
    params = [{k: v.double() * 3 for k, v in layer.items()} for layer in model.init_params([1], n_in=20)]
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 20, generator=g, dtype=torch.float64), (torch.rand(40, generator=g) < 0.5).double()
    eps = 32 / 255
    kw = dict(steps=8, step_size=eps / 4)
    adv, last = attacks.pgd(params, x, y, eps, restarts=2, generator=torch.Generator().manual_seed(5),
                            full_first_restart=True, **kw)
    no_stop = attacks.pgd(params, x, y, eps, restarts=1, generator=torch.Generator().manual_seed(5), early_stop=False, **kw)
    torch.testing.assert_close(last, no_stop, rtol=0, atol=1e-12)
    plain = attacks.pgd(params, x, y, eps, restarts=2, generator=torch.Generator().manual_seed(5), **kw)
    assert torch.equal(attacks.correct(params, adv, y), attacks.correct(params, plain, y))
    # the converged examples lie further past the boundary than the first successes
    broken = ~attacks.correct(params, adv, y)
    assert broken.any()
    margin = lambda a: (-(2 * y - 1) * model.output_logit(params, a))  # noqa: E731
    assert (margin(last)[broken] >= margin(adv)[broken] - 1e-9).float().mean() > 0.9


def test_square_attack_leaves_inactive_points_alone(fragile):
    """A cascade's Square Attack queries only its active points: the others come back unchanged,
    and the active ones get the same examples as when they are attacked alone (same seed)."""
    params, x, y = fragile
    active = torch.zeros(1, len(y), dtype=torch.bool)
    active[0, ::2] = True
    adv = square_attack(params, x, y, 2 / 255, 50, seed=1, active=active)
    assert torch.equal(adv[0, ~active[0]], x[~active[0]])
    alone = square_attack(params, x[active[0]], y[active[0]], 2 / 255, 50, seed=1)
    torch.testing.assert_close(adv[0, active[0]], alone[0])
