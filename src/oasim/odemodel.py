"""The declared model interface: what the solvers, the simulation and SBML export rely on.

A model has named states (with units and scales), named parameters, rates of change
(``derivatives``) and, optionally, its own timed events and a prebuilt symbolic system.
:class:`~oasim.model.KneeModel` and :class:`~oasim.interop.sbml.SbmlModel` declare it; the
preclinical experiment systems run the knee model, so they use it through ``KneeModel``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class OdeModel(ABC):
    """An ODE model for the population solvers.

    Subclasses provide ``states`` (tuple of :class:`~oasim.model.states.State`) and
    ``parameter_names`` (tuple of str) and implement :meth:`derivatives`; a model with its own
    timed events (SBML events) names them in ``event_ids`` and overrides :meth:`event_times`.
    """

    states: tuple
    parameter_names: tuple
    event_ids: tuple[str, ...] = ()  # names of the model's own events (see event_times)

    @property
    def state_names(self) -> tuple[str, ...]:
        return tuple(st.name for st in self.states)

    @property
    def state_index(self) -> dict[str, int]:
        return {st.name: i for i, st in enumerate(self.states)}

    @abstractmethod
    def derivatives(self, y, p) -> dict:
        """Rates of change by state name, for state values ``y`` and parameter values ``p``."""

    def rhs(self, y, p) -> list:
        """Right-hand side as a list in state order."""
        rates = self.derivatives(y, p)
        return [rates[n] for n in self.state_names]

    def event_times(self, params: np.ndarray, t_start: float = 0.0) -> np.ndarray:
        """(n_subjects, n_model_events) firing times of the model's own events (inf = never).

        The default is a model without events: shape (n_subjects, 0).
        """
        return np.zeros((np.atleast_2d(params).shape[0], 0))

    def ode_system(self):
        """A prebuilt :class:`~oasim.model.codegen.OdeSystem`, or None when code generation
        derives it from :meth:`derivatives` (the knee model)."""
        return None
