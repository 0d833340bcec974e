"""The batched trainer: all seeds of one (dataset, pair, method) step together.

Seed s of a batched run is the same run as seed s trained alone: same initial weights
(model.init_params), same batch order (its own generator), same associativity, and Adam is
elementwise, so stacking seeds changes nothing but speed.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from . import model
from .data import DataError, PairData
from .metrics import binary_metrics
from .stdp import subseed, associativity, hidden_associativity, stdp_rule

log = logging.getLogger(__name__)

METHODS = ("stdp", "bp")
BIAS_MODES = ("presynaptic_one", "frozen")


@dataclass
class TrainConfig:
    method: str
    epochs: int
    batch_size: int
    lr: float = 1e-3
    stdp_eps: float = 1e-9
    bias: str = "presynaptic_one"
    impl: str = "auto"
    hidden_balance: float = 0.5
    stats_every: int = 0  # rule statistics on every Nth STDP step; 0 = none (the workflow sets 10)

    def check(self, n_train: int) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        if self.bias not in BIAS_MODES:
            raise ValueError(f"stdp.bias must be one of {BIAS_MODES}, not {self.bias!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if not 1 <= self.batch_size <= n_train:
            raise DataError(
                f"batch_size {self.batch_size} does not fit the {n_train} training points of this pair; "
                f"set datasets.<name>.batch_size to at most {n_train}"
            )
        if self.stdp_eps < 0:
            raise ValueError(f"stdp.eps must be >= 0, got {self.stdp_eps}")


@dataclass
class TrainResult:
    rows: list[dict] = field(default_factory=list)
    rule_stats: list[dict] = field(default_factory=list)
    params: list[dict[str, torch.Tensor]] | None = None
    diverged_epoch: dict[int, int | None] = field(default_factory=dict)
    hidden_z: list[torch.Tensor] | None = None


def local_updates(acts, label_sign, layer_zs, eps: float, with_bias: bool):
    """The STDP update of every layer from one forward pass. No autograd.

    acts: [x, h1, h2, out], each [S, B, n]; label_sign: [S, B] (+1 for y = 1, -1 for y = 0);
    layer_zs: per layer [S, n_out] fixed associativity (ones for the output neuron).
    Returns [(dW, db or None)] per layer; a bias is a synapse from a pre-neuron fixed at x = 1.
    """
    out = []
    for x, p, z in zip(acts[:-1], acts[1:], layer_zs):
        zz = associativity(label_sign, z)
        dw = stdp_rule(x, p, zz, eps)
        db = stdp_rule(torch.ones_like(p[..., :1]), p, zz, eps)[..., 0] if with_bias else None
        out.append((dw, db))
    return out


def eps_dominated(acts, eps: float) -> list[torch.Tensor]:
    """Per layer, [S] counts of (sample, post, pre) triples where eps outweighs (2p - x)^2 in the
    rule's denominator, i.e. |2p - x| < sqrt(eps): there the update is ~1/eps-sized."""
    out = []
    for x, p in zip(acts[:-1], acts[1:]):
        d2 = (2 * p.unsqueeze(-1) - x.unsqueeze(-2)) ** 2
        out.append((d2 < eps).flatten(1).sum(dim=1))
    return out


@functools.lru_cache(maxsize=None)
def compiled_eps_dominated():
    return torch.compile(eps_dominated, dynamic=False)


@functools.lru_cache(maxsize=None)
def compiled_local_updates():
    """local_updates fused by torch.compile: one graph for all layers per batch shape, instead
    of ~10 materialised [S, B, n_out, n_in] temporaries per layer."""
    return torch.compile(local_updates, dynamic=False)


def select_updates(impl: str, work_size: int, min_compiled_size: int = 200_000):
    """reference: eager local_updates; compiled: the fused one; auto: fused only where the first
    layer's update (work_size = seeds x batch x n_in x n_hidden) is big enough to repay compiling."""
    if impl not in ("reference", "compiled", "auto"):
        raise ValueError(f"stdp.impl must be reference, compiled or auto, not {impl!r}")
    if impl == "compiled" or (impl == "auto" and work_size >= min_compiled_size):
        return compiled_local_updates()
    return local_updates


