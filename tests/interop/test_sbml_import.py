"""SBML import: Proctor 2014 and Baker 2017 against stored libRoadRunner references, the Proctor
day-14 explant anchor, populations with parameter variability, unsupported constructs."""

from __future__ import annotations

import numpy as np
import pytest

from oasim.errors import OasimError
from oasim.interop import sbml
from oasim.solvers import NumbaRodasSolver

from .make_references import SBML_DIR, read_reference

PROCTOR = SBML_DIR / "BIOMD0000000504_proctor2014.xml"
BAKER = SBML_DIR / "BIOMD0000000928_baker2017.xml"
TIGHT = NumbaRodasSolver(rtol=1e-10, atol=1e-12, max_steps=1_000_000)


@pytest.fixture(scope="module")
def proctor():
    return sbml.load(PROCTOR)


@pytest.fixture(scope="module")
def baker():
    return sbml.load(BAKER)


def _species_values(model, sol, names):
    """(n_subjects, n_times, len(names)): states from the solution, constant species from parameters."""
    out = np.empty((sol.n_subjects, sol.t_days.size, len(names)))
    for k, name in enumerate(names):
        if name in model.state_index:
            out[:, :, k] = sol[name]
        else:
            out[:, :, k] = model.parameter_values[model.parameter_names.index(name)]
    return out


def _rel_error(a, ref):
    floor = 1e-6 * np.abs(ref).max(axis=-2, keepdims=True) + 1e-12
    return np.abs(a - ref) / (np.abs(ref) + floor)


def test_proctor2014_matches_libroadrunner_on_every_species(proctor):
    t, names, ref = read_reference("proctor2014")
    sol = proctor.simulate(t, solver=TIGHT)
    assert sol.ok.all()
    assert len(names) == 73 and len(proctor.states) == 72  # 'Aggrecan' takes part in no reaction
    err = _rel_error(_species_values(proctor, sol, names)[0], ref)
    assert err.max() < 1e-4, names[int(err.max(axis=0).argmax())]


def test_proctor2014_day14_explant_anchor(proctor):
    """IL-1 + OSM + activator (the file's initial state): ~87 % aggrecan, ~10 % collagen released."""
    day14 = 14 * 86400.0
    sol = proctor.simulate([day14], solver=TIGHT)
    aggrecan_released = sol["AggFrag"][0, -1] / 1e5
    collagen_released = sol["ColFrag"][0, -1] / 1e5
    assert aggrecan_released == pytest.approx(0.87, abs=0.01)
    assert collagen_released == pytest.approx(0.10, abs=0.01)
    # without the MMP activator (matriptase) almost no collagen is released
    params = proctor.parameter_matrix(1)
    y0 = proctor.initial_state(params)
    y0[0, proctor.state_index["Matriptase"]] = 0.0
    no_activator = proctor.simulate([day14], params, y0, solver=TIGHT)
    assert no_activator["ColFrag"][0, -1] / 1e5 < 0.02


def test_baker2017_matches_libroadrunner_across_its_event(baker):
    t, names, ref = read_reference("baker2017")
    sol = baker.simulate(t, solver=TIGHT)
    assert sol.ok.all() and baker.event_ids == ("event",)
    values = _species_values(baker, sol, names)[0]
    at_event = t == 20.0  # oasim reports the pre-event value at the event time, libRoadRunner post-event
    err = _rel_error(values[~at_event], ref[~at_event])
    assert err.max() < 1e-4
    p_index = names.index("solution0")
    assert ref[at_event, p_index] == pytest.approx(0.1 * values[at_event, p_index], rel=1e-6)


def test_population_with_parameter_variability_matches_libroadrunner(baker):
    rng = np.random.default_rng(5)
    n = 12
    kinetic = [name for name in baker.parameter_names if name != "compartmentOne"]
    params = baker.sample_parameters(n, rng, cv=0.2, names=kinetic)
    t = np.array([5.0, 19.0, 21.0, 35.0, 50.0])
    sol = baker.simulate(t, params, solver=TIGHT)
    assert sol.ok.all()
    assert np.ptp(sol["solution0"][:, -1]) > 0.01  # subjects differ
    ref = sbml.RoadRunnerReference(BAKER, rtol=1e-12, atol=1e-14)
    for s in (0, 5, 11):
        values = dict(zip(baker.parameter_names, params[s]))
        rr = ref.run(np.append(t, 20.0)[[0, 1, 5, 2, 3, 4]], baker.state_names, params=values)
        rr = np.delete(rr, 2, axis=0)  # the row at t = 20 only makes libRoadRunner fire the event
        assert _rel_error(sol.states[s], rr).max() < 1e-4


