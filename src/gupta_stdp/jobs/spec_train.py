"""The multiverse's train stage: every seed and learning rate (and, for STDP, bias handling) of one
(dataset, pair, rule, batch size), in one population, with checkpoints (``gupta_stdp.multiverse``)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import torch

from .. import gpus, provenance
from ..data import holdout, load_pair
from ..io import atomic_path, write_csv, write_json
from ..multiverse import SpecConfig, bias_of, train_specs

log = logging.getLogger(__name__)

SCORE_COLUMNS = ["dataset", "pair", "method", "seed", "lr", "batch_size", "epochs", "bias", "split", "accuracy", "auc",
                 "diverged"]


def run_spec_training(params: dict, dataset: str, pair: str, rule: str, batch_size: int, outputs: dict, runtime: dict):
    """Train the population; write each member's validation and test scores at each checkpoint, the
    checkpoints' parameters, and the provenance."""
    device = gpus.pick_device(runtime["device"], runtime.get("gpus_requested", 0))
    seeds, mv = list(params["seeds"]), params["multiverse"]
    data = load_pair(dataset, pair, seeds, Path(runtime["root"]), test_size=params["data"].get("test_size", 0.2),
                     n_classes=params["data"].get("n_classes"))
    fit, x_val, y_val = holdout(data, mv["validation"], seeds, mv["split_seed"])
    n_fit = fit.y_train.shape[-1]
    # A batch larger than the training split is the whole split (IRIS: 72 points, batch 80).
    used = min(batch_size, n_fit)
    cfg = SpecConfig(rule=rule, impl=params["impl"], epochs=max(mv["epochs"]), batch_size=used, lrs=list(mv["lr"]),
                     settings=dict(params["settings"]), checkpoints=list(mv["epochs"]),
                     biases=list(mv["bias"]) if rule == "stdp" else [])
    log.info("multiverse %s %s %s, batch %d%s: seeds %s, lr %s%s, checkpoints %s; %d train, %d validation, %d test "
             "points, on %s", dataset, pair, rule, batch_size, f" (the whole split: {used})" if used < batch_size else "",
             seeds, cfg.lrs, f", bias {cfg.biases}" if cfg.biases else "", cfg.checkpoints, n_fit, y_val.shape[-1],
             fit.y_test.shape[-1], device)
    res = train_specs(fit, x_val, y_val, seeds, cfg, device)
    df = pd.DataFrame(res.rows).assign(dataset=dataset, pair=pair, batch_size=batch_size)[SCORE_COLUMNS]
    with atomic_path(outputs["checkpoints"]) as tmp:
        torch.save({"rule": rule, "batch_size": batch_size,
                    "members": [{"method": m.method, "seed": m.seed, "lr": m.lr, "bias": bias_of(m, rule)}
                                for m in res.members],
                    "checkpoints": {e: [{k: v.cpu() for k, v in layer.items()} for layer in p]
                                    for e, p in res.checkpoints.items()}}, tmp)
    write_json(provenance.record(params, device, stage="multiverse train", dataset=dataset, pair=pair, rule=rule,
                                 batch_size=batch_size, batch_size_used=used, n_train=n_fit, n_val=int(y_val.shape[-1]),
                                 n_test=int(fit.y_test.shape[-1])), outputs["provenance"])
    write_csv(df, outputs["scores"])
    return df
