"""The attacks' details, checked exactly on a one-layer linear model in float64 (logit = w.x + b):
its margin-loss input gradient is -(2y - 1) w, so every iterate of FGSM and PGD is known in closed
form, and with dyadic numbers (multiples of 1/128) every one is exact. w has a zero coordinate,
where the gradient is 0 and an attack must leave the input (or its random start) alone. Also the
uniform noise, and the Square Attack's helpers against ART's."""

import numpy as np
import pytest
import torch

from gupta_stdp import attacks
from gupta_stdp.attacks import gradient
from gupta_stdp.attacks import square as sq

W = torch.tensor([1.0, -2.0, 0.0, 0.5], dtype=torch.float64)  # ||w||_1 = 3.5
SW = W.sign()


def linear(bias=0.25, dtype=torch.float64):
    """One member: logit(x) = w.x + bias; with bias 0.25 the logit at x = 0.5 is 0."""
    return [{"weight": W.to(dtype).view(1, 1, 4).clone(), "bias": torch.tensor([[bias]], dtype=dtype)}]


def points(ds, ys):
    """x = 0.5 + (2y - 1) d sign(w) per point: classified correctly, logit (2y - 1) 3.5 d, and d is
    the smallest L-inf perturbation that breaks it (it is reached at x - (2y - 1) d sign(w))."""
    y = torch.tensor(ys, dtype=torch.float64)
    d = torch.tensor(ds, dtype=torch.float64)
    return 0.5 + ((2 * y - 1) * d)[:, None] * SW, y


def toward_boundary(x, y, dist):
    """x moved by ``dist`` (per point) against its label along sign(w); the zero coordinate kept."""
    return x - ((2 * y - 1) * torch.as_tensor(dist, dtype=torch.float64))[:, None] * SW


# ---------------------------------------------------------------- FGSM


def test_fgsm_is_a_clipped_signed_step_per_point_in_float64():
    """x_adv = clamp(x - (2y - 1) eps sign(w), 0, 1) exactly, for a number eps (used at the
    gradient's float64, not rounded to float32) and a per-point eps [N] (N = 3 points, 4 features:
    a per-point eps must meet the points, not the features); the zero-gradient coordinate stays.
    Mutations: eps cast without the gradient's dtype; the per-point eps not viewed as [1, N, 1]
    (``and False``, ``!= 1``, ``== 2``, other view shapes); ``eps / sign`` (inf where the gradient
    is 0)."""
    params = linear()
    x = torch.full((3, 4), 0.3, dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)
    sign = (2 * y - 1)[:, None] * SW
    torch.testing.assert_close(attacks.fgsm(params, x, y, 0.1)[0], (x - 0.1 * sign).clamp(0, 1), rtol=0, atol=0)
    eps = torch.tensor([0.1, 0.2, 0.75], dtype=torch.float64)
    adv = attacks.fgsm(params, x, y, eps)
    assert adv.shape == (1, 3, 4)
    torch.testing.assert_close(adv[0], (x - eps[:, None] * sign).clamp(0, 1), rtol=0, atol=0)
    assert adv[0, 2, 0] == 0.0 and adv[0, 2, 1] == 1.0 and (adv[0, :, 2] == 0.3).all()


def test_fgsm_uses_the_loss_asked_for_and_a_given_gradient():
    """A confident class-1 point (logit 40) in float32: BCE's gradient is exactly 0 (FGSM leaves x
    as it is), the margin's is -w (FGSM steps to x - eps sign(w)); a gradient passed in is used as
    given. Mutations: the loss not passed to input_gradient (BCE always); the given gradient
    recomputed (``or True``); ``eps / sign`` (BCE's zero gradient sends x to 1)."""
    params = linear(bias=40.0, dtype=torch.float32)
    x, y = torch.full((2, 4), 0.5), torch.ones(2)
    assert torch.equal(attacks.fgsm(params, x, y, 0.1, loss="bce")[0], x)
    step = (x - 0.1 * SW.float()).clamp(0, 1)
    torch.testing.assert_close(attacks.fgsm(params, x, y, 0.1, loss="margin")[0], step)
    margin_grad = attacks.input_gradient(params, x, y, "margin")
    torch.testing.assert_close(attacks.fgsm(params, x, y, 0.1, grad=margin_grad)[0], step)


