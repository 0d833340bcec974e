"""A job reruns exactly when its result would change (Snakemake's params, input and code
triggers). Each case changes one thing in a finished tiny run and checks which jobs a dry run
plans. The tiny grid: IRIS 0v2 and MNIST 0v1, rules stdp and bp, STDP variant stdp-frozen."""

import contextlib
import re

import pytest
import yaml

from conftest import ROOT, dry_run_jobs, smk
from gupta_stdp import config as cfgmod

# Everything downstream of the aggregated tables: every figure but Fig. 4 (it reads no table) and the
# specification curve (it reads the multiverse's verdicts only).
DOWNSTREAM = {"aggregate": 1, "sanity": 1, "claims": 1, "figure": 7, "report": 1, "all": 1}


def with_multiverse(jobs: dict, train: int = 0, attack: int = 0) -> dict:
    """``jobs`` plus the multiverse's: ``train`` populations, ``attack`` pairs, its verdicts and the
    specification curve."""
    out = dict(jobs)
    if train:
        out["multiverse_train"] = train
    if attack:
        out["multiverse_attack"] = attack
    out["multiverse"] = 1
    out["figure"] = out.get("figure", 0) + 1
    out.setdefault("claims", 1)
    out.setdefault("report", 1)
    out.setdefault("all", 1)
    return out


def planned(work, args, change: dict | None = None) -> dict[str, list[str]]:
    """rule -> outputs of the jobs a dry run plans, with ``change`` merged into the config."""
    extra = []
    if change is not None:
        (work / "change.yaml").write_text(yaml.safe_dump(change))
        extra = ["change.yaml"]
    out = smk(*args, *extra, "-n", cwd=work)
    if "Nothing to be done" in out.stdout + out.stderr:
        return {}
    return dry_run_jobs(out)


def counts(jobs) -> dict[str, int]:
    return {rule: len(outs) for rule, outs in jobs.items()}


def train_jobs(jobs) -> set[str]:
    """The (dataset/pair/rule) of every planned train job."""
    return {o.split("results/runs/")[1].rsplit("/", 1)[0] for o in jobs.get("train", []) for o in o.split(", ")
            if o.endswith("epochs.csv")}


def attack_jobs(jobs) -> set[str]:
    return {o.split("results/runs/")[1].rsplit("/", 1)[0] for o in jobs.get("attack", []) for o in o.split(", ")
            if o.endswith("examples.npz")}


@contextlib.contextmanager
def edited(path):
    """Append a line to a package module for the duration of the block."""
    text = path.read_text()
    path.write_text(text + "\n# an edit\n")
    try:
        yield
    finally:
        path.write_text(text)


@pytest.fixture
def tiny(tiny_run):
    work, args, _, _ = tiny_run
    yield work, args
    (work / "change.yaml").unlink(missing_ok=True)


@pytest.mark.slow
def test_a_finished_run_plans_nothing(tiny):
    assert planned(*tiny) == {}


@pytest.mark.slow
def test_adding_a_pair_runs_only_that_pair(tiny):
    jobs = planned(*tiny, {"datasets": {"mnist": {"pairs": ["0v1", "0v2"], "epochs": 2, "batch_size": 50}}})
    assert train_jobs(jobs) == {"mnist/0v2/stdp", "mnist/0v2/bp"}
    assert attack_jobs(jobs) == {"mnist/0v2"}
    assert counts(jobs) == with_multiverse({"train": 2, "attack": 1, "square": 1, **DOWNSTREAM}, train=2, attack=1)


@pytest.mark.slow
def test_adding_a_data_set_runs_only_that_data_set(tiny):
    work, _ = tiny
    local = yaml.safe_load((work / "local.yaml").read_text())
    jobs = planned(*tiny, {"datasets": {"mnist2": {"pairs": ["1v2"], "epochs": 2, "batch_size": 50}},
                           "data": {"mnist2": local["data"]["mnist"]}})
    assert train_jobs(jobs) == {"mnist2/1v2/stdp", "mnist2/1v2/bp"}
    assert attack_jobs(jobs) == {"mnist2/1v2"}
    assert counts(jobs) == with_multiverse({"download": 1, "train": 2, "attack": 1, "square": 1, **DOWNSTREAM},
                                           train=2, attack=1)


