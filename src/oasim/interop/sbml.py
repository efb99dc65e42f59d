"""SBML interoperability: export the knee model, import SBML models for the population solver.

Export (:func:`knee_document`, :func:`export_sbml`)
    The knee model as SBML Level 3 Version 2: every state a species (amount = the state's value
    in its own unit, ``hasOnlySubstanceUnits``) with a rate rule; the shared signals as
    assignment rules; every model parameter with its value, unit and source (notes); the
    initial state; dose events as SBML events (``time >= dose_k_time_d`` adds
    ``dose_k_<state>`` to the state). Time is in days. The equations are taken from
    ``KneeModel()`` at run time (the same sympy expressions the solver code is generated from).

Import (:func:`load`)
    An SBML model (L2/L3: compartments, species, parameters, reactions with kinetic laws,
    function definitions, assignment / rate rules, initial assignments, events with
    ``time >= expression of parameters`` triggers) becomes an :class:`SbmlModel` that the numba
    population solver runs directly (per-subject parameter matrix, model events in the kernel).
    Anything else raises :class:`UnsupportedSbmlError` naming the construct; nothing is skipped
    silently. Times and values are in the file's own units.

Reference simulation with libRoadRunner: :class:`RoadRunnerReference` (one loaded model,
reset between subjects).
"""

from __future__ import annotations

import dataclasses
import html
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import Mapping, Sequence

import numpy as np
import sympy

from ..errors import OasimError
from ..model.codegen import OdeSystem
from ..model.states import State

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
    import libsbml

    return libsbml


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


# ---------------------------------------------------------------------------------------------
# math: sympy <-> libSBML AST
# ---------------------------------------------------------------------------------------------

def _ast_from_sympy(expr):
    """libSBML ASTNode for a sympy expression (exact floats, no string round trip)."""
    ls = _libsbml()
    expr = sympy.sympify(expr)

    def node(kind, *children):
        n = ls.ASTNode(kind)
        for c in children:
            n.addChild(c)
        return n

    def leaf(kind, setter, *args):
        n = ls.ASTNode(kind)
        getattr(n, setter)(*args)
        return n

    def build(e):
        if e == TIME:
            return leaf(ls.AST_NAME_TIME, "setName", "time")
        if e.is_Symbol:
            return leaf(ls.AST_NAME, "setName", e.name)
        if e.is_Integer:
            return leaf(ls.AST_INTEGER, "setValue", int(e))
        if e.is_Rational:
            return leaf(ls.AST_RATIONAL, "setValue", int(e.p), int(e.q))
        if e.is_Number:
            return leaf(ls.AST_REAL, "setValue", float(e))
        if e.is_Add:
            return node(ls.AST_PLUS, *(build(a) for a in e.args))
        if e.is_Mul:
            num, den = [], []
            for a in e.args:
                if a.is_Pow and a.exp.is_Number and a.exp < 0:
                    den.append(a.base ** -a.exp)
                elif a.is_Rational and not a.is_Integer and a.p == 1:
                    den.append(sympy.Integer(a.q))
                else:
                    num.append(a)
            if not num:
                top = build(sympy.Integer(1))
            elif len(num) == 1:
                top = build(num[0])
            else:
                top = node(ls.AST_TIMES, *(build(a) for a in num))
            if not den:
                return top
            bottom = build(den[0]) if len(den) == 1 else node(ls.AST_TIMES, *(build(a) for a in den))
            return node(ls.AST_DIVIDE, top, bottom)
        if e.is_Pow:
            if e.exp == -1:
                return node(ls.AST_DIVIDE, build(sympy.Integer(1)), build(e.base))
            if e.exp == sympy.Rational(1, 2):
                return node(ls.AST_FUNCTION_ROOT, build(sympy.Integer(2)), build(e.base))
            if e.exp.is_Number and e.exp < 0:
                return node(ls.AST_DIVIDE, build(sympy.Integer(1)), build(e.base ** -e.exp))
            return node(ls.AST_POWER, build(e.base), build(e.exp))
        simple = {sympy.exp: ls.AST_FUNCTION_EXP, sympy.log: ls.AST_FUNCTION_LN,
                  sympy.Abs: ls.AST_FUNCTION_ABS, sympy.Max: ls.AST_FUNCTION_MAX,
                  sympy.Min: ls.AST_FUNCTION_MIN, sympy.sin: ls.AST_FUNCTION_SIN,
                  sympy.cos: ls.AST_FUNCTION_COS, sympy.tanh: ls.AST_FUNCTION_TANH}
        if e.func in simple:
            return node(simple[e.func], *(build(a) for a in e.args))
        rel = {sympy.GreaterThan: ls.AST_RELATIONAL_GEQ, sympy.StrictGreaterThan: ls.AST_RELATIONAL_GT,
               sympy.LessThan: ls.AST_RELATIONAL_LEQ, sympy.StrictLessThan: ls.AST_RELATIONAL_LT,
               sympy.Equality: ls.AST_RELATIONAL_EQ, sympy.Unequality: ls.AST_RELATIONAL_NEQ}
        if e.func in rel:
            return node(rel[e.func], build(e.lhs), build(e.rhs))
        if isinstance(e, sympy.Piecewise):
            children = []
            for value, cond in e.args:
                children.append(build(value))
                if cond is not sympy.true:
                    children.append(build(cond))
            return node(ls.AST_FUNCTION_PIECEWISE, *children)
        if e is sympy.true or e is sympy.false:
            return ls.ASTNode(ls.AST_CONSTANT_TRUE if e is sympy.true else ls.AST_CONSTANT_FALSE)
        raise SbmlError(f"cannot write {e.func.__name__} ({e}) as SBML math")

    return build(expr)


