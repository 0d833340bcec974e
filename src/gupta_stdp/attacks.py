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


def fgsm_sweep(params, x, y, eps_255: list[float]) -> list[dict]:
    """Rows of (seed index, eps in [0, 1], metrics) for FGSM at each eps (given in units of 1/255)."""
    rows = []
    for e in eps_255:
        eps = float(e) / 255.0
        x_adv = fgsm(params, x, y, eps) if eps > 0 else x
        for i, m in enumerate(accuracy_on(params, x_adv, y)):
            rows.append({"seed_index": i, "attack": "fgsm", "eps": eps, **m})
    return rows
