"""The attack stage: every attack of the config on every model of one (dataset, pair), in two jobs:
``run_attacks`` here (the gradient, noise and transfer attacks, and PGD's convergence check) and
``gupta_stdp.jobs.square`` (the Square Attack, on what the first left standing), so that a setting
or the code of one reruns only its own job.

Each stores only what its attacks measured, per test point (``examples.npz``, ``square.npz``; the codes are in
``gupta_stdp.examples``), and the gradient-masking diagnostics. Accuracies, ``worst`` and
``pgd_or_transfer`` are pure functions of examples.npz, computed downstream
(``gupta_stdp.derived``), so they can be recomputed and tested without rerunning an attack.

On every test point, for every model, at every eps of its plan (the paper's eps and the sweep;
STDP's ablation variants: every eps up to the paper's largest), its own suite and the transfer attacks:

- ``clean``; ``fgsm`` (the paper's, BCE loss); ``fgsm_margin``; ``noise``; ``pgd`` (margin loss);
- ``transfer_fgsm``, ``transfer_pgd``: examples crafted on a surrogate of the same seed and carried
  to the model: the surrogate's margin FGSM, and the last iterate of its first PGD restart run
  through every step (no early stop: converged examples, well past its boundary). The pairing is
  symmetric: BP is the surrogate of every other model, and every other rule is a surrogate of BP
  (``source`` names the surrogate).

On a nested, class-balanced subset of the test points (a query budget forces it), as a cascade in
which each attack runs only on the points the earlier ones left unbroken (SKIPPED elsewhere):

- ``pgd_2x`` (at attacks.pgd.check.eps): PGD with twice the steps and restarts, on the points PGD
  left unbroken: the convergence check;
- ``square`` (at attacks.square.eps): the score-based Square Attack, on the points that no attack
  of the model's own suite (fgsm, fgsm_margin, noise, pgd at that eps or below) broke.

A member whose weights are not finite (a diverged run) gets NO_RESULT everywhere, as does every
transfer result that carries its examples.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import attacks, examples, gpus, model, provenance
from ..data import DataError, load_pair
from ..examples import BROKEN, NO_RESULT, OUTSIDE, SKIPPED, SURVIVED, Key
from ..io import write_csv, write_json
from ..seeding import subseed

log = logging.getLogger(__name__)

# Elements of one [members, points, features] block of PGD: one eps of an MNIST-size pair (5 x 2000
# x 784) at a time. Measured: all 11 eps of the sweep in one pass took 19.3 s against 14.4 s.
CHUNK = 8_000_000
SUBSET_SEED = 0  # the one class-balanced order of the test points whose prefixes are the subsets


def load_model(path, device="cpu") -> dict:
    """Models are loaded with weights_only=True: a model file cannot run code."""
    return torch.load(path, map_location=device, weights_only=True)


def split_models(blobs: list[dict], seeds: list[int]) -> dict[str, list[dict]]:
    """method -> its members' parameters [S, ...] in the order of ``seeds``."""
    out = {}
    for blob in blobs:
        members = [tuple(m) for m in blob["members"]]
        for method in dict.fromkeys(m for m, _ in members):
            index = []
            for seed in seeds:
                if (method, seed) not in members:
                    raise DataError(f"the model file of {blob['rule']} lacks {method} seed {seed}; retrain it")
                index.append(members.index((method, seed)))
            out[method] = [{k: v[index] for k, v in layer.items()} for layer in blob["params"]]
    return out


def transfer_sources(methods: list[str], rules: list[str]) -> dict[str, list[str]]:
    """target -> the surrogates whose examples it meets: BP for every other model (ablation variants
    included), and every other rule for BP, so that each comparison with BP is attacked alike."""
    if "bp" not in methods:
        return {}
    out = {m: ["bp"] for m in methods if m != "bp"}
    others = [r for r in rules if r != "bp"]
    if others:
        out["bp"] = others
    return out


