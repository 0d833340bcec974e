"""Gradient-masking diagnostics per model (Carlini et al. 2019; Brendel & Bethge 2017)."""

from __future__ import annotations

import torch

from .. import model
from ..metrics import binary_metrics
from .losses import LOSSES, input_gradient


def diagnostics(params, x: torch.Tensor, y: torch.Tensor, saturation: float = 0.01) -> list[dict]:
    """Per member:

    - bce_grad_zero_share: share of test points whose BCE input gradient is exactly zero (FGSM
      with the paper's loss cannot move them); margin_grad_zero_share: the same for the margin;
    - grad_l1_mean, grad_l2_median: size of the margin's input gradients;
    - sat_layer{k}: share of unit activations within ``saturation`` of 0 or 1, per layer;
    - the clean metrics beside them (accuracy, auc, mean output per class).
    """
    zero = {}
    for loss in LOSSES:
        g = input_gradient(params, x, y, loss).flatten(2)
        zero[loss] = (g == 0).all(dim=-1).double().mean(dim=1)
    l1, l2 = g.abs().sum(dim=-1).double(), g.norm(dim=-1).double()
    with torch.no_grad():
        acts, logit = model.forward(params, x)
    sats = [((a < saturation) | (a > 1 - saturation)).double().mean(dim=(1, 2)) for a in acts[1:]]
    clean = binary_metrics(logit, y)
    rows = []
    for s in range(g.shape[0]):
        row = {"bce_grad_zero_share": float(zero["bce"][s]), "margin_grad_zero_share": float(zero["margin"][s]),
               "grad_l1_mean": float(l1[s].mean()), "grad_l2_median": float(l2[s].median())}
        row.update({f"sat_layer{k + 1}": float(v[s]) for k, v in enumerate(sats)})
        rows.append({**row, **clean[s]})
    return rows