def _math_to_sympy(ast, symbols: dict, element: str):
    """sympy expression of a libSBML AST (function definitions must be expanded already)."""
    ls = _libsbml()
    if ast is None:
        raise SbmlError(f"'{element}' has no math")

    def sym(name):
        if name not in symbols:
            symbols[name] = sympy.Symbol(name)
        return symbols[name]

    def conv(n):
        t = n.getType()
        kids = [n.getChild(i) for i in range(n.getNumChildren())]
        if t == ls.AST_INTEGER:
            return sympy.Integer(n.getInteger())
        if t in (ls.AST_REAL, ls.AST_REAL_E):
            v = n.getReal()
            return sympy.Float(v) if math.isfinite(v) else (sympy.oo if v > 0 else -sympy.oo)
        if t == ls.AST_RATIONAL:
            return sympy.Rational(n.getNumerator(), n.getDenominator())
        if t == ls.AST_NAME:
            return sym(n.getName())
        if t == ls.AST_NAME_TIME:
            return TIME
        if t == ls.AST_NAME_AVOGADRO:
            return sympy.Float(AVOGADRO)
        if t == ls.AST_CONSTANT_E:
            return sympy.E
        if t == ls.AST_CONSTANT_PI:
            return sympy.pi
        if t == ls.AST_CONSTANT_TRUE:
            return sympy.true
        if t == ls.AST_CONSTANT_FALSE:
            return sympy.false
        if t == ls.AST_PLUS:
            return sympy.Add(*(conv(k) for k in kids)) if kids else sympy.Integer(0)
        if t == ls.AST_TIMES:
            return sympy.Mul(*(conv(k) for k in kids)) if kids else sympy.Integer(1)
        if t == ls.AST_MINUS:
            return -conv(kids[0]) if len(kids) == 1 else conv(kids[0]) - conv(kids[1])
        if t == ls.AST_DIVIDE:
            return conv(kids[0]) / conv(kids[1])
        if t in (ls.AST_POWER, ls.AST_FUNCTION_POWER):
            return conv(kids[0]) ** conv(kids[1])
        if t == ls.AST_FUNCTION_ROOT:
            if len(kids) == 1:
                return sympy.sqrt(conv(kids[0]))
            return conv(kids[1]) ** (1 / conv(kids[0]))
        if t == ls.AST_FUNCTION_EXP:
            return sympy.exp(conv(kids[0]))
        if t == ls.AST_FUNCTION_LN:
            return sympy.log(conv(kids[0]))
        if t == ls.AST_FUNCTION_LOG:
            if len(kids) == 1:
                return sympy.log(conv(kids[0]), 10)
            return sympy.log(conv(kids[1]), conv(kids[0]))
        unary = {ls.AST_FUNCTION_ABS: sympy.Abs, ls.AST_FUNCTION_SIN: sympy.sin, ls.AST_FUNCTION_COS: sympy.cos,
                 ls.AST_FUNCTION_TAN: sympy.tan, ls.AST_FUNCTION_TANH: sympy.tanh,
                 ls.AST_FUNCTION_SINH: sympy.sinh, ls.AST_FUNCTION_COSH: sympy.cosh,
                 ls.AST_FUNCTION_ARCTAN: sympy.atan}
        if t in unary:
            return unary[t](conv(kids[0]))
        if t == ls.AST_FUNCTION_MAX:
            return sympy.Max(*(conv(k) for k in kids))
        if t == ls.AST_FUNCTION_MIN:
            return sympy.Min(*(conv(k) for k in kids))
        rel = {ls.AST_RELATIONAL_GEQ: sympy.Ge, ls.AST_RELATIONAL_GT: sympy.Gt, ls.AST_RELATIONAL_LEQ: sympy.Le,
               ls.AST_RELATIONAL_LT: sympy.Lt, ls.AST_RELATIONAL_EQ: sympy.Eq, ls.AST_RELATIONAL_NEQ: sympy.Ne}
        if t in rel:
            if len(kids) != 2:
                raise UnsupportedSbmlError(f"relational operator with {len(kids)} arguments", element)
            return rel[t](conv(kids[0]), conv(kids[1]), evaluate=False)
        logic = {ls.AST_LOGICAL_AND: sympy.And, ls.AST_LOGICAL_OR: sympy.Or, ls.AST_LOGICAL_XOR: sympy.Xor}
        if t in logic:
            return logic[t](*(conv(k) for k in kids))
        if t == ls.AST_LOGICAL_NOT:
            return sympy.Not(conv(kids[0]))
        if t == ls.AST_FUNCTION_PIECEWISE:
            pieces = []
            for i in range(0, len(kids) - 1, 2):
                pieces.append((conv(kids[i]), conv(kids[i + 1])))
            if len(kids) % 2:
                pieces.append((conv(kids[-1]), sympy.true))
            else:
                pieces.append((sympy.nan, sympy.true))
            return sympy.Piecewise(*pieces)
        if t == ls.AST_FUNCTION_DELAY:
            raise UnsupportedSbmlError("delay() (delay differential equation)", element)
        if t == ls.AST_FUNCTION_RATE_OF:
            raise UnsupportedSbmlError("rateOf()", element)
        if t == ls.AST_FUNCTION:
            raise UnsupportedSbmlError(f"call of undefined function '{n.getName()}'", element)
        raise UnsupportedSbmlError(f"MathML element '{n.getName() or ''}' (libSBML AST type {t})", element)

    return conv(ast)


# ---------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------

def _check(code, what):
    ls = _libsbml()
    if code not in (ls.LIBSBML_OPERATION_SUCCESS, None):
        raise SbmlError(f"libSBML refused {what}: {ls.OperationReturnValue_toString(code)}")


