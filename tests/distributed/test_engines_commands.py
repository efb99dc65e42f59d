"""simulate, explain and validate-against give the same numbers on every engine for one seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from oasim.cli import app
from oasim.distributed import Engine
from oasim.population import Population
from oasim.protocol import Dose
from oasim.simulation import simulate

SMALL_ARMS = Path(__file__).parent / "data" / "small_arms.csv"  # copy of tests/calibration/data/small_arms.csv


class _ReversedEngine:
    """A non-local engine that runs the chunks in this process, last chunk first."""

    is_local = False

    def imap(self, fn, items):
        items = list(items)
        for i in reversed(range(len(items))):
            yield i, fn(*items[i])


def test_chunked_simulation_reassembles_subjects_in_order(human):
    pop = Population.sample(human, 12, np.random.default_rng(9), kl_grade=2)
    doses = [(Dose("msc", 5e7, "cells", 0.0),) if i % 2 else () for i in range(12)]
    t = np.array([0.0, 91.0])
    local = simulate(pop, t, doses, burn_in_days=30.0)
    chunked = simulate(pop, t, doses, burn_in_days=30.0, engine=_ReversedEngine(), chunk_subjects=5)
    np.testing.assert_array_equal(local.solution.states, chunked.solution.states)
    np.testing.assert_array_equal(local.solution.reached_days(), chunked.solution.reached_days())
    assert chunked.doses == local.doses


@pytest.mark.slow
def test_simulate_on_two_dask_workers_equals_local(human):
    pop = Population.sample(human, 23, np.random.default_rng(8), kl_grade=3)
    doses = [(Dose("exosome", 3e11, "particles", 0.0),)] * 23
    t = np.array([0.0, 30.0, 182.0])
    local = simulate(pop, t, doses)
    dask = simulate(pop, t, doses, engine=Engine(workers=2), chunk_subjects=5)
    np.testing.assert_array_equal(local.solution.states, dask.solution.states)
    np.testing.assert_array_equal(local.solution.status, dask.solution.status)
    assert dask.population is pop


def _json(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_explain_is_the_same_locally_and_on_dask():
    args = ["explain", "--dose", "msc:5e7:cells@0", "--subjects", "40", "--day", "60", "--seed", "3", "--json"]
    local = _json(args)
    assert _json(args + ["--workers", "1"]) == local
    assert _json(args + ["--workers", "2"]) == local


@pytest.mark.slow
def test_validate_against_is_the_same_locally_and_on_dask():
    args = ["validate-against", str(SMALL_ARMS), "--replicates", "4", "--chunk-size", "2", "--seed", "2", "--json"]
    local = _json(args)
    assert _json(args + ["--workers", "2"]) == local


def test_bad_engine_option_is_exit_2():
    result = CliRunner().invoke(app, ["explain", "--dose", "msc:5e7:cells@0", "--workers", "1",
                                      "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2 and "workers/scheduler" in result.output
