"""Responder definitions on hand-made edge cases; RD/OR/CMH against statsmodels and R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
import statsmodels.formula.api as smf

from oasim.analysis import mcid_responder, omeract_oarsi_responder, responders
from oasim.errors import FieldError

from .conftest import read_reference

NAN = np.nan

# columns: pain0, pain1, func0, func1, glob0, glob1, expected
CASES = [
    (60, 30, 50, 50, 50, 50, True),     # pain -50 % and -30 points: high improvement
    (30, 16, 50, 50, 50, 50, False),    # pain -53 % but only 14 points: not high; 1 of 3 moderate
    (60, 30.1, 50, 50, 50, 50, False),  # pain 49.8 %: not high; only pain moderate
    (50, 50, 40, 20, 50, 50, True),     # function exactly -50 % and -20 points: boundary counts
    (50, 40, 50, 40, 50, 50, True),     # pain and function exactly -20 % and -10: two of three
    (50, 41, 50, 40, 50, 40, True),     # pain 9 points (fails) but function and global pass
    (50, 41, 50, 41, 50, 40, False),    # only global passes
    (40, 31, 60, 48, 70, 56, True),     # pain 22.5 % but 9 pts fails; function 20 %/12 and global 20 %/14 pass
    (10, 2, 12, 4, 90, 90, False),      # 80 % relative but < 10 points absolute everywhere
    (0, 0, 50, 40, 50, 40, True),       # zero baseline pain cannot improve; function + global pass
    (60, 30, NAN, NAN, NAN, NAN, True),  # high pain improvement decides despite missing others
    (50, 40, 50, 40, NAN, NAN, True),   # two of three known to pass
    (50, 45, 50, 40, NAN, NAN, None),   # one passes, global unknown: undetermined
    (50, 55, 50, 60, 50, 60, False),    # worsening everywhere
]


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_omeract_oarsi_edge_cases(case):
    *values, expected = case
    status = omeract_oarsi_responder(*[[v] for v in values]).iloc[0]
    if expected is None:
        assert pd.isna(status)
    else:
        assert bool(status) is expected


def test_omeract_oarsi_vectorised_and_range_checked():
    values = list(zip(*[c[:6] for c in CASES[:8]]))
    status = omeract_oarsi_responder(*values)
    assert status.tolist() == [c[6] for c in CASES[:8]]
    with pytest.raises(FieldError):
        omeract_oarsi_responder([150], [10], [50], [50], [50], [50])


def test_mcid_responder():
    status = mcid_responder([50, 50, 50, NAN], [40.9, 41, 60, 20], mcid=9.1)
    assert status.iloc[:3].tolist() == [True, False, False]
    assert pd.isna(status.iloc[3])
    assert mcid_responder([10], [20], mcid=9.1, lower_is_better=False).iloc[0]
    with pytest.raises(FieldError):
        mcid_responder([1], [1], mcid=0)


def _trial(seed=4, n=120):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"TRT01P": rng.choice(["Placebo", "MSC"], n), "BASE": rng.normal(60, 10, n),
                       "SITE": rng.choice(["A", "B", "C"], n)})
    logit = -0.5 + 1.0 * (df["TRT01P"] == "MSC") + 0.03 * (df["BASE"] - 60)
    df["RESPFL"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "Y", "N")
    return df


def test_rates_risk_difference_and_adjusted_odds_ratio():
    df = _trial()
    res = responders(df, baseline="BASE", strata="SITE")
    y = (df["RESPFL"] == "Y").astype(float)
    for arm in ("Placebo", "MSC"):
        assert res.rates.loc[arm, "rate"] == pytest.approx(y[df["TRT01P"] == arm].mean())
    rd = res.rates.loc["MSC", "rate"] - res.rates.loc["Placebo", "rate"]
    assert res.comparisons.loc["MSC", "risk_difference"] == pytest.approx(rd)
    lo, hi = res.comparisons.loc["MSC", ["rd_ci_lower", "rd_ci_upper"]]
    # Newcombe (1998) method 10, by hand: Wilson limits of each rate, combined in quadrature
    z = stats.norm.ppf(0.975)

    def wilson(k, n):
        p = k / n
        centre, half = p + z**2 / (2 * n), z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        return p, (centre - half) / (1 + z**2 / n), (centre + half) / (1 + z**2 / n)

    p1, l1, u1 = wilson(y[df["TRT01P"] == "MSC"].sum(), (df["TRT01P"] == "MSC").sum())
    p0, l0, u0 = wilson(y[df["TRT01P"] == "Placebo"].sum(), (df["TRT01P"] == "Placebo").sum())
    assert lo == pytest.approx(rd - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), abs=1e-10)
    assert hi == pytest.approx(rd + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2), abs=1e-10)
    direct = smf.logit("y ~ C(TRT01P, Treatment('Placebo')) + BASE", df.assign(y=y)).fit(disp=False)
    name = "C(TRT01P, Treatment('Placebo'))[T.MSC]"
    assert res.comparisons.loc["MSC", "odds_ratio"] == pytest.approx(np.exp(direct.params[name]), rel=1e-8)
    assert res.cmh.loc["MSC", "n_strata"] == 3
    assert "Cochran-Mantel-Haenszel" in str(res.summary())
    assert res.to_frame().shape[0] == 1


def test_cmh_matches_r_mantelhaen_on_adcibc(adcibc):
    data = adcibc[(adcibc["TRTPN"] != 54) & (adcibc["AGEGR1"] != ">80")].assign(RESP=lambda d: d["SEX"] == "M")
    assert len(data) == 111
    res = responders(data, response="RESP", treatment="TRTP", control="Placebo", strata="AGEGR1")
    row = res.cmh.loc["Xanomeline High Dose"]
    for ref in read_reference("cmh_adcibc_r.csv").to_dict("records"):
        assert row[ref["quantity"]] == pytest.approx(ref["value"], abs=ref["abs_tol"])


def test_bad_flags_raise():
    df = _trial().assign(RESPFL="maybe")
    with pytest.raises(FieldError, match="RESPFL"):
        responders(df)