def _unit_id(text: str) -> str:
    return "u_" + re.sub(r"\W", "_", text.replace("^", "pow").replace("/", "_per_").replace("*", "_"))


class _UnitTable:
    """Unit definitions of a document, created on first use of each unit string."""

    def __init__(self, model):
        self.model = model
        self.ids: dict[str, str | None] = {}

    def __call__(self, text: str) -> str | None:
        if text in self.ids:
            return self.ids[text]
        parsed = parse_unit(text)
        if parsed is None:
            self.ids[text] = None
            return None
        factor, kinds = parsed
        if not kinds and factor == 1.0:
            self.ids[text] = "dimensionless"
            return "dimensionless"
        ls = _libsbml()
        uid = _unit_id(text)
        ud = self.model.createUnitDefinition()
        _check(ud.setId(uid), f"unit {text}")
        ud.setName(text)
        items = sorted(kinds.items()) or [("dimensionless", 1)]
        for k, (kind, exponent) in enumerate(items):
            u = ud.createUnit()
            u.setKind(ls.UnitKind_forName(kind))
            u.setExponent(float(exponent))
            u.setScale(0)
            u.setMultiplier(factor ** (1.0 / exponent) if k == 0 else 1.0)
        self.ids[text] = uid
        return uid


def _species_units(text: str) -> tuple[str | None, str | None]:
    """(substance unit, volume unit or None) for a state unit; (None, None) if not a substance.

    ``pM`` -> ("pmol", "L"); ``cells/mm^3`` -> ("cells", "mm^3"); ``cells`` -> ("cells", None);
    fractions -> ("1", None). Concentration states become concentration species in a compartment
    of 1 volume unit, so the species value is the state's value either way.
    """
    parsed = parse_unit(text)
    if parsed is None:
        return None, None
    factor, kinds = parsed
    if kinds == {"mole": 1, "litre": -1}:
        named = {1.0: "mol", 1e-3: "mmol", 1e-9: "nmol", 1e-12: "pmol"}
        return named.get(factor, f"{factor!r} mol"), "L"
    if kinds in ({"item": 1}, {}) and (kinds or factor == 1.0):
        return text, None
    if "/" in text:
        num, den = (t.strip() for t in text.split("/", 1))
        pn, pd = parse_unit(num), parse_unit(den)
        if pn and pd and pn[1] in ({"item": 1}, {"mole": 1}) and pd[1] in ({"litre": 1}, {"metre": 3}):
            return num, den
    return None, None


def _notes(element, **fields):
    body = "".join(f"<p>{html.escape(k)}: {html.escape(str(v))}</p>" for k, v in fields.items() if v not in (None, ""))
    if body:
        element.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml">{body}</body>')


def _knee_rates_with_signals(model, y_sym, p_sym):
    """(rates using signal symbols, {signal name: expression}) or None if the structure differs.

    Mirrors ``KneeModel._evaluate`` with the shared signals kept as named symbols (SBML
    assignment rules); the caller checks numerically that this equals ``model.derivatives``.
    """
    try:
        from ..model.signals import compute_signals

        s = SimpleNamespace(**y_sym)
        p = SimpleNamespace(**p_sym)
        g = compute_signals(s, p)
        names = [f.name for f in dataclasses.fields(g)]
        if set(names) & (set(y_sym) | set(p_sym)):
            return None
        g_sym = type(g)(**{n: sympy.Symbol(n) for n in names})
        rates = {}
        for module in model.modules:
            rates.update(module.derivatives(s, p, g_sym))
        return rates, {n: sympy.sympify(getattr(g, n)) for n in names}
    except Exception:  # a restructured model: fall back to fully inlined rate rules
        return None


def _same_numerically(a: Mapping, b: Mapping, symbols, rng) -> bool:
    point = {s: float(v) for s, v in zip(symbols, rng.uniform(0.5, 1.5, len(symbols)))}
    for name in b:
        va = complex(sympy.sympify(a[name]).xreplace(point))
        vb = complex(sympy.sympify(b[name]).xreplace(point))
        if not abs(va - vb) <= 1e-12 * max(1.0, abs(vb)):
            return False
    return True


