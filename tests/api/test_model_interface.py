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
