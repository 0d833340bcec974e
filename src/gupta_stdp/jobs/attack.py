"""The attack stage: every attack of the config on every model of one (dataset, pair), the
per-example results, the worst case over attacks, and the gradient-masking diagnostics.

For each model (a method's members, one per seed) and eps, it records which test points each
attack breaks (``examples.npz``), and from them ``attack = worst``: the points that no attack
breaks. Attacks (SPEC 6; Carlini et al. 2019):

- ``fgsm``: the paper's FGSM (BCE loss) at the paper's eps;
- ``fgsm_margin``, ``pgd``: FGSM and PGD on the margin loss over the whole eps plan (paper + sweep);
- ``noise``: uniform noise of the same eps (a floor every attack must beat);
- ``transfer_fgsm``, ``transfer_pgd``: examples crafted on the surrogate of the same seed (BP for
  every other method, STDP for BP), evaluated on the model; ``source`` names the surrogate;
- ``square``: the score-based Square Attack on a class-balanced subset (no gradient);
- ``pgd_2x``: PGD with twice the steps and restarts on a subset, for the convergence check.

STDP's ablation variants are attacked at the paper's eps only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import attacks, examples, provenance
from ..data import load_pair
from ..io import write_csv
from ..seeding import subseed
from .common import pick_device

log = logging.getLogger(__name__)

ATTACK_COLUMNS = ["dataset", "pair", "method", "seed", "attack", "eps", "accuracy", "n_points", "source"]
# Elements of one [members, points, features] block of PGD: one eps of an MNIST-size pair (5 x 2000
# x 784) at a time. Measured: all 11 eps of the sweep in one pass took 19.3 s against 14.4 s.
CHUNK = 8_000_000


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
                    raise RuntimeError(f"the model file of {blob['rule']} lacks {method} seed {seed}; retrain it")
                index.append(members.index((method, seed)))
            out[method] = [{k: v[index] for k, v in layer.items()} for layer in blob["params"]]
    return out


def surrogate(method: str, methods: list[str]) -> str | None:
    """The model whose examples a transfer attack carries over: BP for every other method,
    STDP (else the first other rule) for BP."""
    if method != "bp":
        return "bp" if "bp" in methods else None
    others = [m for m in methods if m != "bp"]
    return "stdp" if "stdp" in others else (others[0] if others else None)


class Bench:
    """The test split of one pair for S seeds, and the per-example results collected on it."""

    def __init__(self, data, n_seeds: int):
        self.x = data.x_test  # [N, n_in] shared, or [S, N, n_in] per seed
        self.y = data.y_test
        self.n = self.y.shape[-1]
        self.n_seeds = n_seeds
        self.results: dict[tuple[str, str, float, str], torch.Tensor] = {}  # -> int8 [S, N]: 1, 0, -1 = not run

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

    def record(self, method, attack, eps, ok: torch.Tensor, source=None, index=None):
        full = torch.full((self.n_seeds, self.n), -1, dtype=torch.int8)
        if index is None:
            full[:] = ok.to(torch.int8).cpu()
        else:
            full[:, index.cpu()] = ok.to(torch.int8).cpu()
        self.results[(method, attack, float(eps), source or method)] = full

    def rows(self, seeds) -> list[dict]:
        out = []
        for (method, attack, eps, source), r in self.results.items():
            for i, seed in enumerate(seeds):
                seen = r[i] >= 0
                out.append({"method": method, "seed": seed, "attack": attack, "eps": eps / 255,
                            "accuracy": float(r[i][seen].double().mean()), "n_points": int(seen.sum()),
                            "source": source})
        return out


def eps_chunks(eps: list[float], per_eps: int) -> list[list[float]]:
    k = max(1, CHUNK // max(per_eps, 1))
    return [eps[i : i + k] for i in range(0, len(eps), k)]


def gradient_attacks(bench: Bench, method: str, params, plan: list[float], paper: list[float], cfg: dict,
                     transfer_to: dict | None = None) -> None:
    """Clean, FGSM (BCE, paper eps), FGSM and PGD on the margin, and noise, over ``plan`` (units of
    1/255). ``transfer_to`` (method -> (params, eps it is attacked at)): the models of the same seeds
    that the margin examples crafted here are carried over to (transfer attacks)."""
    transfer_to = transfer_to or {}

    def carry(kind, e, adv):
        for target, (tp, target_eps) in transfer_to.items():
            if e in target_eps:
                bench.record(target, f"transfer_{kind}", e, attacks.correct(tp, adv, bench.y), source=method)

    x, y = bench.x, bench.y
    bench.record(method, "clean", 0.0, attacks.correct(params, x, y))
    grad = attacks.input_gradient(params, x, y, "bce")
    for e in paper:
        bench.record(method, "fgsm", e, attacks.correct(params, attacks.fgsm(params, x, y, e / 255, grad=grad), y))
    grad = attacks.input_gradient(params, x, y, "margin")
    pg, per_eps = cfg["pgd"], bench.n_seeds * bench.n * x.shape[-1]
    for e in plan:
        adv = attacks.fgsm(params, x, y, e / 255, loss="margin", grad=grad)
        bench.record(method, "fgsm_margin", e, attacks.correct(params, adv, y))
        carry("fgsm", e, adv)
    if cfg["noise"]["enabled"]:
        for e in plan:
            gen = torch.Generator().manual_seed(subseed(cfg["noise"]["seed"], f"noise:{e:g}"))
            adv = attacks.uniform_noise(x, e / 255, bench.n_seeds, gen)
            bench.record(method, "noise", e, attacks.correct(params, adv, y))
    if not pg["enabled"]:
        return
    for chunk in eps_chunks(plan, per_eps):
        xs, ys = bench.repeat(len(chunk))
        eps_pt = torch.tensor(chunk, dtype=x.dtype, device=x.device).repeat_interleave(bench.n) / 255
        gens = [torch.Generator().manual_seed(subseed(pg["seed"], f"pgd:{e:g}")) for e in chunk]
        adv = attacks.pgd(params, xs, ys, eps_pt, steps=pg["steps"], step_size=pg["step_factor"] * eps_pt / pg["steps"],
                          restarts=pg["restarts"], generator=gens)
        ok = attacks.correct(params, adv, ys)
        for k, e in enumerate(chunk):
            block = slice(k * bench.n, (k + 1) * bench.n)
            bench.record(method, "pgd", e, ok[:, block])
            carry("pgd", e, adv[:, block])


def convergence_attack(bench: Bench, method: str, params, cfg: dict, index) -> None:
    """PGD with twice the steps and twice the restarts (same step length in all), on a subset."""
    pg, ck = cfg["pgd"], cfg["pgd"]["check"]
    e = ck["eps"] / 255
    x, y = bench.subset(index)
    gen = torch.Generator().manual_seed(subseed(pg["seed"], f"pgd_2x:{ck['eps']:g}"))
    adv = attacks.pgd(params, x, y, e, steps=2 * pg["steps"], step_size=pg["step_factor"] * e / (2 * pg["steps"]),
                      restarts=2 * pg["restarts"], generator=gen)
    bench.record(method, "pgd_2x", ck["eps"], attacks.correct(params, adv, y), index=index)


def decision_attack(bench: Bench, models: dict, cfg: dict, index) -> None:
    """The Square Attack on every model at once (members stacked: one query per point and iteration
    for all of them)."""
    dc = cfg["decision"]
    names = list(models)
    stacked = [{k: torch.cat([models[n][i][k] for n in names]) for k in models[names[0]][i]}
               for i in range(len(models[names[0]]))]
    x, y = bench.subset(index)
    s = bench.n_seeds
    if x.dim() == 3:  # per-seed splits: repeat them for every model
        x, y = x.repeat(len(names), 1, 1), y.repeat(len(names), 1)
    for e in dc["eps"]:
        adv = attacks.square(stacked, x, y, e / 255, dc["max_iter"], dc["p_init"], subseed(dc["seed"], f"square:{e:g}"))
        ok = attacks.correct(stacked, adv, y)
        for k, name in enumerate(names):
            bench.record(name, "square", e, ok[k * s : (k + 1) * s], index=index)


def pgd_or_transfer(bench: Bench) -> None:
    """attack = pgd_or_transfer: per model and eps, a point survives only if neither the model's own
    PGD nor the PGD examples of its surrogate break it, so that masking its own gradient gains a
    model nothing."""
    for (method, attack, eps, source), r in list(bench.results.items()):
        if attack == "transfer_pgd" and (method, "pgd", eps, method) in bench.results:
            own = bench.results[(method, "pgd", eps, method)]
            bench.results[(method, "pgd_or_transfer", eps, method)] = ((own == 1) & (r == 1)).to(torch.int8)


def worst_case(bench: Bench) -> None:
    """attack = worst: per model and eps, a point counts as correct only if it is correct clean and
    no attack broke it (white-box, transfer, score-based, the convergence run and noise alike)."""
    by_model: dict[tuple[str, float], list[torch.Tensor]] = {}
    for (method, attack, eps, _), r in bench.results.items():
        if eps > 0 and attack != "pgd_or_transfer":
            by_model.setdefault((method, eps), [bench.results[(method, "clean", 0.0, method)]]).append(r)
    for (method, eps), rs in sorted(by_model.items()):
        stack = torch.stack(rs)
        ok = ((stack == 1) | (stack < 0)).all(dim=0) & (stack >= 0).any(dim=0)
        bench.results[(method, "worst", eps, method)] = torch.where((stack >= 0).any(dim=0), ok.to(torch.int8),
                                                                    torch.full_like(ok, -1, dtype=torch.int8))


def run_attacks(params: dict, dataset: str, pair: str, model_files: list[str], outputs: dict, runtime: dict):
    """Every attack of ``params['attacks']`` on the models of one pair; see the module docstring."""
    device = pick_device(runtime["device"])
    seeds, cfg = list(params["seeds"]), params["attacks"]
    data = load_pair(dataset, pair, seeds, Path(runtime["root"]), test_size=params["data"].get("test_size", 0.2),
                     n_classes=params["data"].get("n_classes")).to(device)
    blobs = [load_model(f, device) for f in model_files]
    rules = [b["rule"] for b in blobs]
    models = split_models(blobs, seeds)
    bench = Bench(data, len(seeds))
    paper = sorted({float(e) for e in cfg["fgsm"]["eps"] if e > 0})
    plan = sorted(set(paper) | ({float(e) for e in cfg["sweep"]["eps"] if e > 0} if cfg["sweep"]["enabled"] else set()))
    eps_of = {m: plan if m in rules else paper for m in models}
    sources = {m: surrogate(m, rules) if cfg["transfer"]["enabled"] else None for m in models}
    for method, p in models.items():
        log.info("attacking %s %s %s (%d seeds, %d test points)", dataset, pair, method, len(seeds), bench.n)
        targets = {t: (models[t], eps_of[t]) for t, src in sources.items() if src == method}
        gradient_attacks(bench, method, p, eps_of[method], paper, cfg, targets)
    y_sub = bench.y if bench.y.dim() == 1 else bench.y[0]
    if cfg["pgd"]["enabled"] and cfg["pgd"]["check"]["enabled"]:
        index = attacks.subset(y_sub, cfg["pgd"]["check"]["n_points"], cfg["pgd"]["seed"]).to(device)
        for method, p in models.items():
            convergence_attack(bench, method, p, cfg, index)
    if cfg["decision"]["enabled"]:
        index = attacks.subset(y_sub, cfg["decision"]["n_samples"], cfg["decision"]["seed"]).to(device)
        decision_attack(bench, {m: p for m, p in models.items() if m in rules or cfg["decision"]["variants"]}, cfg,
                        index)
    pgd_or_transfer(bench)
    worst_case(bench)
    out = pd.DataFrame(bench.rows(seeds)).assign(dataset=dataset, pair=pair)[ATTACK_COLUMNS]
    out = out.sort_values(["method", "seed", "attack", "source", "eps"], kind="stable")
    diag = [{"dataset": dataset, "pair": pair, "method": method, "seed": seeds[i], **d}
            for method, p in models.items()
            for i, d in enumerate(attacks.diagnostics(p, bench.x, bench.y, params["saturation"]))]
    write_examples(bench, seeds, outputs["examples"])
    write_csv(pd.DataFrame(diag), outputs["diagnostics"])
    write_csv(out, outputs["attacks"])
    log.info("attacks done: %d rows; provenance %s", len(out), provenance.git_state()["git_commit"])
    return out


def write_examples(bench: Bench, seeds: list[int], path) -> None:
    keys, rows = [], []
    for (method, attack, eps, source), r in sorted(bench.results.items()):
        for i, seed in enumerate(seeds):
            keys.append((method, seed, attack, f"{eps:g}", source))
            rows.append(r[i].numpy())
    examples.write(keys, np.stack(rows), path)
