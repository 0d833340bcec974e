"""The L-inf Square Attack (Andriushchenko et al. 2020): score-based, it queries the logits and
never a gradient. ART's algorithm and random draws, batched over models and points."""

from __future__ import annotations

import bisect

import numpy as np
import torch

from .. import model
from .losses import members, per_member


def image_shape(n_features: int) -> tuple[int, int, int] | None:
    """1 x side x side where the inputs are square images (MNIST: 1 x 28 x 28), else None."""
    side = round(n_features**0.5)
    return (1, side, side) if side * side == n_features and side >= 4 else None


def _square_share(i_iter: int, max_iter: int, p_init: float) -> float:
    """The share of pixels a square covers at iteration i (Andriushchenko et al. 2020; ART's schedule)."""
    intervals = [0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8]
    return p_init / 2 ** bisect.bisect_left(intervals, i_iter / max_iter)


def _square_draws(rng, max_iter: int, h: int, w: int, c: int, p_init: float, art: bool):
    """Every iteration's random draws of ART's SquareAttack for one member, in one call: the square's
    side, top row, left column and per-channel sign (index 1: +eps). numpy's legacy generator gives
    the same stream for one call with an array of bounds as for ART's scalar calls in sequence.
    ART (and the authors' code) draw the top row from randint(0, h - side), which never places a
    square on the last row or column; here every position can be drawn, unless ``art``."""
    sides = np.array([max(int(round((_square_share(i, max_iter, p_init) * h * w) ** 0.5)), 1) for i in range(max_iter)])
    bounds = []
    for side in sides:  # ART draws randint(0, h - side), randint(0, w - side), choice(2, size=c)
        extra = 0 if art else 1
        bounds += ([h - side + extra] if h > side else []) + ([w - side + extra] if w > side else []) + [2] * c
    flat = rng.randint(0, np.array(bounds)) if bounds else np.zeros(0, dtype=int)
    top, left, signs, k = np.zeros(max_iter, int), np.zeros(max_iter, int), np.zeros((max_iter, c), int), 0
    for i, side in enumerate(sides):
        if h > side:
            top[i], k = flat[k], k + 1
        if w > side:
            left[i], k = flat[k], k + 1
        signs[i], k = flat[k : k + c], k + c
    return sides, top, left, signs