# ---------------------------------------------------------------- PGD


def test_pgd_defaults_step_2_5_eps_over_20_and_stop_at_the_first_success():
    """Defaults (20 steps of 2.5 eps / 20 = eps / 8, early stop, the margin loss) at eps = 1/8,
    without a random start, on two points with d = 1/64 = one step: the class-0 point sits exactly
    on the boundary after one step (logit 0 reads as class 1: broken) and that iterate is returned;
    the class-1 point at logit 0 still counts as correct and falls one step later.
    Mutations: 21 steps or 3.5 eps / steps or eps * steps or 1 / eps as the step; no early stop by
    default; ``>`` for ``>=`` in the early-stop decision."""
    x, y = points([1 / 64, 1 / 64], [1.0, 0.0])
    adv = attacks.pgd(linear(), x, y, 0.125, random_start=False)[0]
    torch.testing.assert_close(adv, toward_boundary(x, y, [2 / 64, 1 / 64]), rtol=0, atol=0)
    assert (adv[1] == 0.5).all()


@pytest.fixture
def batch_sizes(monkeypatch):
    """The number of points PGD differentiates at each step."""
    sizes = []
    original = gradient.gradient_and_logit

    def spy(layers, x, y, loss):
        sizes.append(len(x))
        return original(layers, x, y, loss)

    monkeypatch.setattr(gradient, "gradient_and_logit", spy)
    return sizes


def test_pgd_keeps_each_first_success_and_drops_broken_rows_once_a_fifth_fell(batch_sizes):
    """Eight steps of eps / 4 (eps = 1/8), no random start: A (d = 5/128) falls at iterate 2, D
    (d = 10/128) at iterate 3, three points never do (d = 1/4) and end at the vertex x -+ eps sign(w).
    Each broken point keeps its first-success iterate. The broken rows are dropped once fewer than
    80% of the rows are alive: not after A (4 of 5 alive), after D (3 of 5): 5 points differentiated
    at steps 0-3, 3 at steps 4-7.
    Mutations: ``alive = ~wrong`` / ``alive |= ~wrong`` (a broken point revived, its example
    overwritten later); ``<=`` for ``<``, ``0.8 / len``, ``1.8 * len`` in the drop rule."""
    x, y = points([5 / 128, 10 / 128, 0.25, 0.25, 0.25], [1.0, 0.0, 1.0, 0.0, 1.0])
    adv = attacks.pgd(linear(), x, y, 0.125, steps=8, step_size=1 / 32, random_start=False)[0]
    torch.testing.assert_close(adv, toward_boundary(x, y, [8 / 128, 12 / 128, 0.125, 0.125, 0.125]), rtol=0, atol=0)
    assert batch_sizes == [5] * 4 + [3] * 4


def test_pgd_full_first_restart_runs_every_point_to_the_last_step(batch_sizes):
    """full_first_restart with every point broken before the end (A at iterate 2, D at 3): the
    first successes are returned as ``adv``, the last iterates (the vertex x -+ eps sign(w)) as
    ``last``, and no row is dropped. Mutation: ``if full and not alive.any()`` (the run stops once
    every point fell, ``last`` holds iterate 3)."""
    x, y = points([5 / 128, 10 / 128], [1.0, 0.0])
    adv, last = attacks.pgd(linear(), x, y, 0.125, steps=8, step_size=1 / 32, random_start=False,
                            full_first_restart=True)
    torch.testing.assert_close(adv[0], toward_boundary(x, y, [8 / 128, 12 / 128]), rtol=0, atol=0)
    torch.testing.assert_close(last[0], toward_boundary(x, y, [0.125, 0.125]), rtol=0, atol=0)
    assert batch_sizes == [2] * 8


