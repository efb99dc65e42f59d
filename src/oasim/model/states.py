"""State variables of the knee model: name, unit, one-line doc and a typical magnitude.

The typical magnitude (``scale``) sets the solver's absolute tolerance per state
(``atol_i = atol * scale_i``) and the internal scaling ``z = y / scale``, so that states that
live at 1e11 particles and at 1 (fraction of healthy) are integrated to the same relative
standard. It is not a parameter of the biology.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class State:
    """One state variable.

    Parameters
    ----------
    name : str
        Identifier, unique in the model; carries its unit where it is not a plain count.
    unit : str
        Unit of the state, e.g. ``"pM"``, ``"cells"``, ``"fraction_of_healthy"``.
    doc : str
        One-line description.
    scale : float
        Typical magnitude [unit], used for tolerances and internal scaling only.
    """

    name: str
    unit: str
    doc: str
    scale: float = 1.0
