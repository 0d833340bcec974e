import sys
from pathlib import Path

import yaml
from snakemake.utils import validate

# The workflow's own package. The DAG layer imports only its torch-free modules (config, pairs,
# rules' registry), so a head node plans without torch.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from gupta_stdp import config as cfg  # noqa: E402
from gupta_stdp import rules as registry  # noqa: E402
from gupta_stdp.pairs import raw_files  # noqa: E402

# Keys of earlier releases get a message naming their new key before the schema rejects them.
cfg.reject_old_keys(config)
validate(config, "../schemas/config.schema.yaml")
# What the schema cannot say: registered rules, pairs vs classes, data sources, batch sizes.
cfg.check(config)

DATA_ROOT = config["data"]["root"]
PKG = Path(workflow.basedir) / "src" / "gupta_stdp"
FIGURES = yaml.safe_load(
    (Path(workflow.basedir) / "workflow/report/figures.yaml").read_text()
)


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    pair="[0-9]+v[0-9]+",
    rule="|".join(registry.RULES),
    figure="|".join(FIGURES),


def code(*modules):
    """Package modules a job runs: inputs, so that editing one reruns the jobs that run it."""
    return [str(PKG / m) for m in modules]


def rule_code(wildcards):
    """The trainer, the model, the data and the rule's own module (every non-BP rule also computes
    BP's gradient for its alignment angle)."""
    own = f"rules/{registry.module_name(wildcards.rule)}.py"
    reference = [] if wildcards.rule == "bp" else ["rules/bp.py"]
    mods = [
        "train.py",
        "model.py",
        "data.py",
        "pairs.py",
        "metrics.py",
        "seeding.py",
        "jobs/train.py",
    ]
    return code(*mods, "rules/__init__.py", "rules/base.py", own, *reference)


def pairs():
    return [(d, p) for d, spec in config["datasets"].items() for p in spec["pairs"]]


def train_files(name):
    return [
        f"results/runs/{d}/{p}/{r}/{name}"
        for d, p in pairs()
        for r in config["methods"]
    ]


def pair_files(name):
    return [f"results/runs/{d}/{p}/{name}" for d, p in pairs()]


def bench_files():
    return [
        f"results/benchmarks/train/{d}_{p}_{r}.tsv"
        for d, p in pairs()
        for r in config["methods"]
    ] + [f"results/benchmarks/attack/{d}_{p}.tsv" for d, p in pairs()]


def dataset_files(wildcards):
    """The verified IDX files a dataset needs (none for IRIS, which ships with scikit-learn)."""
    if wildcards.dataset == "iris":
        return []
    return [str(f) for f in raw_files(DATA_ROOT, wildcards.dataset)]


def figure_drawn(name):
    when = FIGURES[name]["when"]
    rules_run = config["methods"]
    return (
        when == "always"
        or (when == "variants" and bool(cfg.variants(config)))
        or (when == "rules" and any(r != "bp" for r in rules_run))
        or (when == "many_rules" and len(rules_run) > 2)
    )


def figure_files(wildcards=None):
    return {
        f"figure_{f}": f"results/figures/{f}.png" for f in FIGURES if figure_drawn(f)
    }


def figure_options(wildcards):
    """What a figure reads besides its tables (and only that: a change reruns that figure alone)."""
    cc = config["claims"]
    available = {
        "margin": cc["margin"],
        "confidence": cc["confidence"],
        "methods": cfg.table_methods(config),
        "report_eps": config["report"]["eps"],
        "paper_eps": config["attacks"]["fgsm"]["eps"],
    }
    return {k: available[k] for k in FIGURES[wildcards.figure].get("options", [])}


TABLES = {
    "stdp_curve": "results/tables/stdp_curve.csv",
    "readings": "results/tables/claim_readings.csv",
    "epochs": "results/tables/epochs.csv",
    "attacks": "results/tables/attacks.csv",
    "diagnostics": "results/tables/diagnostics.csv",
    "alignment": "results/tables/alignment.csv",
    "by_pair": "results/tables/claims_by_pair.csv",
}


def figure_caption(wildcards):
    """The figure's caption, with the report's eps where it names one."""
    return FIGURES[wildcards.figure]["caption"].format(
        eps=f"{config['report']['eps']:g}/255"
    )


ATTACK_CODE = [
    "attacks/__init__.py",
    "attacks/losses.py",
    "attacks/gradient.py",
    "attacks/square.py",
    "attacks/noise.py",
    "attacks/diagnostics.py",
]
CLAIMS_CODE = [
    "claims/__init__.py",
    "claims/catalogue.py",
    "claims/verdicts.py",
    "claims/evidence.py",
]


def figure_inputs(wildcards):
    tables = {t: TABLES[t] for t in FIGURES[wildcards.figure]["tables"]}
    return {**tables, "code": code("figures.py", "tables.py", "curves.py", "io.py")}
