"""The run configuration: schema validation (the same schema Snakemake uses) and the checks a
schema cannot express, each naming the offending key and the fix."""

from __future__ import annotations

from pathlib import Path

import yaml

from .data import DATASETS, DataError, parse_pair
from .train import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    pass


def validate(config: dict) -> dict:
    """Validate against the schema and fill in defaults (in place), as Snakemake's validate()."""
    from snakemake.utils import validate as sm_validate

    sm_validate(config, str(SCHEMA), set_default=True)
    check(config)
    return config


def load(path: str | Path | None = None, **overrides) -> dict:
    config = yaml.safe_load(Path(path).read_text()) if path else {}
    config.update(overrides)
    return validate(config)


def n_classes(config: dict, dataset: str) -> int:
    if dataset == "iris":
        return DATASETS["iris"]
    return config["data"][dataset].get("n_classes", 10)


def check(config: dict) -> None:
    for name, ds in config["datasets"].items():
        key = f"datasets.{name}"
        if name != "iris" and name not in config["data"]:
            raise ConfigError(
                f"{key}: no data.{name} entry says where to fetch it; add data.{name}.mirrors and "
                f"data.{name}.md5, or use one of: iris, {', '.join(d for d in config['data'] if d not in ('root', 'timeout', 'retries', 'iris'))}"
            )
        for pair in ds["pairs"]:
            try:
                parse_pair(pair, name, n_classes(config, name))
            except DataError as err:
                raise ConfigError(f"{key}.pairs: {err}") from None
        if name == "iris":
            n_train = round(150 * (1 - config["data"]["iris"]["test_size"]) * 2 / 3)
            if ds["batch_size"] > n_train:
                raise ConfigError(
                    f"{key}.batch_size: {ds['batch_size']} is larger than the {n_train} training points "
                    f"of an IRIS pair; use at most {n_train}"
                )


def variants(config: dict) -> dict[str, dict]:
    """Ablation variants of STDP: name -> the stdp settings it changes (empty when disabled)."""
    ab = config["ablations"]
    if not ab["enabled"] or "stdp" not in config["methods"]:
        return {}
    st = config["stdp"]
    out = {}
    for e in ab["stdp_eps"]:
        if e != st["eps"]:
            out[f"stdp-eps{e:g}"] = {"eps": e}
    for b in ab["bias"]:
        if b != st["bias"]:
            out[f"stdp-{b}"] = {"bias": b}
    for h in ab["hidden_balance"]:
        if h != st["hidden_balance"]:
            out[f"stdp-balance{h:g}"] = {"hidden_balance": h}
    return out


def train_config(config: dict, dataset: str, method: str) -> TrainConfig:
    """The training settings of a method: stdp, bp, or an ablation variant of stdp."""
    ds = config["datasets"][dataset]
    st = dict(config["stdp"])
    if method not in ("stdp", "bp"):
        st.update(variants(config)[method])
        method = "stdp"
    return TrainConfig(method=method, epochs=ds["epochs"], batch_size=ds["batch_size"],
                       lr=config["optimizer"]["lr"], stdp_eps=st["eps"], bias=st["bias"], impl=st["impl"],
                       hidden_balance=st["hidden_balance"], stats_every=config["diagnostics"]["rule_stats_every"])
