"""The train stage: every member of one (dataset, pair, rule) job, trained together."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch

from .. import gpus, model, provenance
from ..data import load_pair
from ..io import atomic_path, write_csv, write_json
from ..train import TrainConfig, train

log = logging.getLogger(__name__)

EPOCH_COLUMNS = ["dataset", "pair", "method", "seed", "epoch", "split", "accuracy", "auc",
                 "mean_out_y0", "mean_out_y1", "diverged"]
RULE_STATS_COLUMNS = ["dataset", "pair", "method", "seed", "epoch", "layer", "eps_dominated_share",
                      "max_abs_update", "mean_abs_update"]
ALIGNMENT_COLUMNS = ["dataset", "pair", "method", "seed", "epoch", "layer", "angle_deg"]


def train_config(params: dict, rule: str) -> TrainConfig:
    return TrainConfig(rule=rule, impl=params.get("impl"), epochs=params["epochs"], batch_size=params["batch_size"], lr=params["lr"],
                       settings=dict(params["settings"]), variants=dict(params["variants"]),
                       stats_every=params.get("stats_every", 0), align_every=params.get("align_every", 0))


def _table(rows, columns, **run) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[c for c in columns if c not in run]).assign(**run)[columns]


def run_training(params: dict, dataset: str, pair: str, rule: str, outputs: dict, runtime: dict):
    """Train ``rule`` (and, for STDP, its ablation variants) on every seed of ``params``; write the
    epoch table, the model, the rule statistics, the alignment angles and the provenance."""
    device = gpus.pick_device(runtime["device"], runtime.get("gpus_requested", 0))
    seeds = list(params["seeds"])
    data = load_pair(dataset, pair, seeds, Path(runtime["root"]), test_size=params["data"].get("test_size", 0.2),
                     n_classes=params["data"].get("n_classes"))
    cfg = train_config(params, rule)
    n_train = data.y_train.shape[-1]
    log.info("training %s %s %s (+%d variants), seeds %s, on %s (%d train, %d test points)", dataset, pair, rule,
             len(cfg.variants), seeds, device, n_train, data.y_test.shape[-1])
    res = train(data, seeds, cfg, device)
    run = {"dataset": dataset, "pair": pair}
    write_csv(_table(res.rule_stats, RULE_STATS_COLUMNS, **run), outputs["rule_stats"])
    write_csv(_table(res.alignment, ALIGNMENT_COLUMNS, **run), outputs["alignment"])
    with atomic_path(outputs["model"]) as tmp:
        torch.save({"rule": rule, "members": [[m.method, m.seed] for m in res.members],
                    "params": [{k: v.cpu() for k, v in layer.items()} for layer in res.params],
                    "state": {k: v.cpu() for k, v in res.state.items()}}, tmp)
    diverged = {f"{m}:{s}": e for (m, s), e in res.diverged_epoch.items()}
    write_json(provenance.record(params, device, stage="train", dataset=dataset, pair=pair, rule=rule,
                                 members=[[m.method, m.seed] for m in res.members], diverged_epoch=diverged,
                                 n_train=n_train, n_test=data.y_test.shape[-1], stdp_impl=res.impl,
                                 architecture=model.architecture(res.params)), outputs["provenance"])
    df = _table(res.rows, EPOCH_COLUMNS, **run)
    write_csv(df, outputs["epochs"])
    return df