@pytest.mark.parametrize("steps", [1, 3])
def test_pgd_restarts_from_uniform_starts_and_attack_only_unbroken_points(steps):
    """Random start x + (2u - 1) eps with u the generator's float64 uniform draws for every point,
    one draw per restart; steps of 2 eps reach the vertex at once. A (d = 0.9 eps) falls in restart 1
    (found by the early stop at iterate 1 with 3 steps, by the check after the last step with 1), so
    it keeps restart 1's example: vertex, and restart 1's start on the zero-gradient coordinate; C
    (d = 2 eps) never falls and gets the last restart's. By default one restart (C: restart 1's start).
    Mutations: the start's draws at float32 (dtype dropped) or subtracted; a restart skipped when
    one point is left (``== 1``); a broken point not marked broken (early stop, or the final check:
    ``False``, ``wrong = None``, ``correct`` for ``~correct``); two restarts by default."""
    eps, seed = 0.125, 7
    x, y = points([0.9 * eps, 2 * eps], [1.0, 0.0])
    g = torch.Generator().manual_seed(seed)
    u1, u2 = (torch.rand((2, 4), generator=g, dtype=torch.float64) for _ in range(2))
    starts = [(x + (2 * u - 1) * eps).clamp(0, 1) for u in (u1, u2)]
    params = linear()
    assert attacks.correct(params, starts[0][:1], y[:1]).all()  # A's random start does not break it
    vertex = toward_boundary(x, y, [eps, eps])
    kw = {"steps": steps, "step_size": 2 * eps}
    adv = attacks.pgd(params, x, y, eps, restarts=2, generator=torch.Generator().manual_seed(seed), **kw)[0]
    expected = vertex.clone()
    expected[0, 2], expected[1, 2] = starts[0][0, 2], starts[1][1, 2]
    torch.testing.assert_close(adv, expected, rtol=0, atol=0)
    assert not attacks.correct(params, adv[:1], y[:1]).any() and attacks.correct(params, adv[1:], y[1:]).all()
    one = attacks.pgd(params, x, y, eps, generator=torch.Generator().manual_seed(seed), **kw)[0]
    assert one[1, 2] == starts[0][1, 2]


# ---------------------------------------------------------------- uniform noise


