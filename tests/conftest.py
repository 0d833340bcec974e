import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from gupta_stdp.synthetic import write_idx_dataset

ROOT = Path(__file__).resolve().parents[1]

# GUPTA_TEST_THREADS=1 runs the in-process tests on one thread: no outcome may depend on it. Under
# pytest-xdist (.ci/run: -n 2) each worker runs on one thread unless it is set: two workers on two
# cores, not four threads.
_threads = os.environ.get("GUPTA_TEST_THREADS") or ("1" if os.environ.get("PYTEST_XDIST_WORKER") else "")
if _threads:
    import torch

    torch.set_num_threads(int(_threads))


# The files whose tests read the tiny end-to-end run (the session fixture tiny_run). Under pytest-xdist
# (.ci/run: -n 2) they all go to one worker, so the run is made once and no two workers edit its folder
# at the same time (test_reruns edits it in place). xdist's own --dist loadgroup cannot do this with
# pytest 9.2 (it groups by rewriting node ids, which pytest 9.2 ignores: pytest-xdist issue 1386).
TINY_RUN_FILES = {"tests/test_workflow.py", "tests/test_reruns.py", "tests/test_bundle.py"}


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class TinyRunTogether(LoadScopeScheduling):
        """Every test on its own, but the TINY_RUN_FILES' tests as one unit."""

        def _split_scope(self, nodeid):
            return "tiny_run" if nodeid.split("::")[0] in TINY_RUN_FILES else nodeid

    return TinyRunTogether(config, log)


def pytest_collection_modifyitems(config, items):
    """A test that reads tiny_run outside TINY_RUN_FILES would make the run again on another xdist
    worker, beside the first: refused at collection."""
    stray = [item.nodeid for item in items if "tiny_run" in getattr(item, "fixturenames", ())
             and item.nodeid.split("::")[0] not in TINY_RUN_FILES]
    if stray:
        raise pytest.UsageError(f"{', '.join(stray)} read(s) the tiny_run fixture: add the file to TINY_RUN_FILES "
                                "in tests/conftest.py")


@pytest.fixture(scope="session")
def idx_dir(tmp_path_factory):
    """Small generated MNIST-format files and their md5s."""
    folder = tmp_path_factory.mktemp("idx")
    md5s = write_idx_dataset(folder, n_train=600, n_test=200)
    return folder, md5s


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_serve(tmp_path):
    """Serve a copy of a folder over HTTP on 127.0.0.1; returns (base URL, served folder)."""
    servers = []

    def start(src: Path):
        root = tmp_path / f"www{len(servers)}"
        shutil.copytree(src, root)
        handler = functools.partial(_Quiet, directory=str(root))
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/", root

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def dead_url():
    """A URL on 127.0.0.1 where nothing listens."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/"


def copy_workflow(dest: Path) -> Path:
    """A copy of the workflow, as in a user's clone (tests may edit it)."""
    shutil.copy(ROOT / "Snakefile", dest)
    shutil.copy(ROOT / "environment.yml", dest)
    for d in ("workflow", "scripts", "src", "config", "profiles"):
        shutil.copytree(ROOT / d, dest / d, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


@pytest.fixture(scope="session")
def mnist_server(idx_dir):
    """Generated MNIST-format files over HTTP on 127.0.0.1 for the whole session: (base URL, md5s)."""
    src, md5s = idx_dir
    handler = functools.partial(_Quiet, directory=str(src))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/", md5s
    srv.shutdown()
    srv.server_close()


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


def tiny_workdir(path, mnist_server, **extra):
    """A copy of the workflow with config/tiny.yaml's grid and the local MNIST server; returns the
    snakemake arguments that run it."""
    url, md5s = mnist_server
    copy_workflow(path)
    override = {"data": {"mnist": {"mirrors": [url], "md5": md5s}}, **extra}
    (path / "local.yaml").write_text(yaml.safe_dump(override))
    return ["-s", "Snakefile", "--cores", "2", "--configfile", "config/tiny.yaml", "local.yaml"]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, mnist_server):
    """The tiny config of the repo, run end to end once; MNIST served over HTTP on 127.0.0.1."""
    work = tmp_path_factory.mktemp("tiny")
    args = tiny_workdir(work, mnist_server)
    t0 = time.time()
    out = smk(*args, cwd=work)
    return work, args, out, time.time() - t0
