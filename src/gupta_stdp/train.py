"""The batched trainer: every member of one (dataset, pair, rule) job steps together.

A member is one seed of one method: the rule itself, or an ablation variant of it (STDP's eps,
bias handling or hidden balance), at one learning rate (the multiverse trains several rates in
one population). Member (method, seed, lr) of a population is the same run as trained alone:
same initial weights (model.init_params), same batch order (its seed's own generator), same
fixed rule state (associativity, feedback matrices), and the update and Adam are elementwise
over members (one Adam parameter group per learning rate, over views of the stacked tensors),
so stacking changes nothing but speed. (In float arithmetic a
different batch width may round differently, and the STDP dynamics amplify rounding: the tests
check the equivalence where it is well posed, in float64 over single steps.)
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

import torch

from . import model, rules
from .data import DataError, PairData
from .metrics import binary_metrics
from .rules import bp
from .rules.base import Member, load
from .seeding import subseed

log = logging.getLogger(__name__)

METRIC_KEYS = ("accuracy", "auc", "mean_out_y0", "mean_out_y1")


@dataclass
class TrainConfig:
    rule: str
    epochs: int
    batch_size: int
    lr: float = 1e-3
    lrs: list[float] | None = None  # a population of learning rates (the multiverse); None: [lr]
    fused_adam: bool = False  # torch's fused Adam kernel (the multiverse: ~4x faster steps than foreach on the CPU)
    settings: dict = field(default_factory=dict)  # the rule's settings (config block of its name)
    variants: dict = field(default_factory=dict)  # method label -> settings it changes (STDP ablations)
    stats_every: int = 0  # rule statistics on every Nth step; 0 = none (the workflow sets 10)
    align_every: int = 0  # angle to BP's gradient on every Nth step; 0 = none
    dtype: torch.dtype = torch.float32
    impl: str | None = None  # the registry's "module:Class" of ``rule`` (None: look it up)

    def check(self, n_train: int) -> None:
        if self.impl is None and self.rule not in rules.RULES:
            raise ValueError(f"method must be one of {', '.join(rules.RULES)}, not {self.rule!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if not 1 <= self.batch_size <= n_train:
            raise DataError(
                f"batch_size {self.batch_size} does not fit the {n_train} training points of this pair; "
                f"set datasets.<name>.batch_size to at most {n_train}"
            )
        if any(not lr > 0 for lr in self.rates()):
            raise ValueError(f"learning rates must be > 0, got {self.rates()}")
        if self.settings.get("eps", 0) < 0 or any(v.get("eps", 0) < 0 for v in self.variants.values()):
            raise ValueError("stdp.eps must be >= 0")

    def rates(self) -> list[float]:
        return list(self.lrs) if self.lrs else [self.lr]

    def members(self, seeds: list[int]) -> list[Member]:
        """The population, per learning rate: the rule's own runs, then each variant's, every seed."""
        labels = {self.rule: {}, **self.variants}
        return [Member(label, seed, {**self.settings, **change}, lr)
                for lr in self.rates() for label, change in labels.items() for seed in seeds]


@dataclass
class TrainResult:
    members: list[Member]
    rows: list[dict] = field(default_factory=list)
    rule_stats: list[dict] = field(default_factory=list)
    alignment: list[dict] = field(default_factory=list)
    params: list[dict[str, torch.Tensor]] | None = None
    state: dict[str, torch.Tensor] = field(default_factory=dict)
    diverged_epoch: dict[tuple[str, int], int | None] = field(default_factory=dict)
    impl: str | None = None


class Progress:
    """One log line per epoch (per ``every`` epochs when there are more than ``lines``, and always the
    first and last): the epoch out of the total, the mean train and test accuracy of each method over
    its seeds (diverged members left out), seconds per epoch and the time left (from epoch 2 on: the
    first pays for the compile of the fused update)."""

    def __init__(self, epochs: int, methods: list[str], lines: int = 30):
        self.epochs, self.methods = epochs, methods
        self.every = max(1, math.ceil(epochs / lines))
        self.t0 = self.t1 = time.perf_counter()

    def due(self, epoch: int) -> bool:
        return epoch == 1 or epoch == self.epochs or epoch % self.every == 0

    def epoch(self, epoch: int, metrics: dict, finite: list[bool]) -> None:
        now = time.perf_counter()
        if epoch == 1:  # the first epoch pays for compiling the fused update: the rate comes from the rest
            self.t1 = now
        if not self.due(epoch):
            return
        per_epoch = (now - self.t1) / (epoch - 1) if epoch > 1 else now - self.t0
        accs = []
        for method in dict.fromkeys(self.methods):
            idx = [i for i, m in enumerate(self.methods) if m == method and finite[i]]
            mean = {split: (sum(metrics[split][i]["accuracy"] for i in idx) / len(idx) if idx else math.nan)
                    for split in ("train", "test")}
            accs.append(f"{method} {mean['train']:.3f}/{mean['test']:.3f}")
        left = f"{per_epoch * (self.epochs - epoch):.0f} s left" if epoch > 1 else "time left from epoch 2 on"
        log.info("epoch %d/%d: accuracy train/test %s; %.2f s/epoch, %s", epoch, self.epochs, ", ".join(accs),
                 per_epoch, left)


def angles(u, g) -> list[torch.Tensor]:
    """Per layer, [M] angle in degrees between two lists of weight updates (flattened per member):
    arccos(<u, g> / (|u| |g|)), computed as 2 atan2(|u^ - g^|, |u^ + g^|) with u^ = u / |u|, which
    is exact for small angles (0 for identical directions) and NaN where either update is zero."""
    out = []
    for a, b in zip(u, g):
        a, b = a.flatten(1).double(), b.flatten(1).double()
        a, b = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
        out.append(torch.rad2deg(2 * torch.atan2((a - b).norm(dim=1), (a + b).norm(dim=1))))
    return out


class Trainer:
    def __init__(self, data: PairData, seeds: list[int], cfg: TrainConfig, device: str | torch.device = "cpu"):
        self.seeds, self.cfg, self.device = list(seeds), cfg, torch.device(device)
        if data.per_seed and data.x_train.shape[0] != len(self.seeds):
            raise ValueError(f"the task holds {data.x_train.shape[0]} per-seed splits for {len(self.seeds)} seeds")
        self.data = data.to(self.device, cfg.dtype)  # shared [N, n] or per seed [S, N, n]
        cfg.check(self.data.y_train.shape[-1])
        self.members = cfg.members(self.seeds)
        self.seed_index = torch.tensor([self.seeds.index(m.seed) for m in self.members], device=self.device)
        n_in = self.data.x_train.shape[-1]
        self.params = [{k: v.to(self.device, cfg.dtype) for k, v in layer.items()}
                       for layer in model.init_params([m.seed for m in self.members], n_in)]
        sizes = [n_in, *[layer["weight"].shape[1] for layer in self.params]]
        self.rule = load(cfg.impl or rules.RULES[cfg.rule])(self.members, sizes, self.device, dtype=cfg.dtype, batch_size=cfg.batch_size)
        self.trained = [t for layer in self.params for t in (layer["weight"], layer["bias"])]
        groups = self.param_groups()
        # Several learning rates: Adam updates views of the stacked weights, which must not require grad,
        # so BP differentiates aliases of them; with one rate (the main run) BP's weights require grad.
        self._aliases = self.rule.autograd and len(groups) > 1
        for t in self.trained:
            t.requires_grad_(self.rule.autograd and not self._aliases)
        # foreach: one call per step for all tensors (on the CPU PyTorch's default loops over them);
        # fused: one kernel per tensor for every Adam operation (rounds differently: the main run keeps foreach).
        fast = {"fused": True} if cfg.fused_adam else {"foreach": True}
        self.optimizer = torch.optim.Adam(groups, **fast)
        self.generators = [torch.Generator().manual_seed(subseed(s, "batch_order")) for s in self.seeds]
        self._same_order = len(self.members) == len(self.seeds)  # one member per seed, in seed order
        self._step = 0
        self._angles: list[torch.Tensor] = []  # per sampled step: [layers, M] angles to BP

    def param_groups(self) -> list[dict]:
        """One Adam group per learning rate: the members of one rate are a contiguous block of the
        stacked tensors (``TrainConfig.members``), and Adam updates the views of that block in
        place. With one rate, the whole tensors."""
        rates = [m.lr for m in self.members]
        groups, start = [], 0
        for lr in dict.fromkeys(rates):
            stop = start + rates.count(lr)
            if rates[start:stop] != [lr] * (stop - start):
                raise ValueError("the members of one learning rate must be contiguous")
            whole = start == 0 and stop == len(rates)
            groups.append({"params": [t if whole else t[start:stop] for t in self.trained], "lr": lr,
                           "block": slice(start, stop)})
            start = stop
        return groups

    def _gather(self, x, y, idx):
        """Rows ``idx`` [S, B] of each seed's split, repeated for each member of that seed: [M, B, ...]."""
        if self.data.per_seed:
            rows = torch.arange(len(self.seeds), device=self.device).unsqueeze(1)
            xb, yb = x[rows, idx], y[rows, idx]
        else:  # index_select: several times faster than advanced indexing on the CPU
            xb = x.index_select(0, idx.flatten()).view(*idx.shape, x.shape[-1])
            yb = y.index_select(0, idx.flatten()).view(idx.shape)
        if self._same_order:
            return xb, yb
        return xb[self.seed_index], yb[self.seed_index]

    def batches(self):
        n = self.data.y_train.shape[-1]
        order = torch.stack([torch.randperm(n, generator=g) for g in self.generators]).to(self.device)
        for start in range(0, n, self.cfg.batch_size):
            yield self._gather(self.data.x_train, self.data.y_train, order[:, start : start + self.cfg.batch_size])

    def step(self, xb, yb):
        """One forward pass, the rule's updates, one Adam step."""
        params = ([{k: v.detach().requires_grad_(True) for k, v in layer.items()} for layer in self.params]
                  if self._aliases else self.params)
        with torch.set_grad_enabled(self.rule.autograd):
            acts, logit = model.forward(params, xb)
            grads = self.rule.updates(acts, logit, yb, params)
        with torch.no_grad():
            flat = [g for pair in grads for g in pair]
            for group in self.optimizer.param_groups:
                for t, g in zip(group["params"], flat):
                    # the fused CPU kernel misreads non-contiguous gradients (BP's): give it contiguous ones
                    t.grad = g[group["block"]].contiguous() if self.cfg.fused_adam else g[group["block"]]
            if self.cfg.stats_every and self._step % self.cfg.stats_every == 0:
                self.rule.track(acts, grads)
            if self.cfg.align_every and self._step % self.cfg.align_every == 0 and not self.rule.autograd:
                self._track_alignment(xb, yb, grads)
        self._step += 1
        self.optimizer.step()

    def _track_alignment(self, xb, yb, grads):
        """Add this step's angle per layer and member to the epoch's sums."""
        ref = bp.gradients(self.params, xb, yb)
        self._angles.append(torch.stack(angles([g for g, _ in grads], [g for g, _ in ref])))  # [layers, M]

    def _flush_alignment(self, epoch: int) -> list[dict]:
        """The mean angle over the epoch's sampled steps, per layer and member."""
        if not self._angles:
            return []
        mean = torch.stack(self._angles).mean(dim=0).tolist()
        self._angles = []
        return [{"method": m.method, "seed": m.seed, "epoch": epoch, "layer": k + 1, "angle_deg": layer[i]}
                for k, layer in enumerate(mean) for i, m in enumerate(self.members)]

    @torch.no_grad()
    def evaluate(self, split: str) -> list[dict]:
        x, y = (self.data.x_train, self.data.y_train) if split == "train" else (self.data.x_test, self.data.y_test)
        if self.data.per_seed:  # small (IRIS): one split per member; a shared split is never copied
            x, y = x[self.seed_index], y[self.seed_index]
        return binary_metrics(model.output_logit(self.params, x), y)

    def run(self) -> TrainResult:
        res = TrainResult(self.members, diverged_epoch={(m.method, m.seed): None for m in self.members})
        progress = Progress(self.cfg.epochs, [m.method for m in self.members])
        for epoch in range(1, self.cfg.epochs + 1):
            for xb, yb in self.batches():
                self.step(xb, yb)
            res.rule_stats += self.rule.flush(epoch)
            res.alignment += self._flush_alignment(epoch)
            finite = model.is_finite(self.params).tolist()
            metrics = {split: self.evaluate(split) for split in ("train", "test")}
            for i, m in enumerate(self.members):
                key = (m.method, m.seed)
                if not finite[i] and res.diverged_epoch[key] is None:
                    res.diverged_epoch[key] = epoch
                    log.warning("%s seed %d diverged in epoch %d: non-finite weights", m.method, m.seed, epoch)
                for split, rows in metrics.items():
                    row = dict(rows[i]) if finite[i] else dict.fromkeys(rows[i], math.nan)
                    res.rows.append({"method": m.method, "seed": m.seed, "epoch": epoch, "split": split, **row,
                                     "diverged": not finite[i]})
            progress.epoch(epoch, metrics, finite)
            if not any(finite):
                log.error("every member diverged by epoch %d; training stops", epoch)
                self._fill_diverged(res, epoch)
                break
        res.params = [{k: v.detach() for k, v in layer.items()} for layer in self.params]
        res.state = self.rule.state()
        res.impl = getattr(self.rule, "impl_used", None)
        return res

    def _fill_diverged(self, res: TrainResult, last_epoch: int) -> None:
        for epoch in range(last_epoch + 1, self.cfg.epochs + 1):
            for m in self.members:
                for split in ("train", "test"):
                    res.rows.append({"method": m.method, "seed": m.seed, "epoch": epoch, "split": split,
                                     **dict.fromkeys(METRIC_KEYS, math.nan), "diverged": True})


def train(data: PairData, seeds: list[int], cfg: TrainConfig, device="cpu") -> TrainResult:
    return Trainer(data, seeds, cfg, device).run()