def knee_document(parameter_set="human", *, model=None, subject: Mapping[str, float] | None = None,
                  initial_state: Mapping[str, float] | None = None, doses: Sequence = (),
                  model_id: str = "oasim_knee", signals_as_rules: bool = True):
    """The knee model as a libSBML ``SBMLDocument`` (L3V2).

    Parameters
    ----------
    parameter_set : name, path or :class:`~oasim.parameters.ParameterSet`
    model : the :class:`~oasim.model.KneeModel` (default ``KneeModel()``)
    subject : one subject's parameter values by name (override the set's typical values)
    initial_state : state values by name (default: the healthy steady state of these values)
    doses : :class:`~oasim.protocol.Dose` list; each distinct dose time becomes one SBML event
        with parameters ``dose_<k>_time_d`` and ``dose_<k>_<state>`` (amount added to the state,
        in the state's unit, converted from the dose as :func:`oasim.protocol.dose_events` does)
    signals_as_rules : write the shared signals as assignment rules (else inline them)
    """
    ls = _libsbml()
    from ..model import KneeModel
    from ..model.knee import healthy_state
    from ..parameters import ParameterSet
    from ..protocol import dose_events

    model = model or KneeModel()
    ps = parameter_set if isinstance(parameter_set, ParameterSet) else ParameterSet.load(parameter_set)
    subject = dict(subject or {})

    def value(name):
        return float(subject[name]) if name in subject else ps.value(name)

    pvals = {n: value(n) for n in model.parameter_names}
    y0 = dict(initial_state) if initial_state is not None else healthy_state(model, pvals)
    missing = [n for n in model.state_names if n not in y0]
    if missing:
        raise SbmlError(f"initial_state lacks {missing}")

    doc = ls.SBMLDocument(SBML_LEVEL, SBML_VERSION)
    m = doc.createModel()
    m.setId(model_id)
    m.setName(f"oasim knee joint model, parameter set '{ps.name}'")
    _notes(m, description="Generated by oasim.interop.sbml from oasim.model.KneeModel. States are species "
           "whose amount is the state's value in its own unit (hasOnlySubstanceUnits); the compartment is "
           "nominal. Shared signals are assignment rules; doses are events.",
           parameter_set=ps.name, origin=ps.origin, references=", ".join(model.references))
    units = _UnitTable(m)
    day = m.createUnitDefinition()
    day.setId("day")
    u = day.createUnit()
    u.setKind(ls.UNIT_KIND_SECOND)
    u.setExponent(1.0)
    u.setScale(0)
    u.setMultiplier(_DAY)
    m.setTimeUnits("day")

    compartments: dict[str, str] = {}

    def compartment(volume_unit: str) -> str:
        if volume_unit not in compartments:
            cid = "knee_joint" if not compartments else f"knee_joint_{re.sub(r'[^A-Za-z0-9]', '_', volume_unit)}"
            comp = m.createCompartment()
            comp.setId(cid)
            comp.setName(f"knee joint, nominal volume of 1 {volume_unit} (concentration states are "
                         f"per {volume_unit}; amount states carry their own units)")
            comp.setConstant(True)
            comp.setSize(1.0)
            comp.setSpatialDimensions(3.0)
            comp.setUnits(units(volume_unit) or "litre")
            compartments[volume_unit] = cid
        return compartments[volume_unit]

    compartment("L")
    for st in model.states:
        sp = m.createSpecies()
        _check(sp.setId(st.name), f"species id {st.name}")
        sp.setName(st.doc)
        substance, volume = _species_units(st.unit)
        sp.setCompartment(compartment(volume) if volume else "knee_joint")
        sp.setHasOnlySubstanceUnits(volume is None)
        sp.setBoundaryCondition(False)
        sp.setConstant(False)
        if volume is None:
            sp.setInitialAmount(float(y0[st.name]))
        else:
            sp.setInitialConcentration(float(y0[st.name]))
        uid = units(substance) if substance else None
        if uid:
            sp.setSubstanceUnits(uid)
        _notes(sp, unit=st.unit, typical_scale=st.scale)

    for name in model.parameter_names:
        par = m.createParameter()
        _check(par.setId(name), f"parameter id {name}")
        par.setValue(pvals[name])
        par.setConstant(True)
        info = ps.parameters.get(name)
        unit = info.unit if info else ""
        uid = units(unit) if unit else None
        if uid:
            par.setUnits(uid)
        _notes(par, unit=unit, source=info.source if info else "", cv=info.cv if info else None,
               value_origin="subject" if name in subject else "parameter set")

    y_sym = {n: sympy.Symbol(n) for n in model.state_names}
    p_sym = {n: sympy.Symbol(n) for n in model.parameter_names}
    inlined = model.derivatives(y_sym, p_sym)
    split = _knee_rates_with_signals(model, y_sym, p_sym) if signals_as_rules else None
    if split is not None:
        rates, signals = split
        combined = {k: sympy.sympify(v).xreplace({sympy.Symbol(n): e for n, e in signals.items()})
                    for k, v in rates.items()}
        if set(combined) != set(inlined) or not _same_numerically(
                combined, inlined, list(y_sym.values()) + list(p_sym.values()), np.random.default_rng(0)):
            split = None
    if split is None:
        rates, signals = inlined, {}

    for name, expr in signals.items():
        par = m.createParameter()
        _check(par.setId(name), f"signal id {name}")
        par.setConstant(False)
        _notes(par, role="shared signal (assignment rule), see oasim.model.signals")
        rule = m.createAssignmentRule()
        rule.setVariable(name)
        _check(rule.setMath(_ast_from_sympy(expr)), f"assignment rule {name}")
    for name in model.state_names:
        rule = m.createRateRule()
        rule.setVariable(name)
        _check(rule.setMath(_ast_from_sympy(rates[name])), f"rate rule {name}")

    if doses:
        def subj(name):
            return np.array([value(name)])

        ev_t, ev_idx, ev_amt = dose_events([tuple(doses)], model.state_index, subj("exosome_particles_per_ug"),
                                           subj("msc_fast_fraction"), subj("msc_persistent_fraction"))
        for k, (t, amounts) in enumerate(_doses_by_time(ev_t[0], ev_idx[0], ev_amt[0]), start=1):
            tp = m.createParameter()
            tp.setId(f"dose_{k}_time_d")
            tp.setValue(t)
            tp.setConstant(True)
            tp.setUnits("day")
            ev = m.createEvent()
            ev.setId(f"dose_{k}")
            ev.setUseValuesFromTriggerTime(True)
            _notes(ev, doses="; ".join(f"{d.product} {d.amount:g} {d.unit} at day {d.t_days:g}"
                                       for d in doses if float(d.t_days) == t))
            trig = ev.createTrigger()
            trig.setInitialValue(False)
            trig.setPersistent(True)
            _check(trig.setMath(_ast_from_sympy(sympy.Ge(TIME, sympy.Symbol(f"dose_{k}_time_d"), evaluate=False))),
                   "event trigger")
            for i, amount in sorted(amounts.items()):
                st = model.states[i]
                ap = m.createParameter()
                ap.setId(f"dose_{k}_{st.name}")
                ap.setValue(amount)
                ap.setConstant(True)
                uid = units(st.unit)
                if uid:
                    ap.setUnits(uid)
                ea = ev.createEventAssignment()
                ea.setVariable(st.name)
                _check(ea.setMath(_ast_from_sympy(sympy.Symbol(st.name) + sympy.Symbol(f"dose_{k}_{st.name}"))),
                       "event assignment")
    return doc


