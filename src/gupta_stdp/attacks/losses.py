"""The losses an attack maximises, their input gradients, and the paper's decision rule.

- ``bce``: the paper's FGSM loss (Fig. 3). Its input gradient is exactly 0 for a confident point
  in float32 (sigmoid(17) == 1.0), which masks gradients by construction;
- ``margin``: -(2y - 1) * logit, which never saturates; PGD and the sweep maximise it. Where the
  BCE gradient is non-zero both have the same sign, so FGSM steps agree there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import model

LOSSES = ("bce", "margin")


def point_loss(logit: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """The loss an attack maximises, per point."""
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(logit, y.expand_as(logit), reduction="none")
    if loss == "margin":
        return -(2 * y - 1) * logit
    raise ValueError(f"attack loss must be one of {LOSSES}, not {loss!r}")


def members(params) -> int:
    return params[0]["weight"].shape[0]


def per_member(x: torch.Tensor, params) -> torch.Tensor:
    """x [N, n_in] shared by every member as [M, N, n_in] (a view), or x [M, N, n_in] as given."""
    return x.expand(members(params), *x.shape) if x.dim() == 2 else x


def input_gradient(params, x: torch.Tensor, y: torch.Tensor, loss: str = "bce") -> torch.Tensor:
    """d loss(model(x), y) / dx per member and point. x: [N, n_in] shared or [M, N, n_in]; y: [N]
    or [M, N]. Returns [M, N, n_in]. Autograd through the trained forward pass."""
    params = [{k: v.detach() for k, v in layer.items()} for layer in params]
    x = per_member(x, params).detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logit = model.output_logit(params, x)
        (grad,) = torch.autograd.grad(point_loss(logit, y, loss).sum(), x)
    return grad


def gradient_and_logit(layers, x: torch.Tensor, y: torch.Tensor, loss: str):
    """One member's input gradient of ``loss`` and its logits, for x [P, n_in] (autograd)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logit = model.output_logit(layers, x.unsqueeze(0))[0]
        (grad,) = torch.autograd.grad(point_loss(logit, y, loss).sum(), x)
    return grad, logit.detach()


@torch.no_grad()
def correct(params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[M, N] bool: the paper's threshold (output >= 0.5, i.e. logit >= 0) gets the label right.
    A model with non-finite weights has no decision at all: the attack stage marks such a member
    as diverged and keeps none of its results (a NaN logit would read as class 0 here)."""
    return (model.output_logit(params, x) >= 0).to(y.dtype) == y
