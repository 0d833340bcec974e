"""Details of the STDP rule (SPEC 2) that tests/test_stdp_rule.py and tests/test_fast_rule.py leave
open: the associativity's stream and product, the strict eps-dominated count, where ``select`` and
the STDP population switch to the fused update, the guard around torch.compile (which reason it
records, what it raises, when it decides), the population's settings, device and dtype, its saved
state and its per-epoch statistics. All in one step, on hand-made or small random inputs; the
compiler is replaced by a stand-in, so no test here compiles anything."""

import re

import pytest
import torch

from gupta_stdp.rules import stdp
from gupta_stdp.rules.base import Member
from gupta_stdp.rules.stdp import STDP, CompileError, Guarded, eps_dominated, local_updates, select
from gupta_stdp.seeding import subseed

from test_fast_rule import EPS, MASK, _acts


class FakeCompile:
    """Stands in for ``stdp.compiled``: the "fused" function runs ``fn`` and tags its result with
    "fused", so a test sees which path ran; from call ``fail_from`` on it raises ``error`` instead
    (fail_from=1: the compiler is missing from the start)."""

    def __init__(self, error=None, fail_from=1):
        self.error, self.fail_from, self.calls = error, fail_from, 0

    def __call__(self, fn):
        def fused(*args):
            self.calls += 1
            if self.error is not None and self.calls >= self.fail_from:
                raise self.error
            return "fused", fn(*args)
        return fused


@pytest.fixture
def compiler(monkeypatch):
    """Install a FakeCompile (working unless told otherwise) and a fresh, empty process-wide record
    of compile failures, so that no test depends on what ran before it."""
    def install(**kw):
        fake = FakeCompile(**kw)
        monkeypatch.setattr(stdp, "compiled", fake)
        return fake

    monkeypatch.setattr(stdp, "_compile_failure", [])
    return install


def _same(a, b):
    for (dw, db), (dw2, db2) in zip(a, b):
        assert torch.equal(dw, dw2) and torch.equal(db, db2)


# ---------------------------------------------------------------- associativity


def test_associativity_is_the_outer_product_of_label_sign_and_layer_z():
    """Z[m, b, j] = layer_z[m, j] * label_sign[m, b], checked element by element against the
    definition with values other than +-1 (where x / z and x * z differ). Mutation: ``/`` for ``*``
    (label_sign / layer_z); this test fails."""
    sign = torch.tensor([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]])  # [M=2, B=3]
    layer_z = torch.tensor([[2.0, -0.5], [4.0, 1.0]])  # [M, n_out=2]
    got = stdp.associativity(sign, layer_z)
    assert got.shape == (2, 3, 2)
    for m in range(2):
        for b in range(3):
            for j in range(2):
                assert got[m, b, j] == layer_z[m, j] * sign[m, b]


def test_hidden_associativity_is_the_runs_associativity_stream():
    """The hidden z is drawn from the seed's named sub-seed "associativity" (seeding: each stream
    has its own name, so adding a stream never shifts another, and a seed's associativity stays
    what earlier runs drew): the +1 neurons are the first round(balance * n) of one permutation
    of that stream per layer, in order. Mutation: the stream renamed ("ASSOCIATIVITY"); this test
    fails."""
    for seed in (0, 7):
        gen = torch.Generator().manual_seed(subseed(seed, "associativity"))
        zs = stdp.hidden_associativity(seed, [32, 16], balance=0.25)
        for z, n in zip(zs, (32, 16)):
            plus = torch.randperm(n, generator=gen)[:round(0.25 * n)]
            expected = -torch.ones(n)
            expected[plus] = 1.0
            assert torch.equal(z, expected)


# ---------------------------------------------------------------- eps_dominated


def test_eps_dominated_is_strict_and_counts_both_signs_of_2p_minus_x():
    """Counted: (2p - x)^2 < eps, strictly, whatever the sign of 2p - x. Hand-made layer, exact in
    float64: x = (0.25, 0.9), p = 0.25: 2p - x = 0.25 and -0.4, squares 0.0625 and 0.16. With
    eps = 0.0625 the first ties (not dominated: eps does not outweigh it) and the second is above:
    0 of 2; eps = 0.0625 + 1e-12 counts the first, eps = 1e-9 neither (a negative 2p - x cubed
    would be < eps). Mutations: ``<=`` for ``<``, ``** 3`` for ``** 2``; this test fails on each."""
    x = torch.tensor([[[0.25, 0.9]]], dtype=torch.float64)  # [M=1, B=1, n_in=2]
    p = torch.tensor([[[0.25]]], dtype=torch.float64)  # [M, B, n_out=1]
    assert eps_dominated([x, p], 0.0625)[0].tolist() == [0]
    assert eps_dominated([x, p], 0.0625 + 1e-12)[0].tolist() == [1]
    assert eps_dominated([x, p], 1e-9)[0].tolist() == [0]