@pytest.mark.slow
@pytest.mark.parametrize("change", [{"stdp": {"eps": 1e-8}}, {"ablations": {"hidden_balance": [0.25]}},
                                    {"diagnostics": {"rule_stats_every": 2}}])
def test_an_stdp_setting_never_reruns_bp(tiny, change):
    jobs = planned(*tiny, change)
    assert train_jobs(jobs) == {"iris/0v2/stdp", "mnist/0v1/stdp"}
    assert attack_jobs(jobs) == {"iris/0v2", "mnist/0v1"}
    expected = {"train": 2, "attack": 2, "square": 2, **DOWNSTREAM}
    if "eps" in change.get("stdp", {}):  # C4 reads the rule at its eps; the multiverse trains STDP at it
        expected = with_multiverse({**expected, "stdp_curve": 1, "figure": 8}, train=2, attack=2)
    assert counts(jobs) == expected


@pytest.mark.slow
@pytest.mark.parametrize("change", [{"attacks": {"pgd": {"steps": 4}}}, {"diagnostics": {"saturation": 0.02}}])
def test_an_attack_setting_never_reruns_training(tiny, change):
    """The Square Attack follows the attack job (it attacks what that left standing): it reruns too."""
    jobs = planned(*tiny, change)
    expected = {"attack": 2, "square": 2, **DOWNSTREAM}
    if "pgd" in change.get("attacks", {}):  # the multiverse's worst case runs PGD too; it trains nothing
        expected = with_multiverse(expected, attack=2)
    assert counts(jobs) == expected


@pytest.mark.slow
@pytest.mark.parametrize("change", [{"attacks": {"square": {"max_iter": 31}}},
                                    {"attacks": {"square": {"n_points": 10, "p_init": 0.1}}}])
def test_a_square_setting_reruns_only_the_square_attack(tiny, change):
    """The Square Attack is a job of its own: its query budget reruns no PGD (and no training)."""
    jobs = planned(*tiny, change)
    assert counts(jobs) == {"square": 2, **DOWNSTREAM}


@pytest.mark.slow
def test_a_claims_setting_reruns_the_claims_and_what_shows_them(tiny):
    jobs = planned(*tiny, {"claims": {"margin": 0.1}})
    # the multiverse's verdicts apply the same rules: they and their curve rerun, nothing it trained
    assert counts(jobs) == {"multiverse": 1, "claims": 1, "figure": 2, "report": 1, "all": 1}
    assert {"claims_forest.png", "specification_curve.png"} == {f.rsplit("/", 1)[1] for f in jobs["figure"]}
    jobs = planned(*tiny, {"claims": {"fig4_t_pre": 2.0}})
    # C4's curve, then Fig. 4 and the claims (and the forest, from the per-pair table)
    assert counts(jobs) == {"stdp_curve": 1, "claims": 1, "figure": 2, "report": 1, "all": 1}


@pytest.mark.slow
@pytest.mark.parametrize("change", [{"compute": {"threads": 1}}, {"compute": {"gpus_per_job": 1, "gpu_model": "a100"}},
                                    {"compute": {"device": "cpu"}},
                                    {"data": {"timeout": 5, "retries": 3}}])
def test_compute_and_transport_settings_rerun_nothing(tiny, change):
    assert planned(*tiny, change) == {}


@pytest.mark.slow
@pytest.mark.parametrize("change, train, attack", [
    ({"multiverse": {"lr": [1e-3, 3e-3, 1e-2]}}, 4, 2),  # every population; nothing of the main run
    ({"multiverse": {"bias": ["frozen"]}}, 2, 2),  # STDP's populations only
    ({"multiverse": {"datasets": {"mnist": {"epochs": [1, 2], "batch_size": [50, 25]},
                                  "iris": {"epochs": [1, 2], "batch_size": [40]}}}}, 2, 1),  # the new batch size only
])
def test_a_multiverse_setting_reruns_only_the_multiverse(tiny, change, train, attack):
    """The multiverse's own settings rerun its jobs that read them, never a job of the main run."""
    jobs = planned(*tiny, change)
    for rule in ("train", "attack", "square", "aggregate"):
        assert rule not in jobs, rule
    assert counts(jobs).get("multiverse_train", 0) == train and counts(jobs).get("multiverse_attack", 0) == attack
    assert "multiverse" in jobs and "claims" in jobs