def subset(y: torch.Tensor, n: int) -> torch.Tensor:
    """The first n points of one fixed, class-balanced order of the test points (classes
    alternate while both last): every subset attack takes a prefix of the same order, so their
    point sets nest. Sorted positions."""
    gen = torch.Generator().manual_seed(SUBSET_SEED)
    classes = [(y.cpu() == c).nonzero().flatten() for c in (0.0, 1.0)]
    classes = [c[torch.randperm(len(c), generator=gen)] for c in classes]
    k = min(len(c) for c in classes)
    order = torch.cat([torch.stack([classes[0][:k], classes[1][:k]], dim=1).flatten(), *(c[k:] for c in classes)])
    return order[:n].sort().values


class Bench:
    """The test split of one pair for S seeds, and the per-example codes each attack recorded."""

    def __init__(self, data, n_seeds: int):
        self.x = data.x_test  # [N, n_in] shared, or [S, N, n_in] per seed
        self.y = data.y_test
        self.n = self.y.shape[-1]
        self.n_seeds = n_seeds
        self.results: dict[Key, torch.Tensor] = {}  # -> int8 [S, N] codes (gupta_stdp.examples)
        self._t = time.perf_counter()  # when the last result was recorded: each log line's time

    def labels(self) -> torch.Tensor:
        """The labels of the test points (the first seed's split: the subsets' positions)."""
        return self.y if self.y.dim() == 1 else self.y[0]

    def load(self, df: pd.DataFrame, seeds: list[int]) -> None:
        """Results an earlier job wrote (``examples.read``), as [S, N] codes in the order of ``seeds``."""
        for (method, attack, eps, source), g in df.groupby(["method", "attack", "eps_255", "source"], sort=False):
            rows = g.set_index("seed").loc[seeds, "correct"]
            self.results[Key(method, attack, float(eps), source)] = torch.as_tensor(np.stack(list(rows)))

    def repeat(self, k: int):
        """The points repeated k times (one block per eps of a batched attack)."""
        if self.x.dim() == 2:
            return self.x.repeat(k, 1), self.y.repeat(k)
        return self.x.repeat(1, k, 1), self.y.repeat(1, k)

    def subset(self, index):
        """The test points at ``index`` (the same positions in every seed's split)."""
        if self.x.dim() == 2:
            return self.x[index], self.y[index]
        return self.x[:, index], self.y[:, index]

    def record(self, key: Key, ok: torch.Tensor, index=None, active=None) -> None:
        """``ok`` [S, n]: correct after the attack, on the points at ``index`` (all when None);
        ``active`` [S, n]: where the attack ran (SKIPPED elsewhere); outside ``index``: OUTSIDE."""
        now = time.perf_counter()
        ran = ok if active is None else ok[active.to(ok.device)]
        log.info("%s %s eps %g/255%s: %d points attacked of %d x %d, accuracy %.3f (%.2f s since the last line)", key.method, key.attack,
                 key.eps_255, "" if key.source == key.method else f" (examples of {key.source})", ran.numel(),
                 ok.shape[0], ok.shape[1], ran.float().mean().item() if ran.numel() else float("nan"), now - self._t)
        self._t = now
        codes = torch.where(ok.cpu(), SURVIVED, BROKEN).to(torch.int8)
        if active is not None:
            codes = torch.where(active.cpu(), codes, torch.tensor(SKIPPED, dtype=torch.int8))
        if index is None:
            self.results[key] = codes
        else:
            full = torch.full((self.n_seeds, self.n), OUTSIDE, dtype=torch.int8)
            full[:, index.cpu()] = codes
            self.results[key] = full

    def broken(self, method: str, names, eps_max: float) -> torch.Tensor:
        """[S, N] bool: points wrong clean or broken by one of the model's own attacks ``names`` at
        an eps up to ``eps_max`` (a point broken at eps e is broken at every larger eps)."""
        out = self.results[Key(method, "clean", 0.0, method)] == BROKEN
        for key, r in self.results.items():
            if key.method == method and key.source == method and key.attack in names and key.eps_255 <= eps_max + 1e-9:
                out |= r == BROKEN
        return out

    def invalidate(self, diverged: dict[str, torch.Tensor]) -> None:
        """NO_RESULT for every result of a diverged member, or carried from one."""
        for key, r in self.results.items():
            bad = diverged[key.method] | diverged.get(key.source, diverged[key.method])
            r[bad] = NO_RESULT


