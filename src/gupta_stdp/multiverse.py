"""The multiverse's training (SPEC 6b): one population per (data set, pair, rule, batch size) holds
every seed, learning rate and (for STDP) bias handling; training length comes from checkpoints of
that one run. Each member is the run it would be alone (``gupta_stdp.train``), and checkpoint k of
a run is the run of k epochs: Adam has no schedule and nothing reads the total length.

The pair's training split loses a stratified validation share (``data.holdout``); models are
scored on it and on the test split at each checkpoint, and only at checkpoints.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import torch

from . import model
from .data import PairData
from .metrics import binary_metrics
from .rules.base import Member
from .train import TrainConfig, Trainer

log = logging.getLogger(__name__)


@dataclass
class SpecConfig(TrainConfig):
    """``epochs`` is the longest checkpoint; ``biases``: STDP's bias handlings, one member each
    (empty: the rule's own settings, the only choice of every other rule)."""

    checkpoints: list[int] = field(default_factory=list)
    biases: list[str] = field(default_factory=list)
    fused_adam: bool = True  # measured: Adam was 27% of an STDP step of 30 members at batch 50 (foreach)

    def members(self, seeds: list[int]) -> list[Member]:
        """Per learning rate (contiguous blocks: one Adam group each), per bias handling, every seed."""
        settings = [{**self.settings, "bias": b} for b in self.biases] or [dict(self.settings)]
        return [Member(self.rule, seed, s, lr) for lr in self.rates() for s in settings for seed in seeds]


def bias_of(member: Member, rule: str) -> str:
    """The table's bias column: STDP's handling, "trained" for every other rule (its biases train)."""
    return member.settings.get("bias", "presynaptic_one") if rule == "stdp" else "trained"


@dataclass
class SpecResult:
    members: list[Member]
    rows: list[dict]  # per member, checkpoint and split (val | test): the metrics
    checkpoints: dict[int, list[dict[str, torch.Tensor]]]  # epoch -> the parameters [M, ...] then
    state: dict[str, torch.Tensor]


def _scores(trainer: Trainer, x_val, y_val) -> dict[str, list[dict]]:
    if x_val.dim() == 3:  # per-seed splits (IRIS): each member its seed's validation points
        x_val, y_val = x_val[trainer.seed_index], y_val[trainer.seed_index]
    with torch.no_grad():
        val = binary_metrics(model.output_logit(trainer.params, x_val), y_val)
    return {"val": val, "test": trainer.evaluate("test")}


def train_specs(data: PairData, x_val: torch.Tensor, y_val: torch.Tensor, seeds: list[int], cfg: SpecConfig,
                device="cpu") -> SpecResult:
    """Train the population to the last checkpoint; at each checkpoint keep the parameters and score
    every member on the validation and test splits (NaN for a member whose weights are not finite)."""
    checkpoints = sorted(set(cfg.checkpoints))
    if not checkpoints or checkpoints[0] < 1:
        raise ValueError(f"checkpoints must be epochs >= 1, got {cfg.checkpoints}")
    cfg.epochs = checkpoints[-1]
    trainer = Trainer(data, seeds, cfg, device)
    x_val, y_val = x_val.to(trainer.device, cfg.dtype), y_val.to(trainer.device, cfg.dtype)
    rows, kept = [], {}
    for epoch in range(1, checkpoints[-1] + 1):
        for xb, yb in trainer.batches():
            trainer.step(xb, yb)
        if epoch not in checkpoints:
            continue
        finite = model.is_finite(trainer.params).tolist()
        kept[epoch] = [{k: v.detach().clone() for k, v in layer.items()} for layer in trainer.params]
        for split, metrics in _scores(trainer, x_val, y_val).items():
            for i, m in enumerate(trainer.members):
                vals = metrics[i] if finite[i] else dict.fromkeys(metrics[i], math.nan)
                rows.append({"method": m.method, "seed": m.seed, "lr": m.lr, "bias": bias_of(m, cfg.rule),
                             "epochs": epoch, "split": split, **vals, "diverged": not finite[i]})
        log.info("checkpoint epoch %d/%d: mean validation accuracy %.3f over %d members (%d diverged)", epoch,
                 checkpoints[-1], _mean([r["accuracy"] for r in rows[-2 * len(finite):-len(finite)]]), len(finite),
                 finite.count(False))
    return SpecResult(trainer.members, rows, kept, trainer.rule.state())


def _mean(values: list[float]) -> float:
    ok = [v for v in values if math.isfinite(v)]
    return sum(ok) / len(ok) if ok else math.nan
