"""Attacks on the trained models (SPEC sections 4 and 6), batched over members and points.

Training is gradient-free for STDP (and avoids weight transport for FA, DFA and sign symmetry);
the white-box attacks are not: they differentiate the trained forward pass with autograd, for
every model alike, never a rule's feedback path. Losses:

- ``bce``: the paper's FGSM loss (Fig. 3). Its input gradient is exactly 0 for a confident point
  in float32 (sigmoid(17) == 1.0), which masks gradients by construction;
- ``margin``: -(2y - 1) * logit, which never saturates; PGD and the sweep maximise it. Where the
  BCE gradient is non-zero both have the same sign, so FGSM steps agree there.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import model
from .metrics import binary_metrics

LOSSES = ("bce", "margin")


def point_loss(logit: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """The loss an attack maximises, per point."""
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(logit, y.expand_as(logit), reduction="none")
    if loss == "margin":
        return -(2 * y - 1) * logit
    raise ValueError(f"attack loss must be one of {LOSSES}, not {loss!r}")


def _members(params) -> int:
    return params[0]["weight"].shape[0]


def _per_member(x: torch.Tensor, params) -> torch.Tensor:
    return x.expand(_members(params), *x.shape) if x.dim() == 2 else x


def input_gradient(params, x: torch.Tensor, y: torch.Tensor, loss: str = "bce") -> torch.Tensor:
    """d loss(model(x), y) / dx per member and point. x: [N, n_in] shared or [M, N, n_in]; y: [N]
    or [M, N]. Returns [M, N, n_in]. Autograd through the trained forward pass."""
    params = [{k: v.detach() for k, v in layer.items()} for layer in params]
    x = _per_member(x, params).detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logit = model.output_logit(params, x)
        (grad,) = torch.autograd.grad(point_loss(logit, y, loss).sum(), x)
    return grad


def fgsm(params, x: torch.Tensor, y: torch.Tensor, eps, loss: str = "bce", grad: torch.Tensor | None = None):
    """Goodfellow et al. (2015): x_adv = clamp(x + eps * sign(grad_x loss), 0, 1), per member.
    ``eps`` is a number or a per-point tensor [N]; pass ``grad`` to reuse one gradient for many eps."""
    grad = input_gradient(params, x, y, loss) if grad is None else grad
    eps = torch.as_tensor(eps, dtype=grad.dtype, device=grad.device)
    eps = eps.view(1, -1, 1) if eps.dim() == 1 else eps
    return (_per_member(x, params) + eps * grad.sign()).clamp(0.0, 1.0).detach()


def uniform(shape, generator=None, dtype=torch.float32, device="cpu") -> torch.Tensor:
    """Uniform [0, 1) noise of ``shape``. ``generator`` may be a list: one generator per equal block
    of points (dim -2), so that each eps of a batched attack draws its own, fixed noise."""
    if isinstance(generator, (list, tuple)):
        block = shape[-2] // len(generator)
        parts = [torch.rand(*shape[:-2], block, shape[-1], generator=g, dtype=dtype) for g in generator]
        return torch.cat(parts, dim=-2).to(device)
    return torch.rand(shape, generator=generator, dtype=dtype).to(device)


def _gradient_and_logit(layers, x: torch.Tensor, y: torch.Tensor, loss: str):
    """One member's input gradient of ``loss`` and its logits, for x [P, n_in] (autograd)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logit = model.output_logit(layers, x.unsqueeze(0))[0]
        (grad,) = torch.autograd.grad(point_loss(logit, y, loss).sum(), x)
    return grad, logit.detach()


def _per_point(v, n: int, like: torch.Tensor) -> torch.Tensor:
    """A number or a per-point tensor [n] as a column [n, 1]."""
    return torch.as_tensor(v, dtype=like.dtype, device=like.device).expand(n).reshape(n, 1)


