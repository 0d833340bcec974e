"""C4's evidence: the registry's STDP update evaluated where the paper derives eq. 6 from it.

With Z = +1 and eps -> 0, eq. 3 at x = 1/T_pre and p = 1/(T_pre + dT) equals
dT / (T_pre^2 (T_pre - dT)^2), eq. 6, exactly. This stage evaluates the update the trainer hands
to Adam (through the rule's own ``updates``, with the configured eps) at those points, one
single-sample member per dT, in float64, and writes it beside eq. 5 and eq. 6
(``results/tables/stdp_curve.csv``), with eq. 3's own value at that eps written through eq. 6:
claim C4 and Fig. 4 read it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .. import rules
from ..curves import eq5, eq6
from ..io import write_csv
from ..rules.base import Member, load

COLUMNS = ["t_pre", "dT", "eq5", "eq6", "eq3", "rule", "stdp_eps"]


def rule_curve(t_pre: float, r: float, eps: float, n: int = 721, impl: str | None = None) -> pd.DataFrame:
    """The update dW = -(the .grad the rule hands to Adam) of a one-synapse layer, for dT on a grid
    of ``n`` points over [-r T_pre, r T_pre] (short of the poles at -+T_pre), beside eq. 5 and 6."""
    dt = np.linspace(-r * t_pre, r * t_pre, n)
    members = [Member("stdp", 0, {"eps": eps, "impl": "reference"}) for _ in dt]
    rule = (load(impl) if impl else rules.get("stdp"))(members, [1, 1], dtype=torch.float64, batch_size=1)
    x = torch.full((len(dt), 1, 1), 1 / t_pre, dtype=torch.float64)
    p = (1 / (t_pre + torch.as_tensor(dt, dtype=torch.float64))).view(-1, 1, 1)
    y = torch.ones(len(dt), 1, dtype=torch.float64)  # y = 1: Z = +1 for the output neuron
    weights = [{"weight": torch.zeros(len(dt), 1, 1, dtype=torch.float64),
                "bias": torch.zeros(len(dt), 1, dtype=torch.float64)}]
    (grad_w, _), = rule.updates([x, p], torch.logit(p.squeeze(-1).clamp(1e-12, 1 - 1e-12)), y, weights)
    # eq. 3 with the eps term, written through eq. 6 (an expression of its own, in T rather than rates)
    d2 = (2 / (t_pre + dt) - 1 / t_pre) ** 2
    return pd.DataFrame({"t_pre": t_pre, "dT": dt, "eq5": eq5(dt, t_pre), "eq6": eq6(dt, t_pre),
                         "eq3": eq6(dt, t_pre) * d2 / (d2 + eps), "rule": (-grad_w).flatten().numpy(),
                         "stdp_eps": eps})[COLUMNS]


def run(params: dict, output) -> pd.DataFrame:
    df = rule_curve(params["t_pre"], params["range"], params["eps"], impl=params.get("impl"))
    write_csv(df, output)
    return df
