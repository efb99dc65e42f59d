"""The trial report labels its intervals with the scenario's confidence level, not always 95 %."""

from types import SimpleNamespace

import pandas as pd

from oasim.report.trial import endpoints_section, responders_section


def _scenario(alpha):
    return SimpleNamespace(analysis=SimpleNamespace(alpha=alpha, primary_visit_month=6.0))


def _analysis():
    diffs = pd.DataFrame({"estimate": [-3.0], "se": [1.0], "ci_lower": [-4.6], "ci_upper": [-1.4], "p_value": [0.01]},
                         index=["A"])
    rates = pd.DataFrame({"n": [6, 6], "responders": [1, 4], "rate": [1 / 6, 4 / 6], "ci_lower": [0.0, 0.2],
                          "ci_upper": [0.6, 0.9]}, index=["Placebo", "A"])
    comp = pd.DataFrame({"risk_difference": [0.5], "rd_ci_lower": [0.0], "rd_ci_upper": [0.8], "odds_ratio": [10.0],
                         "or_ci_lower": [0.7], "or_ci_upper": [150.0], "p_value": [0.2],
                         "or_method": ["logistic (adjusted for BASE)"]}, index=["A"])
    return SimpleNamespace(ancova={"WOMAC_TOTAL": SimpleNamespace(differences=diffs, n_subjects=12)},
                           responders={"OMERACT-OARSI": SimpleNamespace(rates=rates, comparisons=comp)})


def _texts(section):
    return [" ".join(b.columns) + " " + " ".join(b.footnotes) for b in section.blocks]


def test_headings_follow_alpha():
    lab = {"Placebo": "Placebo", "A": "Dose A"}
    for alpha, level in ((0.05, "95%"), (0.1, "90%"), (0.2, "80%")):
        texts = _texts(endpoints_section(_scenario(alpha), _analysis(), ["Placebo", "A"], lab))
        texts += _texts(responders_section(_scenario(alpha), _analysis(), ["Placebo", "A"], lab))
        assert all(f"{level} CI" in t for t in texts), (alpha, texts)
        other = {"95%", "90%", "80%"} - {level}
        assert not any(o in t for t in texts for o in other)


def test_whole_report_at_alpha_0_1_says_90_only(tmp_path):
    """A whole (small) trial run at alpha 0.1: every interval label of report.html says 90%, none 95%
    (the trial's own sections and the ADaM analysis sections it shares with `oasim analyse`)."""
    import re

    from oasim.trial.run import run_trial

    from .test_trial_run import small_scenario

    run_trial(small_scenario(**{"analysis.alpha": 0.1}), tmp_path / "run")
    html = re.sub(r'src="data:[^"]*"', "", (tmp_path / "run" / "report.html").read_text(encoding="utf-8"))
    assert not re.search(r"95 ?%", html), re.findall(r".{80}95 ?%.{40}", html)
    for text in ("± 90% CI by visit", "Forest plot: difference vs Placebo in CHG (90% CI)", "t-based 90% CIs",
                 "MMRM differences vs Placebo by visit"):
        assert text in html, text
    assert html.count("90% CI low") >= 8  # LS means, differences, trend, MMRM, endpoints, MCP-Mod, responders
