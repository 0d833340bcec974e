"""Uniform noise of the same size as an attack: the floor any attack must beat (Carlini et al. 2019)."""

from __future__ import annotations

import torch


def uniform(shape, generator=None, dtype=torch.float32, device="cpu") -> torch.Tensor:
    """Uniform [0, 1) noise of ``shape``. ``generator`` may be a list: one generator per equal block
    of points (dim -2), so that each eps of a batched attack draws its own, fixed noise."""
    if isinstance(generator, (list, tuple)):
        block = shape[-2] // len(generator)
        parts = [torch.rand(*shape[:-2], block, shape[-1], generator=g, dtype=dtype) for g in generator]
        return torch.cat(parts, dim=-2).to(device)
    return torch.rand(shape, generator=generator, dtype=dtype).to(device)


def uniform_noise(x: torch.Tensor, eps, n_members: int, generator=None) -> torch.Tensor:
    """x plus uniform noise in [-eps, eps] per coordinate, clipped to [0, 1]."""
    x0 = x.expand(n_members, *x.shape) if x.dim() == 2 else x
    eps = torch.as_tensor(eps, dtype=x0.dtype, device=x0.device)
    eps = eps.view(1, -1, 1) if eps.dim() == 1 else eps
    return (x0 + (2 * uniform(x0.shape, generator, x0.dtype, x0.device) - 1) * eps).clamp(0, 1)
