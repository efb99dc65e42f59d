"""Experimental systems: a parameter set for the knee model plus the system's readout table.

A system file (``oasim/parameters/sets/<name>.toml``) holds the model's ``[parameters]`` (the
same names as ``human.toml``, so :func:`~oasim.parameters.validate_for_model` accepts it) and a
``[readouts]`` table in the same format for everything the model does not use: well geometry,
mRNA half-lives and gene sensitivities, assay noise, OARSI mapping, toxicity. Both tables give
every number a unit and a source.

:func:`run_segments` integrates one group of wells, explants or mice through a sequence of
segments; each segment may change parameters (IL-1β added or washed out, OSM, an activator) and
set or add to states at its start (medium changes, injections). Doses are therefore
discontinuities between integrations, never smeared into the right-hand side.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np

from ..errors import ParameterError
from ..model import KneeModel
from ..model.knee import healthy_state
from ..parameters import ParameterSet, validate_for_model
from ..parameters.parameter_set import Parameter, _check_entry
from ..population import sample_parameters
from ..solvers import NumbaRodasSolver
from ..solvers.solution import Solution


@dataclass(frozen=True)
class System:
    """A preclinical system: model parameters and readout parameters, both cited.

    Examples
    --------
    >>> s = System.load("invitro_mouse_chondrocyte")
    >>> s.value("monocyte_recruitment_scale")
    0.0
    """

    name: str
    parameters: ParameterSet
    readouts: Mapping[str, Parameter]
    description: str = ""

    @classmethod
    def load(cls, name: str) -> "System":
        parameters = ParameterSet.load(name)
        validate_for_model(parameters, KneeModel().parameter_names)
        text = resources.files("oasim.parameters").joinpath("sets", f"{name}.toml").read_text("utf-8")
        table = tomllib.loads(text).get("readouts", {})
        readouts = {k: _check_entry(k, v, parameters.origin) for k, v in table.items()}
        return cls(name, parameters, MappingProxyType(readouts), parameters.description)

    def value(self, name: str) -> float:
        """A readout or model parameter value by name."""
        if name in self.readouts:
            return self.readouts[name].value
        if name in self.parameters:
            return self.parameters.value(name)
        raise ParameterError(name, None, f"a parameter or readout of system '{self.name}'")

    def sample(self, n: int, rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
        """Per-subject model parameters: log-normal variability where the set gives a cv
        (``rng`` given) or the typical values (``rng`` None)."""
        if rng is None:
            return {p.name: np.full(n, p.value) for p in self.parameters}
        return sample_parameters(self.parameters, n, rng, variability=True)

    def references(self) -> tuple[str, ...]:
        keys = list(self.parameters.citations)
        from ..parameters import bibliography_keys
        import re

        bib = bibliography_keys()
        for p in self.readouts.values():
            for token in re.findall(r"[A-Za-z][A-Za-z0-9]+", p.source):
                if token in bib and token not in keys:
                    keys.append(token)
        return tuple(keys)


@dataclass(frozen=True)
class Segment:
    """One stretch of an experiment, from the previous segment's end to ``t_end_days``.

    ``parameters`` replaces parameter values for this stretch (scalar or per subject);
    ``set_states`` assigns and ``add_states`` adds to states at the segment's start.
    """

    t_end_days: float
    parameters: Mapping[str, object] = field(default_factory=dict)
    set_states: Mapping[str, object] = field(default_factory=dict)
    add_states: Mapping[str, object] = field(default_factory=dict)


def initial_state(model: KneeModel, params: Mapping[str, np.ndarray], n: int,
                  overrides: Mapping[str, object] | None = None) -> np.ndarray:
    """(n, n_states) healthy state of the parameters, with some states overridden."""
    y = healthy_state(model, params)
    for name, value in (overrides or {}).items():
        y[name] = value
    return np.column_stack([np.broadcast_to(np.asarray(y[s], float), (n,)) for s in model.state_names])


def run_segments(model: KneeModel, params: Mapping[str, np.ndarray], y0: np.ndarray,
                 segments: Sequence[Segment], t_eval_days: Sequence[float], t_start_days: float = 0.0,
                 solver=None, on_solver_failure: str = "raise") -> Solution:
    """Integrate through ``segments`` and return the states at ``t_eval_days``.

    A solver failure raises :class:`~oasim.errors.SolverError` naming the wells/animals (row
    index), their varying parameter values and the time reached, unless
    ``on_solver_failure="drop"``: then a failed row stays NaN from there on and its status
    and time reached are those of its first failure.

    A time equal to a segment boundary reports the state *before* that boundary's changes
    (e.g. the medium collected at a medium change), except ``t_start_days`` itself, which
    reports the state after the first segment's changes.
    """
    solver = solver or NumbaRodasSolver()
    index = model.state_index
    n = y0.shape[0]
    t_eval = np.asarray(sorted(set(float(t) for t in t_eval_days)), float)
    base = {k: np.broadcast_to(np.asarray(v, float), (n,)) for k, v in params.items()}
    y = np.array(y0, float)
    t0 = float(t_start_days)
    out = np.full((n, t_eval.size, y.shape[1]), np.nan)
    if on_solver_failure not in ("raise", "drop"):
        raise ParameterError("on_solver_failure", on_solver_failure, "'raise' or 'drop'")
    status = np.zeros(n, dtype=np.int64)
    steps = np.zeros(n, dtype=np.int64)
    reached = np.full(n, np.nan)
    for k, seg in enumerate(segments):
        for name, value in seg.set_states.items():
            y[:, index[name]] = value
        for name, value in seg.add_states.items():
            y[:, index[name]] += value
        if k == 0:
            out[:, t_eval == t0, :] = y[:, None, :]
        p = dict(base)
        for name, value in seg.parameters.items():
            if name not in p:
                raise ParameterError(name, value, "a parameter of the model")
            p[name] = np.broadcast_to(np.asarray(value, float), (n,))
        inside = (t_eval > t0) & (t_eval <= seg.t_end_days)
        grid = np.union1d(t_eval[inside], [seg.t_end_days])
        sol = solver.solve(model, y, np.column_stack([p[name] for name in model.parameter_names]),
                           grid, t_start_days=t0)
        if on_solver_failure == "raise":
            varying = {name: v for name, v in p.items() if n > 1 and np.ptp(v) > 0}
            sol.raise_on_failure(varying, stage=f"segment {k + 1} (days {t0:g} to {seg.t_end_days:g})")
        new = (status == 0) & ~sol.ok
        reached[new] = sol.reached_days()[new]
        out[:, inside, :] = sol.states[:, np.isin(grid, t_eval[inside]), :]
        status = np.where(status == 0, sol.status, status)
        # a failed row continues from a finite state (cheap for the solver); its outputs become NaN below
        y = np.where((status == 0)[:, None], sol.states[:, -1, :], y0)
        steps += sol.n_steps
        t0 = float(seg.t_end_days)
    for i in np.flatnonzero(status != 0):
        out[i, t_eval >= reached[i], :] = np.nan
    return Solution(t_eval, out, model.state_names, status, steps, np.where(status == 0, t0, reached))
