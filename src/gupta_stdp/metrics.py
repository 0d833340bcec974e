"""Threshold and threshold-free metrics, per seed, batched over seeds."""

from __future__ import annotations

import torch


def roc_auc(prob: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """ROC-AUC per seed (Mann-Whitney, ties count one half). prob: [S, N]; y: [N] in {0, 1}.

    Equals sklearn.metrics.roc_auc_score (tested); O(N log N) and batched over seeds.
    """
    pos, neg = prob[:, y == 1], prob[:, y == 0]
    if pos.shape[1] == 0 or neg.shape[1] == 0:
        return torch.full((prob.shape[0],), float("nan"), dtype=torch.float64)
    neg_sorted = neg.sort(dim=1).values.contiguous()
    below = torch.searchsorted(neg_sorted, pos.contiguous(), right=False)
    not_above = torch.searchsorted(neg_sorted, pos.contiguous(), right=True)
    wins = (below + not_above).double().sum(dim=1) / 2
    return (wins / (pos.shape[1] * neg.shape[1])).cpu()


def binary_metrics(prob: torch.Tensor, y: torch.Tensor) -> list[dict[str, float]]:
    """prob: [S, N] sigmoid outputs; y: [N] labels in {0, 1}. One dict per seed.

    accuracy uses the paper's threshold (output >= 0.5); auc and the mean output per class show
    what the threshold hides: a model can separate the classes on the wrong side of 0.5, or with
    the wrong polarity (AUC near 0).
    """
    prob = prob.detach().double()
    y = y.detach().to(prob.device)
    finite = torch.isfinite(prob).all(dim=1).cpu()
    acc = ((prob >= 0.5).double() == y).double().mean(dim=1).cpu()
    auc = roc_auc(torch.nan_to_num(prob), y)
    mean0 = prob[:, y == 0].mean(dim=1).cpu()
    mean1 = prob[:, y == 1].mean(dim=1).cpu()
    nan = float("nan")
    return [
        {
            "accuracy": float(acc[s]) if finite[s] else nan,
            "auc": float(auc[s]) if finite[s] else nan,
            "mean_out_y0": float(mean0[s]),
            "mean_out_y1": float(mean1[s]),
        }
        for s in range(prob.shape[0])
    ]


def chance_accuracy(y: torch.Tensor) -> float:
    """Accuracy of always predicting the majority class."""
    m = float(y.double().mean())
    return max(m, 1 - m)
