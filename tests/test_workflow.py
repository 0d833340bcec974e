"""The Snakemake workflow: the DAG of the default grid, bad configs, and a tiny end-to-end run
against a real HTTP server on 127.0.0.1 serving generated MNIST-format files."""

import re
import subprocess
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import ROOT, SNAKEMAKE, dry_run_jobs, smk, tiny_workdir

def test_default_grid_dry_run(tmp_path):
    out = smk("-s", str(ROOT / "Snakefile"), "-n", "--forceall", "--cores", "2", "--configfile",
              str(ROOT / "config/config.yaml"), cwd=tmp_path)
    jobs = dry_run_jobs(out)
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    train_outputs = " ".join(jobs["train"])
    n = 0
    for dataset, spec in config["datasets"].items():
        for pair in spec["pairs"]:
            for rule in ("stdp", "bp"):  # STDP's ablation variants train in the stdp job of their pair
                assert f"results/runs/{dataset}/{pair}/{rule}/epochs.csv" in train_outputs
                n += 1
            assert any(f"results/runs/{dataset}/{pair}/examples.npz" in o for o in jobs["attack"])
    assert len(jobs["train"]) == n == 16
    assert len(jobs["download"]) == 1  # MNIST only: IRIS ships with scikit-learn
    assert len(jobs["figure"]) == 8  # every figure but rules_compared (two rules)
    for rule in ("aggregate", "sanity", "stdp_curve", "claims", "report"):
        assert len(jobs[rule]) == 1, rule
    assert not (tmp_path / "results").exists()


def test_light_jobs_are_local_rules(tmp_path):
    """Compute nodes are often offline: download, aggregate, sanity, claims, figures and the report
    run where Snakemake runs (localrules); train, attack and Square go to the cluster."""
    local = set()
    for f in (ROOT / "Snakefile", ROOT / "workflow/rules/data.smk"):
        block = re.search(r"(?:^|\n)localrules:\n((?:    \w+,\n)+)", f.read_text()).group(1)
        local |= set(re.findall(r"(\w+),", block))
    out = smk("-s", str(ROOT / "Snakefile"), "--list-rules", "--configfile", str(ROOT / "config/config.yaml"), cwd=tmp_path)
    every = set(out.stdout.split())
    assert local == {"all", "bundle", "download", "aggregate", "sanity", "claims", "multiverse", "figure", "report"}
    # stdp_curve runs the rule's torch code
    assert every - local == {"train", "attack", "square", "stdp_curve", "multiverse_train", "multiverse_attack"}


def test_config_yaml_equals_schema_defaults():
    from gupta_stdp import config as cfg

    assert cfg.load(ROOT / "config/config.yaml") == cfg.load()


