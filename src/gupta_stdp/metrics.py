"""Threshold and threshold-free metrics, per member, batched over members. Everything is
computed from the output *logit*: a float32 sigmoid rounds every logit above ~17 to exactly 1.0,
which would turn distinct scores into ties and bias the AUC."""

from __future__ import annotations

import torch


def roc_auc(score: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """ROC-AUC per row (Mann-Whitney, ties count one half). score: [M, N]; y: [N] or [M, N] in {0, 1}.

    Equals sklearn.metrics.roc_auc_score (tested); O(N log N) and batched over rows that share y.
    """
    if y.dim() == 2:
        n_pos = (y == 1).sum(dim=1)
        if not (n_pos == n_pos[0]).all():  # rows with different class counts: one at a time
            return torch.cat([roc_auc(score[i : i + 1], y[i]) for i in range(score.shape[0])])
        rows = score.shape[0]  # equal counts (stratified splits): gather each row's classes, batched
        pos, neg = score[y == 1].view(rows, -1), score[y == 0].view(rows, -1)
    else:
        pos, neg = score[:, y == 1], score[:, y == 0]
    if pos.shape[1] == 0 or neg.shape[1] == 0:
        return torch.full((score.shape[0],), float("nan"), dtype=torch.float64)
    neg_sorted = neg.sort(dim=1).values.contiguous()
    below = torch.searchsorted(neg_sorted, pos.contiguous(), right=False)
    not_above = torch.searchsorted(neg_sorted, pos.contiguous(), right=True)
    wins = (below + not_above).double().sum(dim=1) / 2
    return (wins / (pos.shape[1] * neg.shape[1])).cpu()


def binary_metrics(logit: torch.Tensor, y: torch.Tensor) -> list[dict[str, float]]:
    """logit: [M, N] output logits; y: [N] or [M, N] labels in {0, 1}. One dict per member.

    accuracy uses the paper's threshold (output >= 0.5, i.e. logit >= 0); auc and the mean output
    per class show what the threshold hides: a model can separate the classes on the wrong side of
    0.5, or with the wrong polarity (AUC near 0).
    """
    logit = logit.detach().double()
    y = y.detach().to(logit.device, torch.float64).expand_as(logit)
    finite = torch.isfinite(logit).all(dim=1).cpu()
    acc = ((logit >= 0).double() == y).double().mean(dim=1).cpu()
    auc = roc_auc(torch.nan_to_num(logit), y[0] if (y == y[:1]).all() else y)
    out = torch.sigmoid(logit)
    mean0 = ((out * (1 - y)).sum(dim=1) / (1 - y).sum(dim=1)).cpu()
    mean1 = ((out * y).sum(dim=1) / y.sum(dim=1)).cpu()
    nan = float("nan")
    return [
        {
            "accuracy": float(acc[s]) if finite[s] else nan,
            "auc": float(auc[s]) if finite[s] else nan,
            "mean_out_y0": float(mean0[s]),
            "mean_out_y1": float(mean1[s]),
        }
        for s in range(logit.shape[0])
    ]


def chance_accuracy(y: torch.Tensor) -> float:
    """Accuracy of always predicting the majority class."""
    m = float(y.double().mean())
    return max(m, 1 - m)