# ---------------------------------------------------------------- select and the guard


def test_select_switches_to_the_fused_update_at_min_compiled_size(compiler):
    """reference: always the eager function; compiled: always the guard; auto: the guard from
    work_size >= min_compiled_size (default 200 000) on, the eager function below. The guard runs
    the fused function (its tagged result) and then records impl "compiled", also under auto (the
    provenance's stdp_impl said "auto" before). Mutations: the ``else: self.impl = "compiled"``
    dropped, the default 200 001,
    ``>`` for ``>=``, ``and`` for ``or`` or ``or`` for ``and``, ``!=`` for ``==``, the impl names
    changed, and ``Guarded(None, impl)``, ``Guarded(fn, None)``, ``Guarded(impl)``, ``Guarded(fn)``;
    this test fails on each."""
    compiler()
    fn = stdp.eps_dominated
    assert select(fn, "auto", 199_999) is fn
    assert isinstance(select(fn, "auto", 200_000), Guarded)
    assert select(fn, "auto", 10, min_compiled_size=11) is fn
    assert isinstance(select(fn, "auto", 11, min_compiled_size=11), Guarded)
    assert select(fn, "reference", 10**9) is fn
    acts = _acts(0, shape=(2, 3, 4, 3, 2))[0]
    for impl, size in (("compiled", 1), ("auto", 10**6)):
        g = select(fn, impl, size)
        assert isinstance(g, Guarded) and g.impl == impl
        tag, out = g(acts, EPS)
        assert tag == "fused" and g.impl == "compiled"  # what ran, as provenance records it
        assert all(torch.equal(a, b) for a, b in zip(out, fn(acts, EPS)))


def test_auto_falls_back_and_records_the_first_line_of_the_compile_error(compiler):
    """A compiler that fails on the first call: ``auto`` returns the eager rule's result on every
    call, switches to impl "reference" and never calls the fused function again, and records
    "<type>: <first line of the message>" once for the whole process; a guard built later then
    does not try to compile at all, and with ``compiled`` stops at once with a CompileError that
    names that first failure. Mutations: checked=True from the start, ``out = None``, the fallback
    not made (``self.active, self.impl = None``) or named "XXreferenceXX"/"REFERENCE", the reason
    None, str(None), err itself, type(None), the second line, the ``text`` test made always false,
    nothing or None appended to the record, ``!=`` for ``== "compiled"``, ``_compile_failure[1]``
    and ``_fail(None)`` in the branch for a later guard; this test fails on each."""
    fake = compiler(error=RuntimeError("InvalidCxxCompiler: No working C++ compiler found\n  (g++ -v failed)"))
    acts, sign, zs = _acts(2, shape=(2, 3, 4, 3, 2))
    guard = Guarded(local_updates, "auto")
    for _ in range(2):
        _same(guard(acts, sign, zs, EPS, MASK), local_updates(acts, sign, zs, EPS, MASK))
    assert fake.calls == 1 and guard.impl == "reference" and guard.active is local_updates
    reason = "RuntimeError: InvalidCxxCompiler: No working C++ compiler found"
    assert stdp._compile_failure == [reason]

    later = Guarded(eps_dominated, "auto")
    out = later(acts, EPS)
    assert fake.calls == 1 and later.impl == "reference"
    assert all(torch.equal(a, b) for a, b in zip(out, eps_dominated(acts, EPS)))
    with pytest.raises(CompileError, match="could not build .*" + re.escape(reason)):
        Guarded(eps_dominated, "compiled")(acts, EPS)
    assert fake.calls == 1


