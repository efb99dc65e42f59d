"""The declared model interface (oasim.odemodel.OdeModel)."""

from __future__ import annotations

import numpy as np
import pytest

from oasim.model import KneeModel
from oasim.odemodel import OdeModel

def test_the_knee_model_declares_the_interface(model):
    assert isinstance(model, OdeModel)
    params = np.ones((3, len(model.parameter_names)))
    assert model.event_times(params, 0.0).shape == (3, 0)
    assert model.ode_system() is None  # code generation derives it from derivatives()
    y = np.arange(1.0, len(model.states) + 1.0)
    p = dict.fromkeys(model.parameter_names, 0.5)
    assert model.rhs(y, p) == [model.derivatives(y, p)[n] for n in model.state_names]
    assert model.state_index == {n: i for i, n in enumerate(model.state_names)}


def test_sbml_models_declare_it_with_their_own_system():
    from oasim.interop.sbml import PUBLIC_MODELS, load

    imported = load(PUBLIC_MODELS["baker2017"])
    assert isinstance(imported, OdeModel) and imported.ode_system() is imported.system
    times = imported.event_times(imported.parameter_matrix(2), 0.0)
    assert times.shape == (2, len(imported.event_ids))


def test_a_model_must_give_its_rates():
    class NoRates(OdeModel):
        states = ()
        parameter_names = ()

    with pytest.raises(TypeError, match="derivatives"):
        NoRates()
    assert issubclass(KneeModel, OdeModel)


def test_solvers_take_model_events_from_the_declared_interface():
    from oasim.model.states import State
    from oasim.solvers.base import with_model_events

    class Decay(OdeModel):
        states = (State("x", "1", "decaying amount", 1.0),)
        parameter_names = ("k",)
        event_ids = ("reset",)

        def derivatives(self, y, p):
            return {"x": -p["k"] * y[0]}

        def event_times(self, params, t_start=0.0):
            return np.full((np.atleast_2d(params).shape[0], 1), 5.0)

    doses = (np.array([[1.0], [7.0]]), np.array([[0], [0]]), np.array([[2.0], [3.0]]))
    t, idx, amt = with_model_events(Decay(), np.ones((2, 1)), doses, 0.0)
    assert t.tolist() == [[1.0, 5.0], [5.0, 7.0]] and idx.tolist() == [[0, -1], [-1, 0]]
    assert amt.tolist() == [[2.0, 0.0], [0.0, 3.0]]
    knee = KneeModel()  # declares no events: the doses pass through unchanged
    assert knee.event_ids == ()
    passed = with_model_events(knee, np.ones((2, len(knee.parameter_names))), doses, 0.0)
    assert all(a is b for a, b in zip(passed, doses))