def pgd(params, x: torch.Tensor, y: torch.Tensor, eps, steps: int = 20, step_size=None, restarts: int = 1,
        random_start: bool = True, generator=None, loss: str = "margin", early_stop: bool = True) -> torch.Tensor:
    """L-inf PGD (Madry et al. 2018), one member at a time, all points together: ``steps``
    signed-gradient steps of ``step_size`` (default 2.5 eps / steps), each projected onto the
    eps-ball around x and onto [0, 1]. ``eps`` (and ``step_size``) may be per point ([N]): many
    eps in one pass, the points repeated once per eps.

    A point counts as broken as soon as an iterate of any restart misclassifies it, and that
    example is returned (``early_stop=False``: only each restart's last iterate counts, as in ART);
    later steps and restarts run on the points still unbroken only, so that a strong attack costs
    little where most points fall early. A point never broken gets the last restart's example.
    Each restart's random start is drawn for every point, so results do not depend on which
    points are still running.
    """
    x0 = _per_member(x, params)
    n_members, n_points, _ = x0.shape
    eps = _per_point(eps, n_points, x0)
    step = 2.5 * eps / steps if step_size is None else _per_point(step_size, n_points, x0)
    out = torch.empty_like(x0)
    for m in range(n_members):
        layers = [{k: v[m : m + 1].detach() for k, v in layer.items()} for layer in params]
        xm, ym = x0[m], (y[m] if y.dim() == 2 else y)
        lo, hi = (xm - eps).clamp(min=0), (xm + eps).clamp(max=1)
        result, broken = xm.clone(), torch.zeros(n_points, dtype=torch.bool, device=xm.device)
        for _ in range(restarts):
            noise = uniform(xm.shape, generator, xm.dtype, xm.device) if random_start else None
            act = (~broken).nonzero().squeeze(1)
            if act.numel() == 0:
                break
            adv = xm[act] if noise is None else (xm[act] + (2 * noise[act] - 1) * eps[act]).clamp(0, 1)
            cols = [lo[act], hi[act], step[act], ym[act]]
            alive = torch.ones(len(act), dtype=torch.bool, device=xm.device)
            for _ in range(steps):
                grad, logit = _gradient_and_logit(layers, adv, cols[3], loss)
                if early_stop:
                    wrong = alive & ((logit >= 0).to(ym.dtype) != cols[3])
                    if wrong.any():
                        result[act[wrong]], broken[act[wrong]] = adv[wrong], True
                        alive &= ~wrong
                        if not alive.any():
                            break
                        if alive.sum() < 0.8 * len(alive):  # drop the broken rows once they are many
                            act, adv, grad, cols = act[alive], adv[alive], grad[alive], [c[alive] for c in cols]
                            alive = alive[alive]
                adv = adv.addcmul_(cols[2], grad.sign_())
                torch.maximum(adv, cols[0], out=adv)
                torch.minimum(adv, cols[1], out=adv)
            if alive.any():
                act, adv, y_act = act[alive], adv[alive], cols[3][alive]
                wrong = ~correct(layers, adv.unsqueeze(0), y_act)[0]
                result[act] = adv  # the last restart's example, for points it did not break
                broken[act[wrong]] = True
        out[m] = result
    return out


def uniform_noise(x: torch.Tensor, eps, n_members: int, generator=None) -> torch.Tensor:
    """x plus uniform noise in [-eps, eps] per coordinate, clipped to [0, 1]: the floor any attack
    of that size must beat (Carlini et al. 2019)."""
    x0 = x.expand(n_members, *x.shape) if x.dim() == 2 else x
    eps = torch.as_tensor(eps, dtype=x0.dtype, device=x0.device)
    eps = eps.view(1, -1, 1) if eps.dim() == 1 else eps
    return (x0 + (2 * uniform(x0.shape, generator, x0.dtype, x0.device) - 1) * eps).clamp(0, 1)


