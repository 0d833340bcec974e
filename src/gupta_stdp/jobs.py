"""One function per workflow step. The scripts in scripts/ only unpack Snakemake's object and call
these; every output is written to a temporary file and renamed, so a failed job leaves nothing."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd
import torch

from . import attacks, config as cfgmod, provenance
from .data import fetch_idx_dataset, load_pair
from .train import train

log = logging.getLogger(__name__)

EPOCH_COLUMNS = ["dataset", "pair", "method", "seed", "epoch", "split", "accuracy", "auc",
                 "mean_out_y0", "mean_out_y1", "diverged"]
ATTACK_COLUMNS = ["dataset", "pair", "method", "seed", "attack", "eps", "accuracy", "auc",
                  "mean_out_y0", "mean_out_y1"]


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_csv(df: pd.DataFrame, path) -> None:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.10g")


def write_json(obj, path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def pick_device(setting: str) -> torch.device:
    """compute.device: cpu, cuda (an error without a GPU), or auto (CUDA when the job sees one)."""
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("compute.device is 'cuda' but this job sees no CUDA device; "
                           "set compute.device: auto (or cpu), or give the job a GPU")
    if setting == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda")


def setup(threads: int, log_path: str | None = None) -> None:
    torch.set_num_threads(max(1, int(threads)))
    handlers = [logging.StreamHandler()] + ([logging.FileHandler(log_path, mode="w")] if log_path else [])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=handlers, force=True)


# ------------------------------------------------------------------------------------- steps
def download(config: dict, dataset: str) -> None:
    src = config["data"][dataset]
    fetch_idx_dataset(dataset, src["mirrors"], src["md5"], Path(config["data"]["root"]),
                      timeout=config["data"]["timeout"], retries=config["data"]["retries"])


def load_task(config: dict, dataset: str, pair: str):
    d = config["data"]
    iris = d["iris"]
    return load_pair(dataset, pair, Path(d["root"]), split_seed=iris["split_seed"], test_size=iris["test_size"],
                     n_classes=cfgmod.n_classes(config, dataset))


def run_training(config: dict, dataset: str, pair: str, method: str, out_csv, out_model, out_prov) -> pd.DataFrame:
    device = pick_device(config["compute"]["device"])
    data = load_task(config, dataset, pair)
    tcfg = cfgmod.train_config(config, dataset, method)
    seeds = list(config["seeds"])
    log.info("training %s %s %s seeds=%s on %s (%d train, %d test points)", dataset, pair, method, seeds, device,
             len(data.y_train), len(data.y_test))
    res = train(data, seeds, tcfg, device)
    df = pd.DataFrame(res.rows)
    df.insert(0, "method", method)
    df.insert(0, "pair", pair)
    df.insert(0, "dataset", dataset)
    df = df[EPOCH_COLUMNS]
    with atomic_path(out_model) as tmp:
        torch.save({"seeds": seeds, "params": [{k: v.cpu() for k, v in layer.items()} for layer in res.params],
                    "hidden_z": [z.cpu() for z in res.hidden_z]}, tmp)
    write_json(provenance.record(config, device, dataset=dataset, pair=pair, method=method, seeds=seeds,
                                 diverged_epoch={str(k): v for k, v in res.diverged_epoch.items()},
                                 n_train=len(data.y_train), n_test=len(data.y_test), stdp_impl=tcfg.impl),
               out_prov)
    write_csv(df, out_csv)
    return df


def load_model(path, device="cpu"):
    """Models are loaded with weights_only=True: a model file cannot run code."""
    blob = torch.load(path, map_location=device, weights_only=True)
    return blob["seeds"], blob["params"]


def run_attacks(config: dict, dataset: str, pair: str, models: dict[str, str], out_csv) -> pd.DataFrame:
    device = pick_device(config["compute"]["device"])
    data = load_task(config, dataset, pair).to(device)
    frames = []
    for method, path in models.items():
        seeds, params = load_model(path, device)
        rows = attacks.fgsm_sweep(params, data.x_test, data.y_test, [0, *config["attacks"]["fgsm"]["eps"]])
        df = pd.DataFrame(rows)
        df["seed"] = [seeds[i] for i in df.pop("seed_index")]
        df["dataset"], df["pair"], df["method"] = dataset, pair, method
        frames.append(df)
    out = pd.concat(frames, ignore_index=True).drop_duplicates(["method", "seed", "attack", "eps"])
    out = out[ATTACK_COLUMNS].sort_values(["method", "attack", "eps", "seed"], kind="stable")
    write_csv(out, out_csv)
    return out


def aggregate(epoch_csvs, attack_csvs, prov_jsons, out_epochs, out_attacks, out_runs, out_prov) -> None:
    key = ["dataset", "pair", "method", "seed"]
    epochs = pd.concat([pd.read_csv(p) for p in epoch_csvs], ignore_index=True)
    epochs = epochs.sort_values([*key, "epoch", "split"], kind="stable")
    atk = pd.concat([pd.read_csv(p) for p in attack_csvs], ignore_index=True)
    atk = atk.sort_values([*key, "attack", "eps"], kind="stable")
    provs = [json.loads(Path(p).read_text()) for p in prov_jsons]
    runs = []
    for pv in provs:
        for seed in pv["seeds"]:
            runs.append({"dataset": pv["dataset"], "pair": pv["pair"], "method": pv["method"], "seed": seed,
                         "diverged_epoch": pv["diverged_epoch"].get(str(seed)), "n_train": pv["n_train"],
                         "n_test": pv["n_test"], "device": pv["device"], "git_commit": pv["git_commit"],
                         "git_dirty": pv["git_dirty"], "config_hash": pv["config_hash"],
                         "torch": pv["versions"]["torch"]})
    runs = pd.DataFrame(runs).sort_values(key, kind="stable")
    runs["diverged_epoch"] = runs["diverged_epoch"].astype("Int64")
    write_csv(epochs, out_epochs)
    write_csv(atk, out_attacks)
    write_csv(runs, out_runs)
    write_json(provs, out_prov)  # the only aggregated file with timestamps
