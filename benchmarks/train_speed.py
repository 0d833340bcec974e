"""Training speed, measured side by side in one process (MNIST-sized generated input).

    .venv/bin/python benchmarks/train_speed.py [--seeds 5] [--repeats 3] [--device cpu]

Prints, as ratios of times measured in this run:
  - the reference (eager) STDP update against the compiled one, per batch;
  - 1 seed against S seeds trained together, per seed-epoch;
  - an STDP epoch against a BP epoch, both with S seeds (the workflow's setting).
The last line is exactly `stdp/bp epoch time ratio: X.XX`.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from gupta_stdp import model
from gupta_stdp.rules.stdp import compiled, local_updates
from gupta_stdp.synthetic import pair_data
from gupta_stdp.train import TrainConfig, Trainer


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn, repeats, device):
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def epoch_time(data, seeds, method, impl, repeats, device):
    """Median seconds of one training epoch (all batches, no evaluation), after one warm-up epoch."""
    settings = {"impl": impl} if method == "stdp" else {}
    tr = Trainer(data, seeds, TrainConfig(rule=method, epochs=1, batch_size=100, settings=settings), device)

    def one_epoch():
        for xb, yb in tr.batches():
            tr.step(xb, yb)

    t0 = time.perf_counter()
    one_epoch()  # warm-up: compiles the fused update on first use
    sync(device)
    first = time.perf_counter() - t0
    return timed(one_epoch, repeats, device), first


def update_time(seeds, updates, repeats, device):
    """Seconds for the STDP updates of all three layers (and biases) of one batch of 100."""
    g = torch.Generator().manual_seed(0)
    params = [{k: v.to(device) for k, v in layer.items()} for layer in model.init_params(list(range(seeds)), 784)]
    acts, _ = model.forward(params, torch.rand(seeds, 100, 784, generator=g).to(device))
    sign = torch.where(torch.rand(seeds, 100, generator=g) < 0.5, -1.0, 1.0).to(device)
    zs = [torch.ones(seeds, layer["weight"].shape[1], device=device) for layer in params]
    eps, mask = torch.full((seeds, 1, 1, 1), 1e-9, device=device), torch.ones(seeds, 1, device=device)

    def run():
        updates(acts, sign, zs, eps, mask)

    run()
    return timed(lambda: [run() for _ in range(10)], repeats, device) / 10


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev, s = args.device, args.seeds
    name = torch.cuda.get_device_name() if dev == "cuda" else f"{platform.processor() or platform.machine()}"
    print(f"# device {dev} ({name}), {torch.get_num_threads()} threads, torch {torch.__version__}")
    data = pair_data(n_train=12000, n_test=2000, n_features=784)
    seeds = list(range(s))

    t0 = time.perf_counter()
    upd_fast = update_time(s, compiled(local_updates), args.repeats, dev)
    compile_s = time.perf_counter() - t0
    upd_ref = update_time(s, local_updates, args.repeats, dev)
    print(f"update of all layers, {s} seeds x batch 100 x 784-32-16-1: reference {upd_ref * 1e3:.2f} ms, "
          f"compiled {upd_fast * 1e3:.2f} ms (first call incl. compile {compile_s:.1f} s)")
    print(f"reference/compiled update time ratio: {upd_ref / upd_fast:.2f}")

    one, _ = epoch_time(data, [0], "stdp", "compiled", args.repeats, dev)
    many, first = epoch_time(data, seeds, "stdp", "compiled", args.repeats, dev)
    print(f"stdp epoch: 1 seed {one:.3f} s; {s} seeds together {many:.3f} s "
          f"({many / s:.3f} s per seed; first epoch incl. compile {first:.1f} s)")
    print(f"1-seed/{s}-seed time per seed-epoch ratio: {one / (many / s):.2f}")

    bp_one, _ = epoch_time(data, [0], "bp", "compiled", args.repeats, dev)
    bp_many, _ = epoch_time(data, seeds, "bp", "compiled", args.repeats, dev)
    print(f"bp epoch: 1 seed {bp_one:.3f} s; {s} seeds together {bp_many:.3f} s")
    print(f"stdp/bp epoch time ratio, 1 seed: {one / bp_one:.2f}")
    ref_many, _ = epoch_time(data, seeds, "stdp", "reference", 1, dev)
    print(f"stdp epoch with the reference update, {s} seeds: {ref_many:.3f} s "
          f"(reference/compiled epoch ratio {ref_many / many:.2f})")
    print(f"stdp/bp epoch time ratio: {many / bp_many:.2f}")


if __name__ == "__main__":
    main()
