"""The claims as data: what each claim says, what it is judged on (its readings), and which
pairs it speaks of. The rules that turn numbers into verdicts are in ``verdicts``; the per-pair
evidence in ``evidence``. No torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reading:
    """One way to measure a claim, per model: final test ``value`` (accuracy, AUC), accuracy under
    ``attack`` at the report's eps ("report") or averaged over the sweep ("sweep"), or C3's early
    and final test ``value``."""

    name: str
    kind: str  # final | attack | early_late | curve
    value: str = "accuracy"
    attack: str | None = None
    eps: str = "report"
    label_text: str = ""
    short_text: str = ""

    def label(self, report_eps: float) -> str:
        return self.label_text.format(eps=f"{report_eps:g}/255")

    def short(self, report_eps: float) -> str:
        return (self.short_text or self.label_text).format(eps=f"{report_eps:g}/255")


READINGS = {r.name: r for r in (
    Reading("accuracy", "final", "accuracy", label_text="final test accuracy"),
    Reading("auc", "final", "auc", label_text="final test ROC-AUC"),
    Reading("early_late", "early_late", "accuracy", label_text="test accuracy, first epochs and last",
            short_text="early and final accuracy"),
    Reading("early_late_auc", "early_late", "auc", label_text="test ROC-AUC, first epochs and last"),
    Reading("curve", "curve", label_text="the implemented rule at x = 1/T_pre, p = 1/(T_pre + dT)",
            short_text="the implemented rule"),
    Reading("fgsm", "attack", attack="fgsm", label_text="the paper's FGSM (BCE) at {eps}", short_text="FGSM (BCE) at {eps}"),
    Reading("pgd", "attack", attack="pgd", label_text="PGD at {eps}"),
    Reading("transfer", "attack", attack="pgd_or_transfer", label_text="own PGD or the partner's transferred PGD at {eps}"),
    Reading("worst", "attack", attack="worst", label_text="worst case over every attack on every test point at {eps}",
            short_text="worst case at {eps}"),
    Reading("worst_subset", "attack", attack="worst_subset",
            label_text="worst case with the Square Attack, on its subset, at {eps}"),
    Reading("sweep_fgsm", "attack", attack="fgsm_margin", eps="sweep", label_text="FGSM (margin) over the sweep"),
    Reading("sweep_pgd", "attack", attack="pgd", eps="sweep", label_text="PGD over the sweep"),
)}

ROBUSTNESS = ("fgsm", "worst", "pgd", "transfer", "worst_subset", "sweep_fgsm", "sweep_pgd")


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str  # the claim, in the paper's words where it has them
    paper: str  # what the paper shows for it
    figure: str  # the figure of this report that shows it
    method: str  # the method compared with BP
    rule: str  # the per-pair verdict rule (verdicts.PAIR_RULES)
    combine: str | None  # how pairs combine (verdicts.COMBINE); None: no pairs (C4)
    readings: tuple[str, ...]
    headline: str  # the reading that gives the claim's verdict
    paper_reading: str | None  # the paper's own measurement
    strongest: str | None  # the strongest attack's reading
    scope: str  # which pairs: "paper" (the paper's pairs), "iris" (the paper's IRIS pairs), "none"


CLAIMS = {c.id: c for c in (
    Claim("C1", "STDP reaches test accuracy comparable to (a little below) BP on every pair: \"The accuracy, when "
          "compared to backpropagation, is definitely not equivalent but is quite comparable.\"",
          "Fig. 2: train and test accuracy vs epoch, one run per pair, 3 IRIS and 5 MNIST pairs, no error bars.",
          "claims_forest.png", "stdp", "non_inferior", "every_pair", ("accuracy", "auc"), "accuracy", "accuracy", None,
          "paper"),
    Claim("C2", "STDP models keep more accuracy than BP models under FGSM in most pairs: \"for most cases, this "
          "method outperforms the BP method.\"",
          "Fig. 3: FGSM accuracy at eps 4, 8 and 12 of 255, one run per pair, no error bars.",
          "claims_forest.png", "stdp", "superior", "majority", ROBUSTNESS, "fgsm", "fgsm", "worst", "paper"),
    Claim("C3", "On IRIS, STDP is poor in the first epochs, then catches up: \"The poor performance during initial "
          "epochs can be attributed to the fixed nature of associativity.\"",
          "Fig. 2, IRIS panels: test accuracy vs epoch.", "fig2_accuracy.png", "stdp", "early_then_late",
          "every_pair", ("early_late", "early_late_auc"), "early_late", "early_late", None, "iris"),
    Claim("C4", "Eq. 6 has the biological asymmetry (the peak for dT > 0 is higher than for dT < 0); eq. 5 the "
          "reverse.", "Fig. 4: dW vs dT for eq. 5 (dotted) and eq. 6 (solid).", "fig4_stdp_curve.png", "stdp",
          "curve", None, ("curve",), "curve", "curve", None, "none"),
    Claim("C5", "Networks trained with feedback alignment keep more accuracy than BP networks under white-box "
          "attacks (Akrout et al. 2019; beyond the paper).",
          "Not in the paper; Akrout et al. (2019) report it on MNIST.", "rules_compared.png", "fa", "superior",
          "majority", ROBUSTNESS, "worst", "fgsm", "worst", "paper"),
)}

# Rows of claims_by_pair.csv for comparisons that are no claim: the other rules, and STDP's variants.
OTHER_RULES, ABLATION = "rules", "ablation"
