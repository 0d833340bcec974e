"""Results derived from the per-example attack results (``examples.npz``): pure functions of them,
NumPy and pandas only, so that they can be recomputed and tested without rerunning an attack.

The attacks fall in three groups (``gupta_stdp.jobs.attack`` runs them):

- the model's own suite, ``OWN_SUITE``, and the ``TRANSFER`` attacks ran on every test point;
- the ``SUBSET_CASCADE`` ran on a nested subset (a query budget forces it), each on the points that
  earlier attacks left unbroken: ``pgd_2x`` after ``pgd`` at the same eps, ``square`` after the
  own suite at that eps or below.

From them, per model (method, seed) and eps:

- ``pgd_or_transfer``: a point survives only if neither the model's PGD nor the surrogate's
  transferred PGD examples break it (per surrogate);
- ``worst``: on every test point, a point survives only if it is correct clean and no attack that
  saw every point (the own suite and the transfer attacks of one surrogate) broke it at that eps or
  at a smaller one (an example within a smaller eps lies within every larger one);
- ``worst_subset``: on the points every subset attack saw, ``worst`` and, besides, no subset attack
  broke it at that eps or below. Reported at the eps where the subset attacks ran.

``check_coverage`` enforces one point set per attack before anything is derived. A result of a
diverged member (NO_RESULT) makes every number derived from it NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import KnownError
from .examples import (BROKEN, EARLIER, FULL_SET, NO_RESULT, OUTSIDE, OWN_SUITE, SKIPPED, SUBSET_CASCADE,
                       SURVIVED, TRANSFER, Key)

COLUMNS = ["method", "seed", "attack", "eps_255", "source", "correct"]
TABLE_COLUMNS = ["dataset", "pair", "method", "seed", "attack", "eps", "accuracy", "n_points", "points", "source"]


class CoverageError(KnownError, ValueError):
    """An examples file whose point sets do not fit together (see ``check_coverage``)."""


def _models(ex: pd.DataFrame):
    """Per model (method, seed): its results keyed by ``Key``."""
    for (method, seed), g in ex.groupby(["method", "seed"], sort=True):
        yield method, seed, {Key(method, r.attack, r.eps_255, r.source): r.correct for r in g.itertuples()}


def _broken_own(rows: dict, method: str, attacks, eps_max: float) -> np.ndarray:
    """Points wrong clean or broken by one of the model's own ``attacks`` at an eps up to ``eps_max``."""
    out = rows[Key(method, "clean", 0.0, method)] == BROKEN
    for k, c in rows.items():
        if k.attack in attacks and k.source == method and k.eps_255 <= eps_max + 1e-9:
            out = out | (c == BROKEN)
    return out


def check_coverage(ex: pd.DataFrame) -> None:
    """One point set per attack: a full-set attack has a result on every point, and a point that a
    subset attack SKIPPED was broken by the attacks it runs after. Raises CoverageError naming the
    model, attack and eps otherwise."""
    for method, seed, rows in _models(ex):
        if Key(method, "clean", 0.0, method) not in rows:
            raise CoverageError(f"{method} seed {seed}: no clean result")
        for (_, attack, eps, source), c in rows.items():
            where = f"{method} seed {seed}: {attack} at {eps:g}/255"
            if (c == NO_RESULT).any():
                continue
            if attack in FULL_SET and ((c == OUTSIDE) | (c == SKIPPED)).any():
                raise CoverageError(f"{where} did not see every test point, but it is a full-set attack")
            if attack in SUBSET_CASCADE:
                skipped = c == SKIPPED
                if (skipped & ~_broken_own(rows, method, EARLIER[attack], eps)).any():
                    raise CoverageError(f"{where} skipped points that no earlier attack ({', '.join(EARLIER[attack])}) "
                                        "broke: those points were never attacked")
            elif attack not in FULL_SET:
                raise CoverageError(f"{where}: unknown attack {attack!r}")


def _code(survived: np.ndarray, invalid: bool, points: np.ndarray | None = None) -> np.ndarray:
    out = np.where(survived, SURVIVED, BROKEN).astype(np.int8)
    if points is not None:
        out[~points] = OUTSIDE
    if invalid:
        out[:] = NO_RESULT
    return out