def _doses_by_time(ev_t, ev_idx, ev_amt) -> list[tuple[float, dict[int, float]]]:
    """One subject's dose events grouped by time: [(t, {state index: summed amount})]."""
    by_time: dict[float, dict[int, float]] = {}
    for t, i, a in zip(ev_t, ev_idx, ev_amt):
        if np.isfinite(t):
            slot = by_time.setdefault(float(t), {})
            slot[int(i)] = slot.get(int(i), 0.0) + float(a)
    return sorted(by_time.items())


def dose_parameters(model, ev_t, ev_idx, ev_amt) -> dict[str, float]:
    """SBML parameter values (``dose_<k>_time_d``, ``dose_<k>_<state>``) of one subject's dose
    events, as :func:`knee_document` names them; rows of :func:`oasim.protocol.dose_events`.

    The document must have been written with doses at the same times (same event structure).
    """
    values = {}
    for k, (t, amounts) in enumerate(_doses_by_time(ev_t, ev_idx, ev_amt), start=1):
        values[f"dose_{k}_time_d"] = t
        for i, amount in amounts.items():
            values[f"dose_{k}_{model.state_names[i]}"] = amount
    return values


def validation_errors(doc, include_warnings: bool = False) -> list[str]:
    """libSBML consistency check: messages of severity error/fatal (and warnings if asked)."""
    ls = _libsbml()
    doc.setConsistencyChecks(ls.LIBSBML_CAT_UNITS_CONSISTENCY, include_warnings)
    doc.checkConsistency()
    out = []
    for i in range(doc.getNumErrors()):
        e = doc.getError(i)
        if e.getSeverity() >= ls.LIBSBML_SEV_ERROR or include_warnings:
            out.append(f"{e.getSeverityAsString()} {e.getErrorId()} line {e.getLine()}: {e.getMessage().strip()}")
    return out


def document_to_string(doc) -> str:
    return _libsbml().writeSBMLToString(doc)


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def export_sbml(path: str | Path, parameter_set="human", **kwargs) -> Path:
    """Validate and write the knee model as SBML L3V2 (atomically); see :func:`knee_document`."""
    doc = knee_document(parameter_set, **kwargs)
    errors = validation_errors(doc)
    if errors:
        raise SbmlError("the exported document fails libSBML validation:\n" + "\n".join(errors))
    return write_atomic(path, document_to_string(doc))


# ---------------------------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SbmlModel:
    """An imported SBML model in the solver's model interface.

    ``states``, ``parameter_names`` and the generated kernel work like the knee model's:
    ``NumbaRodasSolver().solve(model, y0, params, t_eval)`` with ``params`` an
    (n_subjects, n_parameters) matrix (start from :attr:`parameter_values` or
    :meth:`sample_parameters`) and ``y0`` from :meth:`initial_state`. Times are in the file's
    time unit (:attr:`time_units`), values in its units. SBML events are applied by the kernel
    (a visit exactly at an event time reports the pre-event value, as for doses).
    """

    id: str
    source: str
    states: tuple
    parameter_names: tuple
    default_values: tuple
    time_units: str
    system: OdeSystem = field(repr=False)
    initial_exprs: tuple = field(repr=False)
    event_ids: tuple = ()
    event_time_exprs: tuple = field(default=(), repr=False)
    event_initial_values: tuple = field(default=(), repr=False)

    @property
    def state_names(self) -> tuple:
        return tuple(st.name for st in self.states)

    @property
    def state_index(self) -> dict:
        return {st.name: i for i, st in enumerate(self.states)}

    @property
    def parameter_values(self) -> np.ndarray:
        """Values of the parameters in the file, in ``parameter_names`` order."""
        return np.array(self.default_values, dtype=float)

    def ode_system(self) -> OdeSystem:
        return self.system

    def parameter_matrix(self, n_subjects: int = 1, **overrides: float) -> np.ndarray:
        """(n_subjects, n_parameters): the file's values, some replaced by name."""
        values = self.parameter_values
        index = {n: j for j, n in enumerate(self.parameter_names)}
        for name, v in overrides.items():
            if name not in index:
                raise SbmlError(f"'{name}' is not a parameter of {self.id}")
            values[index[name]] = v
        return np.tile(values, (n_subjects, 1))

    def sample_parameters(self, n_subjects: int, rng: np.random.Generator, cv: float = 0.2,
                          names: Sequence[str] | None = None) -> np.ndarray:
        """Log-normal variability (median = the file's value, coefficient of variation ``cv``)."""
        params = self.parameter_matrix(n_subjects)
        omega = math.sqrt(math.log1p(cv ** 2))
        cols = range(len(self.parameter_names)) if names is None else [self.parameter_names.index(n) for n in names]
        for j in cols:
            params[:, j] *= np.exp(rng.normal(0.0, omega, n_subjects))
        return params

    @cached_property
    def _initial_fn(self):
        return sympy.lambdify(self.system.p, list(self.initial_exprs), modules="numpy")

    def initial_state(self, params: np.ndarray | None = None) -> np.ndarray:
        """(n_subjects, n_states) initial values (initial assignments evaluated per subject)."""
        params = self.parameter_matrix(1) if params is None else np.atleast_2d(np.asarray(params, float))
        cols = self._initial_fn(*params.T)
        return np.column_stack([np.broadcast_to(np.asarray(c, float), (params.shape[0],)) for c in cols])

    @cached_property
    def _event_time_fn(self):
        return sympy.lambdify(self.system.p, list(self.event_time_exprs), modules="numpy")

    def event_times(self, params: np.ndarray, t_start: float = 0.0) -> np.ndarray:
        """(n_subjects, n_events) firing time of each SBML event (inf = does not fire)."""
        params = np.atleast_2d(params)
        n = params.shape[0]
        if not self.event_ids:
            return np.zeros((n, 0))
        cols = self._event_time_fn(*params.T)
        times = np.column_stack([np.broadcast_to(np.asarray(c, float), (n,)) for c in cols])
        for k, initial_value in enumerate(self.event_initial_values):
            if initial_value:  # already true at t_start: no false -> true transition
                times[times[:, k] <= t_start, k] = np.inf
        return times

    @cached_property
    def _rhs_fn(self):
        return sympy.lambdify(list(self.system.y) + list(self.system.p), list(self.system.rates), modules="numpy")

    def rhs(self, y, p):
        """Rates in state order; ``y`` indexable by state, ``p`` a mapping by parameter name."""
        if isinstance(p, Mapping):
            p = [p[n] for n in self.parameter_names]
        out = self._rhs_fn(*[y[i] for i in range(len(self.states))], *p)
        shape = np.broadcast(*[np.asarray(y[i]) for i in range(len(self.states))]).shape
        return [np.broadcast_to(np.asarray(o, float), shape) if np.ndim(o) == 0 else o for o in out]

    def derivatives(self, y, p) -> dict:
        if isinstance(y, Mapping):
            y = [y[n] for n in self.state_names]
        return dict(zip(self.state_names, self.rhs(y, p)))

    def simulate(self, t_eval, params: np.ndarray | None = None, y0: np.ndarray | None = None,
                 solver=None, t_start: float = 0.0):
        """Convenience: run every row of ``params`` (default: the file's values) from ``t_start``."""
        from ..solvers import NumbaRodasSolver

        params = self.parameter_matrix(1) if params is None else np.atleast_2d(params)
        y0 = self.initial_state(params) if y0 is None else y0
        return (solver or NumbaRodasSolver()).solve(self, y0, params, np.asarray(t_eval, float), t_start_days=t_start)


