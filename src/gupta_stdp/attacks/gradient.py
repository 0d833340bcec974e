"""The gradient attacks: FGSM (Goodfellow et al. 2015) and L-inf PGD (Madry et al. 2018)."""

from __future__ import annotations

import torch

from .losses import correct, gradient_and_logit, input_gradient, per_member
from .noise import uniform


def fgsm(params, x: torch.Tensor, y: torch.Tensor, eps, loss: str = "bce", grad: torch.Tensor | None = None):
    """x_adv = clamp(x + eps * sign(grad_x loss), 0, 1), per member. ``eps`` is a number or a
    per-point tensor [N]; pass ``grad`` to reuse one gradient for many eps."""
    grad = input_gradient(params, x, y, loss) if grad is None else grad
    eps = torch.as_tensor(eps, dtype=grad.dtype, device=grad.device)
    eps = eps.view(1, -1, 1) if eps.dim() == 1 else eps
    return (per_member(x, params) + eps * grad.sign()).clamp(0.0, 1.0).detach()


def _per_point(v, n: int, like: torch.Tensor) -> torch.Tensor:
    """A number or a per-point tensor [n] as a column [n, 1]."""
    return torch.as_tensor(v, dtype=like.dtype, device=like.device).expand(n).reshape(n, 1)


def pgd(params, x: torch.Tensor, y: torch.Tensor, eps, steps: int = 20, step_size=None, restarts: int = 1,
        random_start: bool = True, generator=None, loss: str = "margin", early_stop: bool = True,
        full_first_restart: bool = False):
    """L-inf PGD, one member at a time, all points together: ``steps`` signed-gradient steps of
    ``step_size`` (default 2.5 eps / steps), each projected onto the eps-ball around x and onto
    [0, 1]. ``eps`` (and ``step_size``) may be per point ([N]): many eps in one pass, the points
    repeated once per eps.

    A point counts as broken as soon as an iterate of any restart misclassifies it, and that
    example is returned (``early_stop=False``: only each restart's last iterate counts, as in ART);
    later steps and restarts run on the points still unbroken only, so that a strong attack costs
    little where most points fall early. A point never broken gets the last restart's example.
    Each restart's random start is drawn for every point, so results do not depend on which
    points are still running.

    ``full_first_restart``: the first restart runs every point through all ``steps`` (a broken
    point still counts from its first success), and the function returns ``(adv, last)``, where
    ``last`` holds each point's final iterate of that restart: converged examples, far past the
    boundary where the attack succeeds, which a transfer attack carries to another model.
    """
    x0 = per_member(x, params)
    n_members, n_points, _ = x0.shape
    eps = _per_point(eps, n_points, x0)
    step = 2.5 * eps / steps if step_size is None else _per_point(step_size, n_points, x0)
    out = torch.empty_like(x0)
    last = torch.empty_like(x0) if full_first_restart else None
    for m in range(n_members):
        layers = [{k: v[m : m + 1].detach() for k, v in layer.items()} for layer in params]
        xm, ym = x0[m], (y[m] if y.dim() == 2 else y)
        lo, hi = (xm - eps).clamp(min=0), (xm + eps).clamp(max=1)
        result, broken = xm.clone(), torch.zeros(n_points, dtype=torch.bool, device=xm.device)
        for r in range(restarts):
            full = full_first_restart and r == 0
            noise = uniform(xm.shape, generator, xm.dtype, xm.device) if random_start else None
            act = (~broken).nonzero().squeeze(1)
            if act.numel() == 0:
                break
            adv = xm[act] if noise is None else (xm[act] + (2 * noise[act] - 1) * eps[act]).clamp(0, 1)
            cols = [lo[act], hi[act], step[act], ym[act]]
            alive = torch.ones(len(act), dtype=torch.bool, device=xm.device)
            for _ in range(steps):
                grad, logit = gradient_and_logit(layers, adv, cols[3], loss)
                if early_stop:
                    wrong = alive & ((logit >= 0).to(ym.dtype) != cols[3])
                    if wrong.any():
                        result[act[wrong]], broken[act[wrong]] = adv[wrong], True
                        alive &= ~wrong
                        if not full and not alive.any():
                            break
                        if not full and alive.sum() < 0.8 * len(alive):  # drop the broken rows once they are many
                            act, adv, grad, cols = act[alive], adv[alive], grad[alive], [c[alive] for c in cols]
                            alive = alive[alive]
                adv = adv.addcmul_(cols[2], grad.sign_())
                torch.maximum(adv, cols[0], out=adv)
                torch.minimum(adv, cols[1], out=adv)
            if full:
                last[m, act] = adv
            if alive.any():
                act, adv, y_act = act[alive], adv[alive], cols[3][alive]
                wrong = ~correct(layers, adv.unsqueeze(0), y_act)[0]
                result[act] = adv  # the last restart's example, for points it did not break
                broken[act[wrong]] = True
        out[m] = result
    return (out, last) if full_first_restart else out
