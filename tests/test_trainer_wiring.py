"""The trainer's wiring, on tiny generated data: progress lines, the validity checks of a config,
divergence bookkeeping, the alignment and rule-statistics rows per epoch, batch order, the Adam
kernel choice, the device everything lives on, and what ``TrainResult`` reports."""

import logging
import math
import types

import pytest
import torch

import gupta_stdp.train as train_mod
from gupta_stdp.data import PairData
from gupta_stdp.metrics import binary_metrics
from gupta_stdp.seeding import subseed
from gupta_stdp.train import METRIC_KEYS, Progress, TrainConfig, Trainer, angles, train


def _tiny(n_train=20, n_test=10, n_in=6, seed=0, dtype=torch.float64):
    """A small task: 20 training points of 6 features (5 steps per epoch at batch 4)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n_train + n_test, n_in, generator=g, dtype=dtype)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0.75).to(dtype)
    return PairData(x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def _cfg(rule="fa", **kw):
    kw = {"epochs": 1, "batch_size": 4, "dtype": torch.float64, **kw}
    if rule == "stdp":
        kw["settings"] = {"impl": "reference", **kw.get("settings", {})}
    return TrainConfig(rule=rule, **kw)


# --- Progress -------------------------------------------------------------------------------------


@pytest.mark.parametrize("epochs, expected", [
    (5, [1, 2, 3, 4, 5]),  # at most 30 epochs: every one
    (31, [1, *range(2, 31, 2), 31]),  # ceil(31 / 30) = 2: every second, and the first and last
    (100, [1, *range(4, 101, 4)]),  # ceil(100 / 30) = 4
])
def test_progress_logs_the_first_and_last_epoch_and_every_nth_for_at_most_30_lines(epochs, expected):
    """The epochs that get a progress line. Mutations: the 30 lines default changed (31 epochs would
    then log every epoch), max(2, .) instead of max(1, .), epochs * lines, and each operator of
    ``due`` (and/or swapped, == 1 / == 2, != for ==, / for %, == 1 for == 0); this test fails."""
    p = Progress(epochs, ["fa"])
    assert [e for e in range(1, epochs + 1) if p.due(e)] == expected


def _progress_lines(monkeypatch, caplog, epochs, times, metrics, finite, methods):
    clock = iter(times)
    monkeypatch.setattr(train_mod, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    p = Progress(epochs, methods)
    with caplog.at_level(logging.INFO, logger="gupta_stdp.train"):
        for e in range(1, epochs + 1):
            p.epoch(e, metrics, finite)
    return [r.getMessage() for r in caplog.records if r.name == "gupta_stdp.train"]


def test_progress_line_reports_mean_accuracy_per_method_and_the_time_per_epoch(monkeypatch, caplog):
    """Three epochs on a fake clock (start 100 s, epochs end at 110, 113, 117 s). Epoch 1 reports its
    own 10 s and no estimate (it pays for compiling); later epochs the mean of the epochs after the
    first ((113 - 110) / 1 = 3 s, (117 - 110) / 2 = 3.5 s) and that times the epochs left. The
    accuracy is the mean over each method's finite members: method a over members 0 and 1 (member 2
    diverged), b its own, c has none (nan). Mutations: any change to the timing arithmetic (now + t1,
    * (epoch - 1), / (epoch + 1), now + t0, epochs + epoch), to where the first epoch's time is taken
    (epoch != 1, == 2) or to the epoch > 1 conditions, the 'time left' text, dropping or inverting the
    due() check, and the member selection (or for and, != for ==, no members, * len for / len)."""
    metrics = {"train": [{"accuracy": a} for a in (0.5, 0.75, 0.1, 0.9, 0.2)],
               "test": [{"accuracy": a} for a in (0.25, 0.5, 0.3, 0.8, 0.4)]}
    finite = [True, True, False, True, False]
    lines = _progress_lines(monkeypatch, caplog, 3, [100.0, 110.0, 113.0, 117.0], metrics, finite,
                            ["a", "a", "a", "b", "c"])
    acc = "a 0.625/0.375, b 0.900/0.800, c nan/nan"
    assert lines == [
        f"epoch 1/3: accuracy train/test {acc}; 10.00 s/epoch, time left from epoch 2 on",
        f"epoch 2/3: accuracy train/test {acc}; 3.00 s/epoch, 3 s left",
        f"epoch 3/3: accuracy train/test {acc}; 3.50 s/epoch, 0 s left",
    ]


def test_progress_skips_epochs_that_are_not_due(monkeypatch, caplog):
    """61 epochs (every = 3): lines for epochs 1, 3, 6, ..., 60 and 61 only, the estimate from the
    seconds per epoch since epoch 1 (1 s each here: 1 s x 58 epochs left after epoch 3).
    Mutation: ``if self.due(epoch)`` for ``if not``: this fails."""
    metrics = {"train": [{"accuracy": 1.0}], "test": [{"accuracy": 1.0}]}
    lines = _progress_lines(monkeypatch, caplog, 61, [0.0, *range(5, 67)], metrics, [True], ["bp"])
    assert len(lines) == 22
    assert lines[1] == "epoch 3/61: accuracy train/test bp 1.000/1.000; 1.00 s/epoch, 58 s left"


# --- TrainConfig.check ----------------------------------------------------------------------------


@pytest.mark.parametrize("lrs", [[0.0], [1e-3, 0.0]])
def test_a_zero_learning_rate_is_refused(lrs):
    """A rate of 0 trains nothing: refused with the rates named. Mutation: ``lr >= 0``."""
    with pytest.raises(ValueError, match=r"learning rates must be > 0, got \["):
        TrainConfig(rule="fa", epochs=1, batch_size=4, lrs=lrs).check(20)


def test_a_negative_eps_in_an_ablation_variant_is_refused():
    """The STDP variants' eps is checked like the rule's own. Mutations: the variant's key read as
    another name ('XXepsXX', 'EPS', None)."""
    cfg = TrainConfig(rule="stdp", epochs=1, batch_size=4, variants={"stdp-bad": {"eps": -1e-3}})
    with pytest.raises(ValueError, match="stdp.eps must be >= 0"):
        cfg.check(20)
    TrainConfig(rule="stdp", epochs=1, batch_size=4, variants={"stdp-ok": {"eps": 0.0}}).check(20)


@pytest.mark.parametrize("batch_size, n_train", [(1, 20), (20, 20), (1, 1)])
def test_batch_sizes_from_one_to_the_whole_split_are_accepted(batch_size, n_train):
    """Batch 1 (pure SGD) and the whole split (full batch) are valid. Mutations: ``2 <= batch``,
    ``1 < batch`` and ``batch < n_train``: this fails."""
    TrainConfig(rule="fa", epochs=1, batch_size=batch_size).check(n_train)


# --- angles ---------------------------------------------------------------------------------------


def test_angles_are_per_member():
    """Two members with known angles: 90 degrees (orthogonal) and 60 degrees (g at 60 degrees from
    u), and one member of 45 in a second layer of another shape. Mutations: either norm taken over
    all members at once (dim=None): the members' angles mix and this fails."""
    f64 = {"dtype": torch.float64}
    u = [torch.tensor([[1.0, 0.0], [2.0, 0.0]], **f64), torch.tensor([[[1.0, 0.0]], [[0.0, 3.0]]], **f64)]
    g = [torch.tensor([[0.0, 5.0], [1.0, 3.0**0.5]], **f64), torch.tensor([[[1.0, 1.0]], [[0.0, 1.0]]], **f64)]
    got = angles(u, g)
    torch.testing.assert_close(got[0], torch.tensor([90.0, 60.0], dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(got[1], torch.tensor([45.0, 0.0], dtype=torch.float64), rtol=0, atol=1e-12)


# --- divergence -----------------------------------------------------------------------------------


def _with_infinite_bias(members, epochs=2, seeds=(0, 1)):
    """An FA trainer where the given members have one +inf hidden bias: non-finite weights (diverged)
    whose logits stay finite (that unit's sigmoid is exactly 1 and its sigma' exactly 0, so the
    updates and Adam keep it at +inf and everything else finite)."""
    tr = Trainer(_tiny(), list(seeds), _cfg("fa", epochs=epochs))
    for i in members:
        tr.params[0]["bias"][i, 0] = math.inf
    return tr


def test_a_diverged_member_gets_nan_rows_from_its_first_non_finite_epoch_and_others_are_untouched():
    """Member 0 diverged (an infinite weight, finite outputs) and member 1 not: member 0 is marked
    diverged in epoch 1 for good, each of its rows has every metric NaN (not the finite metrics its
    outputs would give) and diverged True; member 1's rows are its real metrics, diverged False.
    Mutations: ``or`` for ``and`` in the first-divergence check (member 1 marked, member 0 re-marked
    in epoch 2), metrics kept for diverged members, None instead of NaN, the 'diverged' key renamed."""
    tr = _with_infinite_bias([0])
    res = tr.run()
    assert res.diverged_epoch == {("fa", 0): 1, ("fa", 1): None}
    assert len(res.rows) == 2 * 2 * 2
    final = {s: binary_metrics(train_mod.model.output_logit(res.params, x), y)[1]
             for s, x, y in (("train", tr.data.x_train, tr.data.y_train), ("test", tr.data.x_test, tr.data.y_test))}
    for row in res.rows:
        assert set(row) == {"method", "seed", "epoch", "split", *METRIC_KEYS, "diverged"}
        if row["seed"] == 0:
            assert row["diverged"] is True
            assert all(isinstance(row[k], float) and math.isnan(row[k]) for k in METRIC_KEYS), row
        else:
            assert row["diverged"] is False
            assert all(math.isfinite(row[k]) for k in METRIC_KEYS), row
            if row["epoch"] == 2:
                assert {k: row[k] for k in METRIC_KEYS} == pytest.approx(final[row["split"]], abs=1e-12)


def test_when_every_member_diverged_training_stops_and_the_remaining_epochs_are_nan_rows():
    """Both members diverged in epoch 1 of 3: epochs 2 and 3 get, per member and split, a row with
    every metric NaN and diverged True, with the table's keys. Mutations: any key of the filled rows
    renamed, a split renamed, None or no value instead of NaN, the epochs filled up to another end."""
    res = _with_infinite_bias([0, 1], epochs=3).run()
    assert res.diverged_epoch == {("fa", 0): 1, ("fa", 1): 1}
    filled = [r for r in res.rows if r["epoch"] > 1]
    expected = [(e, s, split) for e in (2, 3) for s in (0, 1) for split in ("train", "test")]
    assert [(r["epoch"], r["seed"], r["split"]) for r in filled] == expected
    assert [(r["epoch"], r["split"]) for r in res.rows[:4]] == [(1, "train"), (1, "test")] * 2
    for row in filled:
        assert set(row) == {"method", "seed", "epoch", "split", *METRIC_KEYS, "diverged"}
        assert row["method"] == "fa" and row["diverged"] is True
        assert all(isinstance(row[k], float) and math.isnan(row[k]) for k in METRIC_KEYS), row


# --- alignment angles and rule statistics, per epoch ------------------------------------------------


def test_alignment_rows_are_the_epoch_mean_of_the_sampled_steps_and_stats_cover_every_epoch(monkeypatch):
    """STDP, 2 epochs of 5 steps, align_every = stats_every = 2: angles to BP on global steps 0, 2, 4
    (epoch 1) and 6, 8 (epoch 2). Each alignment row is (method, seed, epoch, layer 1..3, angle_deg)
    with the mean of that epoch's sampled angles for its layer and member; the rule's statistics have
    rows for both epochs. Mutations: angles sampled on every step (step += 2) or on step 0 only
    (/ for %), the mean over layers instead of steps, the sample list not reset, any key renamed,
    the layer numbered k - 1 or k + 2, each epoch's rows replacing the earlier ones (= for +=), or
    the epoch passed as None."""
    seen = []

    def spy(u, g):
        out = angles(u, g)
        seen.append(torch.stack(out))
        return out

    monkeypatch.setattr(train_mod, "angles", spy)
    res = Trainer(_tiny(), [0, 1], _cfg("stdp", epochs=2, align_every=2, stats_every=2)).run()
    assert len(seen) == 5
    expected = []
    for epoch, steps in ((1, seen[:3]), (2, seen[3:])):
        mean = torch.stack(steps).mean(dim=0)
        expected += [{"method": "stdp", "seed": s, "epoch": epoch, "layer": k + 1, "angle_deg": mean[k, i].item()}
                     for k in range(3) for i, s in enumerate((0, 1))]
    assert res.alignment == expected
    assert all(0 < r["angle_deg"] < 180 for r in res.alignment)
    assert sorted((r["epoch"], r["layer"], r["seed"]) for r in res.rule_stats) == sorted(
        (e, k, s) for e in (1, 2) for k in (1, 2, 3) for s in (0, 1))


# --- batch order, Adam, rule implementation --------------------------------------------------------


def test_each_seed_draws_its_batch_order_from_its_own_sub_seed():
    """Seed s's epoch order is randperm from the sub-seed (s, 'batch_order'), and the first batch is
    those rows. Mutation: the sub-seed taken from None (every seed the same order): this fails."""
    data = _tiny()
    tr = Trainer(data, [3, 4], _cfg("fa"))
    xb, yb = next(tr.batches())
    for i, s in enumerate((3, 4)):
        perm = torch.randperm(20, generator=torch.Generator().manual_seed(subseed(s, "batch_order")))
        assert torch.equal(xb[i], data.x_train[perm[:4]]) and torch.equal(yb[i], data.y_train[perm[:4]])


@pytest.mark.parametrize("fused", [False, True])
def test_the_adam_kernel_is_the_one_the_config_asks_for(fused):
    """fused_adam: torch's fused Adam kernel (the multiverse); otherwise the foreach one (the main
    run, whose numbers must not change). Mutations: fused=False, foreach=False, or neither passed."""
    tr = Trainer(_tiny(), [0], _cfg("fa", fused_adam=fused))
    assert tr.optimizer.defaults["fused"] is (True if fused else None)
    assert tr.optimizer.defaults["foreach"] is (None if fused else True)


def test_the_stdp_rule_sizes_its_compile_decision_for_the_configured_batch():
    """stdp.impl: auto compiles the update only where members x batch x weights reaches 200 000: at
    batch 5 with 784 inputs (5 x 25 616) it stays eager, and the result reports the update that ran.
    Mutations: the rule built without the batch size (its default, 100, would compile), or
    TrainResult.impl not read from the rule: this fails."""
    data = PairData(torch.rand(10, 784, dtype=torch.float64), torch.tensor([0.0, 1.0] * 5),
                    torch.rand(4, 784, dtype=torch.float64), torch.tensor([0.0, 1.0] * 2))
    tr = Trainer(data, [0], _cfg("stdp", batch_size=5, settings={"impl": "auto"}))
    assert tr.rule.impl_used == "reference"  # decided at construction: eager
    assert tr.run().impl == "reference"
    assert train(_tiny(), [0], _cfg("fa")).impl is None


# --- device -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["fa", "stdp"])
def test_the_trainer_keeps_data_weights_rule_state_and_batches_on_its_device(rule):
    """PyTorch's meta device stands in for a GPU: a step runs there, and the data, the weights, the
    rule's fixed state and the batch all live on it. Mutations: the data, the weights or the rule
    left on the default device (CPU), or the batch order not moved: this fails."""
    tr = Trainer(_tiny(), [0, 1], _cfg(rule), device="meta")
    xb, yb = next(tr.batches())
    tr.step(xb, yb)
    tensors = {"x": xb, "y": yb, "x_train": tr.data.x_train, "x_test": tr.data.x_test,
               **{f"W{k}": layer["weight"] for k, layer in enumerate(tr.params, start=1)},
               **tr.rule.state()}
    assert len(tr.rule.state()) == 2
    assert {k: t.device.type for k, t in tensors.items()} == dict.fromkeys(tensors, "meta")


def test_train_passes_the_device_to_the_trainer(monkeypatch):
    """train(..., device) trains on that device. Mutation: the device not passed (CPU)."""
    class Probe(Trainer):
        def run(self):
            return self.device

    monkeypatch.setattr(train_mod, "Trainer", Probe)
    assert train(_tiny(), [0], _cfg("fa"), device="meta") == torch.device("meta")
