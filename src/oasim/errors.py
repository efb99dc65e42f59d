"""User-facing exceptions.

Every error a user can trigger names the field (or entry), the offending value and what is
allowed, so a message alone is enough to fix the input.
"""

from __future__ import annotations


class OasimError(Exception):
    """Base class of every oasim error a user can trigger."""


class FieldError(OasimError):
    """A named input field holds a value outside what is allowed.

    Parameters
    ----------
    field : str
        Dotted path of the field, e.g. ``"population.n_subjects"`` or a parameter name.
    value : object
        The value that was given.
    allowed : str
        What would have been accepted, e.g. ``"> 0"`` or ``"one of 'cells', 'particles'"``.
    source : str, optional
        File the value came from.
    """

    def __init__(self, field: str, value: object, allowed: str, source: str | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field} = {value!r}: allowed {allowed}")


class ParameterError(FieldError):
    """A parameter-set entry is missing, malformed or out of range."""


class ScenarioError(OasimError):
    """A scenario file failed validation; ``errors`` holds every problem found."""

    def __init__(self, source: str, errors: list[FieldError]):
        self.source = source
        self.errors = list(errors)
        lines = "\n".join(f"  - {e.field} = {e.value!r}: allowed {e.allowed}" for e in self.errors)
        super().__init__(f"{source}: {len(self.errors)} error(s)\n{lines}")


class ScreeningError(FieldError):
    """Screening cannot enrol the subjects needed: an inclusion criterion (``field``) binds."""


class SolverError(OasimError):
    """The solver failed for at least one subject (and failures were not to be dropped).

    ``subjects`` holds one record per failed subject: ``subject`` (id), ``index`` (row),
    ``status`` (:class:`oasim.solvers.solution.SolverStatus`), ``t_reached_days`` and
    ``parameters`` (name -> value). Raised by default by :func:`oasim.simulation.simulate`;
    ``on_solver_failure="drop"`` drops and counts such subjects instead.
    """

    MAX_LISTED = 3  # subjects quoted with their parameter values in the message

    def __init__(self, message: str, subjects: list[dict] | None = None):
        self.subjects = list(subjects or [])
        super().__init__(message)

    @classmethod
    def for_subjects(cls, records: list[dict], stage: str = "") -> "SolverError":
        where = f" during {stage}" if stage else ""
        lines = [f"the solver failed for {len(records)} subject(s){where}:"]
        for r in records[:cls.MAX_LISTED]:
            values = ", ".join(f"{k}={v:.6g}" for k, v in r["parameters"].items())
            lines.append(f"  - subject {r['subject']}: {r['status'].name} ({r['status'].message}); "
                         f"reached day {r['t_reached_days']:.6g}" + (f"; {values}" if values else ""))
        if len(records) > cls.MAX_LISTED:
            rest = ", ".join(str(r["subject"]) for r in records[cls.MAX_LISTED:])
            lines.append(f"  - and subjects {rest}")
        lines.append("  (check the doses and parameter values; on_solver_failure='drop' drops and counts them)")
        return cls("\n".join(lines), records)


class DataError(OasimError):
    """An input data file (trial table, FCS, NTA export ...) is malformed.

    The message names the file and the problem.
    """

    def __init__(self, path: object, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class AdamError(OasimError):
    """A standard (ADaM/SDTM) dataset lacks what an analysis needs or contradicts itself.

    Names the dataset, the variable, the offending value and what is there or allowed, e.g.
    ``ADQS.TRTP = 'PLACEBO': control arm not among the arms; have ['Placebo', 'Xanomeline']``.
    """

    def __init__(self, dataset: str, variable: str, value: object, allowed: str):
        self.dataset = dataset
        self.variable = variable
        self.value = value
        self.allowed = allowed
        super().__init__(f"{dataset}.{variable} = {value!r}: {allowed}")
