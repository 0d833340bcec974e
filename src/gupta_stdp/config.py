"""The run configuration: schema validation, the checks a schema cannot express (each naming the
offending key and the fix), and what each workflow job depends on.

No torch here: the workflow plans its DAG with this module alone, so a cluster's head node needs
neither torch nor a GPU. Each ``*_params`` function returns exactly what one job reads; the rules
pass it as ``params:``, so a job reruns when, and only when, something it depends on changes.
Settings that change how a job runs but not its result (``compute.*``; the mirrors, timeout and
retries of a download) are read by the job (``gupta_stdp.jobs.common.runtime``) and trigger nothing.
"""

from __future__ import annotations

import functools

import json
from pathlib import Path

import yaml

from . import rules
from .io import config_hash  # noqa: F401  (the hash of a job's params, as the provenance records it)
from .errors import KnownError
from .pairs import DATASETS, DataError, parse_pair

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
NOT_RESULTS = ("compute", "bundle")  # top-level keys that never change a result
TRANSPORT = ("timeout", "retries")  # data.* keys that say how to fetch, not what


class ConfigError(KnownError, ValueError):
    pass


# Keys of earlier releases: where each went. Checked before the schema, so that an old config gets a
# message naming the new key rather than "additional properties are not allowed".
RENAMED = {
    ("attacks", "decision"): "attacks.decision is now attacks.square (the score-based Square Attack; its "
                             "n_samples is now n_points)",
}


def reject_old_keys(config: dict) -> None:
    for path, message in RENAMED.items():
        node = config
        for key in path:
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            raise ConfigError(f"{message}: rename it in your config")


def schema_message(config: dict) -> str | None:
    """The schema's objection to ``config`` in one line, naming the key (None if it has none)."""
    import jsonschema

    schema = yaml.safe_load(SCHEMA.read_text())
    err = jsonschema.exceptions.best_match(jsonschema.Draft7Validator(schema).iter_errors(config))
    if err is None:
        return None
    where = ".".join(str(k) for k in err.absolute_path) or "the config"
    return f"{where}: {err.message} (workflow/schemas/config.schema.yaml describes every key)"


def validate(config: dict) -> dict:
    """Validate against the schema and fill in defaults (in place), as Snakemake's validate()."""
    from snakemake.utils import validate as sm_validate

    reject_old_keys(config)
    sm_validate(config, str(SCHEMA), set_default=True)
    check(config)
    return config


def load(*paths: str | Path, **overrides) -> dict:
    """The config of ``paths`` (later files update earlier ones, as --configfile does), validated."""
    from snakemake.utils import update_config

    config: dict = {}
    for path in paths:
        if path:
            update_config(config, yaml.safe_load(Path(path).read_text()) or {})
    update_config(config, overrides)
    return validate(config)


def n_classes(config: dict, dataset: str) -> int:
    if dataset == "iris":
        return DATASETS["iris"]
    return config["data"][dataset].get("n_classes", 10)


def idx_datasets(config: dict) -> list[str]:
    return [d for d in config["data"] if d not in ("root", "timeout", "retries", "iris")]


def plan_eps(config: dict) -> list[float]:
    """Every eps (units of 1/255) the rules' models are attacked at: the paper's and the sweep's."""
    ac = config["attacks"]
    eps = set(ac["fgsm"]["eps"]) | (set(ac["sweep"]["eps"]) if ac["sweep"]["enabled"] else set())
    return sorted(float(e) for e in eps if e > 0)


def _check_eps(config: dict) -> None:
    """report.eps is one the cards can read: an eps of the paper's FGSM (every attack on every point
    runs at it then) and of the Square Attack; the convergence check runs at an eps of PGD."""
    ac, e = config["attacks"], config["report"]["eps"]
    if not any(abs(e - x) < 1e-9 for x in ac["fgsm"]["eps"]):
        raise ConfigError(f"report.eps: {e:g} is not among attacks.fgsm.eps {ac['fgsm']['eps']}; add it there or "
                          "set report.eps to one of them")
    if ac["square"]["enabled"] and not any(abs(e - x) < 1e-9 for x in ac["square"]["eps"]):
        raise ConfigError(f"report.eps: {e:g} is not among attacks.square.eps {ac['square']['eps']}; add it there, "
                          "set report.eps to one of them, or switch the Square Attack off")
    pg = ac["pgd"]
    if pg["enabled"] and pg["check"]["enabled"] and not any(abs(pg["check"]["eps"] - x) < 1e-9 for x in plan_eps(config)):
        raise ConfigError(f"attacks.pgd.check.eps: {pg['check']['eps']:g} is not an eps PGD runs at "
                          f"({', '.join(f'{x:g}' for x in plan_eps(config))}); use one of them")


