"""summary.json names each interval ``ci`` and gives its level (``ci_level`` = 1 - the scenario's
alpha) instead of calling every interval ``ci95``; the intervals are statsmodels' at that level."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from oasim.analysis.responders import responders
from oasim.results import trial_summary
from oasim.trial.analyse import analyse
from oasim.trial.run import build_summary
from oasim.trial.summary import TrialSummary

from .test_analyse import hand_built_dataset
from .test_trial_run import small_scenario

ACTIVE = "1e+11 particles"


def _summary(alpha: float):
    ds = hand_built_dataset(effect=4.0)
    n = len(ds["ADSL"])
    ds.tables["ADSL"] = ds["ADSL"].assign(TRTDOSU="particles", COHORT=1, COMPLFL="Y")
    ds.tables["ADAE"] = ds["ADAE"].assign(AEREL="N")
    analysis = analyse(ds, "WOMAC_TOTAL", 2, alpha=alpha, fit_mmrm=False)
    flags = pd.DataFrame({"TRT01P": ds["ADSL"]["TRT01P"], "RESP": [1, 0, 0, 1, 0, 0] * 2 + [1, 1, 0, 1, 1, 0] * 2,
                          "BASE": np.linspace(30.0, 50.0, n)})
    analysis = replace(analysis, responders={"OMERACT-OARSI": responders(
        flags, response="RESP", treatment="TRT01P", control="Placebo", baseline="BASE", alpha=alpha)})
    scenario = small_scenario(**{"analysis.alpha": alpha})
    run = SimpleNamespace(screening={"screened": n, "eligible": n, "screen_failures": 0, "failures_by_reason": {}},
                          cohort_decisions=[], parameter_draw=None)
    return ds, flags, build_summary(scenario, run, ds, analysis)


@pytest.mark.parametrize("alpha", [0.1, 0.05])
def test_intervals_carry_their_level_and_match_statsmodels(alpha):
    ds, flags, summary = _summary(alpha)
    written = json.loads(json.dumps(summary.to_dict()))
    assert "ci95" not in json.dumps(written)
    assert TrialSummary.from_dict(written) == summary
    rows = ds["ADQS"][ds["ADQS"]["AVISITN"] == 2]
    fit = smf.ols("CHG ~ C(TRT01P, Treatment('Placebo')) + BASE", data=rows).fit()
    for arm in summary.arms:
        raw = next(a for a in written["arms"] if a["arm"] == arm.arm)
        change = raw["change_from_baseline"]["WOMAC_TOTAL"]["MONTH 6"]
        assert change["ci_level"] == 1 - alpha
        ref = DescrStatsW(rows.loc[rows["TRT01P"] == arm.arm, "CHG"].to_numpy(float)).tconfint_mean(alpha=alpha)
        assert change["ci"] == pytest.approx(list(ref), rel=1e-9)
        rate = raw["responders"]["OMERACT-OARSI"]
        k = int(flags.loc[flags["TRT01P"] == arm.arm, "RESP"].sum())
        assert rate["ci_level"] == 1 - alpha
        assert rate["ci"] == pytest.approx(list(proportion_confint(k, 12, alpha=alpha, method="beta")), rel=1e-9)
    anc = next(a for a in written["arms"] if a["arm"] == ACTIVE)["ancova_vs_placebo"]["WOMAC_TOTAL"]
    ref = fit.conf_int(alpha=alpha).loc[f"C(TRT01P, Treatment('Placebo'))[T.{ACTIVE}]"].tolist()
    assert anc["ci_level"] == 1 - alpha and anc["ci"] == pytest.approx(ref, rel=1e-9)
    level = f"{100 * (1 - alpha):g}%"
    assert summary.ci_level_text == level and f"mean [{level} CI]" in trial_summary(summary).title
