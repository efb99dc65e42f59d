"""Shared pieces of the SBML interop: errors, constants, libSBML access, units."""

from __future__ import annotations

import re

import sympy

from ...errors import OasimError


SBML_LEVEL, SBML_VERSION = 3, 2
TIME = sympy.Symbol("__sbml_time__")
AVOGADRO = 6.02214076e23


class SbmlError(OasimError):
    """An SBML document could not be read, written or validated."""


class UnsupportedSbmlError(SbmlError):
    """The SBML model uses a construct the importer does not handle.

    Attributes
    ----------
    construct : name of the SBML construct (e.g. ``"algebraic rule"``, ``"event delay"``)
    element : id of the element that uses it (or ``""``)
    """

    def __init__(self, construct: str, element: str = "", detail: str = ""):
        self.construct = construct
        self.element = element
        where = f" in '{element}'" if element else ""
        extra = f": {detail}" if detail else ""
        super().__init__(f"unsupported SBML construct: {construct}{where}{extra}")


def _libsbml():
    from ...extras import require

    return require("libsbml", "SBML export and import")


# ---------------------------------------------------------------------------------------------
# units
# ---------------------------------------------------------------------------------------------

_DAY = 86400.0
_BASE_UNITS: dict[str, tuple[float, dict[str, int]]] = {
    **{k: (1.0, {}) for k in ("1", "fraction", "fraction_of_healthy", "relative_to_healthy", "dimensionless")},
    "M": (1.0, {"mole": 1, "litre": -1}), "mM": (1e-3, {"mole": 1, "litre": -1}),
    "uM": (1e-6, {"mole": 1, "litre": -1}), "µM": (1e-6, {"mole": 1, "litre": -1}),
    "nM": (1e-9, {"mole": 1, "litre": -1}), "pM": (1e-12, {"mole": 1, "litre": -1}),
    "mol": (1.0, {"mole": 1}), "mmol": (1e-3, {"mole": 1}), "nmol": (1e-9, {"mole": 1}),
    "pmol": (1e-12, {"mole": 1}),
    "L": (1.0, {"litre": 1}), "mL": (1e-3, {"litre": 1}), "uL": (1e-6, {"litre": 1}),
    "s": (1.0, {"second": 1}), "min": (60.0, {"second": 1}), "h": (3600.0, {"second": 1}),
    "day": (_DAY, {"second": 1}), "d": (_DAY, {"second": 1}), "week": (7 * _DAY, {"second": 1}),
    "year": (365.25 * _DAY, {"second": 1}), "y": (365.25 * _DAY, {"second": 1}),
    "kg": (1.0, {"kilogram": 1}), "g": (1e-3, {"kilogram": 1}), "mg": (1e-6, {"kilogram": 1}),
    "ug": (1e-9, {"kilogram": 1}), "µg": (1e-9, {"kilogram": 1}), "ng": (1e-12, {"kilogram": 1}),
    "pg": (1e-15, {"kilogram": 1}),
    "m": (1.0, {"metre": 1}), "cm": (1e-2, {"metre": 1}), "mm": (1e-3, {"metre": 1}),
    "um": (1e-6, {"metre": 1}),
    "kDa": (1.0, {"kilogram": 1, "mole": -1}), "Da": (1e-3, {"kilogram": 1, "mole": -1}),
    **{k: (1.0, {"item": 1}) for k in ("cells", "cell", "particles", "particle", "molecules", "item")},
}
_UNIT_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-zµ_][A-Za-z0-9µ_]*)|(\^-?\d+)|([*/()]))")


def parse_unit(text: str) -> tuple[float, dict[str, int]] | None:
    """``"pg/(1e6 cells*day)"`` -> (factor, {SBML base kind: exponent}); None if not understood."""
    tokens = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _UNIT_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            return None
        tokens.append(m.groups())
        pos = m.end()
    tokens = [t for t in tokens if any(t)]
    i = 0

    def combine(a, b, sign):
        kinds = dict(a[1])
        for k, e in b[1].items():
            kinds[k] = kinds.get(k, 0) + sign * e
        return a[0] * b[0] ** sign, {k: e for k, e in kinds.items() if e}

    def atom():
        nonlocal i
        if i >= len(tokens):
            raise ValueError
        num, name, _, op = tokens[i]
        i += 1
        if num:
            value = (float(num), {})
        elif name:
            if name not in _BASE_UNITS:
                raise ValueError
            value = _BASE_UNITS[name]
        elif op == "(":
            value = expr()
            if i >= len(tokens) or tokens[i][3] != ")":
                raise ValueError
            i += 1
        else:
            raise ValueError
        if i < len(tokens) and tokens[i][2]:
            e = int(tokens[i][2][1:])
            i += 1
            value = (value[0] ** e, {k: v * e for k, v in value[1].items()})
        return value

    def expr():
        nonlocal i
        value = atom()
        while i < len(tokens) and tokens[i][3] != ")":
            op = tokens[i][3]
            if op in ("*", "/"):
                i += 1
            value = combine(value, atom(), -1 if op == "/" else 1)
        return value

    try:
        result = expr()
    except ValueError:
        return None
    return result if i == len(tokens) else None


