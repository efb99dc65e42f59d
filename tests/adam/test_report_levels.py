"""The ADaM analysis report gives its intervals at the analysis' level 1 - alpha: column headers,
figure titles and the mean-by-visit figure ("90% CI low" at alpha 0.1), with the numbers of an
independent statsmodels fit (ANCOVA, LS means, trend) or of scipy's t quantile by hand (MMRM
contrasts, descriptive means by visit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from oasim.adam import AnalysisSpec, analyse_adam, read_adam_dir
from oasim.adam.report import analysis_sections
from oasim.errors import FieldError
from oasim.report import figures
from oasim.report.document import Figure, Paragraph, Table, fmt

from .test_adam_analyse import _small

ARM = "1e+11 particles"
TERM = f"C(TRTP, Treatment('Placebo'))[T.{ARM}]"
LEVELS = {0.1: "90%", 0.05: "95%"}


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory):
    return _small(tmp_path_factory.mktemp("levels"))


def _report(small_dir, monkeypatch, alpha):
    """The analysis, its report sections and the figures drawn for them (before PNG rendering)."""
    res = analyse_adam(read_adam_dir(small_dir), AnalysisSpec(paramcd="WOMTOT", population="SAFFL", trend="TRTPN",
                                                              alpha=alpha))
    drawn = []
    monkeypatch.setattr(figures, "to_png", lambda fig: drawn.append(fig) or b"")
    sections = analysis_sections(res)
    return res, [b for s in sections for b in s.blocks], drawn


def _table(blocks, start: str) -> Table:
    (table,) = [b for b in blocks if isinstance(b, Table) and b.title.startswith(start)]
    return table


def _column(table: Table, name: str) -> list[str]:
    k = table.columns.index(name)
    return [row[k] for row in table.rows]


@pytest.mark.parametrize("alpha", sorted(LEVELS))
def test_report_tables_follow_alpha_and_equal_statsmodels(small_dir, monkeypatch, alpha):
    level = LEVELS[alpha]
    res, blocks, _ = _report(small_dir, monkeypatch, alpha)
    adqs = pd.read_csv(small_dir / "adqs.csv")
    texts = []
    for b in blocks:
        texts += [b.title, *b.footnotes] if isinstance(b, (Table, Figure)) else [b.text]
        texts += b.columns if isinstance(b, Table) else []
    ci_tables = [b for b in blocks if isinstance(b, Table) and any("CI" in c for c in b.columns)]
    assert len(ci_tables) == 4  # LS means, differences, trend, MMRM
    for t in ci_tables:
        assert [c for c in t.columns if "CI" in c] == [f"{level} CI low", f"{level} CI high"], t.columns
    other = set(LEVELS.values()) - {level}
    assert not any(o in text for text in texts for o in other), [t for t in texts if any(o in t for o in other)]
    assert any(t.startswith("Forest plot") and t.endswith(f"({level} CI)") for t in texts)
    assert any(t.endswith(f"± {level} CI by visit") for t in texts)
    assert any(f"t-based {level} CIs" in t for t in texts)
    assert (res.to_json()["alpha"], res.to_json()["ci_level"]) == (alpha, pytest.approx(1 - alpha, abs=1e-15))

    diffs, lsm, trend = (_table(blocks, s) for s in ("Differences vs", "LS means", "Linear trend"))
    for k, visit in enumerate(["Week 4", "Week 12"]):
        rows = adqs[adqs["AVISIT"] == visit]
        fit = smf.ols("CHG ~ C(TRTP, Treatment('Placebo')) + BASE", rows).fit()
        lo, hi = fit.conf_int(alpha=alpha).loc[TERM]
        ours = res.pairwise[res.pairwise["visit"] == visit].iloc[0]
        assert (ours["ci_low"], ours["ci_high"]) == pytest.approx((lo, hi), rel=1e-10)
        assert _column(diffs, f"{level} CI low")[k] == fmt(lo) and _column(diffs, f"{level} CI high")[k] == fmt(hi)
        # LS means: the model's prediction at the mean baseline, statsmodels' t interval
        grid = pd.DataFrame({"TRTP": ["Placebo", ARM], "BASE": rows["BASE"].mean()})
        ref = fit.get_prediction(grid).conf_int(alpha=alpha)
        got = res.lsmeans[res.lsmeans["visit"] == visit][["ci_low", "ci_high"]].to_numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-10)
        assert _column(lsm, f"{level} CI low")[2 * k:2 * k + 2] == [fmt(v) for v in ref[:, 0]]
        slope = smf.ols("CHG ~ TRTPN + BASE", rows).fit().conf_int(alpha=alpha).loc["TRTPN"]
        assert _column(trend, f"{level} CI high")[k] == fmt(float(slope.iloc[1]), 4)
    # MMRM contrasts: estimate ± t(1 - alpha/2, df) · SE, the quantile taken by hand
    mmrm = _table(blocks, "MMRM differences")
    c = res.mmrm.contrasts
    half = stats.t.ppf(1 - alpha / 2, c["df"].to_numpy(float)) * c["se"].to_numpy(float)
    np.testing.assert_allclose(c["ci_upper"] - c["estimate"], half, rtol=1e-10)
    np.testing.assert_allclose(c["estimate"] - c["ci_lower"], half, rtol=1e-10)
    assert sorted(_column(mmrm, f"{level} CI low")) == sorted(fmt(float(v)) for v in c["ci_lower"])


@pytest.mark.parametrize("alpha", sorted(LEVELS))
def test_mean_by_visit_figure_draws_t_intervals_at_alpha(small_dir, monkeypatch, alpha):
    res, blocks, drawn = _report(small_dir, monkeypatch, alpha)
    (fig,) = [f for f in drawn if f.axes[0].get_legend() and f.axes[0].get_legend().get_title().get_text()]
    ax = fig.axes[0]
    assert ax.get_legend().get_title().get_text() == f"mean ± {LEVELS[alpha]} t-CI"
    adqs = pd.read_csv(small_dir / "adqs.csv")
    post = adqs[adqs["AVISITN"] > 0]
    for container, arm in zip(ax.containers, ["Placebo", ARM]):
        segments = np.array(container.lines[2][0].get_segments())  # one [(x, low), (x, high)] per visit
        for seg, visitn in zip(segments, [4, 12]):
            x = post.loc[(post["TRTP"] == arm) & (post["AVISITN"] == visitn), "CHG"].to_numpy(float)
            half = stats.t.ppf(1 - alpha / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
            np.testing.assert_allclose(seg[:, 1], [x.mean() - half, x.mean() + half], rtol=1e-12)


def _desc():
    return pd.DataFrame({"arm": ["A", "A", "B", "B"], "visit": ["W4", "W12"] * 2, "visitn": [4, 12, 4, 12],
                         "n": [5, 4, 9, 2], "mean": [-1.0, -2.5, 0.5, -4.0], "sd": [2.0, 1.5, 3.0, 0.7]})


@pytest.mark.parametrize("level, quantile", [(0.9, 0.95), (0.95, 0.975), (0.8, 0.9)])
def test_mean_by_visit_half_widths(monkeypatch, level, quantile):
    drawn = []
    monkeypatch.setattr(figures, "to_png", lambda fig: drawn.append(fig) or b"")
    desc = _desc()
    kwargs = {} if level == 0.95 else {"level": level}  # 0.95 is the default
    figures.mean_by_visit(desc, ["A", "B"], {}, "CHG", **kwargs)
    ax = drawn[0].axes[0]
    for container, arm in zip(ax.containers, ["A", "B"]):
        d = desc[desc["arm"] == arm]
        segments = np.array(container.lines[2][0].get_segments())
        half = [stats.t.ppf(quantile, n - 1) * sd / np.sqrt(n) for n, sd in zip(d["n"], d["sd"])]
        np.testing.assert_allclose((segments[:, 1, 1] - segments[:, 0, 1]) / 2, half, rtol=1e-12)
    assert ax.get_legend().get_title().get_text() == f"mean ± {100 * level:g}% t-CI"


@pytest.mark.parametrize("level", [0.0, 1.0, 95, -0.1, "0.9"])
def test_mean_by_visit_bad_level_is_named(level):
    with pytest.raises(FieldError, match="level"):
        figures.mean_by_visit(_desc(), ["A", "B"], {}, "CHG", level=level)


@pytest.mark.parametrize("alpha", sorted(LEVELS))
def test_cli_table_header_says_the_level(small_dir, capsys, alpha):
    from oasim.commands.analyse import _print

    res = analyse_adam(read_adam_dir(small_dir), AnalysisSpec(paramcd="WOMTOT", population="SAFFL", alpha=alpha))
    _print(res)
    out = capsys.readouterr().out
    other = (set(LEVELS.values()) - {LEVELS[alpha]}).pop()
    assert f"{LEVELS[alpha]} CI" in out and other not in out
