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


RULE_STATS_COLUMNS = ["dataset", "pair", "method", "seed", "epoch", "layer", "eps_dominated_share",
                      "max_abs_update", "mean_abs_update"]


def run_training(config: dict, dataset: str, pair: str, method: str, out_csv, out_model, out_prov,
                 out_rule_stats=None) -> pd.DataFrame:
    device = pick_device(config["compute"]["device"])
    data = load_task(config, dataset, pair)
    tcfg = cfgmod.train_config(config, dataset, method)
    seeds = list(config["seeds"])
    log.info("training %s %s %s seeds=%s on %s (%d train, %d test points)", dataset, pair, method, seeds, device,
             len(data.y_train), len(data.y_test))
    res = train(data, seeds, tcfg, device)
    run = {"dataset": dataset, "pair": pair, "method": method}
    df = pd.DataFrame(res.rows).assign(**run)[EPOCH_COLUMNS]
    if out_rule_stats is not None:  # empty (header only) for BP
        stats = pd.DataFrame(res.rule_stats, columns=RULE_STATS_COLUMNS[3:]).assign(**run)
        write_csv(stats[RULE_STATS_COLUMNS], out_rule_stats)
    with atomic_path(out_model) as tmp:
        torch.save({"seeds": seeds, "params": [{k: v.cpu() for k, v in layer.items()} for layer in res.params],
                    "hidden_z": [z.cpu() for z in res.hidden_z]}, tmp)
    write_json(provenance.record(config, device, dataset=dataset, pair=pair, method=method, seeds=seeds,
                                 diverged_epoch={str(k): v for k, v in res.diverged_epoch.items()},
                                 n_train=len(data.y_train), n_test=len(data.y_test), stdp_impl=tcfg.impl,
                                 train_config=vars(tcfg)),
               out_prov)
    write_csv(df, out_csv)
    return df


def load_model(path, device="cpu"):
    """Models are loaded with weights_only=True: a model file cannot run code."""
    blob = torch.load(path, map_location=device, weights_only=True)
    return blob["seeds"], blob["params"]


def attack_plan(config: dict) -> tuple[list[float], list[str]]:
    """The eps values (units of 1/255, 0 = clean) and the white-box attacks the config asks for."""
    ac = config["attacks"]
    eps = {0.0, *map(float, ac["fgsm"]["eps"])}
    if ac["sweep"]["enabled"]:
        eps |= set(map(float, ac["sweep"]["eps"]))
    kinds = ["fgsm"] + (["pgd"] if ac["pgd"]["enabled"] else [])
    return sorted(eps), kinds


def craft(kind: str, params, x, y, eps: float, pgd_cfg: dict):
    """Adversarial examples [S, N, n_in] crafted on ``params`` (eps in [0, 1]; 0 gives x itself)."""
    if eps == 0:
        return x.expand(params[0]["weight"].shape[0], *x.shape)
    if kind == "fgsm":
        return attacks.fgsm(params, x, y, eps)
    gen = torch.Generator().manual_seed(pgd_cfg["seed"])
    return attacks.pgd(params, x, y, eps, steps=pgd_cfg["steps"], restarts=pgd_cfg["restarts"],
                       step_size=pgd_cfg["step_factor"] * eps / pgd_cfg["steps"], generator=gen)


def _gradient_attack_rows(config, loaded, x, y, eps_list, kinds) -> list[dict]:
    """White-box rows (target = source) and, with transfer on, the other method's model attacked
    with the same examples (attack transfer_<kind>)."""
    transfer = config["attacks"]["transfer"]["enabled"] and len(loaded) > 1
    rows = []
    for source, (seeds, src_params) in loaded.items():
        for kind in kinds:
            for e in eps_list:
                if e == 0 and kind != "fgsm":
                    continue  # clean accuracy once, as attack "fgsm" at eps 0
                x_adv = craft(kind, src_params, x, y, e / 255.0, config["attacks"]["pgd"])
                for target, (_, tgt_params) in loaded.items():
                    if target != source and (not transfer or e == 0):
                        continue
                    name = kind if target == source else f"transfer_{kind}"
                    for i, m in enumerate(attacks.accuracy_on(tgt_params, x_adv, y)):
                        rows.append({"method": target, "seed": seeds[i], "attack": name, "eps": e / 255.0, **m,
                                     "source": source})
    return rows


