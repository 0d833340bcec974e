"""Wall time of the whole workflow on full-size, offline MNIST-format data, and its job overhead.

    .venv/bin/python benchmarks/dag_speed.py [--full] [--idx-dir /usr/share/datasets/fashion-mnist] [--cores 2]

Runs the paper's grid (config/config.yaml: 5 MNIST pairs + 3 IRIS pairs, stdp and bp, 5 seeds,
FGSM, report) in a scratch folder; the stronger evaluation (sweep, PGD, transfer, Square, noise,
ablations) is switched off unless --full is given, which runs the full default replication and
prints `full default replication: N s` last. MNIST is replaced by the full-size IDX files of --idx-dir,
served through a file:// mirror with an md5 override (Debian's dataset-fashion-mnist package
provides them). The download is run and timed first ("data cached"), then the rest of the DAG.
It also reports per-job overhead: interpreter start, imports, the compile of the fused update,
and Snakemake's own start.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
IDX = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
       "t10k-labels-idx1-ubyte.gz")


def run(cmd, cwd=None) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--idx-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--cores", default="2")
    ap.add_argument("--workdir", default=None, help="scratch folder (default: a new temporary one)")
    ap.add_argument("--config", default=str(ROOT / "config/config.yaml"), help="an absolute path")
    ap.add_argument("--full", action="store_true", help="every part of the default on (sweep, PGD, transfer, Square, "
                    "noise, ablations); without it, the paper's grid with FGSM only")
    ap.add_argument("--threads", type=int, default=None, help="compute.threads (default: the config's)")
    ap.add_argument("--target", nargs="*", default=[], help="run only what these files need (e.g. the multiverse: "
                    "results/tables/specification_verdicts.csv with --config config/multiverse.yaml)")
    args = ap.parse_args()
    idx = Path(args.idx_dir)
    missing = [f for f in IDX if not (idx / f).exists()]
    if missing:
        sys.exit(f"{idx} lacks {', '.join(missing)}; install Debian's dataset-fashion-mnist or pass --idx-dir")
    work = Path(args.workdir or tempfile.mkdtemp(prefix="dag-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    md5 = {f: hashlib.md5((idx / f).read_bytes()).hexdigest() for f in IDX}
    local = {"data": {"mnist": {"mirrors": [idx.resolve().as_uri() + "/"], "md5": md5}}}
    if args.threads:
        local["compute"] = {"threads": args.threads}
    if not args.full:
        off = {"enabled": False}
        local.update(attacks={"sweep": off, "pgd": off, "transfer": off, "square": off, "noise": off},
                     ablations=off)
    (work / "local.yaml").write_text(yaml.safe_dump(local))
    py = sys.executable
    base = [py, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores", args.cores]
    cfg = ["--configfile", args.config, "local.yaml"]  # last: --configfile takes every word after it
    smk = [*base, *args.target, *cfg]

    print(f"# scratch folder {work}; data {idx}")
    t_py = run([py, "-c", "pass"])
    t_torch = run([py, "-c", "import torch"])
    t_pkg = run([py, "-c", "import gupta_stdp.jobs.train, gupta_stdp.jobs.attack"])
    small = ("from gupta_stdp.synthetic import pair_data; from gupta_stdp.train import TrainConfig, train; "
             "train(pair_data(500, 100), list(range(5)), TrainConfig('stdp', 1, 100, settings={{'impl': '{}'}}))")
    t_compile = run([py, "-c", small.format("compiled")]) - run([py, "-c", small.format("reference")])
    t_sm = run([*base, "-n", "--forceall", *cfg], cwd=work)
    t_download = run([*base, "--until", "download", *cfg], cwd=work)
    t_dag = run(smk, cwd=work)
    t_noop = run(smk, cwd=work)

    bench = []
    for f in sorted((work / "results/benchmarks").glob("*/*.tsv")):
        b = pd.read_csv(f, sep="\t")
        bench.append({"stage": f.parent.name, "job": f.stem, "s": b.s.iloc[0], "max_rss": b.max_rss.iloc[0]})
    bench = pd.DataFrame(bench)
    n_jobs = len(bench)

    print(f"overhead per job: python start {t_py:.2f} s, import torch {t_torch:.2f} s, "
          f"import gupta_stdp {t_pkg:.2f} s, compile of the fused update (warm cache) {t_compile:.2f} s")
    print(f"snakemake dry run of the grid: {t_sm:.1f} s; a second run with nothing to do: {t_noop:.1f} s")
    print(f"download + verify + decompress (file:// mirror): {t_download:.1f} s")
    for stage, g in bench.groupby("stage"):
        print(f"{stage}: {len(g)} jobs, {g.s.sum():.0f} s summed, longest {g.s.max():.0f} s "
              f"({g.loc[g.s.idxmax(), 'job']}), peak RSS {g.max_rss.max():.0f} MB")
    print(f"benchmarked jobs: {n_jobs}; import+start overhead about {n_jobs * (t_torch + t_pkg):.0f} s of job time")
    default = Path(args.config).resolve() == (ROOT / "config/config.yaml").resolve()
    what = ("full default replication" if args.full else "paper grid (FGSM only)") if default else \
        f"{Path(args.config).name}{' (full)' if args.full else ' (FGSM only)'}"
    if args.target:
        what += f" up to {', '.join(args.target)}"
    print(f"{what}: {t_dag:.0f} s ({t_dag / 60:.1f} min; data cached, {args.cores} cores)")


if __name__ == "__main__":
    main()
