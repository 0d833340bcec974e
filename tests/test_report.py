"""The report's and the figures' numbers are the tables' numbers: a tiny IRIS run in-process
(tests/pipeline.py), read back from the rendered Markdown and from the drawn figures' data."""

import re

import matplotlib
import numpy as np
import pytest

from pipeline import run
from gupta_stdp import figures
from gupta_stdp.tables import final_test

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return run(tmp_path_factory.mktemp("report"))


def _row(md: str, *cells: str) -> list[str]:
    """The cells of the Markdown table row that starts with ``cells``."""
    for line in md.splitlines():
        parts = [c.strip() for c in line.strip().strip("|").split("|")]
        if parts[: len(cells)] == list(cells):
            return parts
    raise AssertionError(f"no row {cells}")


def test_the_final_accuracy_table_is_the_epoch_tables_last_epoch(base):
    """Mutations: report a train-split or an earlier epoch's accuracy, or the SD for the mean."""
    md, last = base["report"], final_test(base["epochs"])
    for method in ("stdp", "bp"):
        acc = last[last.method == method].accuracy
        cells = _row(md, "iris", "0v2", method)
        assert f"{acc.mean():.3f} ± {acc.std():.3f}" in cells


def test_the_attack_table_is_the_attack_tables_mean_and_sd(base):
    """One column per method. Mutation: report another eps's or another attack's rows."""
    a, md = base["attacks"], base["report"]
    header = next(line for line in md.splitlines() if re.match(r"\|\s*dataset\s*\|\s*pair\s*\|\s*attack\s*\|", line))
    columns = [c.strip() for c in header.strip().strip("|").split("|")]
    for attack in ("fgsm", "pgd"):
        cells = _row(md, "iris", "0v2", attack, "8")
        for method in ("stdp", "bp"):
            sel = a[(a.method == method) & (a.attack == attack) & np.isclose(a.eps * 255, 8) & (a.source == method)]
            assert cells[columns.index(method)] == f"{sel.accuracy.mean():.3f} ± {sel.accuracy.std():.3f}"


def test_the_glance_table_holds_each_claims_verdict(base):
    md = base["report"]
    glance = md[md.index("## Verdicts at a glance"):md.index("## The claims")]
    for r in base["claims"].itertuples():
        row = [line for line in glance.splitlines() if re.match(rf"\|\s*{r.claim}\s*\|", line)]
        assert row and r.verdict in row[0], r.claim


def test_fig3_draws_the_tables_means(base):
    """Each line of Fig. 3 is one method's mean accuracy over seeds: clean at eps 0, then the paper's
    FGSM at each of its eps. Mutation: draw another attack, or drop the clean point."""
    t = {"attacks": base["attacks"]}
    fig = figures.fig3_fgsm(t, {"paper_eps": base["config"]["attacks"]["fgsm"]["eps"]})
    a = base["attacks"]
    expected = set()
    for method in ("stdp", "bp"):
        rows = a[(a.method == method) & (a.source == method)
                 & ((a.attack == "clean") | ((a.attack == "fgsm") & a.eps.apply(lambda e: bool(np.isclose(e * 255, [4, 8, 12]).any()))))]
        means = rows.groupby("eps").accuracy.mean().sort_index()
        expected.add(tuple(np.round(means.to_numpy(), 9)))
    drawn = {tuple(np.round(np.asarray(line.get_ydata(), float), 9)) for ax in fig.axes for line in ax.lines
             if len(line.get_ydata()) == 4}
    assert expected <= drawn
