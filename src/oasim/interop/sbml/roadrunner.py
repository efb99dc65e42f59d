"""Reference simulation of an SBML model with libRoadRunner."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np


from ._common import SbmlError

# ---------------------------------------------------------------------------------------------
# libRoadRunner reference
# ---------------------------------------------------------------------------------------------

class RoadRunnerReference:
    """One loaded libRoadRunner model, re-parameterised and reset for each subject (CVODE).

    Per subject: global parameter values are set in one call, floating-species initial amounts
    in one call, then ``reset()`` (species back to their initial amounts, time to the start,
    events whose trigger holds at the start fire). This is libRoadRunner's fastest normal use
    for many subjects of one model. Species values are amounts (equal to concentrations for
    compartments of size 1, as in the knee export, Proctor 2014 and Baker 2017).

    Parameters
    ----------
    sbml : path or XML text
    rtol, atol : CVODE tolerances (libRoadRunner scales a scalar ``atol`` per state by the
        state's value at the start of each ``simulate`` call; ``atol_per_state`` sets them
        explicitly)
    """

    def __init__(self, sbml, rtol: float = 1e-8, atol: float = 1e-12, max_steps: int = 1_000_000,
                 atol_per_state: Mapping[str, float] | None = None):
        from ...extras import require

        roadrunner = require("roadrunner", "the libRoadRunner reference solver")
        text = str(sbml)
        self.rr = roadrunner.RoadRunner(text if text.lstrip().startswith("<") else str(Path(text)))
        integ = self.rr.integrator
        integ.relative_tolerance = rtol
        integ.absolute_tolerance = atol
        integ.maximum_num_steps = max_steps
        for k, v in dict(atol_per_state or {}).items():
            integ.setIndividualTolerance(k, float(v))
        model = self.rr.model
        ruled = set(self.rr.getAssignmentRuleIds())
        all_params = list(model.getGlobalParameterIds())
        self._param_index = np.array([i for i, g in enumerate(all_params) if g not in ruled], dtype=np.int32)
        self.parameter_ids = tuple(all_params[i] for i in self._param_index)
        self.parameter_defaults = np.asarray(model.getGlobalParameterValues(), float)[self._param_index]
        self.species_ids = tuple(model.getFloatingSpeciesIds())
        self._species_index = np.arange(len(self.species_ids), dtype=np.int32)
        self.species_defaults = np.asarray(model.getFloatingSpeciesInitAmounts(), float)
        self.compartment_ids = tuple(model.getCompartmentIds())
        self._compartment_index = np.arange(len(self.compartment_ids), dtype=np.int32)
        self.compartment_defaults = np.asarray(model.getCompartmentVolumes(), float)

    def vectors(self, params: Mapping[str, float] | None = None, initial: Mapping[str, float] | None = None):
        """(parameter values, initial amounts, compartment volumes) in the order of
        ``parameter_ids`` / ``species_ids`` / ``compartment_ids``."""
        pv = self.parameter_defaults.copy()
        iv = self.species_defaults.copy()
        cv = self.compartment_defaults.copy()
        targets = [({k: j for j, k in enumerate(ids)}, vec) for ids, vec in
                   ((self.parameter_ids, pv), (self.species_ids, iv), (self.compartment_ids, cv))]
        for k, v in {**(params or {}), **(initial or {})}.items():
            for index, vec in targets:
                if k in index:
                    vec[index[k]] = v
                    break
            else:
                raise SbmlError(f"'{k}' is not a settable parameter, floating species or compartment of the model")
        return pv, iv, cv

    def run_vectors(self, times, selections: Sequence[str], param_values, initial_amounts,
                    compartment_volumes=None) -> np.ndarray:
        """Simulate one subject: ``times`` include the start; returns (len(times), len(selections))."""
        rr = self.rr
        rr.model.setGlobalParameterValues(self._param_index, np.ascontiguousarray(param_values, float))
        rr.model.setFloatingSpeciesInitAmounts(self._species_index, np.ascontiguousarray(initial_amounts, float))
        if compartment_volumes is not None and len(self.compartment_ids):
            rr.model.setCompartmentVolumes(self._compartment_index, np.ascontiguousarray(compartment_volumes, float))
        rr.reset()
        return np.asarray(rr.simulate(times=list(times), selections=list(selections)))

    def run(self, t_eval, names: Sequence[str], params: Mapping[str, float] | None = None,
            initial: Mapping[str, float] | None = None, t_start: float = 0.0) -> np.ndarray:
        """(n_times, len(names)) values at ``t_eval`` for one subject.

        Values not given take the file's values (not the previous subject's). Events whose
        trigger holds at ``t_start`` fire during the reset, so a row at ``t_start`` is
        post-event (libRoadRunner's convention; oasim reports the pre-dose value there).
        """
        pv, iv, cv = self.vectors(params, initial)
        t_eval = np.asarray(t_eval, float)
        times = t_eval if t_eval[0] == t_start else np.concatenate([[t_start], t_eval])
        res = self.run_vectors(times, names, pv, iv, cv)
        return res if t_eval[0] == t_start else res[1:]
