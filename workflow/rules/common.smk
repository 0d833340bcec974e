import atexit
import os
import sys
import time
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The workflow's own package. The DAG layer imports only its torch-free modules (config, pairs,
# rules' registry), so a head node plans without torch.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from gupta_stdp import config as cfg  # noqa: E402
from gupta_stdp import errors  # noqa: E402
from gupta_stdp import jobcode  # noqa: E402
from gupta_stdp import rules as registry  # noqa: E402
from gupta_stdp.pairs import raw_files  # noqa: E402

RUN_STARTED = time.time()


def fail(message):
    """A known error in the config: its message alone, and exit (no traceback)."""
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(1)


try:
    # Keys of earlier releases get a message naming their new key before the schema rejects them.
    cfg.reject_old_keys(config)
    validate(config, "../schemas/config.schema.yaml")
    # What the schema cannot say: registered rules, pairs vs classes, data sources, batch sizes.
    cfg.check(config)
except cfg.ConfigError as err:
    fail(err)
# The schema's message holds the whole schema: say which key, in one line.
except WorkflowError as err:
    fail(cfg.schema_message(config) or err)
# An unpacked bundle (bundle.rebuild) holds the results of one config: refuse one that needs others.
if config["bundle"]["rebuild"] and (problems := cfg.rebuild_problems(config)):
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    fail(
        "bundle.rebuild: this config asks for results the bundle does not hold, and a rebuild "
        f"trains and attacks nothing: {'; '.join(problems[:5])}{more}. A rebuild may change "
        "claims.*, report.* and figure settings; for anything else run the full workflow"
    )


def report_failures(main_log, logs="logs"):
    """When the workflow failed: each known error's message once, and the log of every other failed
    job, printed after everything Snakemake prints (at exit)."""
    text = errors.summary(*errors.collect(logs, RUN_STARTED, main_log))
    if text:
        atexit.register(lambda: print(text, file=sys.stderr, flush=True))


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
    batch="[0-9]+",


def code(script, *extra):
    """The code a job runs: its script and every package module the script imports (read from the
    imports: gupta_stdp.jobcode), plus ``extra`` package files it loads by name. Inputs, so that
    editing one reruns the jobs that run it, and only those. Relative to the working directory, so
    that a finished run moved or copied elsewhere with its workflow is still finished.
    """
    return [os.path.relpath(f) for f in jobcode.inputs(script, *extra)]


def rule_code(wildcards):
    """A train job's code: the trainer's imports and the rule's own module, which the trainer loads
    by its registry line (the registry itself is no input: registering a rule reruns nothing).
    """
    return code("train", f"rules/{registry.module_name(wildcards.rule)}.py")


def multiverse_rule_code(wildcards):
    """A multiverse train job's code: its script's imports and the rule's own module."""
    return code("multiverse_train", f"rules/{registry.module_name(wildcards.rule)}.py")


def multiverse_files(name, dataset=None, pair=None):
    """``name`` of every multiverse train job (of one data set and pair, when given)."""
    if not config["multiverse"]["enabled"]:
        return []
    return [
        f"results/multiverse/{d}/{p}/{r}/b{b}/{name}"
        for d, p in pairs()
        if (dataset, pair) in ((None, None), (d, p))
        for r in cfg.multiverse_methods(config)
        for b in cfg.multiverse_grid(config, d)["batch_size"]
    ]


def multiverse_pair_files(name):
    """``name`` of every multiverse attack job (one per pair)."""
    if not config["multiverse"]["enabled"]:
        return []
    return [f"results/multiverse/{d}/{p}/{name}" for d, p in pairs()]


def multiverse_checkpoints(wildcards):
    return multiverse_files("checkpoints.pt", wildcards.dataset, wildcards.pair)


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


def attack_stages():
    """The attack jobs of each pair: the attack job's and, when it runs, the Square Attack's."""
    return ["attack", "square"][: 1 + config["attacks"]["square"]["enabled"]]


def example_files():
    """Every per-example result of every pair (examples.npz, square.npz)."""
    names = {"attack": "examples.npz", "square": "square.npz"}
    return [f for stage in attack_stages() for f in pair_files(names[stage])]


def job_provenance_files():
    """The provenance (device included) of every attack and Square job."""
    return [f for stage in attack_stages() for f in pair_files(f"{stage}.json")]


def bench_files():
    return [
        f"results/benchmarks/train/{d}_{p}_{r}.tsv"
        for d, p in pairs()
        for r in config["methods"]
    ] + [
        f"results/benchmarks/{stage}/{d}_{p}.tsv"
        for stage in attack_stages()
        for d, p in pairs()
    ]


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
        or (when == "multiverse" and config["multiverse"]["enabled"])
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
    "specifications": "results/tables/specifications.csv",
    "spec_verdicts": "results/tables/specification_verdicts.csv",
    "spec_tuned": "results/tables/specification_tuned.csv",
}
MULTIVERSE_TABLES = ("specifications", "spec_verdicts", "spec_tuned")


def figure_caption(wildcards):
    """The figure's caption, with the report's eps where it names one."""
    return FIGURES[wildcards.figure]["caption"].format(
        eps=f"{config['report']['eps']:g}/255"
    )


def figure_inputs(wildcards):
    tables = {t: TABLES[t] for t in FIGURES[wildcards.figure]["tables"]}
    return {**tables, "code": code("figures")}


# The GPU resources of the heavy jobs (gpu, and gpu_model only with a GPU request).
GPU = cfg.gpu_resources(config)


# A heavy job's runtime or memory, growing with each retry.
scaled = cfg.scaled


# Aggregated files that are not read by a figure (TABLES): the rest of results/tables.
AGGREGATED = [
    "results/tables/runs.csv",
    "results/tables/provenance.json",
    "results/tables/rule_stats.csv",
    "results/tables/devices.csv",
    "results/tables/sanity.csv",
    "results/tables/claims.csv",
    "results/tables/mcnemar.csv",
]


def bundle_files():
    """The per-run files of the bundle: every train job's outputs (its model only with
    bundle.models), every attack and Square job's, and the benchmarks."""
    names = ["epochs.csv", "provenance.json", "rule_stats.csv", "alignment.csv"]
    names += ["model.pt"] if config["bundle"]["models"] else []
    spec = ["scores.csv", "provenance.json"]
    spec += ["checkpoints.pt"] if config["bundle"]["models"] else []
    return [
        *(f for n in names for f in train_files(n)),
        *pair_files("diagnostics.csv"),
        *example_files(),
        *job_provenance_files(),
        *bench_files(),
        *(f for n in spec for f in multiverse_files(n)),
        *(f for n in ("attacks.csv", "attack.json") for f in multiverse_pair_files(n)),
    ]


def bundle_tables():
    """The aggregated tables of the bundle: the multiverse's only when it ran."""
    skip = () if config["multiverse"]["enabled"] else MULTIVERSE_TABLES
    return [f for k, f in TABLES.items() if k not in skip] + AGGREGATED
