"""validate-against: published CI widths, interval score, baseline conditioning, coverage, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats
from typer.testing import CliRunner

from oasim.calibration.arms import (SCORES, ArmRow, BaselineTarget, arm_table_from_records, condition_baseline,
                                    read_arm_table, simulate_arm_table)
from oasim.calibration.validate import interval_score, new_study_effects, published_ci_width, score_rows
from oasim.cli import app
from oasim.endpoints import load_observation_parameters, observe_clinical, sample_baseline_symptoms
from oasim.endpoints.clinical import baseline_disease_factor

SMALL = Path(__file__).parent / "data" / "small_arms.csv"


def _row(**kw) -> ArmRow:
    base = dict(study="S", arm="A", product="saline", cell_source="none", dose=None, dose_unit="none",
                injection_days="0", co_injection="none", n=25, kl_grades="2-3", endpoint="vas_pain", scale_max=100,
                statistic="mean", month=3, value=40.0, spread_type="none", spread_low=None, spread_high=None)
    return ArmRow.model_validate({**base, **kw})


def test_published_ci_widths_follow_the_issue_formulas():
    z = stats.norm.ppf(0.975)
    assert published_ci_width(_row(spread_type="sd", spread_low=10)) == pytest.approx(2 * z * 10 / 5)
    assert published_ci_width(_row(spread_type="se", spread_low=2)) == pytest.approx(2 * z * 2)
    assert published_ci_width(_row(spread_type="ci95", spread_low=-20, spread_high=-14)) == pytest.approx(6)
    iqr = published_ci_width(_row(statistic="median", spread_type="iqr", spread_low=30, spread_high=57))
    # SD from the IQR of n = 25 (Wan et al. 2014): eta = 2 * Phi^-1(18.625 / 25.25) = 2 * 0.63604 = 1.27207
    assert iqr == pytest.approx(3.92 * 1.2533 * (27 / 1.27207) / 5, rel=1e-3)
    ci = stats.binomtest(6, 17).proportion_ci(method="exact")
    prop = published_ci_width(_row(endpoint="ae_any", scale_max=1, statistic="proportion", value=6 / 17, n=17))
    assert prop == pytest.approx(ci.high - ci.low)
    assert published_ci_width(_row()) is None


def test_interval_score_matches_gneiting_raftery():
    assert interval_score(1.0, 3.0, 2.0) == 2.0
    assert interval_score(1.0, 3.0, 0.5) == pytest.approx(2.0 + 40 * 0.5)
    assert interval_score(1.0, 3.0, 4.0) == pytest.approx(2.0 + 40 * 1.0)


def _observed_baseline(symptoms, obs, rng):
    n = len(symptoms.vas_pain_mm)
    scores = observe_clinical(symptoms, np.ones((n, 1)), np.ones((n, 1)), np.zeros(1), rng, obs)
    return scores


def test_baseline_conditioning_reproduces_a_reported_median_and_iqr():
    """VAS median 62 (IQR 50-74 mm) in an arm of 10: the SD is IQR/η(10) = 24/1.16279 (Wan et al.
    2014; a sample of 10 normal values has an expected IQR of 1.163 SD, not 1.349), and the
    simulated observed baseline of 20 000 subjects has that median (SE about 0.16 mm) and the
    normal IQR of that SD, 1.349·24/1.163 = 27.8 mm, within sampling error (noise and rounding
    included)."""
    obs = load_observation_parameters()
    rng = np.random.default_rng(7)
    row = _row(month=0, statistic="median", spread_type="iqr", spread_low=50, spread_high=74, value=62, n=10)
    from oasim.calibration.arms import baseline_target

    target = baseline_target(row)
    assert target == BaselineTarget("vas_pain", 62.0, pytest.approx(24 / 1.16279, rel=1e-5))
    sym = condition_baseline(sample_baseline_symptoms(20_000, rng, obs), [target], obs,
                             baseline_disease_factor(np.ones(20_000), obs))
    vas = _observed_baseline(sym, obs, rng)["VAS_PAIN"][:, 0]
    q25, q50, q75 = np.percentile(vas, [25, 50, 75])
    assert q50 == pytest.approx(62, abs=1.0)
    assert q75 - q25 == pytest.approx(1.34898 * 24 / 1.16279, abs=1.5)


def test_baseline_conditioning_of_womac_total_mean_and_sd():
    obs = load_observation_parameters()
    rng = np.random.default_rng(8)
    row = _row(month=0, endpoint="womac_total", scale_max=96, value=40, spread_type="sd", spread_low=12)
    from oasim.calibration.arms import baseline_target

    sym = condition_baseline(sample_baseline_symptoms(20_000, rng, obs), [baseline_target(row)], obs,
                             baseline_disease_factor(np.ones(20_000), obs))
    total = _observed_baseline(sym, obs, rng)["WOMAC_TOTAL"][:, 0]
    assert total.mean() == pytest.approx(40, abs=0.5)
    assert total.std() == pytest.approx(12, abs=0.8)


def test_a_simulated_table_scores_its_rows_and_lists_the_skipped_one():
    table = read_arm_table(SMALL)
    sim = simulate_arm_table(table, "human", replicates=12, seed=3)
    assert sim.skipped == {10: "dose of the exosome arm not reported"}
    assert list(sim.values.index) == list(range(1, 10)) and sim.values.shape[1] == 12
    result = score_rows(table, sim.values, sim.skipped, 12)
    assert [c["row"] for c in result.conditioning] == [1, 6]
    assert [r["row"] for r in result.rows] == [2, 3, 4, 5, 7, 8, 9]
    assert [s["row"] for s in result.skipped] == [10]
    for r in result.rows:
        assert r["pi_low"] <= r["pi_high"]
        assert r["inside"] == (r["pi_low"] <= r["value"] <= r["pi_high"])
    # the same chunk gives the same numbers
    again = simulate_arm_table(table, "human", replicates=12, seed=3)
    assert np.array_equal(again.values.to_numpy(), sim.values.to_numpy())


def test_cli_json_has_the_issue_keys_and_resumes_from_its_chunks(tmp_path):
    out = tmp_path / "chunks"
    args = ["validate-against", str(SMALL), "--replicates", "6", "--seed", "2", "--chunk-size", "3", "--json",
            "--out", str(out)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    payload = json.loads(first.output[first.output.index("{"):])
    assert {"rows", "coverage", "mean_interval_width", "skipped"} <= set(payload)
    assert set(payload["rows"][0]) == {"row", "study", "arm", "endpoint", "month", "statistic", "value", "pi_low",
                                       "pi_high", "inside", "width_ratio", "score"}
    assert payload["coverage"] == pytest.approx(np.mean([r["inside"] for r in payload["rows"]]))
    ratios = [r["width_ratio"] for r in payload["rows"] if r["width_ratio"] is not None]
    assert payload["mean_interval_width"] == pytest.approx(np.mean(ratios))
    assert payload["skipped"][0]["reason"] == "dose of the exosome arm not reported"
    chunks = sorted(p.name for p in out.glob("chunk_*.parquet"))
    assert chunks == ["chunk_0000000_0000003.parquet", "chunk_0000003_0000006.parquet"]  # oasim.distributed.chunk_path
    (out / chunks[1]).unlink()
    again = CliRunner().invoke(app, args)
    assert json.loads(again.output[again.output.index("{"):])["rows"] == payload["rows"]


def _self_table(n: int, seed: int):
    """A table of 4 studies whose 'published' values are one simulated replay of the model itself."""
    records = []
    for s, (product, source, dose, unit) in enumerate([("saline", "none", "", "none"),
                                                         ("hyaluronic_acid", "none", "", "none"),
                                                         ("msc", "bone_marrow", "3e7", "cells"),
                                                         ("msc", "umbilical_cord", "1e7", "cells")]):
        for endpoint, scale, stat in (("vas_pain", 100, "mean"), ("womac_total", 96, "mean_change"),
                                      ("womac_pain", 20, "median")):
            for month in (1, 3, 6):
                records.append(dict(study=f"S{s}", arm="A", product=product, cell_source=source, dose=dose,
                                    dose_unit=unit, injection_days="0", co_injection="none", n=n, kl_grades="2-4",
                                    endpoint=endpoint, scale_max=scale, statistic=stat, month=month, value=0,
                                    spread_type="none", spread_low="", spread_high=""))
    table = arm_table_from_records(records)
    published = simulate_arm_table(table, "human", replicates=1, seed=seed).values.iloc[:, 0]
    return table.with_values(published.to_dict())


def test_coverage_on_a_table_simulated_from_the_model_is_about_95_percent():
    """36 rows whose published values are an independent replay of the model: the 95 % predictive
    intervals (60 replicates) cover them at about 95 %. Each row is covered with probability
    0.95 x 60/61 ~ 0.93 (sample quantiles); rows within an arm are correlated, so the bound is wide."""
    table = _self_table(n=8, seed=11)
    sim = simulate_arm_table(table, "human", replicates=60, seed=12)
    result = score_rows(table, sim.values, sim.skipped, 60)
    assert len(result.rows) == 36
    assert 0.80 <= result.coverage <= 1.0


@pytest.mark.slow
def test_coverage_on_many_self_simulated_tables_is_95_percent():
    """10 independent self-simulated tables (360 rows), 200 replicates: coverage in [0.90, 0.98]."""
    inside = []
    for k in range(10):
        table = _self_table(n=12, seed=100 + k)
        sim = simulate_arm_table(table, "human", replicates=200, seed=500 + k)
        inside += [r["inside"] for r in score_rows(table, sim.values, sim.skipped, 200).rows]
    assert 0.90 <= np.mean(inside) <= 0.98


def test_new_study_effects_share_the_study_and_arm_terms_and_spare_proportions_and_month_0():
    table = read_arm_table(SMALL)
    only_study, no_shift = new_study_effects(table, {"tau_study": 0.1, "tau_arm": 0.0, "sigma_row": 0.0},
                                             np.random.default_rng(2))
    assert (no_shift == 0.0).all()  # no AE SD given: proportions stay as simulated
    by_study: dict[str, set] = {}
    for row_id, r in enumerate(table.rows, start=1):
        scored = r.month > 0 and r.statistic != "proportion" and r.scale_max is not None and r.endpoint in SCORES
        if not scored:
            assert only_study[row_id] == 0.0
        else:  # one η per study, on each row's own scale
            by_study.setdefault(r.study, set()).add(round(only_study[row_id] / r.scale_max, 12))
    assert by_study and all(len(v) == 1 for v in by_study.values())
    # the row SD alone: independent rows with SD sigma_row × scale_max
    draws = np.array([new_study_effects(table, {"tau_study": 0.0, "tau_arm": 0.0, "sigma_row": 0.05},
                                        np.random.default_rng(k))[0].to_numpy() for k in range(4000)])
    scales = np.array([r.scale_max if r.scale_max and r.month > 0 and r.statistic != "proportion"
                       and r.endpoint in SCORES else 0.0 for r in table.rows])
    nonzero = scales > 0
    assert nonzero.any()
    np.testing.assert_allclose(draws[:, nonzero].std(axis=0), 0.05 * scales[nonzero], rtol=0.06)
    corr = np.corrcoef(draws[:, nonzero].T)
    assert np.abs(corr[np.triu_indices_from(corr, 1)]).max() < 0.1


def test_secondary_source_sds_touch_only_secondary_rows_and_ae_shift_is_one_per_study():
    """The extra SDs of a secondary source widen only the rows flagged ``source_kind =
    secondary``; the AE log-odds shift is shared by a study's proportion rows and moves their
    counts, 0/n included (continuity correction), and nothing else."""
    from oasim.calibration.arms import bundled_arm_table
    from oasim.calibration.validate import shift_proportions

    table = read_arm_table(bundled_arm_table())
    sds = {"tau_arm_secondary": 0.1, "sigma_row_secondary": 0.05, "tau_ae_logit": 1.0}
    effect, shift = new_study_effects(table, sds, np.random.default_rng(3))
    kinds = {row_id: r for row_id, r in enumerate(table.rows, start=1)}
    secondary_scored = [i for i, r in kinds.items() if r.source_kind == "secondary" and r.month > 0]
    assert secondary_scored and all(effect[i] != 0.0 for i in secondary_scored)
    assert all(effect[i] == 0.0 for i, r in kinds.items() if r.source_kind == "primary")
    by_study: dict[str, set] = {}
    for i, r in kinds.items():
        if r.statistic == "proportion":
            by_study.setdefault(r.study, set()).add(shift[i])
        else:
            assert shift[i] == 0.0
    assert len(by_study) >= 3 and all(len(v) == 1 and 0.0 not in v for v in by_study.values())
    # the shift on counts: 0 of 33 moved by +3 log-odds is logit^-1(logit(0.5/33) + 3) = 0.24 -> 8/33
    values = pd.DataFrame({0: [0.0, 0.5, 0.25]}, index=[1, 2, 3])
    moved = shift_proportions(values, pd.Series({1: 3.0, 2: 0.0, 3: -20.0}), pd.Series({1: 33, 2: 10, 3: 8}))
    assert moved.loc[1, 0] == round(33 * special.expit(special.logit(0.5 / 33) + 3.0)) / 33 == 8 / 33
    assert moved.loc[2, 0] == 0.5 and moved.loc[3, 0] == 0.0


def test_score_range_keeps_a_new_study_on_its_instrument():
    """With the calibrated random effects (tau about 0.1 of the scale) the replicate means of
    Gupta2016's MSC arms (model about 20 mm VAS) crossed the floor: 95 % intervals reached -34 mm.
    Each replicate is clipped to [0, max] for means, [-max, max] for changes; others unbounded."""
    from oasim.calibration.arms import bundled_arm_table
    from oasim.calibration.validate import score_range, validate_against

    full = read_arm_table(bundled_arm_table())
    low, high = score_range(full)
    for row_id, r in enumerate(full.rows, start=1):
        if r.statistic == "proportion" or r.endpoint not in SCORES or r.scale_max is None:
            assert (low[row_id], high[row_id]) == (-np.inf, np.inf)
        else:
            assert high[row_id] == r.scale_max
            assert low[row_id] == (-r.scale_max if r.statistic == "mean_change" else 0.0)
    rows = [r.model_dump() for r in full.rows if r.study == "Gupta2016" and r.arm.startswith("cohort2")]
    result = validate_against(arm_table_from_records(rows), "human_calibrated", replicates=40, seed=3)
    scored = [row for row in result.rows if row["month"] > 0]
    assert scored and all(row["pi_low"] >= 0.0 for row in scored)
    assert any(row["pi_low"] == 0.0 for row in scored)  # the floor is reached: the clip acts


def test_a_rounded_proportion_is_scored_as_the_count_it_reports():
    """Chen2021 reports 0.733 of 15 subjects (11/15 = 0.7333...): a simulated interval starting at
    11/15 covers it; 10/15 = 0.667 as an upper bound does not."""
    import pandas as pd

    table = arm_table_from_records([_row(n=15, kl_grades="2-4", endpoint="ae_any", scale_max=1,
                                         statistic="proportion", month=5.5, value=0.733).model_dump()])
    at_11 = score_rows(table, pd.DataFrame([[11 / 15] * 10 + [1.0] * 10], index=[1]), {}, 20)
    assert at_11.rows[0]["inside"] and at_11.rows[0]["value"] == 0.733
    below = score_rows(table, pd.DataFrame([[0.5] * 10 + [10 / 15] * 10], index=[1]), {}, 20)
    assert not below.rows[0]["inside"]


def test_treatment_effect_shift_is_one_per_study_on_treated_rows_with_a_control():
    """δ ~ N(0, tau_effect²) is shared by every treated score row (after month 0) of a study that
    has a control row, and is 0 on control arms, single-arm studies and AE rows; with tau_effect
    absent it is 0 everywhere, drawn after the other effects (their stream is unchanged)."""
    from oasim.calibration.arms import bundled_arm_table, control_rows
    from oasim.calibration.validate import treatment_effect_shifts

    table = read_arm_table(bundled_arm_table())
    pairs = control_rows(table)
    rng = np.random.default_rng(5)
    delta = treatment_effect_shifts(table, {"tau_effect": 0.4}, rng)
    by_study: dict[str, set] = {}
    for i, r in enumerate(table.rows, start=1):
        if i in pairs and r.month > 0 and r.statistic != "proportion" and r.endpoint in SCORES:
            by_study.setdefault(r.study, set()).add(delta[i])
        else:
            assert delta[i] == 0.0
    assert set(by_study) == {"Gupta2016", "LamoEspinosa2016"}  # the studies with scored follow-up and a control
    assert all(len(v) == 1 and 0.0 not in v for v in by_study.values())
    draws = np.array([treatment_effect_shifts(table, {"tau_effect": 0.4}, np.random.default_rng(s))
                      .loc[sorted(pairs)[-1]] for s in range(2000)])
    assert draws.std() == pytest.approx(0.4, rel=0.06)
    assert (treatment_effect_shifts(table, {}, np.random.default_rng(5)) == 0.0).all()
    a, b = np.random.default_rng(1), np.random.default_rng(1)
    plain = new_study_effects(table, {"tau_study": 0.05}, a)[0]
    with_delta = new_study_effects(table, {"tau_study": 0.05, "tau_effect": 0.4}, b)[0]
    pd.testing.assert_series_equal(plain, with_delta)
