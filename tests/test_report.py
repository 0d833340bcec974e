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


def _lines(fig, n=None):
    """The (x, y) data of every line drawn in fig, rounded to 9 digits (n: only lines of n points)."""
    return {(tuple(np.round(np.asarray(line.get_xdata(), float), 9)), tuple(np.round(np.asarray(line.get_ydata(), float), 9)))
            for ax in fig.axes for line in ax.lines if n is None or len(line.get_ydata()) == n}


def test_fig2_draws_each_methods_mean_per_epoch_and_split(base):
    """Fig. 2 has, per pair, one line per method and split: the mean accuracy over seeds at each epoch.
    Mutations: draw the other methods too but not STDP's, or a median, or the last seed only: the
    expected lines are then missing."""
    e = base["epochs"]
    fig = figures.fig2_accuracy({"epochs": e}, {})
    drawn = _lines(fig)
    for key, g in e[e.method.isin(["stdp", "bp"])].groupby(["dataset", "pair", "method", "split"]):
        means = g.groupby("epoch").accuracy.mean().sort_index()
        assert (tuple(np.round(means.index.to_numpy(float), 9)), tuple(np.round(means.to_numpy(), 9))) in drawn, key


def test_fig4_draws_eq5_eq6_and_the_rule_from_the_curve_table(base):
    """Fig. 4's dotted line is eq. 5, its solid line eq. 6, each against dT, and its dots are the
    implemented rule's values. Mutation: swap eq5 and eq6, or plot eq3 for the rule: a label then
    names the wrong data."""
    c = base["curve"].sort_values("dT")
    fig = figures.fig4_stdp_curve({"stdp_curve": c}, {})
    by_label = {line.get_label().split(":")[0]: line for line in fig.axes[0].lines}
    for label, column in (("eq. 5", "eq5"), ("eq. 6", "eq6")):
        np.testing.assert_array_equal(by_label[label].get_xdata(), c.dT.to_numpy())
        np.testing.assert_array_equal(by_label[label].get_ydata(), c[column].to_numpy())
    rule = next(line for line in fig.axes[0].lines if line.get_label().startswith("the implemented rule"))
    dots = list(zip(rule.get_xdata(), rule.get_ydata()))  # a readable sample of the table's rows
    assert 20 <= len(dots) <= 41 and dots[0] == (c.dT.iloc[0], c.rule.iloc[0])
    assert set(dots) <= set(zip(c.dT, c.rule)) and len(set(dots)) == len(dots)


def test_the_forest_plot_draws_each_pairs_difference_and_interval(base):
    """Each panel of the forest plot marks, per pair, STDP − BP's mean paired difference, with its
    interval as the error bar (none where sd = 0). Mutations: mark BP's row or another reading's,
    or draw the interval from another column: a panel's points then differ from claims_by_pair."""
    o = {"report_eps": 8, "margin": 0.05, "confidence": 0.95}
    bp = base["by_pair"]
    fig = figures.claims_forest({"by_pair": bp}, o)
    stdp = bp[bp.method == "stdp"]
    assert len(fig.axes) == sum(((stdp.claim == c) & (stdp.reading == r)).any() for c, r, _ in figures.FOREST) > 0
    for ax in fig.axes:
        claim, reading = next((c, r) for c, r, title in figures.FOREST
                              if title.format(eps="8/255") == ax.get_title())
        rows = stdp[(stdp.claim == claim) & (stdp.reading == reading)]
        marks = [float(line.get_xdata()[0]) for line in ax.lines if line.get_marker() == "o"]
        assert sorted(np.round(marks, 9)) == sorted(np.round(rows.mean_diff.to_numpy(float), 9)), ax.get_title()
        bars = sorted(tuple(np.round(seg[:, 0], 9)) for coll in ax.collections for seg in coll.get_segments())
        expected = sorted((round(r.ci_low, 9), round(r.ci_high, 9)) if np.isfinite(r.ci_low)
                          else (round(r.mean_diff, 9),) * 2 for r in rows.itertuples())
        assert bars == expected, ax.get_title()
