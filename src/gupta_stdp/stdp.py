"""The STDP learning rule of Gupta (2020), eq. 3, and its associativity (SPEC section 2).

Everything here is local: a layer's update reads only its own pre-synaptic activity ``x``, its
own post-synaptic activity ``p`` and a fixed associativity sign. No autograd is used.
"""

from __future__ import annotations

import hashlib
import torch


def stdp_rule(x: torch.Tensor, p: torch.Tensor, z: torch.Tensor, eps: float) -> torch.Tensor:
    """Paper eq. 3: dW[j, i] = mean_b Z[b, j] x[b, i]^3 p[b, j] (x[b, i] - p[b, j]) / ((2 p[b, j] - x[b, i])^2 + eps).

    x: [..., B, n_in] pre-synaptic rates; p: [..., B, n_out] post-synaptic rates;
    z: [..., B, n_out] associativity (+1 / -1). Returns dW: [..., n_out, n_in].
    Leading dimensions (e.g. seeds trained together) are carried through.
    """
    x = x.unsqueeze(-2)  # [..., B, 1, n_in]
    p = p.unsqueeze(-1)  # [..., B, n_out, 1]
    z = z.unsqueeze(-1)
    return (z * x**3 * p * (x - p) / ((2 * p - x) ** 2 + eps)).mean(dim=-3)


def eq5(dt: torch.Tensor, t_pre: float) -> torch.Tensor:
    """Appendix A, eq. 5: dW ~ dT / (T_pre^2 (T_pre + dT)^2); the STDP curve with the wrong asymmetry."""
    return dt / (t_pre**2 * (t_pre + dt) ** 2)


def eq6(dt: torch.Tensor, t_pre: float) -> torch.Tensor:
    """Appendix A, eq. 6: dW ~ dT / (T_pre^2 (T_pre - dT)^2); the rule the paper uses."""
    return dt / (t_pre**2 * (t_pre - dt) ** 2)


def eq7(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Appendix A, eq. 7 (= eq. 2): eq. 6 written with rates x = 1/T_pre, p = 1/T_post."""
    return x**3 * p * (x - p) / (2 * p - x) ** 2


def subseed(seed: int, tag: str) -> int:
    digest = hashlib.sha256(f"{seed}:{tag}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF_FFFF_FFFF


def hidden_associativity(seed: int, sizes: list[int], balance: float = 0.5) -> list[torch.Tensor]:
    """Fixed associativity of each hidden layer, drawn from the run's seed.

    Exactly round(balance * n) neurons get +1, the rest -1 (paper: "an equivalent number of
    positive and negative Z_k", balance 0.5).
    """
    gen = torch.Generator().manual_seed(subseed(seed, "associativity"))
    out = []
    for n in sizes:
        n_pos = round(balance * n)
        z = -torch.ones(n)
        z[torch.randperm(n, generator=gen)[:n_pos]] = 1.0
        out.append(z)
    return out


def associativity(label_sign: torch.Tensor, layer_z: torch.Tensor) -> torch.Tensor:
    """Z[..., b, j] = layer_z[..., j] * label_sign[..., b].

    label_sign is +1 where y = 1 and -1 where y = 0: the only signal the rule takes from the
    output side. layer_z is +1 for the output neuron and the fixed hidden vector otherwise.
    """
    return label_sign.unsqueeze(-1) * layer_z.unsqueeze(-2)