def test_compiled_stops_with_the_compile_error_as_its_cause(compiler):
    """``compiled`` (through ``select``) with a failing compiler raises CompileError, a
    RuntimeError whose message says what failed and how to fix it, chained to the compiler's own
    error (``raise ... from err``). Mutations: ``!= "compiled"``, "XXcompiledXX"/"COMPILED" in the
    guard, ``_fail(reason, None)`` or ``_fail(reason)`` (no cause), ``Guarded(fn, None)`` in
    select; this test fails on each."""
    error = RuntimeError("InvalidCxxCompiler: No working C++ compiler found")
    compiler(error=error)
    acts, sign, zs = _acts(3, shape=(2, 3, 4, 3, 2))
    with pytest.raises(CompileError, match=r"stdp.impl is 'compiled'.*InvalidCxxCompiler.*C\+\+ compiler.*"
                                           r"stdp.impl: auto") as info:
        select(local_updates, "compiled", 1)(acts, sign, zs, EPS, MASK)
    assert isinstance(info.value, RuntimeError) and info.value.__cause__ is error


def test_a_compile_error_without_a_message_is_recorded_by_its_type(compiler):
    """An exception with an empty message: the reason is "RuntimeError: " (its type, nothing
    after), and the fallback still runs. Mutations: ``text or True`` (indexes an empty list) and
    'XXXX' for the empty text; this test fails on each."""
    compiler(error=RuntimeError())
    acts, sign, zs = _acts(5, shape=(2, 3, 4, 3, 2))
    _same(Guarded(local_updates, "auto")(acts, sign, zs, EPS, MASK), local_updates(acts, sign, zs, EPS, MASK))
    assert stdp._compile_failure == ["RuntimeError: "]


def test_the_guard_decides_on_the_first_call_only(compiler):
    """Once the fused function has worked, the guard calls it directly: an error it raises later
    (e.g. on a new batch shape) propagates as it is, not hidden behind a silent switch to the eager
    rule. Mutation: ``self.checked = False`` / ``None`` after the first call (every call is
    guarded again); this test fails."""
    fake = compiler(error=ValueError("kernel for a new shape failed"), fail_from=2)
    acts = _acts(6, shape=(2, 3, 4, 3, 2))[0]
    guard = Guarded(eps_dominated, "auto")
    assert guard(acts, EPS)[0] == "fused"
    with pytest.raises(ValueError, match="new shape"):
        guard(acts, EPS)
    assert fake.calls == 2 and stdp._compile_failure == []


# ---------------------------------------------------------------- the STDP population


def _rule(sizes=(3, 4, 2, 1), members=None, **kw):
    members = members or [Member("stdp", 0, {"impl": "reference"})]
    return STDP(members, list(sizes), **kw)


def test_the_population_holds_its_tensors_on_its_device_in_its_dtype():
    """Built for device "meta" (a device that is not the CPU, available everywhere) in bfloat16, the
    population's eps, bias mask and associativity live there in that dtype: its updates of meta
    activations come out on meta in bfloat16 (a CPU tensor would raise, a float32 one would
    promote the update to float32), and so does its saved state. Mutations: device or dtype
    dropped (None) from eps, the bias mask, the hidden or the output associativity, and
    ``super().__init__(*args)`` (device, dtype, batch size lost); this test fails on each. (Its
    first meta operation imports torch._dynamo, ~2 s in a fresh process; Adam's step in the
    training tests imports it anyway.)"""
    members = [Member("stdp", 0, {"impl": "reference"}), Member("stdp-frozen", 1, {"impl": "reference", "bias": "frozen"})]
    rule = _rule((5, 4, 3, 1), members, device="meta", dtype=torch.bfloat16, batch_size=6)
    assert rule.batch_size == 6
    acts = [torch.rand(2, 6, n, device="meta", dtype=torch.bfloat16) for n in (5, 4, 3, 1)]
    y = torch.ones(2, 6, device="meta", dtype=torch.bfloat16)
    grads = rule.updates(acts, None, y, None)
    for (gw, gb), n_out, n_in in zip(grads, (4, 3, 1), (5, 4, 3)):
        assert gw.device.type == "meta" and gw.dtype == torch.bfloat16 and gw.shape == (2, n_out, n_in)
        assert gb.device.type == "meta" and gb.dtype == torch.bfloat16 and gb.shape == (2, n_out)
    state = rule.state()
    assert [(v.device.type, v.dtype, tuple(v.shape)) for v in state.values()] == [
        ("meta", torch.bfloat16, (2, 4)), ("meta", torch.bfloat16, (2, 3))]


