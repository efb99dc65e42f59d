"""Import of SBML models into batched systems for the population solver."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import sympy

from ...model.codegen import OdeSystem
from ...model.states import State
from ...odemodel import OdeModel
from ._common import SbmlError, TIME, UnsupportedSbmlError, _libsbml
from .mathml import _math_to_sympy

# ---------------------------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SbmlModel(OdeModel):
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
        # broadcast_shapes has no limit on the number of arrays (np.broadcast takes at most 64)
        shape = np.broadcast_shapes(*[np.shape(y[i]) for i in range(len(self.states))])
        return [np.broadcast_to(np.asarray(o, float), shape) if np.ndim(o) == 0 else o for o in out]

    def derivatives(self, y, p) -> dict:
        if isinstance(y, Mapping):
            y = [y[n] for n in self.state_names]
        return dict(zip(self.state_names, self.rhs(y, p)))

    def simulate(self, t_eval, params: np.ndarray | None = None, y0: np.ndarray | None = None,
                 solver=None, t_start: float = 0.0):
        """Convenience: run every row of ``params`` (default: the file's values) from ``t_start``."""
        from ...solvers import NumbaRodasSolver

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
    "proctor2014": Path(__file__).resolve().parents[1] / "models" / "BIOMD0000000504_proctor2014.xml",
    "baker2017": Path(__file__).resolve().parents[1] / "models" / "BIOMD0000000928_baker2017.xml",
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
        if not math.isfinite(float(value)):
            raise SbmlError(f"{source}: {element_kind} '{pid}' = {value}: allowed a finite number")
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
        if not math.isfinite(v0):
            raise SbmlError(f"{source}: species '{sid}' initial value = {v0}: allowed a finite number")
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


