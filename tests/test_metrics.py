import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from gupta_stdp.metrics import binary_metrics, roc_auc


@pytest.mark.parametrize("seed", range(5))
def test_auc_matches_sklearn_with_ties(seed):
    g = torch.Generator().manual_seed(seed)
    prob = torch.rand(3, 301, generator=g, dtype=torch.float64).round(decimals=1)  # many ties
    y = (torch.rand(301, generator=g) < 0.3).double()
    expected = [roc_auc_score(y.numpy(), prob[s].numpy()) for s in range(3)]
    np.testing.assert_allclose(roc_auc(prob, y).numpy(), expected, rtol=1e-12)


def test_metrics_expose_wrong_polarity_and_wrong_side():
    y = torch.tensor([0.0, 0.0, 1.0, 1.0])
    prob = torch.tensor([[0.9, 0.8, 0.2, 0.1],     # perfectly separated, inverted
                         [0.10, 0.11, 0.20, 0.30]])  # right order, all below 0.5
    inverted, below = binary_metrics(prob, y)
    assert inverted["accuracy"] == 0.0 and inverted["auc"] == 0.0
    assert below["accuracy"] == 0.5 and below["auc"] == 1.0
    assert below["mean_out_y1"] > below["mean_out_y0"] and below["mean_out_y1"] < 0.5


def test_non_finite_outputs_give_nan():
    y = torch.tensor([0.0, 1.0])
    m = binary_metrics(torch.tensor([[float("nan"), 0.5]]), y)[0]
    assert np.isnan(m["accuracy"]) and np.isnan(m["auc"])
