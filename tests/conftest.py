import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from gupta_stdp.synthetic import write_idx_dataset

ROOT = Path(__file__).resolve().parents[1]


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
