"""Verdicts on the paper's claims C1-C4 and on C5 (Akrout et al. 2019), computed from the tidy
tables (SPEC 5). No torch. Three parts:

- ``catalogue``: the claims as data (statements, readings, headline, scope);
- ``verdicts``: the rules that turn evidence into verdicts, whose printed text is generated from
  the same parameters the code reads;
- ``evidence``: the per-pair paired differences over seeds and their tests.

``compute`` applies them: per method, reading and pair the evidence and a verdict; Holm's
correction where a claim needs every pair; a failed sanity check that weakens a reading withdraws
the pair's verdict where the failure could have produced it (``verdicts.SANITY_TEXT``); then the
pairs combine, per scope: the paper's pairs decide C1-C3 (and C5), every extra pair or data set
gets a reading of its own, never pooled with them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..sanity import WEAKENS
from . import evidence as ev_mod
from .catalogue import ABLATION, CLAIMS, OTHER_RULES, READINGS, ROBUSTNESS, Claim
from .verdicts import (COMBINE, INCONCLUSIVE, NOT_SUPPORTED, SANITY_TEXT, SUPPORTED, VERDICTS, CurveRule, deciding,
                       deciding_short, holm_rejections, pair_rules, shown_text)

__all__ = ["CLAIMS", "READINGS", "VERDICTS", "compute", "mcnemar_table", "rules_text", "SUPPORTED", "NOT_SUPPORTED",
           "INCONCLUSIVE"]

PAPER = "paper"
WITHDRAWN = "_withdrawn"  # per-pair {check: models} that withdrew its verdict; kept out of the CSV


def scope_of(dataset: str, pair: str, paper_pairs: dict) -> str:
    """'paper' for the paper's pairs; otherwise the data set, marked where the paper used it."""
    if pair in paper_pairs.get(dataset, []):
        return PAPER
    return f"{dataset}, other pairs" if dataset in paper_pairs else dataset


def _claim_for(method: str, reading: str) -> Claim | None:
    for c in CLAIMS.values():
        if c.method == method and reading in c.readings:
            return c
    return None


def _failures(sanity: pd.DataFrame, reading: str) -> dict[tuple[str, str, str], dict[str, int]]:
    """(dataset, pair, method) -> {check: failed models} over the checks that weaken ``reading``."""
    if sanity is None or sanity.empty:
        return {}
    checks = [c for c, rs in WEAKENS.items() if reading in rs]
    bad = sanity[sanity.check.isin(checks) & ~sanity.passed.astype(bool)]
    out: dict = {}
    for (dataset, pair, method, check), g in bad.groupby(["dataset", "pair", "method", "check"]):
        out.setdefault((dataset, pair, method), {})[check] = g.seed.nunique()
    return out


def _text(found: dict[str, int], who: str = "") -> str:
    return "; ".join(f"{who}{c} ({k} model{'s' if k != 1 else ''})" for c, k in sorted(found.items()))


class Judge:
    def __init__(self, tables: dict, params: dict):
        self.t, self.p, self.cc = tables, params, params["claims"]
        self.rules = pair_rules(self.cc["margin"])

    def by_pair(self, method: str, reading: str) -> list[dict]:
        """Per pair: the evidence and the verdict of ``method`` against BP on ``reading``; Holm
        within each claim, reading and scope where the claim needs every pair."""
        r = READINGS[reading]
        claim = _claim_for(method, reading)
        kind = claim.rule if claim else ("superior" if r.kind == "attack" else "non_inferior")
        if r.kind == "early_late":
            if method != "stdp":
                return []
            found = ev_mod.early_late(self.t["epochs"], r.value, self.cc)
        else:
            wide = ev_mod.paired_values(r, self.t, method, self.p["rule_of"].get(method, method), self.p["report_eps"],
                                        self.p["sweep_eps"])
            found = ev_mod.differences(wide, method, self.cc) if len(wide) else []
        is_rule = self.p["rule_of"].get(method, method) == method
        label = claim.id if claim else (OTHER_RULES if is_rule else ABLATION)
        rule = self.rules[kind]
        use_holm = bool(claim and claim.combine and COMBINE[claim.combine].holm)
        fails = _failures(self.t.get("sanity"), reading)
        rows = []
        by_scope: dict[str, list[int]] = {}
        for i, (dataset, pair, _, row) in enumerate(found):
            by_scope.setdefault(scope_of(dataset, pair, self.p["paper_pairs"]), []).append(i)
        holm: dict[int, tuple] = {}
        if use_holm:
            for idx in by_scope.values():
                holm.update(zip(idx, holm_rejections(rule, [found[i][2] for i in idx])))
                for i in idx:
                    found[i][3]["holm_tests"] = len(idx) * len(rule.not_supported)
        for i, (dataset, pair, evs, row) in enumerate(found):
            flags, p_holm = holm.get(i, (None, np.nan))
            measured = rule.decide(evs, flags)
            held = flags if flags is not None else tuple(c.holds(evs) for c in rule.not_supported)
            against = ", ".join(c.short() for c, f in zip(rule.not_supported, held) if f) if measured == NOT_SUPPORTED else ""
            side = {"method": fails.get((dataset, pair, method), {}), "bp": fails.get((dataset, pair, "bp"), {})}
            withdrawn = {c: k for who in sorted(rule.rests_on(measured)) for c, k in side[who].items()}
            failed = "; ".join(t for t in (_text(side["method"], f"{method}: "), _text(side["bp"], "bp: ")) if t)
            rows.append({"claim": label, "method": method, "reading": reading,
                         "scope": scope_of(dataset, pair, self.p["paper_pairs"]), **row,
                         "holm": use_holm, "p_holm": p_holm, "verdict_measured": measured, "against": against,
                         "sanity_failed": failed,
                         "sanity": _text(withdrawn), "verdict": INCONCLUSIVE if withdrawn else measured,
                         WITHDRAWN: withdrawn})
        return rows