def _derive_model(method: str, seed: int, rows: dict) -> list[tuple]:
    out = []
    sources = sorted({k.source for k in rows if k.attack in TRANSFER}) or [method]
    eps_list = sorted({k.eps_255 for k in rows if k.attack in OWN_SUITE and k.source == method})
    subset_eps = sorted({k.eps_255 for k in rows if k.attack in SUBSET_CASCADE})
    report_subset_at = sorted({k.eps_255 for k in rows if k.attack == "square"}) or subset_eps
    clean = rows[Key(method, "clean", 0.0, method)]
    for source in sources:
        broken = clean == BROKEN
        invalid = bool((clean == NO_RESULT).any())
        worst_at = {}
        for e in eps_list:
            for (_, attack, eps, src), c in rows.items():
                if abs(eps - e) > 1e-9 or not ((attack in OWN_SUITE and src == method) or
                                               (attack in TRANSFER and src == source)):
                    continue
                invalid |= bool((c == NO_RESULT).any())
                broken = broken | (c == BROKEN)
            worst_at[e] = (broken.copy(), invalid)
            out.append((method, seed, "worst", e, source, _code(~broken, invalid)))
            own, transfer = rows.get(Key(method, "pgd", e, method)), rows.get(Key(method, "transfer_pgd", e, source))
            if own is not None and transfer is not None and source != method:
                bad = bool((own == NO_RESULT).any() or (transfer == NO_RESULT).any())
                out.append((method, seed, "pgd_or_transfer", e, source,
                            _code((own == SURVIVED) & (transfer == SURVIVED), bad)))
        for e in report_subset_at:
            full = [k for k in worst_at if k <= e + 1e-9]
            if not full:
                continue
            broken_w, invalid_w = worst_at[max(full)]
            points = np.ones_like(broken_w)
            broken_s, invalid_s = broken_w.copy(), invalid_w
            for (_, attack, eps, _src), c in rows.items():
                if attack in SUBSET_CASCADE and eps <= e + 1e-9:
                    points &= c != OUTSIDE
                    broken_s |= c == BROKEN
                    invalid_s |= bool((c == NO_RESULT).any())
            out.append((method, seed, "worst_subset", e, source, _code(~broken_s, invalid_s, points)))
    return out


def with_derived(ex: pd.DataFrame) -> pd.DataFrame:
    """The measured rows of one pair's examples, checked for coverage, plus the derived rows
    (pgd_or_transfer, worst, worst_subset), in the same columns."""
    check_coverage(ex)
    rows = [r for method, seed, model_rows in _models(ex) for r in _derive_model(method, seed, model_rows)]
    derived = pd.DataFrame(rows, columns=COLUMNS)
    return pd.concat([ex[COLUMNS], derived], ignore_index=True)


def accuracy(c: np.ndarray) -> tuple[float, int]:
    """(share of the points an attack saw that survive, how many it saw); NaN for NO_RESULT.
    A SKIPPED point was broken by an earlier attack of the cascade and counts as broken."""
    if (c == NO_RESULT).any():
        return np.nan, 0
    seen = c != OUTSIDE
    return float((c[seen] == SURVIVED).mean()) if seen.any() else np.nan, int(seen.sum())


def attack_table(ex: pd.DataFrame, dataset: str, pair: str) -> pd.DataFrame:
    """The tidy attack table of one pair: every full-set attack and every derived result, one row
    per model, attack, eps and source. The subset cascade's own rows are left out (they are not an
    accuracy on any point set of their own); what they add is in worst_subset and sanity.csv."""
    full = with_derived(ex)
    full = full[~full.attack.isin(SUBSET_CASCADE)]
    out = []
    for r in full.itertuples():
        acc, n = accuracy(r.correct)
        out.append({"dataset": dataset, "pair": pair, "method": r.method, "seed": r.seed, "attack": r.attack,
                    "eps": r.eps_255 / 255, "accuracy": acc, "n_points": n,
                    "points": "subset" if r.attack == "worst_subset" else "all", "source": r.source})
    table = pd.DataFrame(out, columns=TABLE_COLUMNS)
    return table.sort_values(["method", "seed", "attack", "source", "eps"], kind="stable").reset_index(drop=True)
