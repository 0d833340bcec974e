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


CPU, H200 = "cpu:x86_64:2 threads", "cuda:NVIDIA H200"


def test_one_kind_of_device_is_not_flagged():
    d = _devices([("train", "mnist", "0v2", "stdp", CPU), ("train", "mnist", "0v2", "bp", "cpu:x86_64:1 threads"),
                  ("attack", "mnist", "0v2", None, CPU)])
    assert tables.mixed_devices(d) == []


def test_a_comparison_that_mixes_devices_is_flagged_with_its_jobs():
    """STDP on a GPU, BP on the CPU, in one pair: that pair is named, and the run is flagged.
    Mutation: compare full device strings (the CPU's thread count included) and the first test fails;
    drop the per-pair check and this one fails."""
    d = _devices([("train", "mnist", "0v2", "stdp", H200), ("train", "mnist", "0v2", "bp", CPU),
                  ("attack", "mnist", "0v2", None, CPU), ("train", "mnist", "0v3", "stdp", CPU)])
    lines = tables.mixed_devices(d)
    assert lines[0].startswith("mnist 0v2 mixes devices") and "cuda:NVIDIA H200: train stdp" in lines[0]
    assert "cpu: attack, train bp" in lines[0]
    assert lines[1].startswith("the run mixes devices across pairs") and len(lines) == 2


def test_pairs_on_different_devices_flag_the_run_only():
    d = _devices([("train", "mnist", "0v2", "stdp", H200), ("train", "mnist", "0v3", "stdp", CPU)])
    assert tables.mixed_devices(d) == ["the run mixes devices across pairs (cpu: 1 pair(s), cuda:NVIDIA H200: 1 "
                                       "pair(s)); the claims pool pairs"]