@pytest.mark.parametrize(
    "bad, key",
    [
        ({"colour": "red"}, "colour"),
        ({"datasets": {"mnist": {"pairs": ["3v3"], "epochs": 1, "batch_size": 10}}}, "datasets.mnist.pairs"),
        ({"datasets": {"iris": {"pairs": ["0v7"], "epochs": 1, "batch_size": 10}}}, "datasets.iris.pairs"),
        ({"datasets": {"iris": {"pairs": ["zero-one"], "epochs": 1, "batch_size": 10}}}, "pairs"),
        ({"attacks": {"fgsm": {"eps": [-4]}}}, "attacks.fgsm.eps.0: -4 is less than the minimum of 0"),
        ({"attacks": {"fgsm": {"eps": [300]}}}, "attacks.fgsm.eps.0: 300 is greater than the maximum of 255"),
        ({"datasets": {"iris": {"pairs": ["0v1"], "epochs": 0, "batch_size": 10}}}, "datasets.iris.epochs: 0 is less"),
        ({"datasets": {"iris": {"pairs": ["0v1"], "epochs": 2, "batch_size": 500}}}, "datasets.iris.batch_size"),
        ({"datasets": {"kmnist": {"pairs": ["0v1"], "epochs": 2, "batch_size": 5}}}, "data.kmnist"),
        ({"methods": ["stdp", "hebb"]}, "'hebb' is not a registered learning rule"),
        ({"attacks": {"decision": {"max_iter": 10}}}, "attacks.decision is now attacks.square"),
        ({"report": {"eps": 6}}, "report.eps: 6 is not among attacks.fgsm.eps"),
        ({"attacks": {"square": {"eps": [4]}}}, "report.eps: 8 is not among attacks.square.eps"),
        ({"attacks": {"pgd": {"check": {"eps": 5}}}}, "attacks.pgd.check.eps: 5 is not an eps PGD runs at"),
        ({"data": {"iris": {"split_seed": 0}}}, "split_seed"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, bad, key):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    out = smk("-s", str(ROOT / "Snakefile"), "--cores", "1", "--configfile", "bad.yaml", cwd=tmp_path, check=False)
    assert out.returncode != 0
    assert key in out.stdout + out.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "report").exists()


@pytest.mark.slow
def test_tiny_end_to_end_tables(tiny_run):
    work, _, _, _ = tiny_run
    tables = work / "results/tables"
    epochs = pd.read_csv(tables / "epochs.csv")
    assert list(epochs.columns[:7]) == ["dataset", "pair", "method", "seed", "epoch", "split", "accuracy"]
    assert set(epochs.dataset) == {"iris", "mnist"} and set(epochs.method) == {"stdp", "bp", "stdp-frozen"}
    assert set(epochs.seed) == {0, 1} and set(epochs.epoch) == {1, 2} and set(epochs.split) == {"train", "test"}
    assert len(epochs) == 2 * 3 * 2 * 2 * 2  # pairs x methods x seeds x epochs x splits
    assert epochs.accuracy.between(0, 1).all()
    attacks = pd.read_csv(tables / "attacks.csv")
    assert list(attacks.columns[:7]) == ["dataset", "pair", "method", "seed", "attack", "eps", "accuracy"]
    assert sorted(attacks.eps.unique() * 255) == pytest.approx([0, 4, 8, 12, 64])
    assert attacks.eps.between(0, 1).all() and attacks.accuracy.between(0, 1).all()
    assert set(attacks.attack) == {"clean", "fgsm", "fgsm_margin", "pgd", "noise", "transfer_fgsm", "transfer_pgd",
                                   "pgd_or_transfer", "worst", "worst_subset"}
    assert set(attacks[attacks.points == "subset"].attack) == {"worst_subset"}
    assert set(attacks.method) == {"stdp", "bp", "stdp-frozen"}  # the ablation variants are attacked too
    transfer = attacks[attacks.attack.str.startswith("transfer")]
    assert (transfer.method != transfer.source).all()
    worst = attacks[attacks.attack == "worst"]
    assert len(worst) and (worst.eps > 0).all()
    examples = list((work / "results/runs").glob("*/*/examples.npz"))
    assert len(examples) == 2
    diag = pd.read_csv(tables / "diagnostics.csv")
    assert len(diag) == 2 * 3 * 2 and diag.bce_grad_zero_share.between(0, 1).all()
    stats = pd.read_csv(tables / "rule_stats.csv")
    assert set(stats.method) == {"stdp", "stdp-frozen"} and set(stats.layer) == {1, 2, 3}
    align = pd.read_csv(tables / "alignment.csv")
    assert set(align.method) == {"stdp", "stdp-frozen"} and align.angle_deg.between(0, 180).all()
    sanity = pd.read_csv(tables / "sanity.csv")
    assert list(sanity.columns) == ["dataset", "pair", "method", "seed", "check", "value", "passed"]
    assert {"pgd_ge_fgsm", "pgd_converged", "transfer_le_whitebox", "square_le_whitebox", "noise_le_pgd"} <= set(sanity.check)
    claims = pd.read_csv(tables / "claims.csv")
    assert list(claims.claim) == ["C1", "C2", "C3", "C4"]
    verdicts = {"supported", "not supported", "inconclusive"}
    assert set(claims.verdict) <= verdicts
    for col in ("verdict_auc", "verdict_pgd", "verdict_transfer", "verdict_worst_subset", "verdict_worst",
                "verdict_sweep_pgd"):
        assert set(claims[col].dropna()) <= verdicts and claims[col].notna().any(), col
    by_pair = pd.read_csv(tables / "claims_by_pair.csv")
    assert {"ci_low", "ci_high", "half_width", "test", "verdict_measured", "sanity", "scope"} <= set(by_pair.columns)
    readings = pd.read_csv(tables / "claim_readings.csv")
    assert set(readings.verdict) <= verdicts and set(readings.claim) == {"C1", "C2", "C3", "C4"}
    mc = pd.read_csv(tables / "mcnemar.csv")
    assert set(mc.method) == {"stdp", "stdp-frozen"} and mc.p_value.between(0, 1).all()
    assert set(mc.attack) == {"fgsm", "pgd", "worst"} and np.allclose(mc.eps * 255, 8)
    curve = pd.read_csv(tables / "stdp_curve.csv")
    assert len(curve) > 100 and (np.sign(curve.rule) == np.sign(curve.eq6)).all()
    runs = pd.read_csv(tables / "runs.csv")
    assert len(runs) == 12 and runs.git_commit.notna().all()
    assert set(runs.architecture) == {"4-32-16-1", "784-32-16-1"}
    assert runs.groupby("rule").config_hash.nunique().eq(2).all()  # one per (rule, dataset): its job's params


@pytest.mark.slow
def test_tiny_end_to_end_figures_and_reports(tiny_run):
    work, _, _, _ = tiny_run
    figures = ["claims_forest", "fig2_accuracy", "fig3_fgsm", "fig4_stdp_curve", "fig5_robustness",
               "fig6_ablations", "fig7_diagnostics", "alignment", "specification_curve"]
    for f in figures:
        png = work / f"results/figures/{f}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (work / "report/replication.md").read_text()
    html = (work / "report/replication.html").read_text()
    assert html.count("data:image/png;base64,") == len(figures)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the HTML must not load anything"
    assert not re.search(r"https?://", html)
    # cards first, then figures, then tables; the per-pair tables in the appendix
    order = [md.index(h) for h in ("## The claims", "## The paper vs this replication", "## Figures",
                                   "## Sanity checks", "## Appendix", "### Per pair")]
    assert order == sorted(order)
    # every verdict in the report is the one in claims.csv
    claims = pd.read_csv(work / "results/tables/claims.csv")
    for row in claims.itertuples():
        assert f"### {row.claim}: {row.verdict}" in md
    assert "query budget 30 queries per point" in md
    assert "## Verdicts at a glance" in md and md.index("## Verdicts at a glance") < md.index("## The claims")
    assert "McNemar's exact test per seed; descriptive" in md and "used in no verdict" in md
    assert "all checks pass" not in md and "8/255" in md
    assert not re.search(r"\bnan\b", md), "an empty cell reached the report as nan"


@pytest.mark.slow
def test_tiny_multiverse_tables_and_report(tiny_run):
    """config/tiny.yaml's multiverse: 2 rates x 2 checkpoints x 1 batch size per data set, both bias
    handlings for STDP. specifications.csv as SPEC 8 names it, claims.csv's columns, the curve, and
    the report's section whose sentences and counts are the table's."""
    work, _, _, _ = tiny_run
    t = work / "results/tables"
    specs = pd.read_csv(t / "specifications.csv")
    assert list(specs.columns) == ["dataset", "pair", "method", "seed", "lr", "batch_size", "epochs", "bias", "split",
                                   "attack", "eps", "accuracy"]
    assert set(specs.split) == {"val", "test"} and set(specs[specs.split == "val"].attack) == {"clean"}
    assert set(specs.attack) == {"clean", "fgsm", "worst"}
    assert sorted(specs[specs.attack == "fgsm"].eps.unique() * 255) == pytest.approx([4, 8, 12])
    assert np.allclose(specs[specs.attack == "worst"].eps * 255, 8)
    models = specs.groupby(["dataset", "pair", "method"]).apply(
        lambda g: len(g.drop_duplicates(["seed", "lr", "batch_size", "epochs", "bias"])), include_groups=False)
    assert models.to_dict() == {(d, p, m): (16 if m == "stdp" else 8) for d, p in (("iris", "0v2"), ("mnist", "0v1"))
                                for m in ("bp", "stdp")}
    assert set(specs[specs.method == "bp"].bias) == {"trained"}
    assert set(specs[specs.method == "stdp"].bias) == {"presynaptic_one", "frozen"}
    assert set(specs[specs.dataset == "mnist"].batch_size) == {50} and set(specs.epochs) == {1, 2}
    # the worst case is at most every other accuracy of the same model at its eps
    key = ["dataset", "pair", "method", "seed", "lr", "batch_size", "epochs", "bias"]
    test = specs[specs.split == "test"]
    worst = test[test.attack == "worst"].set_index(key).accuracy
    for attack in ("clean", "fgsm"):
        other = test[(test.attack == attack) & np.isclose(test.eps * 255, 8 if attack == "fgsm" else 0)]
        assert (worst <= other.set_index(key).accuracy.reindex(worst.index) + 1e-12).all(), attack
    claims = pd.read_csv(t / "claims.csv").set_index("claim")
    for col in ("specs_total", "specs_supported", "specs_not_supported", "verdict_tuned"):
        assert claims.loc[["C1", "C2"], col].notna().all() and claims.loc[["C3", "C4"], col].isna().all(), col
    assert (claims.loc[["C1", "C2"], "specs_total"] == 8).all()  # 2 rates x 2 lengths x 2 bias handlings
    verdicts = pd.read_csv(t / "specification_verdicts.csv")
    assert set(verdicts.kind) == {"specification", "tuned"} and set(verdicts.n_pairs) == {2}
    tuned = pd.read_csv(t / "specification_tuned.csv")
    assert len(tuned) == 2 * 2 * 2 and tuned.val_accuracy.between(0, 1).all()  # pairs x methods x seeds
    md = (work / "report/replication.md").read_text()
    section = md[md.index("## Would another setting change the verdicts?"):md.index("## The paper vs this replication")]
    for r in claims.loc[["C1", "C2"]].itertuples():
        assert f"supported in {int(r.specs_supported)} of {int(r.specs_total)} specifications" in section
        assert f"tuned on validation data it is {r.verdict_tuned}" in section
    assert "![The specification curve]" in section and "not a test" in section and "10% share" in section
    assert md.count("(#would-another-setting-change-the-verdicts)") == 2  # C1's and C2's cards
    html = (work / "report/replication.html").read_text()
    assert 'id="would-another-setting-change-the-verdicts"' in html


@pytest.mark.slow
def test_every_job_logs_its_progress_and_ends_with_a_summary(tiny_run):
    """Train logs: a line per epoch with the epoch out of the total, each method's mean train/test
    accuracy and the time left; attack and Square logs: a line per attack, eps and model; every
    job's last line: its wall time and the files it wrote."""
    work = tiny_run[0]
    train = (work / "logs/train/mnist_0v1_stdp.log").read_text()
    assert re.search(r"epoch 1/2: accuracy train/test stdp \d\.\d{3}/\d\.\d{3}, stdp-frozen \d\.\d{3}/\d\.\d{3}; "
                     r"[\d.]+ s/epoch, time left from epoch 2 on", train)
    assert re.search(r"epoch 2/2: .*; [\d.]+ s/epoch, 0 s left", train)
    attack = (work / "logs/attack/mnist_0v1.log").read_text()
    assert re.search(r"bp pgd eps 8/255: \d+ points attacked of 2 x \d+, accuracy \d\.\d{3}", attack)
    square = (work / "logs/square/mnist_0v1.log").read_text()
    assert re.search(r"stdp square eps 8/255: \d+ points attacked", square)
    for log in (work / "logs").rglob("*.log"):
        last = log.read_text().strip().splitlines()[-1]
        assert re.search(r"done in [\d.]+ s; wrote \d+ file\(s\): ", last), (log, last)


TABLES = ("epochs.csv", "attacks.csv", "runs.csv", "claims.csv", "claims_by_pair.csv")


def _no_outputs(work):
    made = [p for d in ("results", "report") for p in (work / d).rglob("*") if p.is_file()]
    return not made


@pytest.mark.parametrize("case", ["offline", "wrong_md5"])
def test_download_failures_stop_the_workflow_cleanly(tmp_path, mnist_server, dead_url, case):
    url, md5s = mnist_server
    args = tiny_workdir(tmp_path, mnist_server)
    if case == "offline":
        override = {"data": {"mnist": {"mirrors": [dead_url], "md5": md5s}, "timeout": 2, "retries": 1}}
        expected = "could not fetch a valid"
    else:
        override = {"data": {"mnist": {"mirrors": [url], "md5": {k: "0" * 32 for k in md5s}}}}
        expected = "md5 mismatch"
    (tmp_path / "local.yaml").write_text(yaml.safe_dump(override))
    out = smk(*args, "--until", "download", cwd=tmp_path, check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert expected in text and "file:///" in text  # the problem and the fix
    assert _no_outputs(tmp_path)
    raw = tmp_path / "resources/data/mnist/raw"
    assert not (raw.exists() and any(raw.iterdir())), "a partial download was left behind"


def test_no_config_value_reaches_a_shell():
    """Every rule runs a Python script (values arrive as Python objects); no shell: directive."""
    for smk_file in [ROOT / "Snakefile", *(ROOT / "workflow/rules").glob("*.smk")]:
        assert "shell:" not in smk_file.read_text(), smk_file


@pytest.mark.slow
def test_killed_training_job_resumes_to_identical_tables(tmp_path, mnist_server, tiny_run):
    """SIGKILL a running training job, run the same command again: the run completes and its
    tables are byte-identical to the uninterrupted run's (which also shows determinism)."""
    import signal

    import psutil

    args = tiny_workdir(tmp_path, mnist_server)
    proc = subprocess.Popen([*SNAKEMAKE, *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    killed = None
    deadline = time.time() + 300
    while killed is None and time.time() < deadline and proc.poll() is None:
        for child in psutil.Process(proc.pid).children(recursive=True):
            try:
                cmd = " ".join(child.cmdline())
            except psutil.Error:
                continue
            if ".train.py" in cmd and time.time() - child.create_time() > 1.0:  # mid-training
                child.send_signal(signal.SIGKILL)
                killed = cmd
                break
        time.sleep(0.2)
    first_out = proc.communicate(timeout=600)[0]
    assert killed, f"no training job was seen to kill:\n{first_out[-3000:]}"
    assert proc.returncode != 0
    again = smk(*args, cwd=tmp_path)
    assert "Nothing to be done" not in again.stdout + again.stderr
    reference = tiny_run[0]
    for name in TABLES:
        a = (tmp_path / "results/tables" / name).read_bytes()
        b = (reference / "results/tables" / name).read_bytes()
        assert a == b, f"{name} differs between the resumed and the uninterrupted run"


@pytest.mark.parametrize("files, dataset, n_pairs", [
    (["config/mnist_all_pairs.yaml"], "mnist", 45),
    (["config/rules.yaml"], ["iris", "mnist"], 3),
    (["config/fashion_mnist.yaml", "config/fashion_mnist_debian.yaml"], "fashion_mnist", 5),
    (["config/iris.yaml"], "iris", 3),
])
def test_shipped_configs_validate(files, dataset, n_pairs):
    from snakemake.utils import update_config

    from gupta_stdp import config as cfgmod

    merged = {}
    for f in files:
        update_config(merged, yaml.safe_load((ROOT / f).read_text()))
    cfg = cfgmod.validate(merged)
    datasets = dataset if isinstance(dataset, list) else [dataset]
    assert list(cfg["datasets"]) == datasets and len(cfg["datasets"][datasets[0]]["pairs"]) == n_pairs
    pairs = cfg["datasets"][datasets[0]]["pairs"]
    assert len(set(pairs)) == len(pairs)


def test_every_config_file_is_described_in_the_config_readme():
    readme = (ROOT / "config/README.md").read_text()
    for f in (ROOT / "config").glob("*.yaml"):
        assert f"`{f.name}`" in readme, f.name


def test_license_and_citation():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    assert cff["preferred-citation"]["title"] == "A More Biologically Plausible Local Learning Rule for ANNs"
    assert cff["preferred-citation"]["authors"][0]["family-names"] == "Gupta"
