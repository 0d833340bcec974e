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
    inverted, below = binary_metrics(torch.logit(prob.double()), y)
    assert inverted["accuracy"] == 0.0 and inverted["auc"] == 0.0
    assert below["accuracy"] == 0.5 and below["auc"] == 1.0
    assert below["mean_out_y1"] > below["mean_out_y0"] and below["mean_out_y1"] < 0.5


def test_non_finite_outputs_give_nan():
    y = torch.tensor([0.0, 1.0])
    m = binary_metrics(torch.tensor([[float("nan"), 0.5]]), y)[0]
    assert np.isnan(m["accuracy"]) and np.isnan(m["auc"])


def test_auc_is_computed_from_logits_not_saturated_outputs():
    """Logits of 20 and 30 are distinct; their float32 sigmoids are both exactly 1.0 and would tie."""
    logit = torch.tensor([[20.0, 30.0, 25.0, -3.0]])
    y = torch.tensor([0.0, 1.0, 1.0, 0.0])
    assert torch.sigmoid(logit)[0, 0] == torch.sigmoid(logit)[0, 1] == 1.0
    assert binary_metrics(logit, y)[0]["auc"] == 1.0
    assert roc_auc(torch.sigmoid(logit), y)[0] == 0.75  # what the saturated outputs would report: ties


def test_metrics_take_one_label_vector_per_member():
    logit = torch.tensor([[1.0, -1.0, 2.0], [1.0, -1.0, 2.0]])
    y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    a, b = binary_metrics(logit, y)
    assert a["accuracy"] == 1.0 and a["auc"] == 1.0 and b["accuracy"] == 0.0 and b["auc"] == 0.0


def test_auc_with_one_label_vector_per_row_matches_sklearn():
    g = torch.Generator().manual_seed(7)
    score = torch.rand(6, 40, generator=g, dtype=torch.float64).round(decimals=1)
    y = torch.stack([torch.randperm(40, generator=g) < 15 for _ in range(6)]).double()  # 15 positives per row
    expected = [roc_auc_score(y[i].numpy(), score[i].numpy()) for i in range(6)]
    np.testing.assert_allclose(roc_auc(score, y).numpy(), expected, rtol=1e-12)
    y[0, :3] = 1 - y[0, :3]  # unequal class counts: the row-by-row path
    expected = [roc_auc_score(y[i].numpy(), score[i].numpy()) for i in range(6)]
    np.testing.assert_allclose(roc_auc(score, y).numpy(), expected, rtol=1e-12)