def eps_chunks(eps: list[float], per_eps: int) -> list[list[float]]:
    k = max(1, CHUNK // max(per_eps, 1))
    return [eps[i : i + k] for i in range(0, len(eps), k)]


def gradient_attacks(bench: Bench, method: str, params, plan: list[float], cfg: dict,
                     transfer_to: dict | None = None) -> None:
    """The model's own suite over ``plan`` (units of 1/255): clean, FGSM on the BCE (the paper's)
    and on the margin, noise, PGD. ``transfer_to`` (target -> (params, the eps it is attacked at)):
    the models of the same seeds that the examples crafted here are carried to."""
    transfer_to = transfer_to or {}

    def carry(kind, e, adv):
        for target, (tp, target_eps) in transfer_to.items():
            if e in target_eps:
                bench.record(Key(target, f"transfer_{kind}", e, method), attacks.correct(tp, adv, bench.y))

    x, y = bench.x, bench.y
    bench.record(Key(method, "clean", 0.0, method), attacks.correct(params, x, y))
    for loss, name in (("bce", "fgsm"), ("margin", "fgsm_margin")):
        grad = attacks.input_gradient(params, x, y, loss)
        for e in plan:
            adv = attacks.fgsm(params, x, y, e / 255, loss=loss, grad=grad)
            bench.record(Key(method, name, e, method), attacks.correct(params, adv, y))
            if loss == "margin":
                carry("fgsm", e, adv)
    if cfg["noise"]["enabled"]:
        for e in plan:
            gen = torch.Generator().manual_seed(subseed(cfg["noise"]["seed"], f"noise:{e:g}"))
            adv = attacks.uniform_noise(x, e / 255, bench.n_seeds, gen)
            bench.record(Key(method, "noise", e, method), attacks.correct(params, adv, y))
    pg = cfg["pgd"]
    if not pg["enabled"]:
        return
    craft = bool(transfer_to)  # the first restart runs to the end: converged transfer examples
    for chunk in eps_chunks(plan, bench.n_seeds * bench.n * x.shape[-1]):
        xs, ys = bench.repeat(len(chunk))
        eps_pt = torch.tensor(chunk, dtype=x.dtype, device=x.device).repeat_interleave(bench.n) / 255
        gens = [torch.Generator().manual_seed(subseed(pg["seed"], f"pgd:{e:g}")) for e in chunk]
        out = attacks.pgd(params, xs, ys, eps_pt, steps=pg["steps"], step_size=pg["step_factor"] * eps_pt / pg["steps"],
                          restarts=pg["restarts"], generator=gens, full_first_restart=craft)
        adv, last = out if craft else (out, None)
        ok = attacks.correct(params, adv, ys)
        for k, e in enumerate(chunk):
            block = slice(k * bench.n, (k + 1) * bench.n)
            bench.record(Key(method, "pgd", e, method), ok[:, block])
            if craft:
                carry("pgd", e, last[:, block])


def convergence_attack(bench: Bench, method: str, params, cfg: dict, index) -> None:
    """PGD with twice the steps and restarts (the same step length in all) on the subset points that
    PGD left unbroken at the check's eps; SKIPPED where PGD broke them."""
    pg, e = cfg["pgd"], cfg["pgd"]["check"]["eps"]
    x, y = bench.subset(index)
    active = bench.results[Key(method, "pgd", e, method)][:, index.cpu()] == SURVIVED  # [S, n]
    ok = torch.ones(active.shape, dtype=torch.bool)
    gen = torch.Generator().manual_seed(subseed(pg["seed"], f"pgd_2x:{e:g}"))
    for s in range(bench.n_seeds):
        pts = active[s].nonzero().flatten().to(x.device)
        if len(pts) == 0:
            continue
        member = model.select_seeds(params, slice(s, s + 1))
        xs, ys = (x[pts], y[pts]) if x.dim() == 2 else (x[s, pts], y[s, pts])
        adv = attacks.pgd(member, xs, ys, e / 255, steps=2 * pg["steps"],
                          step_size=pg["step_factor"] * (e / 255) / (2 * pg["steps"]), restarts=2 * pg["restarts"],
                          generator=gen)
        ok[s, pts.cpu()] = attacks.correct(member, adv, ys)[0].cpu()
    bench.record(Key(method, "pgd_2x", e, method), ok, index=index, active=active)


def load_all(params: dict, dataset: str, pair: str, model_files: list[str], runtime: dict):
    """(device, test split as a Bench, the registered rules, method -> parameters, method -> diverged [S])."""
    device = gpus.pick_device(runtime["device"], runtime.get("gpus_requested", 0))
    seeds = list(params["seeds"])
    data = load_pair(dataset, pair, seeds, Path(runtime["root"]), test_size=params["data"].get("test_size", 0.2),
                     n_classes=params["data"].get("n_classes")).to(device)
    blobs = [load_model(f, device) for f in model_files]
    models = split_models(blobs, seeds)
    diverged = {m: ~model.is_finite(p).cpu() for m, p in models.items()}
    return device, Bench(data, len(seeds)), [b["rule"] for b in blobs], models, diverged


def run_attacks(params: dict, dataset: str, pair: str, model_files: list[str], outputs: dict, runtime: dict):
    """Every gradient, noise and transfer attack of ``params['attacks']`` on the models of one pair, and
    PGD's convergence check; see the module docstring. The Square Attack is a job of its own
    (``gupta_stdp.jobs.square``)."""
    seeds, cfg = list(params["seeds"]), params["attacks"]
    device, bench, rules, models, diverged = load_all(params, dataset, pair, model_files, runtime)
    for m, bad in diverged.items():
        if bad.any():
            log.warning("%s seeds %s diverged (non-finite weights): no attack result is kept for them, nor for "
                        "transfer from them", m, [seeds[i] for i in bad.nonzero().flatten().tolist()])
    paper = sorted({float(e) for e in cfg["fgsm"]["eps"] if e > 0})
    plan = sorted(set(paper) | ({float(e) for e in cfg["sweep"]["eps"] if e > 0} if cfg["sweep"]["enabled"] else set()))
    # STDP's ablation variants: every eps up to the paper's largest, so that a worst case at the paper's
    # eps meets the same attacks (carried from the same smaller eps) on every model of the pair
    eps_of = {m: plan if m in rules else [e for e in plan if e <= max(paper)] for m in models}
    sources = transfer_sources(list(models), rules) if cfg["transfer"]["enabled"] else {}
    for method, p in models.items():
        t0 = time.perf_counter()
        targets = {t: (models[t], eps_of[t]) for t, src in sources.items() if method in src}
        gradient_attacks(bench, method, p, eps_of[method], cfg, targets)
        log.info("attacked %s %s %s: %d seeds x %d test points, %d eps, transfer to %s (%.1f s)", dataset, pair,
                 method, len(seeds), bench.n, len(eps_of[method]), ", ".join(targets) or "none",
                 time.perf_counter() - t0)
    if cfg["pgd"]["enabled"] and cfg["pgd"]["check"]["enabled"]:
        t0 = time.perf_counter()
        index = subset(bench.labels(), cfg["pgd"]["check"]["n_points"]).to(device)
        for method, p in models.items():
            if cfg["pgd"]["check"]["eps"] in eps_of[method]:
                convergence_attack(bench, method, p, cfg, index)
        log.info("pgd_2x on %d points (%.1f s)", len(index), time.perf_counter() - t0)
    bench.invalidate(diverged)
    diag = []
    for method, p in models.items():
        for i, d in enumerate(attacks.diagnostics(p, bench.x, bench.y, params["saturation"])):
            d = dict.fromkeys(d, np.nan) if diverged[method][i] else d
            diag.append({"dataset": dataset, "pair": pair, "method": method, "seed": seeds[i], **d})
    write_examples(bench, seeds, outputs["examples"])
    write_csv(pd.DataFrame(diag), outputs["diagnostics"])
    if "provenance" in outputs.keys():
        write_json(provenance.record(params, device, stage="attack", dataset=dataset, pair=pair), outputs["provenance"])
    log.info("attacks done: %d results per seed; provenance %s", len(bench.results), provenance.git_state()["git_commit"])
    return bench


def write_examples(bench: Bench, seeds: list[int], path) -> None:
    keys, rows = [], []
    for key, r in sorted(bench.results.items()):
        for i, seed in enumerate(seeds):
            keys.append((key.method, seed, key.attack, f"{key.eps_255:g}", key.source))
            rows.append(r[i].numpy())
    examples.write(keys, np.stack(rows), path)
