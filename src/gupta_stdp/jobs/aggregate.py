"""The aggregate stage: the per-job tables as tidy tables, one row per observation. The attack
table is derived here from each pair's per-example results (``gupta_stdp.derived``). No torch."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .. import derived, examples
from ..io import write_csv, write_json

KEY = ["dataset", "pair", "method", "seed"]


def _concat(paths, order) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in paths]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.read_csv(paths[0]) if paths else pd.DataFrame()
    return pd.concat(frames, ignore_index=True).sort_values(order, kind="stable")


def attack_table(example_files) -> pd.DataFrame:
    """The tidy attack table of every pair, derived from its examples.npz."""
    frames = []
    for p in map(Path, example_files):
        frames.append(derived.attack_table(examples.read(p), p.parent.parent.name, p.parent.name))
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
    write_json(provs, outputs.provenance)  # the only aggregated file with timestamps
