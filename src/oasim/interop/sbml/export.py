"""Export of the knee model as SBML L3V2 (see the package docstring)."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Mapping, Sequence

import numpy as np
import sympy

from ...io import atomic_write_text
from ._common import SBML_LEVEL, SBML_VERSION, SbmlError, TIME, _DAY, _libsbml, parse_unit
from .mathml import _ast_from_sympy

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
        from ...model.signals import compute_signals

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
    from ...model import KneeModel
    from ...model.knee import healthy_state
    from ...parameters import ParameterSet
    from ...protocol import dose_events

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


def export_sbml(path: str | Path, parameter_set="human", force: bool = False, **kwargs) -> Path:
    """Validate and write the knee model as SBML L3V2 (atomically; an existing file only with
    ``force``); see :func:`knee_document`."""
    doc = knee_document(parameter_set, **kwargs)
    errors = validation_errors(doc)
    if errors:
        raise SbmlError("the exported document fails libSBML validation:\n" + "\n".join(errors))
    return atomic_write_text(path, document_to_string(doc), force)


