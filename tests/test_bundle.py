"""The results bundle: a finished run's results in one archive with checksums, and the claims,
figures and report rebuilt from it elsewhere with no download, train, attack or Square job."""

import io
import json
import shutil
import subprocess
import sys
import tarfile

import pandas as pd
import pytest
import yaml

from conftest import dry_run_jobs, smk
from gupta_stdp import bundle


@pytest.fixture
def small(tmp_path, monkeypatch):
    """A bundle of two small files, made in a scratch working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results/runs/a").mkdir(parents=True)
    (tmp_path / "results/runs/a/examples.npz").write_bytes(b"\x00\x01 per-example results")
    (tmp_path / "results/runs/a/epochs.csv").write_text("epoch,accuracy\n1,0.5\n")
    out = tmp_path / "b.tar.gz"
    bundle.write(["results/runs/a/examples.npz", "results/runs/a/epochs.csv"], {"seeds": [0, 1]},
                 {"git_commit": "abc"}, out)
    return out


def _rewrite(src, dst, change):
    """Copy a tar.gz member by member; ``change(name, data)`` returns new bytes or None (drop)."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for m in tin.getmembers():
            data = change(m.name, tin.extractfile(m).read())
            if data is not None:
                m.size = len(data)
                tout.addfile(m, io.BytesIO(data))


def test_a_bundle_unpacks_to_its_files_and_a_rebuild_config(small, tmp_path):
    """Mutation: let unpack keep bundle.rebuild unset and the rebuild config would plan train jobs."""
    config = bundle.unpack(small, tmp_path / "out")
    assert (tmp_path / "out/results/runs/a/examples.npz").read_bytes() == b"\x00\x01 per-example results"
    assert yaml.safe_load(config.read_text()) == {"seeds": [0, 1], "bundle": {"rebuild": True}}
    assert yaml.safe_load((tmp_path / "out/published/bundle.yaml").read_text()) == {"seeds": [0, 1]}


