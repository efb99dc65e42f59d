"""SBML export of the knee model: validation, equations, libRoadRunner agreement, round trip, CLI."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from oasim.interop import sbml
from oasim.population import Population
from oasim.protocol import Dose
from oasim.simulation import baseline_state, population_dose_events
from oasim.solvers import NumbaRodasSolver

DOSES = (Dose("exosome", 3e11, "particles", 0.0), Dose("msc", 5e7, "cells", 28.0),
         Dose("exosome", 20.0, "ug", 56.0))
# no output exactly on a dose day: oasim reports the pre-dose value there, libRoadRunner post-dose
VISITS = np.array([0.5, 7.0, 14.0, 27.5, 30.0, 60.0, 91.0, 182.0, 365.0, 548.0, 730.0])
TIGHT = dict(rtol=1e-8, atol=1e-10)


@pytest.fixture(scope="module")
def knee_xml(human):
    return sbml.document_to_string(sbml.knee_document(human, doses=DOSES))


def _max_rel_error(a, ref, scales, atol):
    """Max |a - ref| / (|ref| + floor); floor = 1e-6 of the state's largest |ref| + atol·scale."""
    floor = 1e-6 * np.abs(ref).max(axis=(0, 1), keepdims=True) + atol * scales
    return float(np.max(np.abs(a - ref) / (np.abs(ref) + floor)))


def test_export_has_no_libsbml_errors(human):
    doc = sbml.knee_document(human, doses=DOSES)
    assert doc.getLevel() == 3 and doc.getVersion() == 2
    assert sbml.validation_errors(doc) == []


def test_export_takes_states_parameters_and_units_from_the_model(model, human, knee_xml):
    import libsbml

    doc = libsbml.readSBMLFromString(knee_xml)  # keep the document alive while its model is used
    m = doc.getModel()
    assert [s.getId() for s in m.getListOfSpecies()] == list(model.state_names)
    ids = {p.getId(): p for p in m.getListOfParameters()}
    assert set(model.parameter_names) <= set(ids)
    for name in model.parameter_names:
        assert ids[name].getValue() == pytest.approx(human.value(name), rel=1e-15)
    assert m.getTimeUnits() == "day"
    assert ids["il1b_half_life_h"].getUnits() and "source" in ids["il1b_half_life_h"].getNotesString()
    assert m.getNumEvents() == 3 and m.getNumRules() >= len(model.state_names)


def test_imported_export_has_the_native_right_hand_side(model, human, knee_xml):
    """Export -> import reproduces model.rhs to rounding at random states and parameters."""
    imported = sbml.load(knee_xml)
    assert imported.state_names == model.state_names
    rng = np.random.default_rng(1)
    n = 7
    scales = np.array([st.scale for st in model.states])[:, None]
    y = scales * rng.uniform(0.2, 2.0, (len(model.states), n))
    p = {name: human.value(name) * rng.uniform(0.5, 1.5, n) for name in model.parameter_names}
    native = np.asarray(model.rhs(y, p), float)
    pp = {name: (p[name] if name in p else np.full(n, v))
          for name, v in zip(imported.parameter_names, imported.parameter_values)}
    back = np.asarray(imported.rhs(y, pp), float)
    np.testing.assert_allclose(back, native, rtol=1e-12, atol=1e-12 * np.abs(native).max())


def _subjects(model, human, n, seed):
    """KL 3 subjects with DOSES: (params, y0, dose events, native solution at tight tolerance)."""
    pop = Population.sample(human, n, np.random.default_rng(seed), kl_grade=3)
    params = pop.matrix(model.parameter_names)
    y0 = baseline_state(model, pop)
    events = population_dose_events(model, pop, [DOSES] * n)
    native = NumbaRodasSolver(**TIGHT).solve(model, y0, params, VISITS, events)
    assert native.ok.all()
    return params, y0, events, native


def _sbml_values(model, params, events, s):
    """Subject s's parameter values by SBML id, dose amounts included."""
    values = dict(zip(model.parameter_names, params[s]))
    values.update(sbml.dose_parameters(model, *(a[s] for a in events)))
    return values


def test_round_trip_export_import_simulate_equals_native(model, human, knee_xml):
    """Export -> import -> numba solver equals the native model (same solver) within 1e-6."""
    n = 4
    params, y0, events, native = _subjects(model, human, n, 11)
    imported = sbml.load(knee_xml)
    ip = imported.parameter_matrix(n)
    index = {name: j for j, name in enumerate(imported.parameter_names)}
    for s in range(n):
        for name, v in _sbml_values(model, params, events, s).items():
            ip[s, index[name]] = v
    back = imported.simulate(VISITS, ip, y0, solver=NumbaRodasSolver(**TIGHT))
    assert back.ok.all()
    scales = np.array([st.scale for st in model.states])
    assert _max_rel_error(back.states, native.states, scales, TIGHT["atol"]) < 1e-6


def _roadrunner_agreement(model, human, knee_xml, n, seed):
    params, y0, events, native = _subjects(model, human, n, seed)
    ref = sbml.RoadRunnerReference(knee_xml, rtol=TIGHT["rtol"], atol=TIGHT["atol"],
                                   atol_per_state={st.name: TIGHT["atol"] * st.scale for st in model.states})
    rr = np.empty_like(native.states)
    for s in range(n):
        rr[s] = ref.run(VISITS, model.state_names, params=_sbml_values(model, params, events, s),
                        initial=dict(zip(model.state_names, y0[s])))
    scales = np.array([st.scale for st in model.states])
    return _max_rel_error(native.states, rr, scales, TIGHT["atol"])


def test_libroadrunner_runs_the_export_like_oasim_5_subjects(model, human, knee_xml):
    assert _roadrunner_agreement(model, human, knee_xml, 5, 21) < 1e-4


@pytest.mark.slow
def test_libroadrunner_runs_the_export_like_oasim_50_subjects(model, human, knee_xml):
    assert _roadrunner_agreement(model, human, knee_xml, 50, 22) < 1e-4


def test_cli_export_sbml_writes_a_valid_file(tmp_path):
    import libsbml

    from oasim.cli import app

    out = tmp_path / "knee.xml"
    result = CliRunner().invoke(app, ["export-sbml", "--parameter-set", "human", "--out", str(out),
                                      "--dose", "exosome:3e11:particles@0", "--kl", "3"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["knee.xml"]  # no temporary file left
    doc = libsbml.readSBMLFromFile(str(out))
    assert sbml.validation_errors(doc) == []
    m = doc.getModel()
    assert m.getParameter("joint_damage_drive").getValue() > 0
    assert m.getSpecies("aggrecan_rel").getInitialAmount() < 1.0
    bad = CliRunner().invoke(app, ["export-sbml", "--out", str(out), "--force", "--dose", "exosome:3e11"])
    assert bad.exit_code == 2 and "dose" in bad.output


def test_unit_strings_map_to_sbml_units():
    assert sbml.parse_unit("pM") == (1e-12, {"mole": 1, "litre": -1})
    factor, kinds = sbml.parse_unit("pg/(1e6 cells*day)")
    assert kinds == {"kilogram": 1, "item": -1, "second": -1}
    assert factor == pytest.approx(1e-15 / 1e6 / 86400.0)
    assert sbml.parse_unit("cells/mm^3") == (pytest.approx(1e9), {"item": 1, "metre": -3})
    assert sbml.parse_unit("furlong/fortnight") is None