def _decision_attack_rows(dec, loaded, x, y, eps_list) -> list[dict]:
    """HopSkipJump on a class-balanced subset: accuracy at eps = share of points whose smallest
    adversarial example found lies beyond eps."""
    idx = attacks.subset(y, dec["n_samples"], dec["seed"]).to(y.device)
    rows = []
    for method, (seeds, params) in loaded.items():
        dist = attacks.hopskipjump_distances(params, x[idx], y[idx], dec["max_iter"], dec["max_eval"],
                                             dec["init_eval"], dec["seed"])
        for e in eps_list:
            acc = (dist > e / 255.0).double().mean(dim=1)
            rows += [{"method": method, "seed": seed, "attack": "hopskipjump", "eps": e / 255.0,
                      "accuracy": float(acc[i]), "source": method} for i, seed in enumerate(seeds)]
    return rows


def run_attacks(config: dict, dataset: str, pair: str, models: dict[str, str], out_csv,
                out_diagnostics=None) -> pd.DataFrame:
    """Every attack of the config on the models of one pair, and the masking diagnostics.
    ``source`` names the model the examples were crafted on."""
    device = pick_device(config["compute"]["device"])
    data = load_task(config, dataset, pair).to(device)
    x, y = data.x_test, data.y_test
    loaded = {m: load_model(p, device) for m, p in models.items()}
    seed_lists = {m: seeds for m, (seeds, _) in loaded.items()}
    if len({tuple(s) for s in seed_lists.values()}) > 1:
        raise RuntimeError(f"{dataset} {pair}: the methods' models hold different seeds {seed_lists}; retrain them")
    eps_list, kinds = attack_plan(config)
    rows = _gradient_attack_rows(config, loaded, x, y, eps_list, kinds)
    if config["attacks"]["decision"]["enabled"]:
        rows += _decision_attack_rows(config["attacks"]["decision"], loaded, x, y, eps_list)
    out = pd.DataFrame(rows).assign(dataset=dataset, pair=pair).reindex(columns=ATTACK_COLUMNS + ["source"])
    out = out.sort_values(["method", "attack", "source", "eps", "seed"], kind="stable")
    if out_diagnostics is not None:
        diag = []
        for method, (seeds, params) in loaded.items():
            for i, d in enumerate(attacks.diagnostics(params, x, y, config["diagnostics"]["saturation"])):
                diag.append({"dataset": dataset, "pair": pair, "method": method, "seed": seeds[i], **d})
        write_csv(pd.DataFrame(diag), out_diagnostics)
    write_csv(out, out_csv)
    return out


def aggregate(epoch_csvs, attack_csvs, prov_jsons, out_epochs, out_attacks, out_runs, out_prov,
              diag_csvs=(), out_diag=None, stats_csvs=(), out_stats=None) -> None:
    key = ["dataset", "pair", "method", "seed"]
    epochs = pd.concat([pd.read_csv(p) for p in epoch_csvs], ignore_index=True)
    epochs = epochs.sort_values([*key, "epoch", "split"], kind="stable")
    atk = pd.concat([pd.read_csv(p) for p in attack_csvs], ignore_index=True)
    atk = atk.sort_values([*key, "attack", "source", "eps"], kind="stable")
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
    if out_stats is not None:
        stats = pd.concat([pd.read_csv(p) for p in stats_csvs], ignore_index=True)
        write_csv(stats.sort_values([*key, "epoch", "layer"], kind="stable"), out_stats)
    if out_diag is not None:
        diag = pd.concat([pd.read_csv(p) for p in diag_csvs], ignore_index=True).sort_values(key, kind="stable")
        write_csv(diag, out_diag)
    write_json(provs, out_prov)  # the only aggregated file with timestamps