def test_uniform_noise_is_x_plus_scaled_draws_clipped_to_the_unit_box():
    """x [3, 4] shared by 2 members: x + (2u - 1) eps with u the generator's float64 draws [2, 3, 4],
    clipped to [0, 1] (x holds 0 and 1, so both bounds bite), for a number eps (kept at x's float64)
    and a per-point eps [3]. Mutations: x not expanded per member; eps at float32; the per-point
    eps viewed wrongly; either clip bound dropped or 2; ``-`` for ``+``; 3u or -2; the generator
    or the dtype not passed to the draws."""
    x = torch.tensor([[0.0, 1.0, 0.5, 0.02], [0.98, 0.3, 0.0, 1.0], [0.5, 0.5, 0.5, 0.5]], dtype=torch.float64)
    for eps in (0.1, torch.tensor([0.1, 0.3, 0.05], dtype=torch.float64)):
        u = torch.rand((2, 3, 4), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        e = eps[:, None] if torch.is_tensor(eps) else eps
        out = attacks.uniform_noise(x, eps, 2, generator=torch.Generator().manual_seed(1))
        assert out.shape == (2, 3, 4) and out.dtype == torch.float64
        torch.testing.assert_close(out, (x + (2 * u - 1) * e).clamp(0, 1), rtol=0, atol=0)
        assert out.min() == 0 and out.max() == 1 and ((out - x).abs() <= e).all()


def test_uniform_draws_one_block_of_points_per_generator():
    """A list of generators: block k of the points (dim -2) is what generator k alone draws for a
    block, for a batch of members too ([2, 6, 5], blocks of 2 points); by default float32 on the CPU.
    Mutations: the leading dims dropped (``shape[:-3]`` or none), ``shape[+1]`` for the features,
    the blocks concatenated along dim 0; the default device misspelt."""
    gens = lambda: [torch.Generator().manual_seed(k) for k in (3, 4, 5)]
    out = attacks.uniform((2, 6, 5), gens(), torch.float64)
    assert out.shape == (2, 6, 5)
    for k, g in enumerate(gens()):
        assert torch.equal(out[:, 2 * k : 2 * k + 2], attacks.uniform((2, 2, 5), g, torch.float64))
    plain = attacks.uniform((3, 2))
    assert plain.dtype == torch.float32 and plain.device.type == "cpu" and ((plain >= 0) & (plain < 1)).all()


def test_fgsm_and_noise_follow_the_inputs_device():
    """The attack job keeps model and points on one device (a GPU), while a per-point eps may come
    from the CPU: FGSM and the uniform noise move eps, and draw their noise, onto the inputs' device.
    Checked on PyTorch's ``meta`` device (shapes without data), where mixing in a CPU tensor fails.
    Mutations: ``device=None`` or no device where eps is made a tensor (FGSM, noise), or where the
    noise is moved (``.to(None)``, uniform called without the device or with None)."""
    meta = torch.device("meta")
    params = [{"weight": torch.ones(1, 1, 4, device=meta), "bias": torch.zeros(1, 1, device=meta)}]
    x, y, eps = torch.rand(3, 4, device=meta), torch.ones(3, device=meta), torch.tensor([0.1, 0.2, 0.3])
    adv = attacks.fgsm(params, x, y, eps)
    assert adv.device == meta and adv.shape == (1, 3, 4)
    noisy = attacks.uniform_noise(x, eps, 2, generator=torch.Generator().manual_seed(0))
    assert noisy.device == meta and noisy.shape == (2, 3, 4)
    for gen in (torch.Generator(), [torch.Generator(), torch.Generator()]):
        assert attacks.uniform((4, 3), gen, torch.float32, meta).device == meta


# ---------------------------------------------------------------- Square Attack helpers


def test_image_shape_only_for_square_images_of_side_4_or_more():
    """Mutations: ``or True`` / ``or`` for ``and`` (a non-square or 3 x 3 input taken for an image)."""
    assert sq.image_shape(784) == (1, 28, 28) and sq.image_shape(16) == (1, 4, 4)
    assert sq.image_shape(20) is None and sq.image_shape(9) is None and sq.image_shape(5) is None


def test_square_share_follows_the_papers_schedule():
    """The share of pixels a square covers halves after iterations 10, 50, 200, 500, 1000, 2000,
    4000, 6000 and 8000 of 10 000, rescaled to the run's length (Andriushchenko et al. 2020; ART's
    schedule), checked at every iteration of a 1000- and a 300-iteration run in integer arithmetic.
    Mutations: any interval bound changed (e.g. 0.05 -> 1.05, 0.8 -> 1.8)."""
    halve_after = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000]
    for max_iter in (1000, 300):
        for i in range(max_iter):
            halvings = sum(i * 10000 > t * max_iter for t in halve_after)
            assert sq._square_share(i, max_iter, 0.3) == 0.3 / 2**halvings, (max_iter, i)


def _stripe_step(params, x, y, eps, seed):
    """The Square Attack's first step on a one-layer model and inputs that are no image (C = n_in,
    1 x 1): per point a random sign per feature (numpy RandomState(seed).choice([-1, 1])), kept
    where it lowers the margin (2y - 1) logit."""
    s = np.random.RandomState(seed).choice([-1, 1], size=(len(x), x.shape[1], 1, 1)).reshape(len(x), -1)
    cand = (x + eps * torch.as_tensor(s, dtype=torch.float64)).clamp(0, 1)
    margin = lambda a: (2 * y - 1) * (a @ W + params[0]["bias"][0, 0])
    return torch.where((margin(cand) < margin(x))[:, None], cand, x)


def test_square_on_inputs_that_are_no_image():
    """C = n_in, 1 x 1: no square position is drawn, so ART's draws and the full grid are the same
    attack (ART itself would call randint(0, 0) here); with max_iter = 0 only the first step runs.
    Mutations: a position drawn where the square covers the whole side (``or True``, ``>=`` for
    ``>``: randint(0, 0) fails with ART's draws); the empty draw made with a bad shape."""
    params = linear()
    x, y = points([0.1, 0.05, 0.2], [1.0, 0.0, 1.0])
    assert sq.image_shape(4) is None
    full = sq.square(params, x, y, 0.08, 30, seed=2)
    assert torch.equal(full, sq.square(params, x, y, 0.08, 30, seed=2, art_draws=True))
    torch.testing.assert_close(sq.square(params, x, y, 0.08, 0, seed=2)[0], _stripe_step(params, x, y, 0.08, 2),
                               rtol=0, atol=1e-15)
