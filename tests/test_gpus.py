"""Which GPU a job takes when several are visible (gupta_stdp.gpus): tested without a GPU."""

import multiprocessing as mp

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