@torch.no_grad()
def correct(params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[M, N] bool: the paper's threshold (output >= 0.5, i.e. logit >= 0) gets the label right."""
    return (model.output_logit(params, x) >= 0).to(y.dtype) == y


def diagnostics(params, x: torch.Tensor, y: torch.Tensor, saturation: float = 0.01) -> list[dict]:
    """Gradient-masking checks per member (Carlini et al. 2019; Brendel & Bethge 2017):

    - bce_grad_zero_share: share of test points whose BCE input gradient is exactly zero (FGSM
      with the paper's loss cannot move them); margin_grad_zero_share: the same for the margin;
    - grad_l1_mean, grad_l2_median: size of the margin's input gradients;
    - sat_layer{k}: share of unit activations within ``saturation`` of 0 or 1, per layer;
    - the clean metrics beside them (accuracy, auc, mean output per class).
    """
    zero = {}
    for loss in LOSSES:
        g = input_gradient(params, x, y, loss).flatten(2)
        zero[loss] = (g == 0).all(dim=-1).double().mean(dim=1)
    l1, l2 = g.abs().sum(dim=-1).double(), g.norm(dim=-1).double()
    with torch.no_grad():
        acts, logit = model.forward(params, x)
    sats = [((a < saturation) | (a > 1 - saturation)).double().mean(dim=(1, 2)) for a in acts[1:]]
    clean = binary_metrics(logit, y)
    rows = []
    for s in range(g.shape[0]):
        row = {"bce_grad_zero_share": float(zero["bce"][s]), "margin_grad_zero_share": float(zero["margin"][s]),
               "grad_l1_mean": float(l1[s].mean()), "grad_l2_median": float(l2[s].median())}
        row.update({f"sat_layer{k + 1}": float(v[s]) for k, v in enumerate(sats)})
        rows.append({**row, **clean[s]})
    return rows


# ------------------------------------------------------------------ score-based attack
def subset(y: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of up to n test points, half from each class, in a seeded random order."""
    gen = torch.Generator().manual_seed(seed)
    idx = []
    for c in (0.0, 1.0):
        members = (y.cpu() == c).nonzero().flatten()
        idx.append(members[torch.randperm(len(members), generator=gen)][: n // 2])
    return torch.cat(idx).sort().values


def image_shape(n_features: int) -> tuple[int, int, int] | None:
    """1 x side x side where the inputs are square images (MNIST: 1 x 28 x 28), else None."""
    side = round(n_features**0.5)
    return (1, side, side) if side * side == n_features and side >= 4 else None


def _square_share(i_iter: int, max_iter: int, p_init: float) -> float:
    """The share of pixels a square covers at iteration i (Andriushchenko et al. 2020; ART's schedule)."""
    import bisect

    intervals = [0.001, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8]
    return p_init / 2 ** bisect.bisect_left(intervals, i_iter / max_iter)


def _square_draws(rng, max_iter: int, h: int, w: int, c: int, p_init: float):
    """Every iteration's random draws of ART's SquareAttack for one member, in one call: the square's
    side, top row, left column and per-channel sign (index 1: +eps). numpy's legacy generator gives
    the same stream for one call with an array of bounds as for ART's scalar calls in sequence."""
    import numpy as np

    sides = np.array([max(int(round((_square_share(i, max_iter, p_init) * h * w) ** 0.5)), 1) for i in range(max_iter)])
    bounds = []
    for side in sides:  # ART draws randint(0, h - side), randint(0, w - side), choice(2, size=c)
        bounds += ([h - side] if h > side else []) + ([w - side] if w > side else []) + [2] * c
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
           shape: tuple[int, int, int] | None = None, refresh: int = 100) -> torch.Tensor:
    """L-inf Square Attack (Andriushchenko et al. 2020), score-based: it queries the logits, never a
    gradient. Batched over members and points; returns x_adv [M, N, n_in].

    The algorithm, random draws included, is ART's ``SquareAttack`` (norm inf, one restart): each
    member draws from its own ``numpy.random.RandomState(seed)`` exactly what ART draws from the global
    generator after ``numpy.random.seed(seed)``, so a member's result equals ART's on that member alone
    up to float rounding (tested). Per member and iteration one square of side ~sqrt(share x H x W)
    gets new signs +-eps; the change is kept where it lowers the margin. One query per point and
    iteration (ART spends two). Only the square's pixels change, so the first layer's input is
    updated for those alone, and recomputed in full every ``refresh`` iterations.
    ``shape``: (C, H, W) of an input; default 1 x side x side for square images, else C = n_in, 1 x 1
    (then each iteration proposes a random vertex of the eps-box).
    """
    import numpy as np

    m_count = _members(params)
    x0 = _per_member(x, params).contiguous()
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
    robust = loss >= 0  # the paper's threshold: logit >= 0 is class 1
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
    draws = [_square_draws(r, max_iter, h, w, c, p_init) for r in rng]
    sides = draws[0][0]
    top = torch.as_tensor(np.stack([d[1] for d in draws]), device=x0.device)
    left = torch.as_tensor(np.stack([d[2] for d in draws]), device=x0.device)
    up = torch.as_tensor(np.stack([d[3] for d in draws]) == 1, device=x0.device)  # [M, iters, c]
    ch = torch.arange(c, device=x0.device).view(c, 1, 1) * (h * w)
    weight = first["weight"]
    for i in range(max_iter):
        robust = loss >= 0
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