@pytest.mark.slow
def test_report_eps_reruns_the_multiverse_attacks_and_no_training(tiny):
    """The multiverse's worst case is at report.eps: its attack jobs rerun (the main run's Square
    jobs rerun for their own eps list, which must hold report.eps), no train job of either kind."""
    jobs = planned(*tiny, {"report": {"eps": 4}, "attacks": {"square": {"eps": [4, 8]}}})
    assert counts(jobs).get("multiverse_attack") == 2
    assert not set(jobs) & {"train", "attack", "multiverse_train"}


@pytest.mark.slow
def test_turning_the_multiverse_off_reruns_no_job_of_the_main_run(tiny):
    """Off, the claims and the report lose its columns and section: they rerun, nothing upstream."""
    jobs = planned(*tiny, {"multiverse": {"enabled": False}})
    assert counts(jobs) == {"claims": 1, "figure": 1, "report": 1, "all": 1}  # the figure: the forest, from claims
    assert "claims_forest.png" in jobs["figure"][0]


@pytest.mark.slow
def test_editing_the_derived_results_reruns_no_attack(tiny):
    """worst, pgd_or_transfer and the accuracies are derived downstream from examples.npz: a change
    to how they are derived reruns the tables and what reads them, never an attack."""
    work, args = tiny
    with edited(work / "src/gupta_stdp/derived.py"):
        # the multiverse's verdicts import the claims package, which imports it: they rerun too
        assert counts(planned(work, args)) == with_multiverse(DOWNSTREAM)


def test_report_eps_reaches_only_the_claims_figures_and_report():
    """report.eps is read by the claims, the figures and the report; no train or attack job sees it."""
    sq = {"square": {"eps": [4, 8]}}
    base, other = cfgmod.load(None, attacks=sq), cfgmod.load(None, attacks=sq, report={"eps": 4})
    for rule in ("stdp", "bp"):
        assert cfgmod.train_params(base, "mnist", rule) == cfgmod.train_params(other, "mnist", rule)
    assert cfgmod.attack_params(base, "mnist") == cfgmod.attack_params(other, "mnist")
    assert cfgmod.claims_params(base)["report_eps"] == 8 and cfgmod.claims_params(other)["report_eps"] == 4
    assert cfgmod.report_params(base) != cfgmod.report_params(other)


def test_compute_settings_stay_out_of_every_hash_and_params():
    base = cfgmod.load(None)
    other = cfgmod.load(None, compute={"device": "auto", "threads": 7, "gpus_per_job": 2, "gpu_model": "h100"})
    assert cfgmod.run_hash(base) == cfgmod.run_hash(other)
    for rule in ("stdp", "bp", "fa"):
        assert cfgmod.train_params(base, "mnist", rule) == cfgmod.train_params(other, "mnist", rule)
    assert cfgmod.attack_params(base, "mnist") == cfgmod.attack_params(other, "mnist")
    assert cfgmod.report_params(base) == cfgmod.report_params(other)
    assert cfgmod.report_params(base) == cfgmod.report_params(cfgmod.load(None, data={"timeout": 3, "retries": 5}))


@pytest.mark.slow
def test_adding_a_seed_reruns_every_pair(tiny):
    """Seeds train together in one job per (pair, rule): a new seed reruns them all (README)."""
    jobs = planned(*tiny, {"seeds": [0, 1, 2]})
    assert train_jobs(jobs) == {"iris/0v2/stdp", "iris/0v2/bp", "mnist/0v1/stdp", "mnist/0v1/bp"}
    assert counts(jobs) == with_multiverse({"train": 4, "attack": 2, "square": 2, **DOWNSTREAM}, train=4, attack=2)


