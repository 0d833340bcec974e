"""The workflow's stages run in-process on IRIS (no download), as the scripts run them: for tests
that change one thing (a mutation) and follow it to the verdicts and the report."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from gupta_stdp import claims, config as cfgmod, report, sanity
from gupta_stdp.jobs import aggregate, attack, common, curve, train
from gupta_stdp.jobs import square as square_job

# IRIS 0v2, 5 seeds, 150 epochs (BP learns it), every attack at small budgets, a sweep to eps = 1.
TINY_IRIS = {"seeds": [0, 1, 2, 3, 4], "datasets": {"iris": {"pairs": ["0v2"], "epochs": 150, "batch_size": 40}},
             "stdp": {"impl": "reference"}, "ablations": {"enabled": False},
             "attacks": {"sweep": {"eps": [4, 255]}, "pgd": {"steps": 5, "restarts": 1, "check": {"n_points": 20}},
                         "square": {"n_points": 20, "max_iter": 40}},
             "diagnostics": {"rule_stats_every": 0, "alignment_every": 0}}


def merge(base: dict, change: dict) -> dict:
    out = dict(base)
    for k, v in change.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def run(work: Path, change: dict | None = None, stages=("train", "attack", "tables", "claims", "report"),
        reuse: dict | None = None) -> dict:
    """Train, attack, derive the tables, check, judge and report, as the workflow does; returns the
    tables (and the report's Markdown under "report"). ``reuse``: the tables of an earlier run whose
    trained models (and outputs) to start from: training is skipped."""
    if reuse is not None:
        for d in ("runs", "tables"):
            shutil.copytree(reuse["work"] / d, work / d, dirs_exist_ok=True)
        stages = tuple(s for s in stages if s != "train")
    config = cfgmod.load(None, **merge(TINY_IRIS, change or {}))
    runtime = {**common.runtime(config), "root": str(work / "data")}
    runs = work / "runs"
    pairs = [(d, p) for d, spec in config["datasets"].items() for p in spec["pairs"]]
    ins = {k: [] for k in ("epochs", "provenance", "rule_stats", "alignment", "examples", "diagnostics", "jobs")}
    for dataset, pair in pairs:
        folder = runs / dataset / pair
        models = []
        for rule in config["methods"]:
            out = {k: folder / rule / f"{k}.{ext}" for k, ext in (("epochs", "csv"), ("model", "pt"), ("provenance", "json"),
                                                                  ("rule_stats", "csv"), ("alignment", "csv"))}
            if "train" in stages:
                train.run_training(cfgmod.train_params(config, dataset, rule), dataset, pair, rule, out, runtime)
            models.append(str(out["model"]))
            for k in ("epochs", "provenance", "rule_stats", "alignment"):
                ins[k].append(str(out[k]))
        out = {"examples": folder / "examples.npz", "diagnostics": folder / "diagnostics.csv",
               "provenance": folder / "attack.json"}
        sq = {"examples": folder / "square.npz", "provenance": folder / "square.json"}
        square = config["attacks"]["square"]["enabled"]
        if "attack" in stages:
            attack.run_attacks(cfgmod.attack_params(config, dataset), dataset, pair, models, out, runtime)
            if square:
                square_job.run_square(cfgmod.square_params(config, dataset), dataset, pair, models, out["examples"], sq,
                                  runtime)
        for o in [out, sq][: 1 + square]:
            ins["examples"].append(str(o["examples"]))
            ins["jobs"].append(str(o["provenance"]))
        ins["diagnostics"].append(str(out["diagnostics"]))
    t = work / "tables"
    outs = {k: t / f"{k}.csv" for k in ("epochs", "attacks", "diagnostics", "alignment", "runs", "rule_stats")}
    outs["provenance"], outs["devices"] = t / "provenance.json", t / "devices.csv"
    tables: dict = {"config": config, "work": work}
    if "tables" in stages:
        aggregate.aggregate(SimpleNamespace(**ins), SimpleNamespace(**outs))
    for k in ("epochs", "attacks", "diagnostics", "alignment", "runs", "rule_stats", "devices"):
        tables[k] = pd.read_csv(outs[k]) if outs[k].exists() else None
    if "claims" in stages:
        frames = sanity.read_all(ins["examples"])
        tables["examples"] = frames
        tables["sanity"] = sanity.from_tables(tables["attacks"], frames, cfgmod.sanity_params(config)["largest_eps"])
        tables["curve"] = curve.rule_curve(**{"t_pre": config["claims"]["fig4_t_pre"],
                                              "r": config["claims"]["fig4_range"], "eps": config["stdp"]["eps"]})
        p = cfgmod.claims_params(config)
        tables["claims"], tables["by_pair"], tables["readings"] = claims.compute(tables, p)
        tables["mcnemar"] = claims.mcnemar_table(frames, p["report_eps"], p["rule_of"])
    if "report" in stages:
        tables["report"] = report.render(report.numbers(tables, cfgmod.report_params(config), {}))
    return tables
