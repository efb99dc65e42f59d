"""Observation models: instrument ranges, placebo course, KOOS ADL identity, dose-dependent AEs."""

from __future__ import annotations

import numpy as np
import pytest

from oasim.endpoints import load_observation_parameters, observe_clinical, sample_baseline_symptoms, simulate_adverse_events
from oasim.endpoints.clinical import koos_from_womac, placebo_shape, regression_to_mean
from oasim.protocol import Dose


@pytest.fixture(scope="module")
def obs():
    return load_observation_parameters()


def test_scores_stay_on_their_instrument_scales(obs, rng):
    base = sample_baseline_symptoms(2000, rng, obs)
    t = np.array([0.0, 30.0, 182.0, 365.0])
    drive = np.column_stack([np.ones(2000), rng.uniform(0.2, 3.0, (2000, 3))])
    thick = np.full((2000, 4), 2.0) - rng.uniform(0, 0.5, (2000, 4)) * (t > 0)
    s = observe_clinical(base, drive, thick, t, rng, obs)
    for code, upper in (("WOMAC_PAIN", 20), ("WOMAC_STIFF", 8), ("WOMAC_FUNC", 68), ("WOMAC_TOTAL", 96), ("VAS_PAIN", 100)):
        assert s[code].min() >= 0 and s[code].max() <= upper
        assert np.all(s[code] == np.round(s[code]))  # Likert sums and mm are integers
    assert np.allclose(s["WOMAC_TOTAL"], s["WOMAC_PAIN"] + s["WOMAC_STIFF"] + s["WOMAC_FUNC"])
    assert np.allclose(s["WOMAC_TOTAL_NORM"], np.round(s["WOMAC_TOTAL"] / 96 * 100, 2))


def test_koos_adl_is_the_womac_function_items():
    koos = koos_from_womac(np.array([0, 10, 20]), np.array([0, 4, 8]), np.array([0, 34, 68]))
    assert list(koos["KOOS_ADL"]) == [100.0, 50.0, 0.0]
    assert list(koos["KOOS_PAIN"]) == [100.0, 50.0, 0.0]


def test_placebo_builds_holds_to_six_months_and_fades_by_twelve(obs):
    f = placebo_shape(np.array([0.0, 30.0, 91.0, 182.0, 365.0, 730.0]), obs)
    assert f[0] == 0.0 and f[1] > 0.8 and f[3] > 0.8
    assert f[4] == pytest.approx(0.5, abs=0.01) and f[5] < 0.15


def test_saline_arm_pain_change_matches_previtali_2020(obs, rng):
    """No disease change (drive 1, no cartilage loss): mean change ≈ the pooled saline response."""
    n = 20000
    base = sample_baseline_symptoms(n, rng, obs)
    t = np.array([0.0, 91.0])
    drive = np.full((n, 2), obs.value("pain_drive_reference_rel"))  # a typical KL 2-3 knee, no change
    s = observe_clinical(base, drive, np.full((n, 2), 2.0), t, rng, obs)
    shape = placebo_shape(t, obs)[1]
    change_pain = np.mean(s["WOMAC_PAIN"][:, 1] - s["WOMAC_PAIN"][:, 0])
    change_vas = np.mean(s["VAS_PAIN"][:, 1] - s["VAS_PAIN"][:, 0])
    # floors at 0 cut the response of subjects with little pain, so allow ~20 %
    assert change_pain == pytest.approx(-3.3 * shape, rel=0.2)
    assert change_vas == pytest.approx(-13.4 * shape, rel=0.2)


def test_related_aes_rise_with_dose(obs):
    rng = np.random.default_rng(5)
    n = 4000
    rates = []
    for dose in (None, Dose("msc", 1e7, "cells"), Dose("msc", 1e8, "cells")):
        ae = simulate_adverse_events(np.arange(n), [[(0.0, dose)]] * n, np.full(n, 30.0), rng, obs)
        rates.append(ae[ae["related"]]["subject_id"].nunique() / n)
    assert rates[0] < rates[1] < rates[2]
    # saline: injection-site pain 2.7 % (DF-HA) + effusion 1 %
    assert rates[0] == pytest.approx(1 - (1 - 0.027) * (1 - 0.01), abs=0.01)


def test_a_second_injection_renews_the_placebo_response(obs):
    t = np.array([0.0, 182.0, 273.0, 365.0, 456.0])
    once = placebo_shape(t, obs, [0.0])
    twice = placebo_shape(t, obs, [0.0, 182.0])
    np.testing.assert_allclose(twice[:2], once[:2])  # identical until the second injection
    assert np.all(twice[2:] > once[2:])
    # three months after the second injection the response is as after the first (renewal 1)
    assert twice[2] == pytest.approx(placebo_shape(np.array([91.0]), obs)[0], rel=1e-12)
    assert np.all(placebo_shape(t, obs, []) == 0.0)  # no injection, no placebo response


def test_per_subject_injection_days_renew_each_subjects_placebo(obs, rng):
    n = 20000
    base = sample_baseline_symptoms(n, rng, obs)
    t = np.array([0.0, 91.0, 273.0])
    drive = np.full((n, 3), obs.value("pain_drive_reference_rel"))
    days = [[0.0]] * (n // 2) + [[0.0, 182.0]] * (n // 2)
    s = observe_clinical(base, drive, np.full((n, 3), 2.0), t, rng, obs, injection_days=days)
    change = s["WOMAC_PAIN"][:, 2] - s["WOMAC_PAIN"][:, 0]
    # expected gap 3.3 x (0.98 - 0.70) = 0.9 points before the floor at 0 trims it
    assert change[n // 2:].mean() < change[: n // 2].mean() - 0.4


def test_placebo_is_larger_with_more_baseline_pain(obs, rng):
    n = 20000
    base = sample_baseline_symptoms(n, rng, obs)
    t = np.array([0.0, 91.0])
    drive = np.full((n, 2), obs.value("pain_drive_reference_rel"))
    s = observe_clinical(base, drive, np.full((n, 2), 2.0), t, rng, obs, injection_days=[0.0])
    quiet = observe_clinical(base, drive, np.full((n, 2), 2.0), t, np.random.default_rng(1), obs, injection_days=[])
    response = (s["WOMAC_PAIN"][:, 1] - s["WOMAC_PAIN"][:, 0]) - (quiet["WOMAC_PAIN"][:, 1] - quiet["WOMAC_PAIN"][:, 0])
    high = base.womac_pain > np.percentile(base.womac_pain, 75)
    low = base.womac_pain < np.percentile(base.womac_pain, 25)
    assert response[high].mean() < 1.5 * response[low].mean() < 0


def test_screened_subjects_regress_to_the_mean_without_any_injection(obs, rng):
    """Selecting high baseline pain selects high transient excursions, which fade (Englund 2025)."""
    n = 20000
    base = sample_baseline_symptoms(n, rng, obs)
    t = np.array([0.0, 365.0])
    drive = np.full((n, 2), obs.value("pain_drive_reference_rel"))
    s = observe_clinical(base, drive, np.full((n, 2), 2.0), t, rng, obs, injection_days=[])
    change = s["WOMAC_PAIN"][:, 1] - s["WOMAC_PAIN"][:, 0]
    screened = base.vas_pain_mm >= 60.0
    assert change[screened].mean() < -0.5
    assert abs(change.mean()) < 0.15  # no selection, no regression
    assert regression_to_mean(np.array([0.0]), obs)[0] == 0.0
