"""The multiverse's tables: every specification's validation and test numbers in one tidy table
(results/tables/specifications.csv, SPEC 8), the claims' verdicts per specification and tuned
(``gupta_stdp.claims.specs``), and the tuned choices. No torch."""

from __future__ import annotations

import logging

import pandas as pd

from ..claims import specs as specs_mod
from ..io import write_csv

log = logging.getLogger(__name__)

COLUMNS = ["dataset", "pair", "method", "seed", "lr", "batch_size", "epochs", "bias", "split", "attack", "eps", "accuracy"]


def table(score_files: list[str], attack_files: list[str]) -> pd.DataFrame:
    """Clean accuracy on the validation and test splits (attack ``clean``, eps 0) and the attack rows."""
    scores = pd.concat([pd.read_csv(f) for f in score_files], ignore_index=True).assign(attack="clean", eps=0.0)
    attacks = pd.concat([pd.read_csv(f) for f in attack_files], ignore_index=True)
    return pd.concat([scores[COLUMNS], attacks[COLUMNS]], ignore_index=True).sort_values(
        ["dataset", "pair", "method", "batch_size", "lr", "bias", "epochs", "seed", "split", "attack", "eps"],
        kind="stable").reset_index(drop=True)


def run(params: dict, score_files: list[str], attack_files: list[str], outputs) -> dict:
    specs = table(score_files, attack_files)
    verdicts = specs_mod.per_specification(specs, params)
    choices = specs_mod.tuned_choices(specs, params["paper"])
    verdicts = pd.concat([verdicts, specs_mod.tuned_verdicts(specs, choices, params)], ignore_index=True)
    for r in specs_mod.summarise(verdicts).to_dict("records"):
        log.info("%s %s: %d of %d specifications supported, %d not supported; tuned: %s", r["claim"], r["reading"],
                 r["specs_supported"], r["specs_total"], r["specs_not_supported"], r["verdict_tuned"])
    write_csv(specs, outputs.specifications)
    write_csv(verdicts, outputs.verdicts)
    write_csv(choices, outputs.tuned)
    return {"specifications": specs, "verdicts": verdicts, "tuned": choices}
