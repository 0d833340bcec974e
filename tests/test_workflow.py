"""The Snakemake workflow: the DAG of the default grid, bad configs, and a tiny end-to-end run
against a real HTTP server on 127.0.0.1 serving generated MNIST-format files."""

import re
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from conftest import ROOT, copy_workflow

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def smk(*args, cwd, check=True, timeout=900):
    out = subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}")
    return out


def dry_run_jobs(out) -> dict[str, list[str]]:
    """rule name -> outputs of each job, from a dry run's log."""
    jobs: dict[str, list[str]] = {}
    text = out.stdout + out.stderr
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        m = re.match(r"(?:local)?rule (\w+):", block)
        if m:
            o = re.search(r"\n\s+output: ([^\n]+)", block)
            jobs.setdefault(m.group(1), []).append(o.group(1) if o else "")
    return jobs


def test_default_grid_dry_run(tmp_path):
    out = smk("-s", str(ROOT / "Snakefile"), "-n", "--forceall", "--cores", "2", "--configfile", str(ROOT / "config/config.yaml"), cwd=tmp_path)
    jobs = dry_run_jobs(out)
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    train_outputs = " ".join(jobs["train"])
    n = 0
    for dataset, spec in config["datasets"].items():
        for pair in spec["pairs"]:
            for method in ("stdp", "bp"):
                assert f"results/runs/{dataset}/{pair}/{method}/epochs.csv" in train_outputs
                n += 1
            assert any(f"results/runs/{dataset}/{pair}/attacks.csv" in o for o in jobs["attack"])
    from gupta_stdp import config as cfgmod

    n_variants = len(cfgmod.variants(cfgmod.load(ROOT / "config/config.yaml")))
    assert n_variants == 4  # eps 1e-6 and 1e-3, frozen biases, balance 0.25
    assert len(jobs["train"]) == n + 8 * n_variants == 48
    assert len(jobs["download"]) == 1  # MNIST only: IRIS ships with scikit-learn
    for rule in ("aggregate", "claims", "fig2_accuracy", "fig3_fgsm", "fig4_stdp_curve", "fig5_robustness",
                 "fig6_ablations", "fig7_diagnostics", "report"):
        assert len(jobs[rule]) == 1, rule
    assert not (tmp_path / "results").exists()


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
        ({"attacks": {"fgsm": {"eps": [-4]}}}, "['fgsm']['eps']"),
        ({"attacks": {"fgsm": {"eps": [300]}}}, "['fgsm']['eps']"),
        ({"datasets": {"iris": {"pairs": ["0v1"], "epochs": 0, "batch_size": 10}}}, "['epochs']"),
        ({"datasets": {"iris": {"pairs": ["0v1"], "epochs": 2, "batch_size": 500}}}, "datasets.iris.batch_size"),
        ({"datasets": {"kmnist": {"pairs": ["0v1"], "epochs": 2, "batch_size": 5}}}, "data.kmnist"),
    ],
)
def test_bad_config_fails_before_any_job(tmp_path, bad, key):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    out = smk("-s", str(ROOT / "Snakefile"), "--cores", "1", "--configfile", "bad.yaml", cwd=tmp_path, check=False)
    assert out.returncode != 0
    assert key in out.stdout + out.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "report").exists()


def tiny_workdir(path, mnist_server, **extra):
    """A copy of the workflow with config/tiny.yaml's grid and the local MNIST server; returns the
    snakemake arguments that run it."""
    url, md5s = mnist_server
    copy_workflow(path)
    override = {"data": {"mnist": {"mirrors": [url], "md5": md5s}}, **extra}
    (path / "local.yaml").write_text(yaml.safe_dump(override))
    return ["-s", "Snakefile", "--cores", "2", "--configfile", "config/tiny.yaml", "local.yaml"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, mnist_server):
    """The tiny config of the repo, run end to end once; MNIST served over HTTP on 127.0.0.1."""
    work = tmp_path_factory.mktemp("tiny")
    args = tiny_workdir(work, mnist_server)
    t0 = time.time()
    out = smk(*args, cwd=work)
    return work, args, out, time.time() - t0


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
    assert attacks.eps.between(0, 1).all()
    assert set(attacks.attack) == {"fgsm", "pgd", "transfer_fgsm", "transfer_pgd", "hopskipjump"}
    transfer = attacks[attacks.attack.str.startswith("transfer")]
    assert (transfer.method != transfer.source).all() and set(attacks.method) == {"stdp", "bp"}
    diag = pd.read_csv(tables / "diagnostics.csv")
    assert len(diag) == 2 * 2 * 2 and diag.grad_zero_share.between(0, 1).all()
    stats = pd.read_csv(tables / "rule_stats.csv")
    assert set(stats.method) == {"stdp", "stdp-frozen"} and set(stats.layer) == {1, 2, 3}
    claims = pd.read_csv(tables / "claims.csv")
    assert list(claims.claim) == ["C1", "C2", "C3", "C4"]
    verdicts = {"supported", "not supported", "inconclusive"}
    assert set(claims.verdict) <= verdicts
    for col in ("verdict_auc", "verdict_pgd", "verdict_transfer_fgsm", "verdict_sweep_pgd", "verdict_hopskipjump"):
        assert set(claims[col].dropna()) <= verdicts and claims[col].notna().any(), col
    runs = pd.read_csv(tables / "runs.csv")
    assert len(runs) == 12 and runs.git_commit.notna().all() and runs.config_hash.nunique() == 1


@pytest.mark.slow
def test_tiny_end_to_end_figures_and_reports(tiny_run):
    work, _, _, _ = tiny_run
    for f in ("fig2_accuracy", "fig3_fgsm", "fig4_stdp_curve", "fig5_robustness", "fig6_ablations",
              "fig7_diagnostics"):
        png = work / f"results/figures/{f}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (work / "report/replication.md").read_text()
    html = (work / "report/replication.html").read_text()
    assert "| C1 |" in md and "Provenance" in md
    assert html.count("data:image/png;base64,") == 6
    assert "What the evidence says" in md and "Gradient-masking diagnostics" in md
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the HTML must not load anything"
    assert not re.search(r"https?://", html)
    # every verdict in the report is the one in claims.csv
    claims = pd.read_csv(work / "results/tables/claims.csv")
    for row in claims.itertuples():
        assert f"| {row.claim} | {row.verdict} |" in md


@pytest.mark.slow
def test_second_run_does_nothing_and_figure_code_reruns_only_figures(tiny_run):
    work, args, _, _ = tiny_run
    again = smk(*args, "-n", cwd=work)
    assert "Nothing to be done" in again.stdout + again.stderr
    code = work / "src/gupta_stdp/figures.py"
    code.write_text(code.read_text() + "\n# an edit of the drawing code\n")
    jobs = dry_run_jobs(smk(*args, "-n", cwd=work))
    assert set(jobs) - {"all"} == {"fig2_accuracy", "fig3_fgsm", "fig4_stdp_curve", "fig5_robustness",
                                   "fig6_ablations", "fig7_diagnostics", "report"}


@pytest.mark.slow
def test_snakemake_html_report(tiny_run):
    work, args, _, _ = tiny_run
    smk(*args, "--report", "sm-report.html", cwd=work)
    assert (work / "sm-report.html").stat().st_size > 10_000


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
    assert list(cfg["datasets"]) == [dataset] and len(cfg["datasets"][dataset]["pairs"]) == n_pairs
    pairs = cfg["datasets"][dataset]["pairs"]
    assert len(set(pairs)) == len(pairs)