# ------------------------------------------------------------------------------------------
# unsupported constructs
# ------------------------------------------------------------------------------------------

def _tiny_model(kinetic="k * S", extra=None) -> str:
    import libsbml

    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId("tiny")
    c = m.createCompartment()
    c.setId("c"), c.setSize(1.0), c.setConstant(True)
    s = m.createSpecies()
    s.setId("S"), s.setCompartment("c"), s.setInitialAmount(1.0), s.setHasOnlySubstanceUnits(True)
    s.setBoundaryCondition(False), s.setConstant(False)
    k = m.createParameter()
    k.setId("k"), k.setValue(0.5), k.setConstant(True)
    r = m.createReaction()
    r.setId("decay"), r.setReversible(False)
    ref = r.createReactant()
    ref.setSpecies("S"), ref.setStoichiometry(1.0), ref.setConstant(True)
    r.createKineticLaw().setMath(libsbml.parseL3Formula(kinetic))
    if extra:
        extra(m, libsbml)
    return libsbml.writeSBMLToString(doc)


def test_tiny_model_imports_and_decays_exponentially():
    model = sbml.load(_tiny_model())
    sol = model.simulate([1.0, 2.0], solver=TIGHT)
    np.testing.assert_allclose(sol["S"][0], np.exp(-0.5 * np.array([1.0, 2.0])), rtol=1e-8)


def _algebraic(m, ls):
    x = m.createParameter()
    x.setId("x"), x.setConstant(False), x.setValue(0.0)
    m.createAlgebraicRule().setMath(ls.parseL3Formula("x - S"))


def _delayed_event(m, ls):
    ev = m.createEvent()
    ev.setId("late"), ev.setUseValuesFromTriggerTime(True)
    tr = ev.createTrigger()
    tr.setMath(ls.parseL3Formula("time >= 1")), tr.setInitialValue(False), tr.setPersistent(True)
    ev.createDelay().setMath(ls.parseL3Formula("2"))
    ea = ev.createEventAssignment()
    ea.setVariable("S"), ea.setMath(ls.parseL3Formula("S + 1"))


def _state_trigger(m, ls):
    ev = m.createEvent()
    ev.setId("refill"), ev.setUseValuesFromTriggerTime(True)
    tr = ev.createTrigger()
    tr.setMath(ls.parseL3Formula("S < 0.5")), tr.setInitialValue(False), tr.setPersistent(True)
    ea = ev.createEventAssignment()
    ea.setVariable("S"), ea.setMath(ls.parseL3Formula("1"))


@pytest.mark.parametrize("kinetic, extra, construct, element", [
    ("k * S", _algebraic, "algebraic rule", ""),
    ("k * S", _delayed_event, "event delay", "late"),
    ("k * S", _state_trigger, "event trigger other than 'time >= expression of parameters'", "refill"),
    ("k * S * time", None, "explicit time dependence ('time' csymbol) in a rate", "S"),
    ("k * delay(S, 1)", None, "delay() (delay differential equation)", "decay"),
    ("k * rateOf(S)", None, "rateOf()", "decay"),
])
def test_unsupported_constructs_raise_a_named_error(kinetic, extra, construct, element):
    with pytest.raises(sbml.UnsupportedSbmlError) as info:
        sbml.load(_tiny_model(kinetic, extra))
    assert info.value.construct == construct
    assert construct in str(info.value)
    if element:
        assert info.value.element == element
    assert isinstance(info.value, OasimError)


def test_unreadable_document_is_an_oasim_error(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<sbml>not really</sbml>")
    with pytest.raises(sbml.SbmlError):
        sbml.load(bad)
    with pytest.raises(sbml.SbmlError, match="no such SBML file"):
        sbml.load(tmp_path / "missing.xml")


def test_scipy_reference_refuses_models_with_events(baker):
    """No silent wrong answer: the SciPy reference does not implement SBML events."""
    from oasim.errors import SolverError
    from oasim.solvers import ScipyReferenceSolver

    params = np.atleast_2d(baker.parameter_values)
    y0 = np.atleast_2d(baker.initial_state(params[0]))
    with pytest.raises(SolverError, match="events"):
        ScipyReferenceSolver().solve(baker, y0, params, np.array([0.0, 30.0]))
