"""The trial report's dose-response figure draws and labels its arm-mean intervals at the
scenario's confidence level (1 - alpha), not always 95 %, and draws exactly the t intervals of the
arm-means table beside it (same estimate, SE, df, level), not normal (z) intervals."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from oasim.analysis.ancova import ancova
from oasim.analysis.mcpmod import mcp_mod
from oasim.report import figures
from oasim.report.document import fmt
from oasim.report.trial import dose_response_section


def _trial(seed=7):
    rng = np.random.default_rng(seed)
    dose = np.repeat([0.0, 1.0, 3.0, 10.0], 8)
    chg = -2.0 - 6.0 * dose / (dose + 2.0) + rng.normal(0.0, 3.0, dose.size)
    return pd.DataFrame({"DOSE": dose, "CHG": chg})


def _drawn(monkeypatch, alpha):
    """The section and the figure it drew (captured before it is rendered to PNG)."""
    rows = _trial()
    dr = mcp_mod(rows, dose="DOSE", response="CHG", direction="decreasing", alpha=alpha / 2)  # as trial.analyse
    drawn = []
    monkeypatch.setattr(figures, "to_png", lambda fig: drawn.append(fig) or b"")
    scenario = SimpleNamespace(analysis=SimpleNamespace(alpha=alpha, primary_visit_month=6.0))
    section = dose_response_section(scenario, SimpleNamespace(dose_response=dr), "WOMAC_TOTAL")
    return rows, section, drawn[0]


@pytest.mark.parametrize("alpha, level", [(0.1, "90%"), (0.05, "95%"), (0.2, "80%")])
def test_figure_interval_and_label_follow_alpha(monkeypatch, alpha, level):
    rows, section, fig = _drawn(monkeypatch, alpha)
    ax = fig.axes[0]
    bars = ax.containers[0]  # the errorbar container: (data line, caps, (vertical bars,))
    segments = np.array(bars.lines[2][0].get_segments())  # one [(x, low), (x, high)] per arm
    # Reference: the same cell-means model fitted by statsmodels, with t intervals (df = N - 4),
    # and oasim's ANCOVA LS-means table of that model (no baseline covariate).
    ref = smf.ols("CHG ~ 0 + C(DOSE)", rows).fit().conf_int(alpha=alpha).to_numpy()
    lsm = ancova(rows, response="CHG", treatment="DOSE", baseline=None, control=0.0, alpha=alpha).lsmeans
    lsm = lsm.loc[sorted(lsm.index)]  # by dose (ancova lists the control first, then the levels as text sorts)
    np.testing.assert_allclose(segments[:, 0, 0], [0.0, 1.0, 3.0, 10.0])
    for side, column in ((0, "ci_lower"), (1, "ci_upper")):
        np.testing.assert_allclose(segments[:, side, 1], ref[:, side], rtol=1e-12)
        np.testing.assert_allclose(segments[:, side, 1], lsm[column].to_numpy(float), rtol=1e-10)
    table = section.blocks[1]  # the arm-means table the figure summarises: same printed digits
    assert table.columns == ["Dose", "n", "Mean", "SE", "df", f"{level} CI low", f"{level} CI high"]
    assert [r[4] for r in table.rows] == ["28"] * 4
    assert [r[5] for r in table.rows] == [fmt(float(v)) for v in segments[:, 0, 1]]
    assert [r[6] for r in table.rows] == [fmt(float(v)) for v in segments[:, 1, 1]]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"arm mean ± {level} CI" in legend, legend
    footnotes = " ".join(section.blocks[0].footnotes + table.footnotes)
    assert f"t-based {level} CIs" in footnotes and "normal" not in footnotes, footnotes
    assert not any(o in footnotes + " ".join(legend) for o in {"95%", "90%", "80%"} - {level})
