import sys
from pathlib import Path

from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from gupta_stdp import config as cfg  # noqa: E402
from gupta_stdp.data import raw_files  # noqa: E402

validate(config, "../schemas/config.schema.yaml")
# What the schema cannot say: pairs vs classes, datasets without a source, batch sizes.
cfg.check(config)

DATA_ROOT = config["data"]["root"]


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    pair="[0-9]+v[0-9]+",
    method="bp|stdp|stdp-[A-Za-z0-9_.+-]+",


VARIANTS = cfg.variants(config)


def runs():
    """Every (dataset, pair, method) to train: the methods, then the STDP ablation variants."""
    return [
        (d, p, m)
        for d, spec in config["datasets"].items()
        for p in spec["pairs"]
        for m in [*config["methods"], *VARIANTS]
    ]


def run_files(name):
    return [f"results/runs/{d}/{p}/{m}/{name}" for d, p, m in runs()]


def attack_files(name="attacks.csv"):
    return [
        f"results/runs/{d}/{p}/{name}"
        for d, spec in config["datasets"].items()
        for p in spec["pairs"]
    ]


def bench_files():
    return [f"results/benchmarks/train/{d}_{p}_{m}.tsv" for d, p, m in runs()] + [
        f"results/benchmarks/attack/{d}_{p}.tsv"
        for d, spec in config["datasets"].items()
        for p in spec["pairs"]
    ]


def dataset_files(wildcards):
    """The verified IDX files a dataset needs (none for IRIS, which ships with scikit-learn)."""
    if wildcards.dataset == "iris":
        return []
    return [str(f) for f in raw_files(DATA_ROOT, wildcards.dataset)]


def job_params(wildcards):
    """What a train job depends on: a change here re-runs it (Snakemake's params trigger)."""
    keys = ("seeds", "stdp", "optimizer")
    out = {k: config[k] for k in keys}
    out["variant"] = VARIANTS.get(wildcards.method, {})
    out["dataset"] = config["datasets"][wildcards.dataset]
    out["data"] = (
        config["data"]["iris"]
        if wildcards.dataset == "iris"
        else config["data"][wildcards.dataset]["md5"]
    )
    return out
