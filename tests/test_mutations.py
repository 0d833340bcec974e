"""Each verdict and check must be able to fail: break what it checks and the verdict changes. A
tiny IRIS run of every stage in-process (tests/pipeline.py), as it is and with one mutation."""

import numpy as np
import pytest

from pipeline import run
from gupta_stdp.sanity import WEAKENS


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return run(tmp_path_factory.mktemp("base"))


def _claim(t, claim, col="verdict"):
    return t["claims"].set_index("claim").loc[claim, col]


def test_a_sign_flipped_rule_makes_c4_not_supported(base, tmp_path, monkeypatch):
    from gupta_stdp.rules import stdp

    assert _claim(base, "C4") == "supported"
    original = stdp.stdp_rule
    monkeypatch.setattr(stdp, "stdp_rule", lambda *a: -original(*a))
    flipped = run(tmp_path, stages=("claims",), reuse=base)
    assert _claim(flipped, "C4") == "not supported"
    assert (flipped["curve"].rule * flipped["curve"].eq6 <= 0).all()


def test_a_crippled_pgd_fails_its_check_and_no_reading_on_pgd_stays_firm(base, tmp_path):
    """One PGD step of 0.05 eps / steps is far weaker than FGSM: pgd_ge_fgsm fails, and a pair's
    verdict on a reading that rests on PGD is withdrawn wherever the too-weak attack could have made
    it (here BP's models fail, so a loss of STDP's is withdrawn), naming the check. In the unbroken
    run the check passes on every model and withdraws nothing."""
    on_pgd = WEAKENS["pgd_ge_fgsm"]
    s = base["sanity"]
    assert s[s.check == "pgd_ge_fgsm"].passed.all()
    rows = base["by_pair"][base["by_pair"].reading.isin(on_pgd)]
    assert not rows.sanity_failed.str.contains("pgd_ge_fgsm").any()
    weak = run(tmp_path, {"attacks": {"pgd": {"steps": 1, "step_factor": 0.05}}}, reuse=base)
    s = weak["sanity"]
    assert not s[(s.check == "pgd_ge_fgsm") & (s.method == "bp")].passed.any()
    rows = weak["by_pair"][(weak["by_pair"].claim == "C2") & weak["by_pair"].reading.isin(on_pgd)]
    assert len(rows) == len(on_pgd) and rows.sanity_failed.str.contains("bp: pgd_ge_fgsm").all()
    assert (rows.verdict == "inconclusive").all()
    lost = rows[rows.verdict_measured == "not supported"]
    assert len(lost) and lost.sanity.str.contains("pgd_ge_fgsm").all()  # a loss measured, then withdrawn
    assert _claim(weak, "C2", "verdict_pgd") == "inconclusive"
    assert "pgd_ge_fgsm" in _claim(weak, "C2", "sanity")


def test_with_pgd_off_no_card_says_all_checks_pass(tmp_path):
    t = run(tmp_path, {"attacks": {"pgd": {"enabled": False}}})
    text = t["report"]
    assert "all checks pass" not in text and "all pass" not in text
    line = _claim(t, "C2", "sanity")
    assert line.startswith("2 of 6 checks ran") and "not run: " in line and "pgd_ge_fgsm" in line
    assert "2 of 6 checks ran" in text


def test_the_report_eps_drives_cards_mcnemar_and_captions(base, tmp_path):
    """report.eps = 4: the cards, the McNemar tests and the figures' options read 4/255, and no
    8/255 is left in the report (mutation: a hard-coded 8 anywhere fails this)."""
    change = {"report": {"eps": 4}, "attacks": {"square": {"eps": [4]}, "pgd": {"check": {"eps": 4}}}}
    t = run(tmp_path, change, reuse=base)
    text = t["report"]
    assert "4/255" in text and "8/255" not in text
    assert np.allclose(t["mcnemar"].eps * 255, 4)
    mcnemar = text[text.index("### Point by point against BP at 4/255"):text.index("### Gradient-masking")]
    assert "| iris" in mcnemar and "_(none)_" not in mcnemar  # the summary reads the same eps
    by = t["by_pair"]
    c2 = by[(by.claim == "C2") & (by.reading == "worst")].iloc[0]
    worst4 = t["attacks"][(t["attacks"].attack == "worst") & np.isclose(t["attacks"].eps * 255, 4)
                          & (t["attacks"].method == "stdp")].accuracy.mean()
    assert c2.method_mean == pytest.approx(worst4)


def test_a_comparison_on_two_kinds_of_device_is_flagged_in_the_report(base):
    """The pipeline records every job's device (devices.csv); moving one train job of a pair to a GPU
    makes the report say so at the top, naming the pair. Unmixed, it says nothing."""
    from gupta_stdp import report
    from gupta_stdp.config import report_params

    devices = base["devices"]
    assert set(devices.stage) == {"train", "attack", "square"} and devices.kind.eq("cpu").all()
    assert "**Mixed devices.**" not in base["report"]
    moved = devices.copy()
    moved.loc[(moved.stage == "train") & (moved.rule == "stdp"), "device"] = "cuda:NVIDIA H200"
    text = report.render(report.numbers({**base, "devices": moved}, report_params(base["config"]), {}))
    assert "**Mixed devices.**" in text
    pair = f"{moved.dataset.iloc[0]} {moved.pair.iloc[0]} trained its models on different devices"
    assert pair in text