def _checks_line(sanity: pd.DataFrame, claim: Claim, pairs: list[tuple[str, str]]) -> tuple[str, int, int, int]:
    """'k of n checks ran, m failed' over the claim's models on ``pairs``."""
    relevant = [c for c, rs in WEAKENS.items() if set(rs) & set(claim.readings)]
    if not relevant:
        return "no attack sanity check applies", 0, 0, 0
    sub = sanity[sanity.method.isin([claim.method, "bp"]) & sanity.check.isin(relevant)] if len(sanity) else sanity
    if len(sub):
        sub = sub[_in_pairs(sub, pairs)]
    ran = sorted(set(sub.check)) if len(sub) else []
    failed = sorted(set(sub[~sub.passed.astype(bool)].check)) if len(sub) else []
    text = f"{len(ran)} of {len(relevant)} checks ran, {len(failed)} failed"
    if failed:
        g = sub[~sub.passed.astype(bool)].groupby(["check", "method"]).size()
        text += ": " + "; ".join(f"{c} on {g[c].sum()} models (" + ", ".join(f"{m} {k}" for m, k in g[c].items()) + ")"
                                 for c in failed)
    missing = [c for c in relevant if c not in ran]
    if missing:
        text += f" (not run: {', '.join(missing)})"
    return text, len(ran), len(relevant), len(failed)


def _reading_result(claim: Claim, reading: str, rows: list[dict], margin: float) -> dict:
    combine = COMBINE[claim.combine]
    verdict = combine.decide([r["verdict"] for r in rows])
    measured = combine.decide([r["verdict_measured"] for r in rows])
    weak: dict[str, int] = {}
    for r in rows:
        for check, k in r[WITHDRAWN].items():
            weak[check] = weak.get(check, 0) + k
    note = f"sanity: {_text(weak)}" if weak and verdict != measured else "" if rows else "not run: no pair has this reading"
    vs = [r["verdict"] for r in rows]
    hw = [r["half_width"] for r in rows if np.isfinite(r["half_width"])]
    return {"verdict": verdict, "verdict_measured": measured, "note": note,
            "shown": ("not run" if not rows else f"{verdict} ({note})" if note else verdict),
            "n_pairs": len(rows), "n_supported": vs.count(SUPPORTED), "n_not_supported": vs.count(NOT_SUPPORTED),
            "n_inconclusive": vs.count(INCONCLUSIVE), "n_excluded": int(sum(r["n_excluded"] for r in rows)),
            "tests": ", ".join(sorted({r["test"] for r in rows})),
            "mean_diff": float(np.nanmean([r["mean_diff"] for r in rows])) if rows else np.nan,
            "half_width_median": float(np.median(hw)) if hw else np.nan,
            "half_width_max": float(np.max(hw)) if hw else np.nan,
            "deciding": deciding(claim.rule, claim.combine, rows, margin, claim.method),
            "deciding_short": deciding_short(claim.combine, rows, margin, claim.method)}


def _in_pairs(df: pd.DataFrame, pairs) -> np.ndarray:
    pairs = set(pairs)
    return np.array([(d, p) in pairs for d, p in zip(df.dataset, df.pair)], dtype=bool)