def test_default_eps_is_the_papers_1e_9_at_the_pole():
    """At the pole x = 2p (x = 0.5, p = 0.25, exact in float64) the weight's update is
    x^3 p (x - p) / eps = 0.0078125 / eps: for a member without an eps setting it is
    0.0078125 / 1e-9 in float64 (rtol 1e-12; a float32 eps of 1e-9 is off by 3e-8), for one with
    eps = 1e-3 it is 7.8125; Adam gets minus that (Z = +1 for y = 1). The bias's update is the rule
    with x = 1: p (1 - p) / ((2p - 1)^2 + eps). Mutations: the default 1.000000001, and the eps
    tensor built without the population's dtype (float32); this test fails on each."""
    members = [Member("stdp", 0, {"impl": "reference"}), Member("stdp-eps", 0, {"impl": "reference", "eps": 1e-3})]
    rule = _rule((1, 1), members, dtype=torch.float64, batch_size=1)
    acts = [torch.full((2, 1, 1), 0.5, dtype=torch.float64), torch.full((2, 1, 1), 0.25, dtype=torch.float64)]
    (gw, gb), = rule.updates(acts, None, torch.ones(2, 1, dtype=torch.float64), None)
    assert gw.dtype == torch.float64
    for m, eps in enumerate((1e-9, 1e-3)):
        assert gw[m, 0, 0].item() == pytest.approx(-0.0078125 / eps, rel=1e-12, abs=0)
        assert gb[m, 0].item() == pytest.approx(-0.25 * 0.75 / (0.25 + eps), rel=1e-12, abs=0)


def test_the_impl_setting_is_read_and_shared_by_the_population(compiler):
    """``impl: compiled`` makes the population's update and count the guarded fused ones (even for
    a tiny network); ``impl: reference`` the eager ones; members that disagree are refused with a
    message naming the setting. Mutations: the "impl" key read as None, "XXimplXX" or "IMPL" (so
    every population is "auto"); this test fails on each."""
    compiler()
    fused = _rule(members=[Member("stdp", 0, {"impl": "compiled"})])
    assert fused.impl == "compiled"
    assert isinstance(fused.local_updates, Guarded) and isinstance(fused.count_dominated, Guarded)
    eager = _rule(members=[Member("stdp", 0, {"impl": "reference"})])
    assert eager.local_updates is local_updates and eager.impl_used == "reference"
    with pytest.raises(ValueError, match="share stdp.impl.*'compiled', 'reference'"):
        _rule(members=[Member("stdp", 0, {"impl": "reference"}), Member("stdp-x", 0, {"impl": "compiled"})])


@pytest.mark.parametrize("n_in, members, batch, fused", [
    (46, 1, 100, True),  # 100 x (46*32 + 32*16 + 16*1) = 200 000: exactly the threshold
    (45, 1, 100, False),  # 196 800
    (46, 2, 50, True),  # 2 x 50 x 2000
])
def test_auto_fuses_from_members_x_batch_x_weights_of_200k(compiler, n_in, members, batch, fused):
    """With ``impl: auto`` the population fuses its update where members x batch x (the weights of
    all layers, n_in*32 + 32*16 + 16*1) reaches 200 000, exactly. Mutations: ``/`` for either
    ``*`` of the product or for a * b, and the layer pairs shifted (sizes[:+1], sizes[:-2],
    sizes[2:]); this test fails on each."""
    compiler()
    pop = [Member("stdp", s, {"impl": "auto"}) for s in range(members)]
    rule = _rule((n_in, 32, 16, 1), pop, batch_size=batch)
    assert isinstance(rule.local_updates, Guarded) == fused


