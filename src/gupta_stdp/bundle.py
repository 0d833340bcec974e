"""The results bundle: one archive with what the judgement and the figures need (the per-run tables
and per-example results, the provenance, the aggregated tables, the benchmarks, the run's config)
and a manifest of sha256 checksums; model files on request. ``unpack`` refuses an archive that is
not a bundle or whose files do not match their checksums, before writing anything. Standard library
and PyYAML only."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import yaml

from .errors import KnownError
from .io import atomic_path

FORMAT = "gupta-stdp bundle 1"
MANIFEST = "MANIFEST.json"
CONFIG = "bundle.yaml"


class BundleError(KnownError, ValueError):
    pass


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(files: list[str], config: dict, provenance: dict, out) -> dict:
    """Archive ``files`` (paths relative to the working directory) with the run's ``config`` (as
    bundle.yaml) and a manifest; returns the manifest."""
    blobs = {str(f): Path(f).read_bytes() for f in sorted(set(map(str, files)))}
    blobs[CONFIG] = yaml.safe_dump(config, sort_keys=True).encode()
    manifest = {"format": FORMAT, **provenance,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "files": {name: sha256(data) for name, data in blobs.items()}}
    with atomic_path(out) as tmp, tarfile.open(tmp, "w:gz") as tar:
        for name, data in [(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode()), *blobs.items()]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            info.mtime = Path(name).stat().st_mtime if Path(name).exists() else 0
            tar.addfile(info, io.BytesIO(data))
    return manifest


def read(archive) -> tuple[dict, dict[str, bytes]]:
    """(manifest, name -> content) of a verified bundle; BundleError naming the problem otherwise."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = {m.name: m for m in tar.getmembers()}
            if MANIFEST not in members:
                raise BundleError(f"{archive} is not a results bundle (no {MANIFEST}); make one with "
                                  "`snakemake --cores 1 bundle`")
            manifest = json.loads(tar.extractfile(members[MANIFEST]).read())
            if manifest.get("format") != FORMAT:
                raise BundleError(f"{archive}: unknown bundle format {manifest.get('format')!r} (this release reads "
                                  f"{FORMAT!r}); rebuild it with this release's `snakemake bundle`")
            files = manifest["files"]
            extra = sorted(set(members) - set(files) - {MANIFEST})
            missing = sorted(set(files) - set(members))
            if extra or missing:
                raise BundleError(f"{archive}: the archive does not match its manifest (not listed: {extra[:3]}; "
                                  f"missing: {missing[:3]}); the bundle was altered: get the original")
            blobs = {}
            for name, digest in files.items():
                m = members[name]
                if not m.isfile() or Path(name).is_absolute() or ".." in Path(name).parts:
                    raise BundleError(f"{archive}: {name!r} is not a plain relative file; refusing the bundle")
                data = tar.extractfile(m).read()
                if sha256(data) != digest:
                    raise BundleError(f"{archive}: checksum mismatch for {name} (sha256 {sha256(data)[:12]}..., the "
                                      f"manifest says {digest[:12]}...); the bundle was altered or damaged: get the "
                                      "original")
                blobs[name] = data
    except (tarfile.TarError, OSError, json.JSONDecodeError, KeyError) as err:
        raise BundleError(f"{archive} cannot be read as a results bundle ({err}); check the path, or download "
                          "it again") from None
    return manifest, blobs


PUBLISHED = "published"  # where the unpacked bundle keeps the run's own aggregated tables


def unpack(archive, dest) -> Path:
    """Verify ``archive`` and write its files under ``dest`` (a new or empty folder), with
    ``bundle.yaml`` marked for rebuilding (bundle.rebuild: true); returns the path of that config.
    The per-run results go where the workflow reads them; the run's aggregated tables go to
    ``published/results/tables/`` (to read or compare), so that the rebuild derives its own from the
    per-run results; the run's config as it was to ``published/bundle.yaml``. Everything is written to a temporary folder beside ``dest`` and renamed onto it
    at the end: an interrupted unpack leaves nothing."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BundleError(f"{dest} exists and is not an empty folder; unpack into a new one (nothing was written)")
    _, blobs = read(archive)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for name, data in blobs.items():
            target = tmp / (f"{PUBLISHED}/{name}" if name.startswith("results/tables/") else name)
            if name == CONFIG:  # the run's config as it was, and the rebuild's copy of it
                (tmp / PUBLISHED).mkdir(parents=True, exist_ok=True)
                (tmp / PUBLISHED / CONFIG).write_bytes(data)
                config = yaml.safe_load(data)
                config.setdefault("bundle", {})["rebuild"] = True
                data = yaml.safe_dump(config, sort_keys=True).encode()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if dest.exists():
            dest.rmdir()
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest / CONFIG
