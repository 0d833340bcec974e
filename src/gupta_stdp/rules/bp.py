"""Backpropagation of the binary cross-entropy (SPEC 3): the reference every other rule is
measured against, and the only rule that uses autograd."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import Rule


def bce(logit: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean BCE over the batch within each member, summed over members: each member gets exactly
    its own gradient. Computed from the logit for stability."""
    return F.binary_cross_entropy_with_logits(logit, y, reduction="none").mean(dim=-1).sum()


def _autograd(logit, y, params):
    """Per layer (grad of weight, grad of bias) of the BCE, by autograd through ``logit``'s graph."""
    leaves = [t for layer in params for t in (layer["weight"], layer["bias"])]
    grads = torch.autograd.grad(bce(logit, y), leaves)
    return list(zip(grads[0::2], grads[1::2]))


class Backprop(Rule):
    name = "bp"
    autograd = True

    def updates(self, acts, logit, y, params):
        return _autograd(logit, y, params)


def gradients(params, x: torch.Tensor, y: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """BP's gradient at ``params`` on the batch (x [M, B, n_in], y [M, B]): the reference for the
    alignment angle of the other rules. Leaves ``params`` untouched."""
    from .. import model

    leaves = [{k: v.detach().requires_grad_(True) for k, v in layer.items()} for layer in params]
    with torch.enable_grad():
        _, logit = model.forward(leaves, x)
        return _autograd(logit, y, leaves)
