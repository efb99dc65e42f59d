"""The public API: oasim.simulate / run / load_scenario / regimen and their result objects."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import oasim
from oasim.errors import FieldError, ScenarioError
from oasim.parameters import ParameterSet
from oasim.population import Population
from oasim.protocol import Dose, Protocol
from oasim.simulation import simulate as simulate_reference

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
T_DAYS = np.array([0.0, 30.0, 90.0])


def test_import_oasim_is_light_and_lists_the_api():
    code = ("import sys, oasim; heavy = [m for m in ('numpy', 'pandas', 'scipy', 'numba', 'typer') "
            "if m in sys.modules]; print(heavy); print(sorted(oasim.__all__))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]"
    for name in ("simulate", "run", "load_scenario", "regimen", "SimulationResult", "RunResult"):
        assert name in out[1] and callable(getattr(oasim, name))
    with pytest.raises(AttributeError):
        oasim.no_such_thing  # noqa: B018


def test_regimen_is_every_n_days_k_times():
    doses = oasim.regimen("exosome:1e11:particles@7", every_days=28, times=3)
    assert [d.t_days for d in doses] == [7.0, 35.0, 63.0]
    assert {(d.product, d.amount, d.unit) for d in doses} == {("exosome", 1e11, "particles")}
    assert [d.t_days for d in oasim.regimen(Dose("msc", 1e7, "cells"), 14, 2, start_days=1)] == [1.0, 15.0]
    for bad in ({"times": 0}, {"times": 2.5}, {"every_days": 0.0}, {"every_days": float("nan")}):
        kwargs = {"every_days": 7.0, "times": 2, **bad}
        with pytest.raises(FieldError):
            oasim.regimen("exosome:1e11:particles", **kwargs)


@pytest.fixture(scope="module")
def population() -> Population:
    return Population.sample(ParameterSet.load("human"), 4, np.random.default_rng(3), kl_grade=3)


@pytest.fixture(scope="module")
def treated(population):
    doses = [oasim.regimen("exosome:3e11:particles@0", every_days=30, times=2)]
    return oasim.simulate(subjects=population, doses=doses, t_days=T_DAYS)


def test_simulate_equals_the_simulation_layer_with_broadcast_doses(population, treated):
    by_hand = [(Dose("exosome", 3e11, "particles", 0.0), Dose("exosome", 3e11, "particles", 30.0))] * 4
    reference = simulate_reference(population, T_DAYS, by_hand)
    np.testing.assert_array_equal(treated.solution.states, reference.solution.states)
    assert treated.doses == reference.doses and treated.seed is None


def test_simulate_draws_the_same_population_as_the_seeded_sampler():
    sim = oasim.simulate(subjects=3, kl=2, seed=11, t_days=[0.0, 10.0])
    pop = Population.sample(ParameterSet.load("human"), 3, np.random.default_rng(11), kl_grade=2)
    pd.testing.assert_frame_equal(sim.population.covariates, pop.covariates)
    assert sim.seed == 11 and sim.parameter_set == "human" and sim.doses == ((),) * 3


def test_protocol_and_per_subject_doses(population):
    dose = Dose("exosome", 1e11, "particles", 0.0)
    via_protocol = oasim.simulate(subjects=population, doses=Protocol(doses=(dose,)), t_days=T_DAYS)
    assert via_protocol.doses == ((dose,),) * 4
    per_subject = oasim.simulate(subjects=population, doses=[[dose], [], [dose], []], t_days=T_DAYS)
    assert [len(d) for d in per_subject.doses] == [1, 0, 1, 0]
    exo = per_subject.values("exosome_bound_particles") if "exosome_bound_particles" in per_subject.variables \
        else per_subject.values("exosome_free_particles")
    assert np.all(exo[[1, 3], -1] == 0) and np.all(exo[[0, 2], 1] > 0)
    with pytest.raises(FieldError, match="one list per subject"):
        oasim.simulate(subjects=population, doses=[[dose], [dose]], t_days=T_DAYS)
    with pytest.raises(FieldError):
        oasim.simulate(subjects=population, doses=[42], t_days=T_DAYS)
    with pytest.raises(FieldError):
        oasim.simulate(subjects=0)
    with pytest.raises(FieldError):
        oasim.simulate(subjects=2, t_days=[10.0, 5.0])


def test_to_pandas_is_tidy_and_matches_the_arrays(population, treated):
    df = treated.to_pandas(["cartilage_thickness_mm", "il1b_pM"])
    assert list(df.columns[:5]) == ["subject", "t_days", "variable", "value", "unit"]
    assert len(df) == 4 * len(T_DAYS) * 2
    il1b = df[df.variable == "il1b_pM"].pivot(index="subject", columns="t_days", values="value")
    np.testing.assert_array_equal(il1b.to_numpy(), treated.solution["il1b_pM"])
    assert set(df.loc[df.variable == "il1b_pM", "unit"]) == {"pM"}
    first = df[df.subject == population.covariates.subject_id[2]]
    assert set(first.age_y) == {population.covariates.age_y[2]} and set(first.kl_grade) == {3}
    assert set(treated.to_pandas().variable) == set(oasim.results.READOUT_UNITS)
    with pytest.raises(FieldError):
        treated.to_pandas(["no_such_variable"])


def test_to_xarray_and_plot(treated):
    ds = treated.to_xarray(["m1_m2_ratio", "aggrecan_rel"])
    assert ds["aggrecan_rel"].dims == ("subject", "t_days")
    np.testing.assert_array_equal(ds["aggrecan_rel"].values, treated.solution["aggrecan_rel"])
    np.testing.assert_array_equal(ds["t_days"].values, T_DAYS)
    assert ds["aggrecan_rel"].attrs["units"] == treated.unit("aggrecan_rel")
    assert list(ds["kl_grade"].values) == [3] * 4
    fig = treated.plot(["cartilage_thickness_mm", "il1b_pg_per_ml"])
    assert len(fig.axes) == 2 and "il1b_pg_per_ml" in fig.axes[1].get_title()


def test_load_scenario_dispatches_on_kind():
    assert oasim.load_scenario(EXAMPLES / "hucmsc_exosome_trial.toml").kind == "trial"
    assert oasim.load_scenario(EXAMPLES / "mouse_dmm_exosome.toml").kind == "mouse_oa"
    with pytest.raises(ScenarioError) as info:
        oasim.load_scenario({"kind": [1], "name": "x"})
    assert info.value.errors[0].field == "kind"


def small_assay() -> dict:
    data = tomllib.loads((EXAMPLES / "invitro_il1b_exosome.toml").read_text())
    data.pop("toxicity")
    return {**data, "readout_hours": [24], "groups": data["groups"][:3]}


def test_run_an_experiment_in_memory_and_to_a_folder(tmp_path):
    in_memory = oasim.run(small_assay())
    assert in_memory.out is None and in_memory.kind == "invitro_il1b"
    assert in_memory.provenance["seed"] == small_assay()["seed"]
    text, page = str(in_memory.summary()), in_memory._repr_html_()
    assert "IL-1" in text and page.startswith("<div>") and "<pre>" in page
    on_disk = oasim.run(small_assay(), out=tmp_path / "run")
    assert on_disk.out == tmp_path / "run"
    assert sorted(on_disk.tables) == sorted(in_memory.tables)
    for name, frame in on_disk.tables.items():
        pd.testing.assert_frame_equal(frame, pd.read_parquet(tmp_path / "run" / f"{name}.parquet"))
    # the simulated wells are seeded; Dunnett p-values (scipy's randomised integration) are not
    pd.testing.assert_frame_equal(on_disk.tables["assay_data"], in_memory.tables["assay_data"])
    assert (tmp_path / "run" / "report.html").read_text() == on_disk.report_html