def _diverged(epochs: pd.DataFrame, methods, pairs) -> int:
    last = ev_mod.final_test(epochs)
    last = last[last.method.isin(methods).to_numpy() & _in_pairs(last, pairs)]
    return int(last.diverged.astype(bool).sum()) if "diverged" in last else 0


def rules_text(cc: dict, report_eps: float, curve: pd.DataFrame | None = None) -> dict[str, str]:
    """Every claim's rule in words, generated from the rule objects ``compute`` applies (C4's
    T_pre and dT range are those of the curve it was judged on)."""
    rules = pair_rules(cc["margin"])
    out = {}
    for c in CLAIMS.values():
        if c.rule == "curve":
            t_pre = float(curve.t_pre.iloc[0]) if curve is not None and len(curve) else float("nan")
            r = float(curve.dT.abs().max() / t_pre) if curve is not None and len(curve) else float("nan")
            out[c.id] = CurveRule().text(t_pre, r) + "."
            continue
        combine = COMBINE[c.combine]
        readings = ", ".join(f"{r} ({READINGS[r].label(report_eps)})" for r in c.readings)
        attack = any(READINGS[r].kind == "attack" for r in c.readings)
        pairs = ("the paper's IRIS pairs" if c.scope == "iris" else "the paper's pairs") + " that ran"
        out[c.id] = (f"{rules[c.rule].text(combine.holm)}; {combine.text()}. Judged on {pairs}; every other pair or data "
                     f"set gets a reading of its own by the same rule. Readings: {readings}; the verdict is the "
                     f"{c.headline} reading. The comparison is {c.method} against bp, paired by seed; "
                     f"{shown_text(cc['confidence'], cc['interval'], combine.holm)}"
                     + (f"; {SANITY_TEXT}." if attack else "."))
    return out


def compute(tables: dict, params: dict):
    """Returns (claims: one row per claim, by_pair: the per-pair numbers, readings: one row per
    claim, scope and reading). ``tables``: epochs, attacks, sanity, curve. ``params``: claims (the
    claims block), report_eps, sweep_eps, paper_pairs, rule_of (method label -> its rule)."""
    cc = params["claims"]
    epochs = tables["epochs"]
    sanity = tables.get("sanity") if tables.get("sanity") is not None else pd.DataFrame(columns=["check"])
    methods = [m for m in dict.fromkeys(epochs.method) if m != "bp"] if "bp" in set(epochs.method) else []
    judge = Judge({**tables, "sanity": sanity}, params)
    by_pair: list[dict] = []
    for m in methods:
        names = ["accuracy", "auc", *ROBUSTNESS] + (["early_late", "early_late_auc"] if m == "stdp" else [])
        for reading in names:
            by_pair += judge.by_pair(m, reading)
    bp_df = pd.DataFrame(by_pair)
    text = rules_text(cc, params["report_eps"], tables.get("curve"))
    out, long = [], []
    curve_rule = CurveRule()
    for cid, claim in CLAIMS.items():
        if cid == "C5" and "fa" not in methods:
            continue
        row = {"claim": cid, "statement": claim.statement}
        if claim.rule == "curve":
            curve = tables.get("curve", pd.DataFrame())
            verdict = curve_rule.decide(curve)
            nums = curve_rule.numbers(curve) if len(curve) else {}
            dec = (f"over the range, the rule's largest potentiation (dT > 0) is {nums['rule_peak_pos']:.3g} and its largest "
                   f"depression (dT < 0) {nums['rule_peak_neg']:.3g}; eq. 6's sign at {nums['sign_agree']} of "
                   f"{nums['n_points']} dT; it equals eq. 3 with its eps (largest difference {nums['eq3_deviation']:.1e} of "
                   f"the peak) and deviates from eq. 6 by {nums['max_deviation']:.1e} of it (the eps term)"
                   if nums else "no curve")
            short = (f"largest potentiation {nums['rule_peak_pos']:.3g} > largest depression {nums['rule_peak_neg']:.3g}; "
                     "eq. 3 and eq. 6's sign hold" if verdict == SUPPORTED else dec) if nums else dec
            row.update(verdict=verdict, verdict_curve=verdict, n_pairs=0, deciding=dec, deciding_short=short, **nums,
                       sanity="no attack sanity check applies", n_diverged=0, other_scopes="")
            long.append({"claim": cid, "scope": PAPER, "reading": "curve", "role": "headline", "verdict": verdict,
                         "verdict_measured": verdict, "note": "", "shown": verdict, "deciding": dec})
        else:
            rows = bp_df[(bp_df.claim == cid)] if len(bp_df) else bp_df
            scopes = list(dict.fromkeys(rows.scope)) if len(rows) else []
            if PAPER not in scopes:
                scopes = [PAPER, *scopes]
            others = []
            for scope in scopes:
                for reading in claim.readings:
                    sel = rows[(rows.scope == scope) & (rows.reading == reading)].to_dict("records") if len(rows) else []
                    res = _reading_result(claim, reading, sel, cc["margin"])
                    role = ("headline" if reading == claim.headline else "paper" if reading == claim.paper_reading
                            else "strongest" if reading == claim.strongest else "other")
                    long.append({"claim": cid, "scope": scope, "reading": reading, "role": role, **res})
                    if scope == PAPER and res["n_pairs"] == 0 and reading != claim.headline:
                        row.setdefault("not_run", []).append(reading)
                    elif scope == PAPER:
                        row[f"verdict_{reading}"] = res["verdict"]
                        if res["note"]:
                            row[f"note_{reading}"] = res["note"]
                        if reading == claim.headline:
                            row.update(verdict=res["verdict"], note=res["note"], **{k: res[k] for k in (
                                "n_pairs", "n_supported", "n_not_supported", "n_inconclusive", "n_excluded", "tests",
                                "mean_diff", "half_width_median", "half_width_max", "deciding", "deciding_short")})
                    elif reading == claim.headline:
                        others.append(f"{scope} ({res['n_pairs']} pairs): {res['shown']}")
            pairs = [(r["dataset"], r["pair"]) for r in rows.to_dict("records") if r["scope"] == PAPER] if len(rows) else []
            line, ran, n, failed = _checks_line(sanity, claim, pairs)
            if failed:
                mine = rows[rows.scope == PAPER]
                k = int((mine.verdict != mine.verdict_measured).sum())
                line += (f"; they withdrew {k} per-pair verdict(s) of {mine.reading.nunique()} readings" if k else
                         "; they withdrew no verdict (a failure withdraws only what it could have produced)")
            row["not_run"] = ", ".join(row.get("not_run", []))
            row.update(sanity=line, checks_ran=ran, checks_total=n, checks_failed=failed,
                       n_diverged=_diverged(epochs, [claim.method, "bp"], pairs),
                       other_scopes="; ".join(others))
        row["rule"] = text[cid]
        out.append(row)
    bp_df = bp_df.drop(columns=[WITHDRAWN], errors="ignore")
    claims = pd.DataFrame(out)
    for col in ("n_supported", "n_not_supported", "n_inconclusive", "n_pairs", "n_excluded", "n_diverged"):
        if col in claims:
            claims[col] = claims[col].astype("Int64")
    return claims, bp_df, pd.DataFrame(long)