def test_hidden_balance_setting_sets_each_members_share_of_positive_z():
    """``hidden_balance`` per member: 0.25 gives 8 of 32 and 4 of 16 hidden neurons z = +1, the
    default 0.5 gives 16 and 8; each member's z is that of hidden_associativity for its seed and
    balance. Mutations: the balance not passed, or read from key None, "XXhidden_balanceXX",
    "HIDDEN_BALANCE"; this test fails on each."""
    members = [Member("stdp", 3, {"impl": "reference", "hidden_balance": 0.25}), Member("stdp", 4, {"impl": "reference"})]
    rule = _rule((5, 32, 16, 1), members)
    for k, n in enumerate((32, 16)):
        assert (rule.layer_zs[k] == 1).sum(dim=1).tolist() == [round(0.25 * n), n // 2]
    for m, (seed, balance) in enumerate(((3, 0.25), (4, 0.5))):
        for k, z in enumerate(stdp.hidden_associativity(seed, [32, 16], balance)):
            assert torch.equal(rule.layer_zs[k][m], z)


def test_state_is_the_hidden_associativity_named_z1_z2():
    """The saved state holds the hidden layers' z as "z1", "z2" (layer numbers from 1), per member,
    and not the output neuron's fixed +1. Mutations: the names numbered from 0 or 2, the output's
    z kept or a hidden one dropped (``[:+1]``, ``[:-2]``); this test fails on each."""
    rule = _rule((5, 6, 4, 1), [Member("stdp", 1, {"impl": "reference"}), Member("stdp", 2, {"impl": "reference"})])
    state = rule.state()
    assert list(state) == ["z1", "z2"]
    for k, name in enumerate(("z1", "z2")):
        expected = torch.stack([stdp.hidden_associativity(s, [6, 4])[k] for s in (1, 2)])
        assert torch.equal(state[name], expected)


def test_flush_rows_per_layer_and_member_and_a_fresh_start_after_flush():
    """Two members (eps 1e-3 and 0.5), hand-made layers: x = (0.5, 0.1), h = (0.25, 0.9), out = 0.125.
    (2p - x)^2 is 0, 0.16, 1.69, 2.89 in layer 1 and 0, 0.4225 in layer 2: eps 1e-3 dominates 1 of
    4 and 1 of 2, eps 0.5 2 of 4 and 2 of 2. Two tracked steps with update magnitudes
    |dW1| = (1, 3, 2, 0) then (4, 0, 0, 0), |dW2| = (0.5, 0.5) give max 4 and mean (1.5 + 1) / 2; each
    row names the method, seed, epoch and layer (from 1). After a flush the statistics start
    afresh. Mutations: any of the row's keys renamed, the layer numbered k - 1 or k + 2, and
    ``self._stats = ""`` after a flush (the next epoch then reports nothing); this test fails on
    each."""
    members = [Member("stdp", 5, {"impl": "reference", "eps": 1e-3}), Member("stdp-eps", 6, {"impl": "reference", "eps": 0.5})]
    rule = _rule((2, 2, 1), members, dtype=torch.float64, batch_size=1)
    f64 = {"dtype": torch.float64}
    acts = [torch.tensor([0.5, 0.1], **f64).expand(2, 1, 2), torch.tensor([0.25, 0.9], **f64).expand(2, 1, 2),
            torch.tensor([0.125], **f64).expand(2, 1, 1)]
    gb = [torch.zeros(2, 2, **f64), torch.zeros(2, 1, **f64)]
    step1 = [torch.tensor([[1.0, -3.0], [2.0, 0.0]], **f64).expand(2, 2, 2), torch.tensor([[0.5, -0.5]], **f64).expand(2, 1, 2)]
    step2 = [torch.tensor([[-4.0, 0.0], [0.0, 0.0]], **f64).expand(2, 2, 2), step1[1]]
    assert rule.flush(0) == []
    rule.track(acts, list(zip(step1, gb)))
    rule.track(acts, list(zip(step2, gb)))

    def row(method, seed, epoch, layer, share, mx, mean):
        return {"method": method, "seed": seed, "epoch": epoch, "layer": layer, "eps_dominated_share": share,
                "max_abs_update": mx, "mean_abs_update": mean}

    assert rule.flush(3) == [row("stdp", 5, 3, 1, 2 / 8, 4.0, 1.25), row("stdp-eps", 6, 3, 1, 4 / 8, 4.0, 1.25),
                             row("stdp", 5, 3, 2, 2 / 4, 0.5, 0.5), row("stdp-eps", 6, 3, 2, 4 / 4, 0.5, 0.5)]
    assert rule.flush(3) == []
    rule.track(acts, list(zip(step2, gb)))
    assert rule.flush(4) == [row("stdp", 5, 4, 1, 1 / 4, 4.0, 1.0), row("stdp-eps", 6, 4, 1, 2 / 4, 4.0, 1.0),
                             row("stdp", 5, 4, 2, 1 / 2, 0.5, 0.5), row("stdp-eps", 6, 4, 2, 2 / 2, 0.5, 0.5)]