@torch.no_grad()
def square(params, x: torch.Tensor, y: torch.Tensor, eps: float, max_iter: int, p_init: float = 0.05, seed: int = 0,
           shape: tuple[int, int, int] | None = None, refresh: int = 100, active: torch.Tensor | None = None,
           art_draws: bool = False) -> torch.Tensor:
    """L-inf Square Attack (Andriushchenko et al. 2020), score-based: it queries the logits, never a
    gradient. Batched over members and points; returns x_adv [M, N, n_in].

    The algorithm, random draws included, is ART's ``SquareAttack`` (norm inf, one restart): each
    member draws from its own ``numpy.random.RandomState(seed)`` exactly what ART draws from the global
    generator after ``numpy.random.seed(seed)``, so a member's result equals ART's on that member alone
    up to float rounding (tested, with ``art_draws``). One change: ART never draws a square on the last
    row or column of the image (its top row comes from randint(0, h - side), an exclusive bound), so
    those pixels keep their first perturbation; here every position can be drawn (``art_draws=False``,
    the default): on a linear model the attack then finds the minimal perturbation, which ART's draws
    cannot (tests/test_closed_form.py). Per member and iteration one square of side ~sqrt(share x H x W)
    gets new signs +-eps; the change is kept where it lowers the margin. One query per point and
    iteration (ART spends two). Only the square's pixels change, so the first layer's input is
    updated for those alone, and recomputed in full every ``refresh`` iterations.
    ``shape``: (C, H, W) of an input; default 1 x side x side for square images, else C = n_in, 1 x 1
    (then each iteration proposes a random vertex of the eps-box).
    ``active`` ([M, N] bool): the points to attack, per member (a cascade's survivors); the others
    get no query and come back unchanged, as if ART were given the active points alone.
    """
    m_count = members(params)
    x0 = per_member(x, params).contiguous()
    n_in = x0.shape[-1]
    y = y.expand(m_count, y.shape[-1]).to(x0.dtype)
    c, h, w = shape or image_shape(n_in) or (n_in, 1, 1)
    rng = [np.random.RandomState(seed % 2**32) for _ in range(m_count)]
    sign = 2 * y - 1
    first, rest = params[0], params[1:]

    def margin_from(a1):  # ART's loss for logits [0, l]: correct minus other logit; the attack lowers it
        h1 = torch.sigmoid(a1)
        return sign * model.output_logit(rest, h1) if rest else sign * a1.squeeze(-1)

    def stripes(m, n):  # ART's first step: vertical stripes of +-eps over the whole image
        s = rng[m].choice([-1, 1], size=(n, c, 1, w))
        return torch.as_tensor(np.broadcast_to(s, (n, c, h, w)).reshape(n, -1).copy(), dtype=torch.float64)

    loss = margin_from(model.linear(x0, first))
    live = torch.ones_like(loss, dtype=torch.bool) if active is None else active.to(loss.device)
    robust = (loss >= 0) & live  # the paper's threshold: logit >= 0 is class 1
    adv = x0.clone()
    for m in range(m_count):
        idx = robust[m].nonzero().flatten()
        if len(idx):
            adv[m, idx] = (x0[m, idx].double() + eps * stripes(m, len(idx)).to(x0.device)).clamp(0, 1).to(x0.dtype)
    # ART clamps to [x - eps, x + eps] (float32 bounds) with every accepted square; here once, after
    # the first step (the two differ by a few ulp in points no square ever improves).
    lo, hi = x0 - eps, x0 + eps
    adv = torch.minimum(torch.maximum(adv, lo), hi)
    a1 = model.linear(adv, first)
    new_loss = margin_from(a1)
    keep = robust & (new_loss < loss)
    adv = torch.where(keep.unsqueeze(-1), adv, x0)
    a1 = model.linear(adv, first)
    loss = margin_from(a1)
    vertex_hi, vertex_lo = hi.clamp(0, 1), lo.clamp(0, 1)
    draws = [_square_draws(r, max_iter, h, w, c, p_init, art_draws) for r in rng]
    sides = draws[0][0]
    top = torch.as_tensor(np.stack([d[1] for d in draws]), device=x0.device)
    left = torch.as_tensor(np.stack([d[2] for d in draws]), device=x0.device)
    up = torch.as_tensor(np.stack([d[3] for d in draws]) == 1, device=x0.device)  # [M, iters, c]
    ch = torch.arange(c, device=x0.device).view(c, 1, 1) * (h * w)
    weight = first["weight"]
    for i in range(max_iter):
        robust = (loss >= 0) & live
        if not robust.any():
            break
        side = int(sides[i])
        r = torch.arange(side, device=x0.device)
        rows, cols = top[:, i].view(-1, 1, 1) + r.view(1, side, 1), left[:, i].view(-1, 1, 1) + r.view(1, 1, side)
        pix = (rows * w + cols).view(m_count, 1, side * side)  # [M, 1, side^2]
        idx = (pix + ch.view(1, c, 1)).view(m_count, -1)  # [M, K] with K = c side^2, channel-major
        k = idx.shape[1]
        gather = idx.unsqueeze(1).expand(m_count, adv.shape[1], k)
        pos = up[:, i].repeat_interleave(side * side, dim=1).unsqueeze(1)  # [M, 1, K]
        cand = torch.where(pos, vertex_hi.gather(2, gather), vertex_lo.gather(2, gather))
        old = adv.gather(2, gather)
        a1_cand = a1 + torch.matmul(cand - old, weight.gather(2, idx.unsqueeze(1).expand(-1, weight.shape[1], k))
                                    .transpose(1, 2))
        cand_loss = margin_from(a1_cand)
        keep = robust & (cand_loss < loss)
        adv.scatter_(2, gather, torch.where(keep.unsqueeze(-1), cand, old))
        a1 = torch.where(keep.unsqueeze(-1), a1_cand, a1)
        loss = torch.where(keep, cand_loss, loss)
        if (i + 1) % refresh == 0:  # resynchronise the running first-layer input with a full pass
            a1 = model.linear(adv, first)
            loss = margin_from(a1)
    return adv
