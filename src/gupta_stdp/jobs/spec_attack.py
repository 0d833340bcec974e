"""The multiverse's attack stage: on every checkpoint of every model of one (dataset, pair), on
every test point, the paper's FGSM (BCE) at its eps, and at ``report.eps`` the white-box worst
case of the default suite: a point counts as broken if it is wrong clean or FGSM on the BCE,
FGSM on the margin or PGD (the default's steps and restarts) breaks it, each later attack running
only on the points the earlier ones left standing (one point set). Transfer and the Square Attack,
which the default's worst case also holds, are left out here (SPEC 6b; the report says so)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd
import torch

from .. import attacks, gpus, model, provenance
from ..data import load_pair
from ..io import write_csv, write_json
from ..seeding import subseed
from .attack import load_model

log = logging.getLogger(__name__)

COLUMNS = ["dataset", "pair", "method", "seed", "lr", "batch_size", "epochs", "bias", "split", "attack", "eps", "accuracy"]


def _test_points(x, y, seed_index):
    """Each member's test points: shared [N, n] as they are, per-seed splits [S, N, n] by member."""
    return (x, y) if x.dim() == 2 else (x[seed_index], y[seed_index])


def worst_case(params, x, y, eps: float, pg: dict, generators: list) -> torch.Tensor:
    """[M, N] bool: survived every white-box attack of the default suite at ``eps`` (in [0, 1]);
    PGD's random starts of member m from ``generators[m]``."""
    ok = attacks.correct(params, x, y)
    for loss in ("bce", "margin"):
        ok &= attacks.correct(params, attacks.fgsm(params, x, y, eps, loss=loss), y)
    for m in range(ok.shape[0]):
        pts = ok[m].nonzero().flatten()
        if len(pts) == 0:
            continue
        member = model.select_seeds(params, slice(m, m + 1))
        xs, ys = (x[pts], y[pts]) if x.dim() == 2 else (x[m, pts], y[m, pts])
        adv = attacks.pgd(member, xs, ys, eps, steps=pg["steps"], step_size=pg["step_factor"] * eps / pg["steps"],
                          restarts=pg["restarts"], generator=generators[m])
        ok[m, pts] = attacks.correct(member, adv, ys)[0]
    return ok


def run_spec_attacks(params: dict, dataset: str, pair: str, files: list[str], outputs: dict, runtime: dict):
    device = gpus.pick_device(runtime["device"], runtime.get("gpus_requested", 0))
    seeds, paper, report_eps, pg = list(params["seeds"]), params["fgsm_eps"], params["report_eps"], params["pgd"]
    data = load_pair(dataset, pair, seeds, Path(runtime["root"]), test_size=params["data"].get("test_size", 0.2),
                     n_classes=params["data"].get("n_classes")).to(device)
    rows = []
    for f in files:
        blob = load_model(f, device)
        members = blob["members"]
        seed_index = torch.tensor([seeds.index(m["seed"]) for m in members], device=device)
        x, y = _test_points(data.x_test, data.y_test, seed_index)
        for epochs, p in blob["checkpoints"].items():
            t0 = time.perf_counter()
            finite = model.is_finite(p).cpu()
            acc = {}
            for e in paper:
                acc[("fgsm", e)] = attacks.correct(p, attacks.fgsm(p, x, y, e / 255, loss="bce"), y)
            # each model its own random starts: a result never depends on which other models ran
            gens = [torch.Generator().manual_seed(subseed(pg["seed"], f"multiverse:{report_eps:g}:{blob['rule']}:"
                                                          f"{blob['batch_size']}:{int(epochs)}:{m['lr']!r}:{m['bias']}:{m['seed']}"))
                    for m in members]
            acc[("worst", report_eps)] = worst_case(p, x, y, report_eps / 255, pg, gens)
            for (attack, e), ok in acc.items():
                mean = ok.double().mean(dim=1).cpu()
                for i, m in enumerate(members):
                    rows.append({"method": m["method"], "seed": m["seed"], "lr": m["lr"], "bias": m["bias"],
                                 "batch_size": blob["batch_size"], "epochs": int(epochs), "attack": attack, "eps": e / 255,
                                 "accuracy": float(mean[i]) if finite[i] else float("nan")})
            log.info("%s batch %d, checkpoint %d: %d members attacked (%.1f s); worst at %g/255: mean %.3f", blob["rule"],
                     blob["batch_size"], int(epochs), len(members), time.perf_counter() - t0, report_eps,
                     float(acc[("worst", report_eps)].double().mean()))
    df = pd.DataFrame(rows).assign(dataset=dataset, pair=pair, split="test")[COLUMNS]
    write_json(provenance.record(params, device, stage="multiverse attack", dataset=dataset, pair=pair),
               outputs["provenance"])
    write_csv(df, outputs["attacks"])
    return df
