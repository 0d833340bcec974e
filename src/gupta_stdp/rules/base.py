"""What every learning rule provides, and the pieces the error-driven rules share (SPEC 2b).

A rule trains a population of *members* together: each member is one seed of one method (the
rule itself, or an ablation variant of it). Parameters hold the member as their leading
dimension ``M``. Given ONE forward pass (``acts = [x, h1, ..., p]``, each ``[M, B, n]``, and the
output logit ``[M, B]``), ``Rule.updates`` returns, for every layer, the gradient handed to Adam
for the weight and the bias (``.grad``; Adam descends it). Only BP may use autograd.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import torch

from ..seeding import subseed


@dataclass(frozen=True)
class Member:
    """One run of a population: ``method`` is its name in the tables (the rule, or an ablation
    variant such as ``stdp-frozen``), ``seed`` its seed, ``settings`` the rule's settings for it,
    ``lr`` its learning rate (None: the population's one rate)."""

    method: str
    seed: int
    settings: dict = field(default_factory=dict, hash=False, compare=False)
    lr: float | None = None


class Rule:
    """Base class. Subclasses set ``name`` and implement ``updates``."""

    name = "rule"
    autograd = False  # True only for BP, the reference; every other rule must not call autograd

    def __init__(self, members: list[Member], sizes: list[int], device="cpu", dtype=torch.float32,
                 batch_size: int = 100):
        self.members, self.sizes = list(members), list(sizes)  # sizes: [n_in, hidden..., 1]
        self.device, self.dtype, self.batch_size = torch.device(device), dtype, batch_size

    def updates(self, acts, logit, y, params) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer (grad of weight [M, n_out, n_in], grad of bias [M, n_out]); y: [M, B] in {0, 1}."""
        raise NotImplementedError

    def state(self) -> dict[str, torch.Tensor]:
        """Fixed tensors of the rule (associativity, feedback matrices), saved with the model."""
        return {}

    # Optional per-step statistics (the STDP rule logs how often its eps dominates).
    def track(self, acts, grads) -> None:
        pass

    def flush(self, epoch: int) -> list[dict]:
        return []

    def fixed_uniform(self, tag: str, shape: tuple[int, ...], bound: float) -> torch.Tensor:
        """[M, *shape] uniform in [-bound, bound], drawn per member from its seed's sub-seed ``tag``:
        fixed for the whole run, the same for every member of one seed."""
        out = []
        for m in self.members:
            gen = torch.Generator().manual_seed(subseed(m.seed, tag))
            out.append((2 * torch.rand(shape, generator=gen, dtype=torch.float64) - 1) * bound)
        return torch.stack(out).to(self.device, self.dtype)


def sigmoid_prime(h: torch.Tensor) -> torch.Tensor:
    """sigma'(a) written with the activation h = sigma(a)."""
    return h * (1 - h)


class ErrorDriven(Rule):
    """Rules that send the output error ``e = p - y`` of the BCE loss back to the hidden layers.

    A subclass says how the error reaches each hidden layer (``hidden_deltas``); every layer then
    gets BP's update for its delta: ``grad W_l = mean_b delta_l^T h_{l-1}``, ``grad b_l = mean_b delta_l``.
    The output layer's delta is ``e`` itself, so its update is BP's for every such rule.
    """

    def hidden_deltas(self, e, acts, params) -> list[torch.Tensor]:
        raise NotImplementedError

    @torch.no_grad()
    def updates(self, acts, logit, y, params):
        e = acts[-1] - y.unsqueeze(-1)  # [M, B, 1]
        deltas = [*self.hidden_deltas(e, acts, params), e]
        batch = e.shape[-2]
        return [(d.transpose(-1, -2) @ h / batch, d.mean(dim=-2)) for d, h in zip(deltas, acts[:-1])]


def backward_chain(e, acts, matrices) -> list[torch.Tensor]:
    """delta_L = e; delta_l = (delta_{l+1} M_{l+1}) * sigma'(h_l), going down. ``matrices[k]`` stands
    in for the weight of layer k + 2 (shape [M, n_{k+2}, n_{k+1}]); with the forward weights this is BP."""
    deltas = [e]
    for h, mat in zip(reversed(acts[1:-1]), reversed(matrices)):
        deltas.insert(0, (deltas[0] @ mat) * sigmoid_prime(h))
    return deltas[:-1]


def load(impl: str) -> type:
    """The rule class of a registry entry ``"module:Class"`` (a module of this package). A job is
    handed its own rule's entry, so that it never reads the registry's other lines."""
    module, cls = impl.split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)