# packages that change the simulated mathematics (layout, render, groups, fbc do not)
_MATH_PACKAGES = frozenset({"comp", "distrib", "arrays", "multi", "qual", "spatial", "dyn", "req"})


def _convert(doc, option: str):
    ls = _libsbml()
    props = ls.ConversionProperties()
    props.addOption(option, True)
    code = doc.convert(props)
    if code != ls.LIBSBML_OPERATION_SUCCESS:
        raise SbmlError(f"libSBML conversion '{option}' failed: {ls.OperationReturnValue_toString(code)}")


def _read_document(path_or_text):
    ls = _libsbml()
    text = str(path_or_text)
    if text.lstrip().startswith("<"):
        doc, source = ls.readSBMLFromString(text), "<string>"
    else:
        if not Path(text).is_file():
            raise SbmlError(f"{text}: no such SBML file")
        doc, source = ls.readSBMLFromFile(text), text
    errors = [doc.getError(i) for i in range(doc.getNumErrors())
              if doc.getError(i).getSeverity() >= ls.LIBSBML_SEV_ERROR]
    if errors or doc.getModel() is None:
        msgs = "; ".join(e.getMessage().strip() for e in errors[:5]) or "no model"
        raise SbmlError(f"{source}: not a readable SBML document ({msgs})")
    return doc, source


#: The public OA models shipped with oasim (BioModels, CC0): name -> path of the SBML file.
PUBLIC_MODELS = {
    "proctor2014": Path(__file__).resolve().parent / "models" / "BIOMD0000000504_proctor2014.xml",
    "baker2017": Path(__file__).resolve().parent / "models" / "BIOMD0000000928_baker2017.xml",
}


