"""The Square Attack's job: the score-based Square Attack on every model of one (dataset, pair), on
the class-balanced subset points that the attack job's own suite (read from its examples.npz) left
unbroken, at attacks.square.eps. A job of its own, so that its settings and its code rerun only it;
it writes only its own results (square.npz) and its provenance."""

from __future__ import annotations

import logging
import time

import torch

from .. import attacks, examples, provenance
from ..attacks.square import square
from ..examples import OWN_SUITE, Key
from ..io import write_json
from ..seeding import subseed
from .attack import Bench, load_all, subset, write_examples

log = logging.getLogger(__name__)


def square_attack(bench: Bench, models: dict, cfg: dict, index) -> None:
    """The Square Attack on every model at once (members stacked: one query per point and iteration
    for all of them), on the subset points that the model's own suite left unbroken at that eps
    or below; only the points some model still needs are queried."""
    sq = cfg["square"]
    names = list(models)
    stacked = [{k: torch.cat([models[n][i][k] for n in names]) for k in models[names[0]][i]}
               for i in range(len(models[names[0]]))]
    x, y = bench.subset(index)
    s = bench.n_seeds
    if x.dim() == 3:  # per-seed splits: repeat them for every model
        x, y = x.repeat(len(names), 1, 1), y.repeat(len(names), 1)
    for e in sq["eps"]:
        active = torch.cat([~bench.broken(n, OWN_SUITE, e)[:, index.cpu()] for n in names])  # [M, n]
        cols = active.any(dim=0).nonzero().flatten()
        ok = torch.ones(active.shape, dtype=torch.bool)
        if len(cols):
            c = cols.to(bench.x.device)
            xc, yc = (x[c], y[c]) if x.dim() == 2 else (x[:, c], y[:, c])
            adv = square(stacked, xc, yc, e / 255, sq["max_iter"], sq["p_init"], subseed(sq["seed"], f"square:{e:g}"),
                         active=active[:, cols].to(bench.x.device))
            ok[:, cols] = attacks.correct(stacked, adv, yc).cpu()
        for k, name in enumerate(names):
            bench.record(Key(name, "square", e, name), ok[k * s : (k + 1) * s], index=index,
                         active=active[k * s : (k + 1) * s])


def run_square(params: dict, dataset: str, pair: str, model_files: list[str], examples_file, outputs: dict,
               runtime: dict):
    """The Square Attack on the models of one pair, on the subset points that the model's own suite
    (read from the attack job's ``examples_file``) left unbroken; writes only its own results. A job
    of its own, so that a Square setting reruns no gradient attack."""
    seeds, sq = list(params["seeds"]), params["square"]
    device, bench, rules, models, diverged = load_all(params, dataset, pair, model_files, runtime)
    bench.load(examples.read(examples_file), seeds)
    t0 = time.perf_counter()
    index = subset(bench.labels(), sq["n_points"]).to(device)
    before = set(bench.results)
    square_attack(bench, {m: p for m, p in models.items() if m in rules or sq["variants"]}, params, index)
    bench.invalidate(diverged)
    bench.results = {k: v for k, v in bench.results.items() if k not in before}
    write_examples(bench, seeds, outputs["examples"])
    if "provenance" in outputs.keys():
        write_json(provenance.record(params, device, stage="square", dataset=dataset, pair=pair), outputs["provenance"])
    log.info("square on %d points, %d models, eps %s (%.1f s)", len(index), len(bench.results) // len(sq["eps"]),
             sq["eps"], time.perf_counter() - t0)
    return bench