@pytest.mark.slow
@pytest.mark.parametrize("module, rules", [("rules/stdp.py", {"stdp"}), ("rules/bp.py", {"stdp", "bp"}),
                                           ("train.py", {"stdp", "bp"}), ("model.py", {"stdp", "bp"})])
def test_editing_the_code_a_train_job_runs_reruns_it(tiny, module, rules):
    """The rule's module, the trainer and the model are inputs of the train jobs that run them
    (every non-BP rule computes BP's gradient for its alignment angle, so rules/bp.py reruns STDP).
    The STDP rule's module is also C4's evidence: its curve and Fig. 4 rerun with it."""
    work, args = tiny
    with edited(work / "src/gupta_stdp" / module):
        jobs = planned(work, args)
    assert train_jobs(jobs) == {f"{d}/{r}" for d in ("iris/0v2", "mnist/0v1") for r in rules}
    curve = {"stdp_curve": 1, "figure": 8} if module == "rules/stdp.py" else {}
    # the multiverse trains with the same code: its populations of the same rules rerun
    assert counts(jobs) == with_multiverse({"train": 2 * len(rules), "attack": 2, "square": 2, **DOWNSTREAM, **curve},
                                           train=2 * len(rules), attack=2)


@pytest.mark.slow
@pytest.mark.parametrize("module, expected", [("attacks/gradient.py", {"attack": 2, "square": 2}),
                                              ("attacks/square.py", {"square": 2}),
                                              ("jobs/square.py", {"square": 2})])
def test_editing_the_attack_code_reruns_the_attacks_only(tiny, module, expected):
    """The Square Attack's code is imported by its own job only: editing it reruns no PGD. (The
    Square job follows the attack job and imports the attack package, so gradient.py reruns both,
    and the multiverse's attacks, which run FGSM and PGD.)"""
    work, args = tiny
    with edited(work / "src/gupta_stdp" / module):
        jobs = planned(work, args)
    expected = {**expected, **DOWNSTREAM}
    assert counts(jobs) == (with_multiverse(expected, attack=2) if "gradient" in module else expected)


@pytest.mark.slow
@pytest.mark.parametrize("module, expected", [
    ("figures.py", {"figure": 9, "report": 1, "all": 1}),
    ("templates/report.md.j2", {"report": 1, "all": 1}),
    # the multiverse's verdicts apply the same rules: they and their curve rerun
    ("claims/verdicts.py", {"claims": 1, "multiverse": 1, "figure": 2, "report": 1, "all": 1}),
])
def test_editing_the_drawing_or_report_code_reruns_nothing_upstream(tiny, module, expected):
    work, args = tiny
    with edited(work / "src/gupta_stdp" / module):
        assert counts(planned(work, args)) == expected


@contextlib.contextmanager
def registered_half(work):
    """The README's example rule, exactly as the README writes it: its file, and its line in RULES
    (added at the end, as a user would); both undone afterwards."""
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(\"\"\"Half-strength backprop.*?)```", readme, re.S).group(1)
    line = re.search(r'`("half": "half:HalfBackprop",)`', readme).group(1)
    init, half = work / "src/gupta_stdp/rules/__init__.py", work / "src/gupta_stdp/rules/half.py"
    text = init.read_text()
    assert "\n}\n" in text
    half.write_text(code)
    init.write_text(text.replace("\n}\n", f"\n    {line}\n}}\n", 1))
    try:
        yield
    finally:
        init.write_text(text)
        half.unlink()


@pytest.mark.slow
def test_registering_a_rule_reruns_no_job_of_the_rules_already_run(tiny):
    """The registry (rules/__init__.py) is no job's input: each train job reads only its own line of
    it, as its ``impl`` param. Mutation: make the registry an input of the train jobs again (the
    release before this test did) and the first dry run plans all 4 train jobs."""
    work, args = tiny
    with registered_half(work):
        assert planned(work, args) == {}
        jobs = planned(work, args, {"methods": ["stdp", "bp", "half"]})
    assert train_jobs(jobs) == {"iris/0v2/half", "mnist/0v1/half"}
    assert attack_jobs(jobs) == {"iris/0v2", "mnist/0v1"}  # the new models join each pair's attacks
