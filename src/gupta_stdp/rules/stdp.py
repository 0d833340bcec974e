"""The STDP learning rule of Gupta (2020), eq. 3, with its fixed associativity (SPEC section 2).

Everything here is local: a layer's update reads only its own pre-synaptic activity ``x``, its
own post-synaptic activity ``p`` and a fixed associativity sign. No error and no weight travels
back, and no autograd is used. The only signal from the output side is the sign of the label.
"""

from __future__ import annotations

import functools
import logging

import torch

from ..errors import KnownError
from ..seeding import subseed
from .base import Rule

log = logging.getLogger(__name__)


class CompileError(KnownError, RuntimeError):
    """stdp.impl: compiled where torch.compile cannot build the fused update."""


def stdp_rule(x: torch.Tensor, p: torch.Tensor, z: torch.Tensor, eps) -> torch.Tensor:
    """Paper eq. 3: dW[j, i] = mean_b Z[b, j] x[b, i]^3 p[b, j] (x[b, i] - p[b, j]) / ((2 p[b, j] - x[b, i])^2 + eps).

    x: [..., B, n_in] pre-synaptic rates; p: [..., B, n_out] post-synaptic rates;
    z: [..., B, n_out] associativity (+1 / -1); eps: a number, or a tensor that broadcasts
    against [..., B, n_out, n_in] (one value per member). Returns dW: [..., n_out, n_in].
    """
    x = x.unsqueeze(-2)  # [..., B, 1, n_in]
    p = p.unsqueeze(-1)  # [..., B, n_out, 1]
    z = z.unsqueeze(-1)
    return (z * x**3 * p * (x - p) / ((2 * p - x) ** 2 + eps)).mean(dim=-3)


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


def local_updates(acts, label_sign, layer_zs, eps, bias_mask):
    """The STDP update of every layer from one forward pass. No autograd.

    acts: [x, h1, h2, out], each [M, B, n]; label_sign: [M, B] (+1 for y = 1, -1 for y = 0);
    layer_zs: per layer [M, n_out] fixed associativity (ones for the output neuron); eps: [M, 1, 1, 1]
    (or a number); bias_mask: [M, 1], 1 where biases learn, 0 where they are frozen.
    Returns [(dW, db)] per layer; a bias is a synapse from a pre-neuron fixed at x = 1.
    """
    out = []
    for x, p, z in zip(acts[:-1], acts[1:], layer_zs):
        zz = associativity(label_sign, z)
        dw = stdp_rule(x, p, zz, eps)
        db = stdp_rule(torch.ones_like(p[..., :1]), p, zz, eps)[..., 0] * bias_mask
        out.append((dw, db))
    return out


def eps_dominated(acts, eps):
    """Per layer, [M] counts of (sample, post, pre) triples where eps outweighs (2p - x)^2 in the
    rule's denominator, i.e. |2p - x| < sqrt(eps): there the update is ~1/eps-sized."""
    out = []
    for x, p in zip(acts[:-1], acts[1:]):
        d2 = (2 * p.unsqueeze(-1) - x.unsqueeze(-2)) ** 2
        out.append((d2 < eps).flatten(1).sum(dim=1))
    return out


@functools.lru_cache(maxsize=None)
def compiled(fn):
    """``fn`` fused by torch.compile: one graph for all layers per batch shape, instead of ~10
    materialised [M, B, n_out, n_in] temporaries per layer."""
    return torch.compile(fn, dynamic=False)


IMPLS = ("reference", "compiled", "auto")


_compile_failure: list[str] = []  # why torch.compile failed in this process, once it has


class Guarded:
    """The compiled function, falling back to the eager one where torch.compile cannot build a
    kernel (e.g. a cluster node without a C++ compiler): with ``impl: auto`` it warns once in the
    job's log and carries on eagerly; with ``impl: compiled`` it stops with a message that says why."""

    def __init__(self, fn, impl: str):
        self.fn, self.impl, self.active, self.checked = fn, impl, compiled(fn), False

    def _fail(self, reason: str, err=None):
        if self.impl == "compiled":
            raise CompileError(
                "stdp.impl is 'compiled' but torch.compile could not build the fused STDP update on this "
                f"node ({reason}). Usually no working C++ compiler is installed (g++, or the one $CXX names). "
                "Fix: install one, or set stdp.impl: auto (falls back to the eager rule) or reference."
            ) from err
        if not _compile_failure:
            log.warning("torch.compile could not build the fused STDP update (%s); using the eager rule "
                        "(stdp.impl: reference), same numbers up to float rounding, slower. Install a C++ "
                        "compiler on this node for the fast path.", reason)
            _compile_failure.append(reason)
        self.active, self.impl = self.fn, "reference"

    def __call__(self, *args):
        if self.checked:
            return self.active(*args)
        if _compile_failure:  # another update of this job already found the compiler missing
            self._fail(_compile_failure[0])
            self.checked = True
            return self.active(*args)
        try:
            out = self.active(*args)
        except Exception as err:  # noqa: BLE001 - decided below: compile failure or a real error
            out = self.fn(*args)  # a real error in the rule raises here too, as it should
            text = str(err).strip()
            self._fail(f"{type(err).__name__}: {text.splitlines()[0] if text else ''}", err)
        else:
            self.impl = "compiled"  # auto, once the compiled kernel has run: what provenance records
        self.checked = True
        return out


