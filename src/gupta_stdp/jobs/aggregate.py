"""The aggregate stage: the per-job tables as tidy tables, one row per observation. The attack
table is derived here from each pair's per-example results (``gupta_stdp.derived``). No torch."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .. import derived, examples
from ..io import write_csv, write_json
from ..tables import DEVICE_COLUMNS, device_kind

KEY = ["dataset", "pair", "method", "seed"]


def _concat(paths, order) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in paths]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.read_csv(paths[0]) if paths else pd.DataFrame()
    return pd.concat(frames, ignore_index=True).sort_values(order, kind="stable")


def attack_table(example_files) -> pd.DataFrame:
    """The tidy attack table of every pair, derived from its per-example files."""
    frames = [derived.attack_table(df, dataset, pair) for (dataset, pair), df in examples.read_pairs(example_files).items()]
    if not frames:
        return pd.DataFrame(columns=derived.TABLE_COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values([*KEY, "attack", "source", "eps"], kind="stable")


def aggregate(inputs, outputs) -> None:
    """``inputs``/``outputs``: the rule's named files (epochs, examples, provenance, diagnostics,
    rule_stats, alignment)."""
    write_csv(_concat(inputs.epochs, [*KEY, "epoch", "split"]), outputs.epochs)
    write_csv(attack_table(inputs.examples), outputs.attacks)
    write_csv(_concat(inputs.diagnostics, KEY), outputs.diagnostics)
    write_csv(_concat(inputs.rule_stats, [*KEY, "epoch", "layer"]), outputs.rule_stats)
    write_csv(_concat(inputs.alignment, [*KEY, "epoch", "layer"]), outputs.alignment)
    provs = [json.loads(Path(p).read_text()) for p in inputs.provenance]
    runs = []
    for pv in provs:
        for method, seed in pv["members"]:
            runs.append({"dataset": pv["dataset"], "pair": pv["pair"], "method": method, "seed": seed,
                         "rule": pv["rule"], "diverged_epoch": pv["diverged_epoch"].get(f"{method}:{seed}"),
                         "n_train": pv["n_train"], "n_test": pv["n_test"], "architecture": pv.get("architecture"),
                         "device": pv["device"],
                         "stdp_impl": pv.get("stdp_impl"), "git_commit": pv["git_commit"],
                         "git_dirty": pv["git_dirty"], "config_hash": pv["config_hash"],
                         "torch": pv["versions"]["torch"]})
    runs = pd.DataFrame(runs).sort_values(KEY, kind="stable")
    runs["diverged_epoch"] = runs["diverged_epoch"].astype("Int64")
    write_csv(runs, outputs.runs)
    jobs = [json.loads(Path(p).read_text()) for p in getattr(inputs, "jobs", [])]
    write_csv(devices(provs, jobs), outputs.devices)
    write_json(provs + jobs, outputs.provenance)  # the only aggregated file with timestamps


def devices(train_provs: list[dict], job_provs: list[dict]) -> pd.DataFrame:
    """The device of every train, attack and Square job: one row per job."""
    rows = [{"stage": "train", "dataset": p["dataset"], "pair": p["pair"], "rule": p["rule"], "device": p["device"]}
            for p in train_provs]
    rows += [{"stage": p["stage"], "dataset": p["dataset"], "pair": p["pair"], "rule": "", "device": p["device"]}
             for p in job_provs]
    df = pd.DataFrame(rows, columns=DEVICE_COLUMNS[:-1])
    return df.assign(kind=df.device.map(device_kind)).sort_values(["dataset", "pair", "stage", "rule"], kind="stable")
