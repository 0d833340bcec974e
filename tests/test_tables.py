"""The summary tables behind the figures and the report."""

import numpy as np
import pandas as pd
import pytest

from gupta_stdp import tables


def _alignment(angles_by_method):
    rows = []
    for method, per_layer in angles_by_method.items():
        for epoch in (1, 2):
            for layer, angle in enumerate(per_layer, start=1):
                rows.append({"dataset": "mnist", "pair": "0v1", "method": method, "seed": 0, "epoch": epoch,
                             "layer": layer, "angle_deg": angle + (10 if epoch == 1 else 0)})
    return pd.DataFrame(rows)


def test_alignment_is_given_per_layer_and_averaged_over_hidden_layers_only():
    """FA's output layer is BP's by construction (0 degrees); STDP's is not. A mean over all layers
    would flatter FA (20 against 60 here); over the hidden layers both are 30 and 90 as measured."""
    al = _alignment({"fa": [30, 30, 0], "stdp": [90, 90, 0.0]})
    out = tables.angles(al, ["fa", "stdp"]).set_index("method")
    assert out.loc["fa", ["angle_layer1", "angle_layer2", "angle_layer3"]].tolist() == [30, 30, 0]
    assert out.loc["fa", "angle_hidden"] == 30 and out.loc["stdp", "angle_hidden"] == 90


def test_one_source_gives_bp_its_partners_rows_only():
    a = pd.DataFrame([{"method": m, "seed": 0, "attack": att, "eps": 8 / 255, "source": src, "accuracy": acc}
                      for m, att, src, acc in (("bp", "worst", "stdp", 0.4), ("bp", "worst", "fa", 0.3),
                                               ("bp", "pgd", "bp", 0.5), ("stdp", "worst", "bp", 0.6))])
    out = tables.one_source(a, ["stdp", "bp", "fa"])
    assert sorted(zip(out.method, out.attack, out.source)) == [("bp", "pgd", "bp"), ("bp", "worst", "stdp"),
                                                               ("stdp", "worst", "bp")]
    assert tables.at_eps(a, "worst", 8).shape[0] == 3 and tables.at_eps(a, "worst", 4).empty


@pytest.mark.parametrize("eps", [4, 8])
def test_rules_table_reads_the_eps_it_is_given(eps):
    t = {"epochs": pd.DataFrame([{"dataset": "mnist", "pair": "0v1", "method": "fa", "seed": 0, "epoch": 1,
                                  "split": "test", "accuracy": 0.9, "auc": 0.95}]),
         "attacks": pd.DataFrame([{"dataset": "mnist", "pair": "0v1", "method": "fa", "seed": 0, "attack": "worst",
                                   "eps": e / 255, "source": "bp", "accuracy": a} for e, a in ((4, 0.7), (8, 0.5))]),
         "diagnostics": pd.DataFrame([{"dataset": "mnist", "pair": "0v1", "method": "fa", "seed": 0,
                                       "bce_grad_zero_share": 0.0}]),
         "alignment": _alignment({"fa": [30, 40, 0]})}
    row = tables.rules_table(t, ["fa"], eps).iloc[0]
    assert row[f"worst_{eps}"] == {4: 0.7, 8: 0.5}[eps] and row.angle_hidden == 35 and np.isfinite(row.angle_layer3)


def _devices(rows):
    return pd.DataFrame(rows, columns=["stage", "dataset", "pair", "rule", "device"])


CPU, H200 = "cpu:x86_64:AVX512:1 threads", "cuda:NVIDIA H200"


def test_one_device_is_not_flagged_and_attacks_elsewhere_are_not_either():
    d = _devices([("train", "mnist", "0v2", "stdp", CPU), ("train", "mnist", "0v2", "bp", CPU),
                  ("attack", "mnist", "0v2", None, H200), ("square", "mnist", "0v2", None, CPU)])
    assert tables.mixed_devices(d) == []


def test_a_pair_trained_on_two_devices_is_flagged_with_its_jobs():
    """STDP on a GPU, BP on the CPU, in one pair: that pair is named, and the run is flagged.
    Mutation: drop the per-pair check and this fails."""
    d = _devices([("train", "mnist", "0v2", "stdp", H200), ("train", "mnist", "0v2", "bp", CPU),
                  ("train", "mnist", "0v3", "stdp", CPU), ("train", "mnist", "0v3", "bp", CPU)])
    lines = tables.mixed_devices(d)
    assert lines[0] == f"mnist 0v2 trained its models on different devices ({CPU}: bp; {H200}: stdp)"
    assert lines[1].startswith("the run trained its pairs on CPU and CUDA") and len(lines) == 2


def test_cpus_of_another_vector_width_or_thread_count_are_other_devices():
    """A pair's STDP on an AVX2 node, its BP on an AVX-512 node: flagged (the rounding differs);
    two pairs on different CPUs are not (each comparison is on one device)."""
    avx2 = "cpu:x86_64:AVX2:1 threads"
    d = _devices([("train", "mnist", "0v2", "stdp", avx2), ("train", "mnist", "0v2", "bp", CPU)])
    assert len(tables.mixed_devices(d)) == 1
    d = _devices([("train", "mnist", "0v2", "stdp", avx2), ("train", "mnist", "0v3", "stdp", CPU)])
    assert tables.mixed_devices(d) == []