def select(fn, impl: str, work_size: int, min_compiled_size: int = 200_000):
    """reference: ``fn`` eagerly; compiled: fused; auto: fused only where the update (work_size =
    members x batch x the weights of all layers) is big enough to repay compiling."""
    if impl not in IMPLS:
        raise ValueError(f"stdp.impl must be one of {', '.join(IMPLS)}, not {impl!r}")
    if impl == "compiled" or (impl == "auto" and work_size >= min_compiled_size):
        return Guarded(fn, impl)
    return fn


class STDP(Rule):
    """Paper eq. 3 for a population: each member has its own eps, bias handling and hidden
    associativity balance (the ablation variants of SPEC 6 train with the base rule in one job)."""

    name = "stdp"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        st = [m.settings for m in self.members]
        impls = {s.get("impl", "auto") for s in st}
        if len(impls) != 1:
            raise ValueError(f"the members of one STDP population must share stdp.impl, got {sorted(impls)}")
        self.impl = impls.pop()
        m = len(self.members)
        self.eps = torch.tensor([s.get("eps", 1e-9) for s in st], dtype=self.dtype, device=self.device)
        self.eps_b = self.eps.view(m, 1, 1, 1)
        bias = [s.get("bias", "presynaptic_one") for s in st]
        bad = set(bias) - {"presynaptic_one", "frozen"}
        if bad:
            raise ValueError(f"stdp.bias must be presynaptic_one or frozen, not {sorted(bad)}")
        self.bias_mask = torch.tensor([[b == "presynaptic_one"] for b in bias], dtype=self.dtype, device=self.device)
        hidden = self.sizes[1:-1]
        zs = [hidden_associativity(mb.seed, hidden, s.get("hidden_balance", 0.5)) for mb, s in zip(self.members, st)]
        self.layer_zs = [torch.stack([z[k] for z in zs]).to(self.device, self.dtype) for k in range(len(hidden))]
        self.layer_zs.append(torch.ones(m, 1, device=self.device, dtype=self.dtype))
        work = m * self.batch_size * sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        self.local_updates = select(local_updates, self.impl, work)
        self.count_dominated = select(eps_dominated, self.impl, work)
        self._stats = None

    @torch.no_grad()
    def updates(self, acts, logit, y, params):
        upd = self.local_updates(acts, 2 * y - 1, self.layer_zs, self.eps_b, self.bias_mask)
        return [(-dw, -db) for dw, db in upd]  # Adam descends .grad, so it moves each weight along +dW

    def state(self):
        return {f"z{k + 1}": z for k, z in enumerate(self.layer_zs[:-1])}

    @property
    def impl_used(self) -> str:
        """What ran: 'compiled' or 'reference' (auto may have fallen back); 'auto' before the first
        update."""
        fn = self.local_updates
        return fn.impl if isinstance(fn, Guarded) else "reference"

    @torch.no_grad()
    def track(self, acts, grads):
        """Accumulate, per layer and member, how often eps dominates and how large the updates get."""
        dominated = self.count_dominated(acts, self.eps_b)
        if self._stats is None:
            zeros = torch.zeros(len(self.members), dtype=self.dtype, device=self.device)
            self._stats = [{"dominated": torch.zeros_like(d), "elements": 0, "max_abs": zeros, "sum_abs": zeros, "n": 0}
                           for d in dominated]
        for st, d, (gw, _), x, p in zip(self._stats, dominated, grads, acts[:-1], acts[1:]):
            a = gw.abs().flatten(1)
            st["dominated"] = st["dominated"] + d
            st["elements"] += x.shape[-2] * x.shape[-1] * p.shape[-1]
            st["max_abs"] = torch.maximum(st["max_abs"], a.max(dim=1).values)
            st["sum_abs"] = st["sum_abs"] + a.mean(dim=1)
            st["n"] += 1

    def flush(self, epoch: int) -> list[dict]:
        if self._stats is None:
            return []
        rows = []
        for k, st in enumerate(self._stats):
            share = (st["dominated"].double() / st["elements"]).tolist()
            mx, mean = st["max_abs"].tolist(), (st["sum_abs"] / st["n"]).tolist()
            rows += [{"method": m.method, "seed": m.seed, "epoch": epoch, "layer": k + 1, "eps_dominated_share": share[i],
                      "max_abs_update": mx[i], "mean_abs_update": mean[i]} for i, m in enumerate(self.members)]
        self._stats = None
        return rows