def mcnemar_table(example_frames: dict, report_eps: float, rule_of: dict,
                  attacks_of_interest=("fgsm", "pgd", "worst"), reference="bp") -> pd.DataFrame:
    """Descriptive: per (dataset, pair, method, seed, attack) at the report's eps, McNemar's exact
    test of the method against BP of the same seed, on the same test points (BP against the
    method's own rule's transfer examples, as in the claims). NaN where a member diverged."""
    from ..derived import with_derived
    from ..examples import NO_RESULT, SURVIVED
    from ..stats import mcnemar

    rows = []
    for (dataset, pair), ex in example_frames.items():
        ex = with_derived(ex)
        ex = ex[ex.attack.isin(attacks_of_interest) & np.isclose(ex.eps_255, report_eps)]
        idx = {(r.method, r.seed, r.attack, r.source): r.correct for r in ex.itertuples()}
        for (method, seed, attack, source), c in idx.items():
            if method == reference:
                continue
            partner = rule_of.get(method, method)
            r = idx.get((reference, seed, attack, partner), idx.get((reference, seed, attack, reference)))
            if r is None:
                continue
            base = {"dataset": dataset, "pair": pair, "method": method, "seed": seed, "attack": attack,
                    "eps": report_eps / 255}
            if (c == NO_RESULT).any() or (r == NO_RESULT).any():
                rows.append({**base, "n_points": 0, "only_method": np.nan, "only_bp": np.nan, "p_value": np.nan})
                continue
            seen = (c >= 0) & (r >= 0)
            b, k, p = mcnemar(c[seen] == SURVIVED, r[seen] == SURVIVED)
            rows.append({**base, "n_points": int(seen.sum()), "only_method": b, "only_bp": k, "p_value": p})
    cols = ["dataset", "pair", "method", "seed", "attack", "eps", "n_points", "only_method", "only_bp", "p_value"]
    return pd.DataFrame(rows, columns=cols)

