"""Dose translation: the three rules invert each other, and the analytic PK is the model's PK."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from oasim.cli import app
from oasim.experiments.systems import Segment, System, initial_state, run_segments
from oasim.experiments.translation import JointScale, by_cartilage_area, by_exposure, by_sf_volume, translate
from oasim.model import KneeModel

SCHEDULE = (7.0, 14.0, 21.0)


@pytest.fixture(scope="module")
def joints():
    return JointScale.from_system("mouse_dmm"), JointScale.from_system("human")


@pytest.mark.parametrize("dose", [1e7, 1e9, 3e10])
def test_plumbing_translation_rules_invert_each_other(joints, dose):
    """Plumbing: any ratio rule survives a round trip; the absolute values are checked below."""
    mouse, human = joints
    for rule in (by_sf_volume, by_cartilage_area):
        assert rule(rule(dose, mouse, human), human, mouse) == pytest.approx(dose, rel=1e-12)
    there = by_exposure(dose, mouse, human, SCHEDULE, 28.0)
    assert by_exposure(there, human, mouse, SCHEDULE, 28.0) == pytest.approx(dose, rel=1e-6)
    assert human.mean_effect(there, SCHEDULE, 28.0) == pytest.approx(mouse.mean_effect(dose, SCHEDULE, 28.0), rel=1e-8)


def test_sf_volume_scaling_is_the_volume_ratio(joints):
    """Research note 2.7: 2 µL vs 15-25 mL SF is about 1e4-fold."""
    mouse, human = joints
    assert by_sf_volume(1e9, mouse, human) == pytest.approx(1e9 * 15.0 / 0.002)


def test_cartilage_area_scaling_is_the_area_ratio(joints):
    """Hand-computed: 13000 mm2 (Eckstein 2001: 102-163 cm2 of articular surface in 27 healthy male
    knees, about 130 cm2) over the assumed 10 mm2 of a mouse knee: 1300-fold."""
    mouse, human = joints
    assert 10_200.0 <= human.cartilage_area_mm2 <= 16_300.0  # inside Eckstein's published range
    assert by_cartilage_area(1e9, mouse, human) == pytest.approx(1.3e12, rel=1e-12)
    assert by_cartilage_area(1.3e12, human, mouse) == pytest.approx(1e9, rel=1e-12)


def test_analytic_bound_exosome_pk_matches_the_model_solver():
    model, system = KneeModel(), System.load("human")
    params = system.sample(1)
    y0 = initial_state(model, params, 1)
    t = np.linspace(0.0, 28.0, 57)
    segments = [Segment(d2, add_states={"exosome_free_particles": 3e11}) for d2 in (7.0, 14.0, 28.0)]
    sol = run_segments(model, params, y0, segments, t)
    joint = JointScale.from_system("human")
    analytic = joint.bound_particles(3e11, (0.0, 7.0, 14.0), t)
    np.testing.assert_allclose(sol["exosome_bound_particles"][0], analytic, rtol=1e-4, atol=1e3)


def test_translate_cli_prints_all_three_with_assumptions():
    out = CliRunner().invoke(app, ["translate", "--dose", "1e9", "--days", "7,14,21"], terminal_width=200)
    assert out.exit_code == 0, out.output
    for text in ("by SF volume", "by cartilage area", "by exposure matching", "assumptions", "Eckstein"):
        assert text in out.output
    assert translate(1e9).doses["sf_volume"] > translate(1e9).doses["cartilage_area"]


def test_translation_superposes_the_therapy_modules_closed_form(joints):
    """One copy of the exosome kinetics: model.therapy's rates and closed form, superposed per injection."""
    from oasim.model.therapy import bound_exosomes_after_bolus, exosome_rates_per_day

    _mouse, human = joints
    kf, ku, kb = exosome_rates_per_day(human.free_half_life_h, human.uptake_per_day, human.bound_half_life_d)
    t = np.linspace(0.0, 40.0, 81)
    by_hand = sum(np.where(t >= t0, bound_exosomes_after_bolus(2e11, np.clip(t - t0, 0, None), kf, ku, kb), 0.0)
                  for t0 in SCHEDULE)
    np.testing.assert_array_equal(human.bound_particles(2e11, SCHEDULE, t), by_hand)
    # the closed form solves dB/dτ = k_uptake·F − k_bound·B with F = dose·e^(−k_free·τ)
    tau, h = np.linspace(0.5, 30.0, 60), 1e-4
    b = lambda x: bound_exosomes_after_bolus(1e10, x, kf, ku, kb)  # noqa: E731
    np.testing.assert_allclose((b(tau + h) - b(tau - h)) / (2 * h), ku * 1e10 * np.exp(-kf * tau) - kb * b(tau),
                               rtol=1e-6, atol=1e-3)
    # equal rates: the limit of the general form
    np.testing.assert_allclose(bound_exosomes_after_bolus(1.0, tau, 0.3, 0.1, 0.3),
                               bound_exosomes_after_bolus(1.0, tau, 0.3, 0.1, 0.3 * (1 + 1e-7)), rtol=1e-6)
