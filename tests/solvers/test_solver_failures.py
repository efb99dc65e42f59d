"""Solver failures are loud: NaN (never zeros), a SolverStatus, and a SolverError naming the subject.

Failures are provoked through the population (an overflowing particles-per-µg factor or a NaN
rate parameter), because the dose validation no longer lets an overflowing dose in.
"""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from oasim.cli import app
from oasim.errors import FieldError, OasimError, SolverError
from oasim.population import Population
from oasim.protocol import DOSE_MAX, Dose
from oasim.simulation import simulate
from oasim.solvers import NumbaRodasSolver
from oasim.solvers.solution import STATUS_MESSAGES, Solution, SolverStatus

T_DAYS = [0.0, 30.0, 180.0]
DOSE_DAY = 10.0


@pytest.fixture
def population(human):
    return Population.sample(human, 3, np.random.default_rng(5), kl_grade=3)


def _overflowing(population):
    """Subject 3 (index 2) receives ~1e304 particles at day 10 through its particles-per-µg factor."""
    population.parameters["exosome_particles_per_ug"][2] = 1e300
    return [[Dose("exosome", 1e4, "ug", DOSE_DAY)]] * population.n_subjects


def test_status_is_an_enum_with_a_message_per_code():
    assert [int(s) for s in SolverStatus] == [0, 1, 2, 3]
    assert all(s.message for s in SolverStatus) and SolverStatus.OK.message == "ok"
    assert STATUS_MESSAGES[2] == SolverStatus.STEP_TOO_SMALL.message


def test_a_failed_subject_raises_naming_it_its_dose_and_the_time_reached(population):
    doses = _overflowing(population)
    with pytest.raises(SolverError) as info:
        simulate(population, T_DAYS, doses)
    (record,) = info.value.subjects
    assert record["subject"] == 3 and record["index"] == 2
    assert record["status"] == SolverStatus.STEP_TOO_SMALL
    assert record["t_reached_days"] == pytest.approx(DOSE_DAY)
    assert record["parameters"]["exosome_particles_per_ug"] == 1e300
    assert record["parameters"]["dose1_ug"] == 1e4
    text = str(info.value)
    assert "subject 3" in text and "reached day 10" in text and "exosome_particles_per_ug=1e+300" in text


def test_drop_keeps_nan_after_the_failure_and_counts_it(population):
    doses = _overflowing(population)
    result = simulate(population, T_DAYS, doses, on_solver_failure="drop")
    sol = result.solution
    assert result.n_failed == 1 and result.failed.tolist() == [False, False, True]
    assert sol.statuses()[2] == SolverStatus.STEP_TOO_SMALL
    assert sol.t_reached_days[2] == pytest.approx(DOSE_DAY)
    # reached: day 0 finite; not reached: NaN (it used to be zero-filled)
    assert np.all(np.isfinite(sol.states[2, 0])) and np.all(np.isnan(sol.states[2, 1:]))
    assert np.all(np.isfinite(sol.states[:2]))
    kept = result.without_failed()
    assert kept.solution.n_subjects == 2 and kept.population.n_subjects == 2
    assert kept.population.covariates["subject_id"].tolist() == [1, 2]


def test_a_burn_in_failure_is_reported_before_day_0(population):
    population.parameters["joint_damage_drive"][1] = np.nan
    with pytest.raises(SolverError, match="burn-in") as info:
        simulate(population, T_DAYS)
    assert [r["subject"] for r in info.value.subjects] == [2]
    assert info.value.subjects[0]["t_reached_days"] < 0
    dropped = simulate(population, T_DAYS, on_solver_failure="drop")
    assert dropped.failed.tolist() == [False, True, False]
    assert np.all(np.isnan(dropped.solution.states[1])) and dropped.solution.t_reached_days[1] < 0


def test_the_solver_itself_fills_nan_and_reports_the_time_reached(model, population):
    from oasim.simulation import baseline_state

    params = population.matrix(model.parameter_names)
    params[0, model.parameter_names.index("joint_damage_drive")] = np.nan
    sol = NumbaRodasSolver().solve(model, baseline_state(model, population), params, np.array(T_DAYS))
    assert sol.status.tolist()[0] != 0 and sol.status.tolist()[1:] == [0, 0]
    assert np.all(np.isnan(sol.states[0, 1:])) and sol.t_reached_days[1:].tolist() == [180.0, 180.0]
    assert sol.failures() == {0: SolverStatus(int(sol.status[0])).message}


def test_reached_days_falls_back_to_the_last_finite_output():
    states = np.ones((2, 3, 1))
    states[1, 2] = np.nan
    sol = Solution(np.array([0.0, 1.0, 2.0]), states, ("x",), np.array([0, 1]), np.zeros(2, int))
    assert sol.reached_days().tolist() == [2.0, 1.0]


def test_doses_must_be_one_list_per_subject(population):
    with pytest.raises(FieldError, match="one dose list per subject"):
        simulate(population, T_DAYS, [[Dose("exosome", 1e11, "particles")]])
    with pytest.raises(FieldError, match="on_solver_failure"):
        simulate(population, T_DAYS, on_solver_failure="ignore")


def test_solver_rejects_event_arrays_that_do_not_match_the_subjects(model, population):
    from oasim.simulation import baseline_state

    y0 = baseline_state(model, population)
    events = (np.zeros((1, 1)), np.zeros((1, 1), np.int64), np.ones((1, 1)))
    with pytest.raises(FieldError, match="events"):
        NumbaRodasSolver().solve(model, y0, population.matrix(model.parameter_names), np.array(T_DAYS), events)


@pytest.mark.parametrize("unit,product", [("particles", "exosome"), ("ug", "exosome"), ("cells", "msc")])
def test_doses_have_a_ceiling(unit, product):
    Dose(product, DOSE_MAX[unit], unit)
    with pytest.raises(FieldError, match="dose.amount"):
        Dose(product, DOSE_MAX[unit] * 1.01, unit)


def test_a_dose_of_1e300_particles_is_a_named_error_on_the_command_line():
    result = CliRunner().invoke(app, ["simulate", "--subjects", "2", "--dose", "exosome:1e300:particles@0"])
    assert result.exit_code == 2 and "dose.amount" in result.output
    assert isinstance(result.exception, SystemExit)


def test_a_solver_failure_is_exit_2_on_the_command_line(monkeypatch):
    def failing(*args, **kwargs):
        raise SolverError("the solver failed for 1 subject(s)")

    monkeypatch.setattr("oasim.simulation.simulate", failing)
    result = CliRunner().invoke(app, ["simulate", "--subjects", "2"])
    assert result.exit_code == 2 and "solver failed" in result.output
    assert issubclass(SolverError, OasimError)
