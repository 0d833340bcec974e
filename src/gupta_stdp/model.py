"""The n_in -> 32 -> 16 -> 1 sigmoid MLP, with S seeds held as one batched set of weights."""

from __future__ import annotations

import torch
from torch import nn

HIDDEN = (32, 16)


def init_params(seeds: list[int], n_in: int, hidden=HIDDEN) -> list[dict[str, torch.Tensor]]:
    """PyTorch's default nn.Linear initialisation, one seed per leading index.

    Returns one dict per layer with 'weight' [S, n_out, n_in] and 'bias' [S, n_out]. For a given
    seed these are exactly the weights of nn.Linear built after torch.manual_seed(seed), so both
    methods start from the same point.
    """
    sizes = [n_in, *hidden, 1]
    per_seed = []
    for seed in seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            per_seed.append([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
    return [
        {
            "weight": torch.stack([layers[k].weight.detach() for layers in per_seed]).clone(),
            "bias": torch.stack([layers[k].bias.detach() for layers in per_seed]).clone(),
        }
        for k in range(len(sizes) - 1)
    ]


def linear(x: torch.Tensor, layer: dict[str, torch.Tensor]) -> torch.Tensor:
    """x W^T + b per member. x: [M, B, n_in], or [N, n_in] shared by every member (then one GEMM
    against all members' weights, without copying x per member). Returns [M, B, n_out]."""
    w, b = layer["weight"], layer["bias"]
    if x.dim() == 2:
        m, n_out, n_in = w.shape
        out = (x @ w.reshape(m * n_out, n_in).T).reshape(x.shape[0], m, n_out).transpose(0, 1)
        return out + b.unsqueeze(-2)
    return torch.baddbmm(b.unsqueeze(-2), x, w.transpose(-1, -2))


def forward(params: list[dict[str, torch.Tensor]], x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Sigmoid after every layer. x: [M, B, n_in], or [N, n_in] shared by all members.

    Returns (activations [x, h1, h2, out], output logit [M, B]); acts[0] is x as given.
    """
    acts = [x]
    logit = x
    for layer in params:
        logit = linear(acts[-1], layer)
        acts.append(torch.sigmoid(logit))
    return acts, logit.squeeze(-1)


def output_logit(params, x: torch.Tensor) -> torch.Tensor:
    return forward(params, x)[1]


def architecture(params) -> str:
    """The layer widths, input first: "784-32-16-1"."""
    return "-".join(str(n) for n in [params[0]["weight"].shape[-1], *(layer["weight"].shape[-2] for layer in params)])


def is_finite(params) -> torch.Tensor:
    """[S] bool: every weight and bias of that seed is finite."""
    ok = None
    for layer in params:
        for t in layer.values():
            f = torch.isfinite(t).flatten(1).all(dim=1)
            ok = f if ok is None else ok & f
    return ok


def select_seeds(params, index) -> list[dict[str, torch.Tensor]]:
    return [{k: v[index] for k, v in layer.items()} for layer in params]
