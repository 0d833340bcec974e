"""Which GPU a job takes when several are visible (gupta_stdp.gpus): tested without a GPU."""

import multiprocessing as mp

import pytest

from gupta_stdp import gpus


def test_visible_ids_follow_cuda_visible_devices():
    assert gpus.visible_ids(3, {}) == ["0", "1", "2"]
    assert gpus.visible_ids(2, {"CUDA_VISIBLE_DEVICES": "3,5"}) == ["3", "5"]
    assert gpus.visible_ids(1, {"CUDA_VISIBLE_DEVICES": "GPU-8a1c"}) == ["GPU-8a1c"]


def test_one_visible_gpu_needs_no_choice(tmp_path):
    """A scheduler (SLURM) that hands a job its own GPU leaves one device visible: index 0."""
    assert gpus.claim(["7"], tmp_path) == (0, None)
    assert not list(tmp_path.iterdir())


def test_concurrent_jobs_take_different_gpus_and_a_freed_one_is_taken_again(tmp_path):
    ids = ["0", "1", "2"]
    first, h1 = gpus.claim(ids, tmp_path)
    second, h2 = gpus.claim(ids, tmp_path)
    third, h3 = gpus.claim(ids, tmp_path)
    assert sorted([first, second, third]) == [0, 1, 2]
    h2.close()  # that job ended (or was killed: the kernel drops its lock the same way)
    again, h4 = gpus.claim(ids, tmp_path)
    assert again == second
    for h in (h1, h3, h4):
        h.close()


def _hold(ids, folder, queue, release):
    index, _handle = gpus.claim(ids, folder)
    queue.put(index)
    release.wait(30)


def test_jobs_in_separate_processes_take_different_gpus(tmp_path):
    ctx = mp.get_context("spawn")
    queue, release = ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=_hold, args=(["0", "1"], str(tmp_path), queue, release)) for _ in range(2)]
    for p in procs:
        p.start()
    got = sorted(queue.get(timeout=60) for _ in procs)
    release.set()
    for p in procs:
        p.join(30)
    assert got == [0, 1]


def test_more_jobs_than_gpus_share_one_with_a_warning(tmp_path, caplog):
    h = [gpus.claim(["0", "1"], tmp_path)[1] for _ in range(2)]
    index, handle = gpus.claim(["0", "1"], tmp_path)
    assert index in (0, 1) and handle is None
    assert "all 2 GPUs are taken" in caplog.text
    for x in h:
        x.close()


# ---------------------------------------------------------------- whether a job computes on a GPU
@pytest.mark.parametrize("setting, requested, available, expected", [
    ("auto", 0, True, "cpu"),  # sees a GPU it never asked for: leaves it alone
    ("auto", 1, True, "cuda"),
    ("auto", 1, False, "cpu"),  # asked, got none: CPU, with a warning
    ("auto", 0, False, "cpu"),
    ("cpu", 0, True, "cpu"),
    ("cuda", 0, True, "cuda"),  # compute.device: cuda is a request (the rules ask for 1 GPU then)
])
def test_a_job_uses_a_gpu_only_when_it_asked_for_one(setting, requested, available, expected):
    """Mutation: let auto take CUDA whenever it is available (the release before this test) and the
    first case fails."""
    assert gpus.choose(setting, requested, available) == expected


def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(gpus.DeviceError, match="compute.device is 'cuda' but this job sees no CUDA device"):
        gpus.choose("cuda", 1, False)


def test_a_gpu_requested_for_a_cpu_job_is_a_clear_error():
    """A profile's set-resources can ask for a GPU that compute.device: cpu would leave idle."""
    with pytest.raises(gpus.DeviceError, match="asked the scheduler for 1 GPU"):
        gpus.choose("cpu", 1, True)


def test_pick_device_with_a_faked_gpu(monkeypatch, tmp_path):
    """CUDA faked as available: with gpus_per_job 0 (the default) every job stays on the CPU."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gpus.pick_device("auto", 0, tmp_path).type == "cpu"
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: None)
    assert gpus.pick_device("auto", 1, tmp_path) == torch.device("cuda:0")


def test_the_job_reads_its_request_from_its_resources():
    """What a job asked for is its Snakemake resources.gpu (a profile's set-resources included)."""
    from types import SimpleNamespace

    from gupta_stdp import config as cfgmod
    from gupta_stdp.jobs import common

    config = cfgmod.load(None)
    assert common.runtime(config, SimpleNamespace(gpu=1))["gpus_requested"] == 1
    assert common.runtime(config, SimpleNamespace())["gpus_requested"] == 0
    assert common.runtime(config)["gpus_requested"] == 0


@pytest.mark.parametrize("compute, gres", [
    ({}, ""),
    ({"gpu_model": "a100"}, ""),  # a model without a request is not passed: no --gpus=a100:0
    ({"gpus_per_job": 1}, "--gpus=1"),
    ({"gpus_per_job": 1, "gpu_model": "a100"}, "--gpus=a100:1"),
    ({"device": "cuda"}, "--gpus=1"),
])
def test_what_sbatch_is_asked_for(compute, gres):
    """The GPU resources of the heavy rules, through the SLURM plugin's own GRES function."""
    from types import SimpleNamespace

    from snakemake_executor_plugin_slurm.utils import set_gres_string

    from gupta_stdp import config as cfgmod

    resources = cfgmod.gpu_resources(cfgmod.load(None, compute=compute))

    class Res(dict):
        __getattr__ = dict.__getitem__

    assert set_gres_string(SimpleNamespace(resources=Res(resources))).strip() == gres


def test_cpu_with_gpus_is_rejected():
    from gupta_stdp import config as cfgmod

    with pytest.raises(cfgmod.ConfigError, match="compute.gpus_per_job: 1 asks the scheduler for GPUs"):
        cfgmod.load(None, compute={"device": "cpu", "gpus_per_job": 1})