def load(path: str | Path, scales: Mapping[str, float] | None = None) -> SbmlModel:
    """Import an SBML model (file path or XML text) for the population solver.

    Parameters
    ----------
    scales : typical magnitude per state (solver tolerances and scaling: ``atol_i = atol·scale_i``).
        Default: |initial value|, or for states starting at 0 the smallest non-zero |initial
        value| of the model's states (1 if there is none).

    Raises
    ------
    UnsupportedSbmlError : for a construct outside the supported subset (named in the message)
    SbmlError : for an unreadable or inconsistent document
    """
    ls = _libsbml()
    doc, source = _read_document(path)
    for i in range(doc.getNumPlugins()):
        plugin = doc.getPlugin(i)
        if plugin is not None and plugin.getPackageName() in _MATH_PACKAGES and doc.isPackageEnabled(
                plugin.getPackageName()):
            raise UnsupportedSbmlError(f"SBML package '{plugin.getPackageName()}'", doc.getModel().getId())
    _convert(doc, "expandFunctionDefinitions")
    _convert(doc, "promoteLocalParameters")
    m = doc.getModel()
    symbols: dict[str, sympy.Symbol] = {}

    def S(name):
        if name not in symbols:
            symbols[name] = sympy.Symbol(name)
        return symbols[name]

    def to_sympy(ast, element):
        return _math_to_sympy(ast, symbols, element)

    # ---- rules, initial assignments, event targets
    assignment: dict[str, sympy.Expr] = {}
    rate_rules: dict[str, sympy.Expr] = {}
    for r in m.getListOfRules():
        var = r.getVariable() if not r.isAlgebraic() else ""
        if r.isAlgebraic():
            raise UnsupportedSbmlError("algebraic rule", r.getId() or r.getMetaId() or "model")
        if r.isAssignment():
            assignment[var] = to_sympy(r.getMath(), var)
        elif r.isRate():
            rate_rules[var] = to_sympy(r.getMath(), var)
    initial_assign = {ia.getSymbol(): to_sympy(ia.getMath(), f"initialAssignment {ia.getSymbol()}")
                      for ia in m.getListOfInitialAssignments()}
    event_targets = {ea.getVariable() for ev in m.getListOfEvents() for ea in ev.getListOfEventAssignments()}

    # ---- classify symbols
    state_ids: list[str] = []
    state_meta: dict[str, tuple[str, str]] = {}  # id -> (unit, doc)
    init_value: dict[str, sympy.Expr] = {}
    param_ids: list[str] = []
    param_values: dict[str, float] = {}
    conc_volume: dict[str, str] = {}  # concentration species -> compartment id
    substituted_constants: dict[str, sympy.Expr] = {}

    def add_param(pid, value, element_kind):
        if pid in initial_assign:
            substituted_constants[pid] = initial_assign[pid]
            return
        if value is None or (isinstance(value, float) and math_isnan(value)):
            raise SbmlError(f"{source}: {element_kind} '{pid}' has no value")
        param_ids.append(pid)
        param_values[pid] = float(value)

    for c in m.getListOfCompartments():
        cid = c.getId()
        if not c.getConstant() or cid in rate_rules or cid in assignment or cid in event_targets:
            raise UnsupportedSbmlError("non-constant compartment size", cid)
        add_param(cid, c.getSize() if c.isSetSize() else (1.0 if m.getLevel() < 3 else None), "compartment")

    for p in m.getListOfParameters():
        pid = p.getId()
        if pid in assignment:
            continue
        if pid in rate_rules or (not p.getConstant() and pid in event_targets):
            state_ids.append(pid)
            state_meta[pid] = (p.getUnits() or "", p.getName() or pid)
            init_value[pid] = initial_assign.get(pid, sympy.Float(p.getValue()) if p.isSetValue() else None)
            if init_value[pid] is None:
                raise SbmlError(f"{source}: parameter '{pid}' has no initial value")
            continue
        add_param(pid, p.getValue() if p.isSetValue() else None, "parameter")

    reaction_species = set()
    for r in m.getListOfReactions():
        for lst in (r.getListOfReactants(), r.getListOfProducts()):
            for sr in lst:
                reaction_species.add(sr.getSpecies())

    for sp in m.getListOfSpecies():
        sid = sp.getId()
        if m.getLevel() >= 3 and sp.isSetConversionFactor():
            raise UnsupportedSbmlError("species conversionFactor", sid)
        comp = sp.getCompartment()
        if not sp.getHasOnlySubstanceUnits():
            conc_volume[sid] = comp
        if sp.isSetInitialAmount():
            v0 = sympy.Float(sp.getInitialAmount())
            if not sp.getHasOnlySubstanceUnits():
                v0 = v0 / S(comp)
        elif sp.isSetInitialConcentration():
            v0 = sympy.Float(sp.getInitialConcentration())
            if sp.getHasOnlySubstanceUnits():
                v0 = v0 * S(comp)
        else:
            v0 = None
        if sid in assignment:
            continue
        changes = (sid in rate_rules or sid in event_targets
                   or (sid in reaction_species and not sp.getBoundaryCondition()))
        if sp.getConstant() and (sid in rate_rules or sid in event_targets):
            raise SbmlError(f"{source}: constant species '{sid}' is changed by a rule or event")
        if changes and not sp.getConstant():
            state_ids.append(sid)
            unit = sp.getSubstanceUnits() or m.getSubstanceUnits() or ""
            state_meta[sid] = (unit, sp.getName() or sid)
            init_value[sid] = initial_assign.get(sid, v0)
            if init_value[sid] is None:
                raise SbmlError(f"{source}: species '{sid}' has no initial value")
        else:
            if sid in initial_assign:
                substituted_constants[sid] = initial_assign[sid]
                continue
            if v0 is None:
                raise SbmlError(f"{source}: species '{sid}' has no initial value")
            if v0.free_symbols:  # amount / compartment: keep the volume dependence symbolic
                substituted_constants[sid] = v0
            else:
                add_param(sid, float(v0), "species")

    # ---- reactions -> species rates
    rates: dict[str, sympy.Expr] = {sid: sympy.Integer(0) for sid in state_ids}
    for r in m.getListOfReactions():
        rid = r.getId()
        if r.isSetFast() and r.getFast():
            raise UnsupportedSbmlError("fast reaction", rid)
        kl = r.getKineticLaw()
        if kl is None or kl.getMath() is None:
            raise SbmlError(f"{source}: reaction '{rid}' has no kinetic law")
        v = to_sympy(kl.getMath(), rid)
        for sign, lst in ((-1, r.getListOfReactants()), (1, r.getListOfProducts())):
            for sr in lst:
                if sr.isSetStoichiometryMath() if hasattr(sr, "isSetStoichiometryMath") else False:
                    raise UnsupportedSbmlError("stoichiometryMath", rid)
                if m.getLevel() >= 3 and sr.isSetId() and (sr.getId() in assignment or sr.getId() in rate_rules
                                                           or sr.getId() in event_targets or sr.getId() in initial_assign):
                    raise UnsupportedSbmlError("variable stoichiometry (species reference with a rule)", rid)
                sid = sr.getSpecies()
                if sid not in rates or sid in rate_rules:
                    continue
                stoich = sr.getStoichiometry() if (m.getLevel() < 3 or sr.isSetStoichiometry()) else 1.0
                term = sign * sympy.Float(stoich) * v if stoich != 1.0 else sign * v
                if sid in conc_volume:
                    term = term / S(conc_volume[sid])
                rates[sid] = rates[sid] + term
    for sid, expr in rate_rules.items():
        if sid not in rates:
            raise UnsupportedSbmlError("rate rule on a non-state symbol", sid)
        rates[sid] = expr

    # ---- substitute assignment rules and derived constants
    subs_map = {S(k): v for k, v in {**substituted_constants, **assignment}.items()}

    def resolve(expr, element):
        expr = sympy.sympify(expr)
        for _ in range(len(subs_map) + 2):
            if not (expr.free_symbols & set(subs_map)):
                return expr
            expr = expr.xreplace(subs_map)
        raise UnsupportedSbmlError("cyclic assignment rules / initial assignments", element)

    y_syms = tuple(S(s) for s in state_ids)
    p_syms = tuple(S(p) for p in param_ids)
    known = set(y_syms) | set(p_syms)
    final_rates = []
    for sid in state_ids:
        expr = resolve(rates[sid], sid)
        if TIME in expr.free_symbols:
            raise UnsupportedSbmlError("explicit time dependence ('time' csymbol) in a rate", sid)
        unknown = expr.free_symbols - known
        if unknown:
            raise SbmlError(f"{source}: rate of '{sid}' uses undefined symbols {sorted(map(str, unknown))}")
        final_rates.append(expr)

    # initial values: substitute other states' initial values, rules and derived constants
    init_map = {S(s): init_value[s] for s in state_ids}
    initial_exprs = []
    for sid in state_ids:
        expr = sympy.sympify(init_value[sid])
        for _ in range(len(state_ids) + len(subs_map) + 2):
            nxt = resolve(expr, sid).xreplace(init_map)
            if nxt == expr:
                break
            expr = nxt
        if expr.free_symbols - set(p_syms):
            raise UnsupportedSbmlError("initial value depending on symbols that are not parameters", sid,
                                       str(sorted(map(str, expr.free_symbols - set(p_syms)))))
        initial_exprs.append(expr)

    # ---- events
    event_ids, event_times, event_init, event_assignments = [], [], [], []
    index = {s: i for i, s in enumerate(state_ids)}
    for k, ev in enumerate(m.getListOfEvents()):
        eid = ev.getId() or f"event_{k}"
        if ev.isSetDelay():
            d = resolve(to_sympy(ev.getDelay().getMath(), eid), eid)
            if not (d.is_Number and float(d) == 0.0):
                raise UnsupportedSbmlError("event delay", eid, str(d))
        if ev.isSetPriority():
            raise UnsupportedSbmlError("event priority", eid)
        trig = ev.getTrigger()
        cond = resolve(to_sympy(trig.getMath(), eid), eid)
        threshold = None
        if isinstance(cond, (sympy.GreaterThan, sympy.StrictGreaterThan, sympy.Equality)) and cond.lhs == TIME:
            threshold = cond.rhs
        elif isinstance(cond, (sympy.LessThan, sympy.StrictLessThan, sympy.Equality)) and cond.rhs == TIME:
            threshold = cond.lhs
        if threshold is None or threshold.free_symbols - set(p_syms):
            raise UnsupportedSbmlError("event trigger other than 'time >= expression of parameters'", eid,
                                       _libsbml().formulaToL3String(trig.getMath()))
        initial_value = trig.getInitialValue() if (m.getLevel() >= 3 and trig.isSetInitialValue()) else True
        assigns = []
        for ea in ev.getListOfEventAssignments():
            var = ea.getVariable()
            if var not in index:
                raise UnsupportedSbmlError("event assignment to a constant or compartment", eid, var)
            expr = resolve(to_sympy(ea.getMath(), eid), eid)
            if TIME in expr.free_symbols:
                raise UnsupportedSbmlError("'time' in an event assignment", eid)
            assigns.append((index[var], expr))
        event_ids.append(eid)
        event_times.append(threshold)
        event_init.append(bool(initial_value))
        event_assignments.append(tuple(assigns))

    # ---- states with scales
    scales = dict(scales or {})
    defaults = dict(param_values)
    y0_default = [complex(sympy.sympify(e).xreplace({S(p): defaults[p] for p in param_ids})).real for e in initial_exprs]
    nonzero = [abs(v) for v in y0_default if v != 0.0 and math.isfinite(v)]
    fallback = min(nonzero) if nonzero else 1.0
    states = []
    for sid, v0 in zip(state_ids, y0_default):
        unit, doc_ = state_meta[sid]
        scale = float(scales.pop(sid, abs(v0) if v0 != 0.0 else fallback))
        states.append(State(sid, unit or "model unit", doc_, scale))
    if scales:
        raise SbmlError(f"scales given for unknown states {sorted(scales)}")

    system = OdeSystem(tuple(states), tuple(param_ids), y_syms, p_syms, tuple(final_rates), tuple(event_assignments))
    time_units = (m.getTimeUnits() if m.getLevel() >= 3 and m.isSetTimeUnits() else "") or (
        "second" if m.getLevel() < 3 else "model time unit")
    return SbmlModel(m.getId() or Path(str(source)).stem, str(source), tuple(states), tuple(param_ids),
                     tuple(defaults[p] for p in param_ids), time_units, system, tuple(initial_exprs),
                     tuple(event_ids), tuple(event_times), tuple(event_init))


def math_isnan(x) -> bool:
    return isinstance(x, float) and x != x


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
        import roadrunner

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