class Trainer:
    def __init__(self, data: PairData, seeds: list[int], cfg: TrainConfig, device: str | torch.device = "cpu"):
        cfg.check(len(data.y_train))
        self.data, self.seeds, self.cfg = data.to(device), list(seeds), cfg
        self.device = torch.device(device)
        n_in = data.x_train.shape[1]
        self.params = [{k: v.to(self.device) for k, v in layer.items()} for layer in model.init_params(self.seeds, n_in)]
        sizes = [layer["weight"].shape[1] for layer in self.params]
        hz = [hidden_associativity(s, sizes[:-1], cfg.hidden_balance) for s in self.seeds]
        self.hidden_z = [torch.stack([h[k] for h in hz]).to(self.device) for k in range(len(sizes) - 1)]
        self.layer_zs = [*self.hidden_z, torch.ones(len(self.seeds), 1, device=self.device)]
        self.generators = [torch.Generator().manual_seed(subseed(s, "batch_order")) for s in self.seeds]
        trained = [layer["weight"] for layer in self.params]
        if cfg.method == "bp" or cfg.bias == "presynaptic_one":
            trained += [layer["bias"] for layer in self.params]
        for t in trained:
            t.requires_grad_(cfg.method == "bp")
        self.optimizer = torch.optim.Adam(trained, lr=cfg.lr)
        work = len(self.seeds) * cfg.batch_size * n_in * sizes[0]
        self.updates = select_updates(cfg.impl, work)
        self.count_dominated = compiled_eps_dominated() if self.updates is not local_updates else eps_dominated
        self._stats = None
        self._step = 0

    def _batches(self):
        n = len(self.data.y_train)
        order = torch.stack([torch.randperm(n, generator=g) for g in self.generators]).to(self.device)
        for start in range(0, n, self.cfg.batch_size):
            idx = order[:, start : start + self.cfg.batch_size]
            yield self.data.x_train[idx], self.data.y_train[idx]

    def _stdp_step(self, xb, yb):
        with torch.no_grad():
            acts, _ = model.forward(self.params, xb)
            updates = self.updates(acts, 2 * yb - 1, self.layer_zs, self.cfg.stdp_eps,
                                   self.cfg.bias == "presynaptic_one")
            for layer, (dw, db) in zip(self.params, updates):
                layer["weight"].grad = -dw  # Adam descends .grad, so it moves the weight along +dW
                if db is not None:
                    layer["bias"].grad = -db
            if self.cfg.stats_every and self._step % self.cfg.stats_every == 0:
                self._track(acts, updates)
            self._step += 1
        self.optimizer.step()

    def _track(self, acts, updates):
        """Accumulate, per layer and seed, how often eps dominates and how large the updates get."""
        dominated = self.count_dominated(acts, self.cfg.stdp_eps)
        if self._stats is None:
            self._stats = [{"dominated": torch.zeros_like(d), "elements": 0, "max_abs": torch.zeros_like(dw[:, 0, 0]),
                            "sum_abs": torch.zeros_like(dw[:, 0, 0]), "n_updates": 0}
                           for d, (dw, _) in zip(dominated, updates)]
        for st, d, (dw, _), x, p in zip(self._stats, dominated, updates, acts[:-1], acts[1:]):
            st["dominated"] += d
            st["elements"] += x.shape[-2] * x.shape[-1] * p.shape[-1]
            a = dw.abs().flatten(1)
            st["max_abs"] = torch.maximum(st["max_abs"], a.max(dim=1).values)
            st["sum_abs"] += a.mean(dim=1)
            st["n_updates"] += 1

    def _flush_stats(self, res: TrainResult, epoch: int) -> None:
        if self._stats is None:
            return
        for k, st in enumerate(self._stats):
            share = (st["dominated"].double() / st["elements"]).tolist()
            mx, mean = st["max_abs"].tolist(), (st["sum_abs"] / st["n_updates"]).tolist()
            for i, seed in enumerate(self.seeds):
                res.rule_stats.append({"seed": seed, "epoch": epoch, "layer": k + 1, "eps_dominated_share": share[i],
                                       "max_abs_update": mx[i], "mean_abs_update": mean[i]})
        self._stats = None

    def _bp_step(self, xb, yb):
        _, logit = model.forward(self.params, xb)
        # mean over the batch within a seed, summed over seeds: each seed gets its own BCE gradient
        loss = F.binary_cross_entropy_with_logits(logit, yb, reduction="none").mean(dim=-1).sum()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    @torch.no_grad()
    def evaluate(self, x, y) -> list[dict]:
        return binary_metrics(torch.sigmoid(model.output_logit(self.params, x)), y)

    def run(self) -> TrainResult:
        res = TrainResult(diverged_epoch={s: None for s in self.seeds}, hidden_z=self.hidden_z)
        step = self._stdp_step if self.cfg.method == "stdp" else self._bp_step
        for epoch in range(1, self.cfg.epochs + 1):
            for xb, yb in self._batches():
                step(xb, yb)
            self._flush_stats(res, epoch)
            finite = model.is_finite(self.params).tolist()
            metrics = {split: self.evaluate(x, y) for split, x, y in (
                ("train", self.data.x_train, self.data.y_train), ("test", self.data.x_test, self.data.y_test))}
            for i, seed in enumerate(self.seeds):
                if not finite[i] and res.diverged_epoch[seed] is None:
                    res.diverged_epoch[seed] = epoch
                    log.warning("seed %d diverged in epoch %d: non-finite weights", seed, epoch)
                for split, rows in metrics.items():
                    row = dict(rows[i]) if finite[i] else {k: float("nan") for k in rows[i]}
                    res.rows.append({"seed": seed, "epoch": epoch, "split": split, **row, "diverged": not finite[i]})
            if not any(finite):
                log.error("every seed diverged by epoch %d; training stops", epoch)
                self._fill_diverged(res, epoch)
                break
        res.params = [{k: v.detach() for k, v in layer.items()} for layer in self.params]
        return res

    def _fill_diverged(self, res: TrainResult, last_epoch: int) -> None:
        keys = ("accuracy", "auc", "mean_out_y0", "mean_out_y1")
        for epoch in range(last_epoch + 1, self.cfg.epochs + 1):
            for seed in self.seeds:
                for split in ("train", "test"):
                    res.rows.append({"seed": seed, "epoch": epoch, "split": split,
                                     **{k: float("nan") for k in keys}, "diverged": True})


def train(data: PairData, seeds: list[int], cfg: TrainConfig, device="cpu") -> TrainResult:
    return Trainer(data, seeds, cfg, device).run()
