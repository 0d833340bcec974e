"""White-box attacks on the trained models (SPEC section 4). Training is gradient-free for STDP;
the attack is not: it differentiates through the trained network with autograd."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import model
from .metrics import binary_metrics


def input_gradient(params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """d BCE(model(x), y) / dx per seed. x: [N, n_in] shared or [S, N, n_in]; returns [S, N, n_in]."""
    params = [{k: v.detach() for k, v in layer.items()} for layer in params]
    n_seeds = params[0]["weight"].shape[0]
    x = (x.expand(n_seeds, *x.shape) if x.dim() == 2 else x).detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logit = model.output_logit(params, x)
        loss = F.binary_cross_entropy_with_logits(logit, y.expand_as(logit), reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def fgsm(params, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Goodfellow et al. (2015): x_adv = clamp(x + eps * sign(grad_x BCE), 0, 1), per seed."""
    grad = input_gradient(params, x, y)
    x = x.expand_as(grad)
    return (x + eps * grad.sign()).clamp(0.0, 1.0).detach()


@torch.no_grad()
def accuracy_on(params, x_adv: torch.Tensor, y: torch.Tensor) -> list[dict]:
    return binary_metrics(torch.sigmoid(model.output_logit(params, x_adv)), y)


def pgd(params, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 20, step_size: float | None = None,
        restarts: int = 1, random_start: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """L-inf PGD (Madry et al. 2018), batched over seeds: ``steps`` signed-gradient steps of
    ``step_size`` (default 2.5 eps / steps), each projected onto the eps-ball around x and onto [0, 1].

    With several restarts (random starts in the ball), a point counts as broken if any restart
    breaks it: the returned example is that restart's, else the last restart's.
    """
    n_seeds = params[0]["weight"].shape[0]
    x0 = x.expand(n_seeds, *x.shape) if x.dim() == 2 else x
    if eps == 0:
        return x0.clone()
    step_size = 2.5 * eps / steps if step_size is None else step_size
    best, best_wrong = None, None
    for _ in range(restarts):
        adv = x0.clone()
        if random_start:
            noise = torch.rand(x0.shape, generator=generator, dtype=x0.dtype).to(x0.device)
            adv = (x0 + (2 * noise - 1) * eps).clamp(0, 1)
        for _ in range(steps):
            adv = adv + step_size * input_gradient(params, adv, y).sign()
            adv = torch.min(torch.max(adv, x0 - eps), x0 + eps).clamp(0, 1).detach()
        wrong = misclassified(params, adv, y)
        if best is None:
            best, best_wrong = adv, wrong
        else:
            take = wrong & ~best_wrong
            best = torch.where(take.unsqueeze(-1), adv, best)
            best_wrong = best_wrong | wrong
    return best


@torch.no_grad()
def misclassified(params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[S, N] bool: the paper's threshold (output >= 0.5, i.e. logit >= 0) gets the label wrong."""
    return (model.output_logit(params, x) >= 0).float() != y


@torch.no_grad()
def _activations(params, x):
    return model.forward(params, x)[0][1:]


def diagnostics(params, x: torch.Tensor, y: torch.Tensor, saturation: float = 0.01) -> list[dict]:
    """Gradient-masking checks per seed (Carlini et al. 2019; Brendel & Bethge 2017):

    - grad_zero_share: share of inputs whose input gradient is exactly zero (FGSM/PGD cannot move them);
    - grad_l1_mean, grad_l2_median: size of the input gradients;
    - sat_layer{k}: share of unit activations within ``saturation`` of 0 or 1, per layer;
    - the clean metrics beside them (accuracy, auc, mean output per class).
    """
    grad = input_gradient(params, x, y)  # [S, N, n_in]
    flat = grad.flatten(2)
    zero = (flat == 0).all(dim=-1).double().mean(dim=1)
    l1 = flat.abs().sum(dim=-1).double()
    l2 = flat.norm(dim=-1).double()
    acts = _activations(params, x)
    sats = [((a < saturation) | (a > 1 - saturation)).double().mean(dim=(1, 2)) for a in acts]
    clean = binary_metrics(acts[-1].squeeze(-1), y)  # the output layer's sigmoid, already computed
    rows = []
    for s in range(grad.shape[0]):
        row = {"grad_zero_share": float(zero[s]), "grad_l1_mean": float(l1[s].mean()),
               "grad_l2_median": float(l2[s].median())}
        row.update({f"sat_layer{k + 1}": float(v[s]) for k, v in enumerate(sats)})
        rows.append({**row, **clean[s]})
    return rows


class TwoLogit(torch.nn.Module):
    """One seed of the batched network as a 2-class classifier for adversarial-robustness-toolbox:
    logits [0, l], so that softmax cross-entropy equals the BCE of the sigmoid output."""

    def __init__(self, params, seed_index: int):
        super().__init__()
        self.params = model.select_seeds(params, slice(seed_index, seed_index + 1))

    def forward(self, x):
        logit = model.output_logit(self.params, x.float().unsqueeze(0))[0]
        return torch.stack([torch.zeros_like(logit), logit], dim=-1)


def art_classifier(params, seed_index: int, n_in: int):
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(model=TwoLogit(params, seed_index), loss=torch.nn.CrossEntropyLoss(),
                             input_shape=(n_in,), nb_classes=2, clip_values=(0.0, 1.0), device_type="cpu")


def subset(y: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of up to n test points, half from each class, in a seeded random order."""
    gen = torch.Generator().manual_seed(seed)
    idx = []
    for c in (0.0, 1.0):
        members = (y.cpu() == c).nonzero().flatten()
        idx.append(members[torch.randperm(len(members), generator=gen)][: n // 2])
    return torch.cat(idx).sort().values


def hopskipjump_distances(params, x: torch.Tensor, y: torch.Tensor, max_iter=10, max_eval=500, init_eval=20,
                          seed: int = 0) -> torch.Tensor:
    """[S, N] smallest L-inf distance at which ART's HopSkipJump (Chen et al. 2020; decision-based:
    it only sees predicted labels) found an adversarial example; 0 where the point is already
    misclassified, inf where the attack found none."""
    import numpy as np
    from art.attacks.evasion import HopSkipJump

    params = [{k: v.detach().cpu() for k, v in layer.items()} for layer in params]
    x, y = x.detach().cpu(), y.detach().cpu()
    out = torch.full((params[0]["weight"].shape[0], len(y)), float("inf"))
    for s in range(out.shape[0]):
        clf = art_classifier(params, s, x.shape[1])
        np.random.seed(seed)  # HopSkipJump draws from numpy's global generator
        attack = HopSkipJump(clf, targeted=False, norm=np.inf, max_iter=max_iter, max_eval=max_eval,
                             init_eval=init_eval, init_size=50, verbose=False)
        adv = torch.as_tensor(attack.generate(x=x.numpy()), dtype=torch.float32)
        dist = (adv - x).abs().amax(dim=1)
        one = model.select_seeds(params, slice(s, s + 1))
        wrong_clean = misclassified(one, x, y)[0]
        fooled = misclassified(one, adv, y)[0]
        out[s] = torch.where(wrong_clean, torch.zeros_like(dist), torch.where(fooled, dist, out[s]))
    return out