def scaled(mnist: int, iris: int):
    """A resource of a heavy job (minutes, MB) as Snakemake calls it: ``mnist`` for an MNIST-size
    pair, ``iris`` for IRIS, times the attempt, so that a job that ran out of time or memory on a slow
    node is retried with twice, then three times as much (the profiles set retries)."""

    def resource(wildcards, attempt):
        return (iris if wildcards.dataset == "iris" else mnist) * attempt

    return resource


def gpu_resources(config: dict) -> dict:
    """The GPU resources of a train, attack or Square job: ``gpu``, and ``gpu_model`` only when the
    job asks for a GPU (SLURM would otherwise get --gpus=MODEL:0)."""
    n, model = gpus_per_job(config), config["compute"].get("gpu_model")
    return {"gpu": n, **({"gpu_model": model} if n and model else {})}


def gpus_per_job(config: dict) -> int:
    """The GPUs a train or attack job asks for: compute.gpus_per_job, or one for compute.device: cuda."""
    c = config["compute"]
    return c["gpus_per_job"] or (1 if c["device"] == "cuda" else 0)


def _check_compute(config: dict) -> None:
    c = config["compute"]
    if c["device"] == "cpu" and c["gpus_per_job"]:
        raise ConfigError(f"compute.gpus_per_job: {c['gpus_per_job']} asks the scheduler for GPUs that "
                          "compute.device: cpu never uses; set gpus_per_job: 0, or device: auto to compute on them")


