"""The tiny config through a real SLURM cluster (profiles/slurm), train and attack asking for a GPU.

Needs a running cluster: `bash .ci/slurm.sh start` (CI does this and sets GUPTA_REQUIRE_SLURM=1,
which turns a missing cluster into a failure instead of a skip)."""

import json
import os
import shutil
import subprocess

import pandas as pd
import pytest

from conftest import ROOT, smk, tiny_workdir


def _cluster_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return out.returncode == 0 and any(state in out.stdout for state in ("idle", "mix", "alloc"))


if not _cluster_up():
    if os.environ.get("GUPTA_REQUIRE_SLURM") == "1":
        raise RuntimeError("GUPTA_REQUIRE_SLURM=1 but no SLURM cluster answers; run `bash .ci/slurm.sh start`")
    pytest.skip("no SLURM cluster (bash .ci/slurm.sh start)", allow_module_level=True)


@pytest.mark.slow
def test_tiny_config_through_slurm(tmp_path, mnist_server):
    args = tiny_workdir(tmp_path, mnist_server, compute={"gpus_per_job": 1})
    args = [a for a in args if a not in ("--cores", "2")]
    smk("--profile", str(ROOT / "profiles/slurm"), *args, cwd=tmp_path, timeout=1200)
    assert (tmp_path / "report/replication.html").exists()
    provs = json.loads((tmp_path / "results/tables/provenance.json").read_text())
    assert [p["stage"] for p in provs].count("train") == 4 and len(provs) == 8  # 2 pairs: + attack, square each
    job_ids = [p["slurm_job_id"] for p in provs]
    assert all(job_ids), "every train, attack and Square job must have run under SLURM"
    for jid in job_ids:
        info = subprocess.run(["scontrol", "show", "job", jid], capture_output=True, text=True).stdout
        assert "gpu" in info.lower(), f"job {jid} did not ask for a GPU:\n{info}"
    epochs = pd.read_csv(tmp_path / "results/tables/epochs.csv")
    assert set(epochs.dataset) == {"iris", "mnist"}
    log = (tmp_path / "logs/train/mnist_0v1_stdp.log").read_text()  # progress, as on a local run
    assert "epoch 2/2: accuracy train/test stdp" in log and "done in" in log.strip().splitlines()[-1]