@pytest.mark.parametrize("change, message", [
    (lambda n, d: d.replace(b"0.5", b"0.9") if n.endswith("epochs.csv") else d, "checksum mismatch for results/runs/a/epochs.csv"),
    (lambda n, d: None if n == "MANIFEST.json" else d, "is not a results bundle"),
    (lambda n, d: None if n.endswith("examples.npz") else d, "does not match its manifest"),
    (lambda n, d: json.dumps({**json.loads(d), "format": "other 9"}).encode() if n == "MANIFEST.json" else d,
     "unknown bundle format"),
])
def test_a_tampered_or_unknown_bundle_is_refused_before_anything_is_written(small, tmp_path, change, message):
    """Mutation: skip the checksum comparison in bundle.read and the first case unpacks."""
    bad = tmp_path / "bad.tar.gz"
    _rewrite(small, bad, change)
    with pytest.raises(bundle.BundleError, match=message):
        bundle.unpack(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_file_added_to_a_bundle_is_refused(small, tmp_path):
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(small, "r:gz") as tin, tarfile.open(bad, "w:gz") as tout:
        for m in tin.getmembers():
            tout.addfile(m, tin.extractfile(m))
        extra = tarfile.TarInfo("results/runs/a/extra.csv")
        extra.size = 3
        tout.addfile(extra, io.BytesIO(b"x,y"))
    with pytest.raises(bundle.BundleError, match="does not match its manifest"):
        bundle.unpack(bad, tmp_path / "out")


def test_an_unpack_never_writes_into_a_folder_with_contents(small, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("keep")
    with pytest.raises(bundle.BundleError, match="is not an empty folder"):
        bundle.unpack(small, tmp_path / "busy")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["mine.txt"]


def test_not_an_archive_is_refused(tmp_path):
    (tmp_path / "x.tar.gz").write_text("hello")
    with pytest.raises(bundle.BundleError, match="cannot be read as a results bundle"):
        bundle.read(tmp_path / "x.tar.gz")


@pytest.mark.slow
def test_the_round_trip_rebuilds_the_verdicts_with_another_margin(tiny_run, tmp_path):
    """Bundle the finished tiny run, unpack it in a fresh folder, rebuild with claims.margin 0.1:
    no download, train, attack or Square job is planned, and the verdict table equals the one the
    original run recomputes in place with the same margin."""
    work, args, _, _ = tiny_run
    smk("bundle", *args, cwd=work)
    archive = work / "results/bundle.tar.gz"
    names = tarfile.open(archive).getnames()
    assert "results/runs/mnist/0v1/examples.npz" in names and "results/runs/mnist/0v1/square.npz" in names
    assert not any(n.endswith("model.pt") for n in names)  # bundle.models: false
    # the multiverse's per-run results travel too (its checkpoints only with bundle.models)
    assert "results/multiverse/mnist/0v1/attacks.csv" in names and "results/multiverse/iris/0v2/stdp/b40/scores.csv" in names
    assert not any(n.endswith("checkpoints.pt") for n in names)
    fresh = tmp_path / "fresh"
    out = subprocess.run([sys.executable, str(work / "scripts/unbundle.py"), str(archive), str(fresh)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    (tmp_path / "margin.yaml").write_text(yaml.safe_dump({"claims": {"margin": 0.1}}))
    rebuild = ["-s", str(work / "Snakefile"), "-d", str(fresh), "--cores", "2", "--configfile",
               str(fresh / "bundle.yaml"), str(tmp_path / "margin.yaml")]
    planned = dry_run_jobs(smk(*rebuild, "-n", cwd=tmp_path))
    assert {"aggregate", "sanity", "claims", "report"} <= set(planned)  # derived again, from the per-run results
    assert not set(planned) & {"download", "train", "attack", "square", "multiverse_train", "multiverse_attack"}
    assert "multiverse" in planned  # its verdicts are judged again, with the new margin
    smk(*rebuild, cwd=tmp_path)
    assert "**Rebuilt from a results bundle**" in (fresh / "report/replication.md").read_text()

    # a setting that needs training is refused before any job, naming the jobs it would need
    (tmp_path / "train.yaml").write_text(yaml.safe_dump({"stdp": {"eps": 0.5}}))
    out = smk(*rebuild[:-1], str(tmp_path / "train.yaml"), "-n", cwd=tmp_path, check=False)
    assert out.returncode != 0 and "bundle.rebuild: this config asks for results the bundle does not hold" in out.stderr
    assert "iris 0v2 train stdp: its settings differ from the bundle's (settings.eps: 1e-09 -> 0.5)" in out.stderr

    # unchanged, the rebuild derives the run's own tables again
    same = tmp_path / "same"
    subprocess.run([sys.executable, str(work / "scripts/unbundle.py"), str(archive), str(same)], check=True,
                   capture_output=True)
    smk("-s", str(work / "Snakefile"), "-d", str(same), "--cores", "2", "--configfile", str(same / "bundle.yaml"),
        cwd=tmp_path)
    for name in ("attacks.csv", "epochs.csv", "claims.csv", "claims_by_pair.csv", "sanity.csv", "mcnemar.csv",
                 "specifications.csv", "specification_verdicts.csv", "specification_tuned.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(same / "results/tables" / name),
                                      pd.read_csv(same / "published/results/tables" / name), obj=name)

    inplace = tmp_path / "inplace"
    shutil.copytree(work, inplace, symlinks=True)
    shutil.copy(tmp_path / "margin.yaml", inplace / "margin.yaml")
    same = smk(*args, "-n", cwd=inplace)
    assert "Nothing to be done" in same.stdout + same.stderr  # a finished run, copied elsewhere: still finished
    jobs = dry_run_jobs(smk(*args, "margin.yaml", "-n", cwd=inplace))
    assert not set(jobs) & {"train", "attack", "square"}
    smk(*args, "margin.yaml", cwd=inplace)
    a, b = (pd.read_csv(d / "results/tables/claims.csv") for d in (fresh, inplace))
    pd.testing.assert_frame_equal(a, b)
    assert a.rule.str.contains("0.1").any()  # the verdict rules state the margin they applied