def check(config: dict) -> None:
    _check_eps(config)
    _check_compute(config)
    unknown = [m for m in config["methods"] if m not in rules.RULES]
    if unknown:
        raise ConfigError(f"methods: {', '.join(map(repr, unknown))} is not a registered learning rule; "
                          f"use some of: {', '.join(rules.RULES)} (see src/gupta_stdp/rules/__init__.py)")
    _check_multiverse(config)
    for name, ds in config["datasets"].items():
        key = f"datasets.{name}"
        if name != "iris" and name not in config["data"]:
            raise ConfigError(
                f"{key}: no data.{name} entry says where to fetch it; add data.{name}.mirrors and "
                f"data.{name}.md5, or use one of: iris, {', '.join(idx_datasets(config))}"
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


def _check_multiverse(config: dict) -> None:
    mv = config["multiverse"]
    trained = multiverse_methods(config)
    if mv["enabled"] and ("bp" not in trained or len(trained) < 2):
        missing = [m for m in mv["methods"] if m not in config["methods"]]
        raise ConfigError(
            "multiverse.methods: the multiverse compares a rule with BP, and trains only rules that also run in "
            f"`methods`; here it would train {trained or 'none'}"
            + (f" ({', '.join(missing)} not in methods: {config['methods']})" if missing else "")
            + "; add bp and a compared rule (stdp or fa) to both lists")
    unknown = [m for m in mv["methods"] if m not in rules.RULES]
    if unknown:
        raise ConfigError(f"multiverse.methods: {', '.join(map(repr, unknown))} is not a registered learning rule; "
                          f"use some of: {', '.join(rules.RULES)}")
    # A specification takes the k-th batch size and training length of every data set (its level).
    for factor in ("epochs", "batch_size"):
        lengths = {d: len(multiverse_grid(config, d)[factor]) for d in config["datasets"]}
        if len(set(lengths.values()) - {1}) > 1:
            raise ConfigError(f"multiverse.datasets.*.{factor}: a specification takes the k-th value of every data "
                              f"set's list, so the lists need the same length (or one value): got "
                              + ", ".join(f"{d} {n}" for d, n in lengths.items()))


def multiverse_methods(config: dict) -> list[str]:
    """The rules the multiverse trains: multiverse.methods that also run in the main grid."""
    return [m for m in config["methods"] if m in config["multiverse"]["methods"]]


@functools.lru_cache(maxsize=1)
def _default_grid() -> dict:
    """The schema's default multiverse.datasets (MNIST and IRIS, SPEC 6b)."""
    schema = yaml.safe_load(SCHEMA.read_text())
    return schema["properties"]["multiverse"]["properties"]["datasets"]["default"]


def multiverse_grid(config: dict, dataset: str) -> dict[str, list[int]]:
    """The training lengths and batch sizes of a data set's specifications, per factor: the data
    set's entry in multiverse.datasets, else the schema's default for a data set it names (MNIST,
    IRIS), else the data set's own epochs or batch_size (one value). So a config that sets one list
    of one data set keeps every other list."""
    ds = config["datasets"][dataset]
    mine, default = config["multiverse"]["datasets"].get(dataset, {}), _default_grid().get(dataset, {})
    return {f: list(mine.get(f) or default.get(f) or [ds[f]]) for f in ("epochs", "batch_size")}


def variants(config: dict) -> dict[str, dict]:
    """Ablation variants of STDP: method label -> the stdp settings it changes (empty when off)."""
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


def table_methods(config: dict) -> list[str]:
    """Every method label the tables hold: the rules, then STDP's ablation variants."""
    return [*config["methods"], *variants(config)]


# ------------------------------------------------------------------ what each job depends on
def data_params(config: dict, dataset: str) -> dict:
    """What identifies a data set's content: IRIS's split, or the md5 of the IDX files."""
    if dataset == "iris":
        return {"test_size": config["data"]["iris"]["test_size"]}
    src = config["data"][dataset]
    return {"md5": src["md5"], "n_classes": src.get("n_classes", 10)}


def train_params(config: dict, dataset: str, rule: str) -> dict:
    """What a train job of ``rule`` reads. Not the pair list (adding a pair leaves other pairs
    alone), not another rule's settings (an STDP setting never reruns BP), and of the registry only
    the rule's own line (``impl``: registering a rule reruns no other rule's jobs)."""
    ds = config["datasets"][dataset]
    out = {"impl": rules.RULES[rule], "seeds": config["seeds"], "epochs": ds["epochs"], "batch_size": ds["batch_size"],
           "lr": config["optimizer"]["lr"], "data": data_params(config, dataset),
           "settings": config.get(rule, {}), "variants": variants(config) if rule == "stdp" else {}}
    if rule == "stdp":
        out["stats_every"] = config["diagnostics"]["rule_stats_every"]
    if rule != "bp":
        out["align_every"] = config["diagnostics"]["alignment_every"]
    return out


def spec_train_params(config: dict, dataset: str, rule: str) -> dict:
    """What a multiverse train job reads (its batch size is in its output path): the factors but the
    batch sizes, the validation split, the rule's settings but the bias handling (a factor)."""
    mv = config["multiverse"]
    settings = {k: v for k, v in config.get(rule, {}).items() if not (rule == "stdp" and k == "bias")}
    factors = {"validation": mv["validation"], "split_seed": mv["split_seed"], "lr": mv["lr"],
               "epochs": multiverse_grid(config, dataset)["epochs"]}
    if rule == "stdp":
        factors["bias"] = mv["bias"]
    return {"impl": rules.RULES[rule], "seeds": config["seeds"], "data": data_params(config, dataset),
            "settings": settings, "multiverse": factors}


def spec_attack_params(config: dict, dataset: str) -> dict:
    """What a multiverse attack job reads: the paper's FGSM eps, the report's eps and PGD's settings."""
    pg = config["attacks"]["pgd"]
    return {"seeds": config["seeds"], "data": data_params(config, dataset),
            "fgsm_eps": sorted({float(e) for e in config["attacks"]["fgsm"]["eps"] if e > 0}),
            "report_eps": config["report"]["eps"],
            "pgd": {k: pg[k] for k in ("steps", "restarts", "step_factor", "seed")}}


def spec_claims_params(config: dict) -> dict:
    """What the multiverse's verdicts read: the claims' settings, and the paper's setting of each data
    set (a tie in the tuned choice goes to it)."""
    paper = {d: {"lr": config["optimizer"]["lr"], "batch_size": ds["batch_size"], "epochs": ds["epochs"]}
             for d, ds in config["datasets"].items()}
    # of the main run's claims settings, what judging the multiverse's rules reads: not STDP's ablation
    # variants (rule_of) nor the sweep, so that changing them reruns none of it
    main = {**claims_params(config), "sweep_eps": [], "rule_of": {m: m for m in multiverse_methods(config)}}
    return {**main, "paper": {"datasets": paper, "bias": config["stdp"]["bias"]},
            "grid": {d: multiverse_grid(config, d) for d in config["datasets"]}}


def attack_params(config: dict, dataset: str) -> dict:
    """What an attack job reads (the models it attacks are its inputs): every attack but the Square
    Attack, which is a job of its own (``square_params``)."""
    return {"seeds": config["seeds"], "data": data_params(config, dataset),
            "attacks": {k: v for k, v in config["attacks"].items() if k != "square"},
            "saturation": config["diagnostics"]["saturation"]}


def square_params(config: dict, dataset: str) -> dict:
    """What a Square Attack job reads (the models, and the attack job's results that say which points
    are left standing, are its inputs)."""
    return {"seeds": config["seeds"], "data": data_params(config, dataset), "square": config["attacks"]["square"]}


def rule_of(config: dict) -> dict[str, str]:
    """Method label -> the rule that trains it (an ablation variant -> stdp)."""
    return {**{m: m for m in config["methods"]}, **{v: "stdp" for v in variants(config)}}


def claims_params(config: dict) -> dict:
    ac = config["attacks"]
    return {"claims": {k: v for k, v in config["claims"].items() if k not in ("fig4_t_pre", "fig4_range", "paper_pairs")},
            "report_eps": config["report"]["eps"],
            "sweep_eps": ac["sweep"]["eps"] if ac["sweep"]["enabled"] else [],
            "paper_pairs": config["claims"]["paper_pairs"], "rule_of": rule_of(config)}


def _diff(a, b, prefix="") -> list[str]:
    """``key: old -> new`` for every leaf where two nested dicts differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str) for d in _diff(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [f"{prefix[:-1]}: {a!r} -> {b!r}"]


def rebuild_problems(config: dict, root: str | Path = ".") -> list[str]:
    """Under bundle.rebuild: each train, attack or Square job whose result the config asks for but the
    unpacked bundle does not hold (no provenance file, or one whose params hash differs: the job
    would have to run again, and a rebuild runs none), naming the params that differ from the run's
    own config (``published/bundle.yaml``) where it is there. Empty when the rebuild can go ahead."""
    published = Path(root) / "published" / "bundle.yaml"
    original = None
    if published.exists():
        try:
            original = yaml.safe_load(published.read_text())
            original.pop("bundle", None)
            validate(original)
        except Exception:  # a config this release cannot read: the problems are then named without values
            original = None
    problems = []
    for dataset, spec in config["datasets"].items():
        jobs = [("attack", f"runs/{dataset}/{{pair}}/attack.json", attack_params)]
        if config["attacks"]["square"]["enabled"]:
            jobs.append(("square", f"runs/{dataset}/{{pair}}/square.json", square_params))
        jobs += [(f"train {rule}", f"runs/{dataset}/{{pair}}/{rule}/provenance.json",
                  lambda c, d, rule=rule: train_params(c, d, rule)) for rule in config["methods"]]
        if config["multiverse"]["enabled"]:
            jobs.append(("multiverse attack", f"multiverse/{dataset}/{{pair}}/attack.json", spec_attack_params))
            jobs += [(f"multiverse train {rule} batch {b}", f"multiverse/{dataset}/{{pair}}/{rule}/b{b}/provenance.json",
                      lambda c, d, rule=rule: spec_train_params(c, d, rule))
                     for rule in multiverse_methods(config) for b in multiverse_grid(config, dataset)["batch_size"]]
        for pair in spec["pairs"]:
            for name, path, params_of in jobs:
                f = Path(root) / "results" / path.format(pair=pair)
                params = params_of(config, dataset)
                if not f.exists():
                    problems.append(f"{dataset} {pair} {name}: not in the bundle")
                elif json.loads(f.read_text()).get("config_hash") != config_hash(params):
                    changed = ""
                    if original is not None and dataset in original["datasets"]:
                        changed = "; ".join(_diff(params_of(original, dataset), params))
                    problems.append(f"{dataset} {pair} {name}: its settings differ from the bundle's"
                                    + (f" ({changed})" if changed else ""))
    return problems


def curve_params(config: dict) -> dict:
    """C4's evidence: the STDP rule's eps, and Fig. 4's T_pre and dT range."""
    return {"impl": rules.RULES["stdp"], "eps": config["stdp"]["eps"], "t_pre": config["claims"]["fig4_t_pre"],
            "range": config["claims"]["fig4_range"]}


def sanity_params(config: dict) -> dict:
    """The sweep's largest eps, where PGD must reach 0 (None when the sweep is off)."""
    sw = config["attacks"]["sweep"]
    return {"largest_eps": max(sw["eps"]) if sw["enabled"] else None}


def report_params(config: dict) -> dict:
    """The report describes the whole run: everything but how jobs ran (compute settings, the
    download's timeout and retries)."""
    out = {k: v for k, v in config.items() if k not in NOT_RESULTS}
    out["data"] = {k: v for k, v in config["data"].items() if k not in TRANSPORT}
    return out


def run_hash(config: dict) -> str:
    """The hash of a whole run's config, without the compute settings."""
    return config_hash(report_params(config))
