"""KneeModel: assembles the biology modules into one right-hand side.

The model holds equations and names its parameters; it contains no numbers (those live in
:mod:`oasim.parameters`). ``derivatives(y, p)`` is written for one subject and broadcasts: pass
floats, NumPy arrays with a trailing subject axis, or sympy symbols (code generation, SBML).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Mapping

from ..odemodel import OdeModel
from . import (chondrocytes, enzymes, inflammation, macrophages, matrix, pain, reactogenicity, synoviocytes,
               tcells, therapy)
from .signals import compute_signals
from .states import State

MODULES = (inflammation, macrophages, synoviocytes, chondrocytes, enzymes, matrix, therapy, pain, tcells,
           reactogenicity)


class _RecordingNamespace:
    """Returns a placeholder for any attribute and remembers the names asked for."""

    def __init__(self, value=1.0):
        self.names: list[str] = []
        self._value = value

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self.names:
            self.names.append(name)
        return self._value


@dataclass(frozen=True)
class KneeModel(OdeModel):
    """The knee-joint model (v2: with T cells, macrophage memory, flare and sensitisation).

    Examples
    --------
    >>> model = KneeModel()
    >>> len(model.states)
    31
    >>> model.state_index["il1b_pM"]
    0
    """

    modules: tuple = MODULES
    states: tuple[State, ...] = field(init=False)
    parameter_names: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        states = tuple(st for module in self.modules for st in module.STATES)
        names = [st.name for st in states]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate state names in model: {names}")
        object.__setattr__(self, "states", states)
        recorder = _RecordingNamespace(0.37)
        s = SimpleNamespace(**{n: 1.0 for n in names})
        self._evaluate(s, recorder)
        object.__setattr__(self, "parameter_names", tuple(sorted(recorder.names)))

    @property
    def references(self) -> tuple[str, ...]:
        keys: list[str] = []
        for module in self.modules:
            keys.extend(k for k in module.REFERENCES if k not in keys)
        return tuple(keys)

    def _evaluate(self, s, p) -> dict:
        g = compute_signals(s, p)
        rates: dict = {}
        for module in self.modules:
            rates.update(module.derivatives(s, p, g))
        return rates

    def derivatives(self, y: Mapping | object, p: Mapping | object) -> dict:
        """Rates of change by state name.

        Parameters
        ----------
        y : mapping or sequence
            State values by name (mapping) or in model order (sequence / array of shape
            ``(n_states, ...)``).
        p : mapping or namespace
            Parameter values by name.
        """
        if isinstance(y, Mapping):
            s = SimpleNamespace(**{n: y[n] for n in self.state_names})
        else:
            s = SimpleNamespace(**{n: y[i] for i, n in enumerate(self.state_names)})
        if isinstance(p, Mapping):
            p = SimpleNamespace(**{n: p[n] for n in self.parameter_names})
        return self._evaluate(s, p)

    def rhs(self, y, p):
        """Right-hand side as a list in state order (same broadcasting as ``derivatives``)."""
        rates = self.derivatives(y, p)
        return [rates[n] for n in self.state_names]


def healthy_state(model: KneeModel, p) -> dict:
    """The healthy joint's steady state by state name (each production is normalised to it).

    ``p`` is a mapping or namespace of parameter values (floats or arrays over subjects).
    Therapy pools, macrophage memory and the injection flare are empty; the pain drive,
    sensitisation, T-cell subsets and DAMPs are at their healthy value 1.
    """
    if isinstance(p, Mapping):
        p = SimpleNamespace(**dict(p))
    values = {
        "il1b_pM": p.il1b_healthy_pM, "tnf_pM": p.tnf_healthy_pM, "il6_pM": p.il6_healthy_pM,
        "il10_pM": p.il10_healthy_pM, "tgfb_pM": p.tgfb_healthy_pM, "pge2_pM": p.pge2_healthy_pM,
        "il1ra_pM": p.il1ra_healthy_pM, "tsg6_pM": p.tsg6_healthy_pM,
        "m1_cells": p.m1_healthy_cells, "m2_cells": inflammation.m2_healthy_cells(p),
        "macrophage_memory_fraction": 0.0,
        "fls_activated_fraction": p.fls_activated_healthy_fraction,
        "chondrocytes_per_mm3": p.chondrocytes_healthy_per_mm3,
        "catabolic_fraction": p.catabolic_healthy_fraction,
        "pro_mmp13_nM": p.pro_mmp13_healthy_nM, "mmp13_nM": p.mmp13_healthy_nM,
        "adamts5_nM": p.adamts5_healthy_nM, "timp3_nM": p.timp3_healthy_nM,
        "aggrecan_rel": 1.0, "collagen_ii_rel": 1.0, "damps_rel": 1.0,
        "msc_fast_cells": 0.0, "msc_persistent_cells": 0.0,
        "exosome_free_particles": 0.0, "exosome_bound_particles": 0.0, "pain_drive_rel": 1.0,
        "sensitisation_rel": 1.0, "th1_rel": 1.0, "th17_rel": 1.0, "treg_rel": 1.0, "flare_fraction": 0.0,
    }
    missing = set(model.state_names) - set(values)
    if missing:
        raise KeyError(f"healthy_state lacks {sorted(missing)}")
    return {n: values[n] for n in model.state_names}
