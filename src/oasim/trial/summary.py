"""The typed summary of a trial run: what ``summary.json`` holds, as frozen dataclasses.

The CLI, the report, the dashboard and :class:`oasim.results.RunResult` read attributes
(``summary.arms[0].adverse_events.events``) instead of string keys. :meth:`TrialSummary.to_dict`
gives the JSON form written to ``summary.json`` and :meth:`TrialSummary.from_dict` reads it back.
Every interval is ``"ci": [low, high]`` with its two-sided confidence level beside it,
``"ci_level"`` = 1 − the scenario's ``analysis.alpha`` (0.95 at the default alpha 0.05).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Optional

Interval = tuple[Optional[float], Optional[float]]


def _interval(values) -> Interval:
    low, high = values
    return (low, high)


def _plain(value):
    """Dataclasses → dicts (in field order), tuples → lists, recursively."""
    if hasattr(value, "__dataclass_fields__"):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class _Record:
    """``to_dict`` in field order; fields whose value is in ``_omit_when`` are left out."""

    _omit_when: dict = {}

    def to_dict(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in self._omit_when and value == self._omit_when[f.name]:
                continue
            out[f.name] = _plain(value)
        return out

    @classmethod
    def from_dict(cls, d: dict):
        """The record from its JSON form (confidence intervals become tuples)."""
        return cls(**{k: _interval(v) if k == "ci" else v for k, v in d.items()})


@dataclass(frozen=True)
class ChangeFromBaseline(_Record):
    """Mean change from baseline at one visit: n, mean, SD and the t CI of the mean at level ``ci_level``."""

    n: float
    mean: Optional[float]
    sd: Optional[float]
    ci: Interval
    ci_level: float



@dataclass(frozen=True)
class Comparison(_Record):
    """ANCOVA difference of an arm against placebo at the primary visit, with its t CI at level ``ci_level``."""

    estimate: Optional[float]
    se: Optional[float]
    ci: Interval
    ci_level: float
    p_value: Optional[float]



@dataclass(frozen=True)
class ResponderRate(_Record):
    """Responders of one definition (OMERACT-OARSI, VAS MCII) in one arm, with the Clopper-Pearson CI
    of the rate at level ``ci_level``."""

    n: float
    responders: float
    rate: Optional[float]
    ci: Interval
    ci_level: float



@dataclass(frozen=True)
class AdverseEventCounts(_Record):
    subjects_with_any: int
    events: int
    related_events: int
    grade3_or_more: int


@dataclass(frozen=True)
class ArmSummary(_Record):
    """One arm: dose, size, change from baseline per endpoint and visit, ANCOVA, AEs, responders."""

    arm: str
    dose: float
    dose_unit: str
    product: str
    injection_days: tuple[float, ...]
    cohorts: tuple[int, ...]
    n_randomised: int
    n_completed: int
    change_from_baseline: dict[str, dict[str, ChangeFromBaseline]]
    ancova_vs_placebo: dict[str, Comparison]
    adverse_events: AdverseEventCounts
    responders: dict[str, ResponderRate] = field(default_factory=dict)

    _omit_when = {"responders": {}}  # an arm no responder analysis covers has no "responders" key

    @classmethod
    def from_dict(cls, d: dict) -> "ArmSummary":
        return cls(
            d["arm"], d["dose"], d["dose_unit"], d["product"], tuple(d["injection_days"]), tuple(d["cohorts"]),
            d["n_randomised"], d["n_completed"],
            {code: {visit: ChangeFromBaseline.from_dict(v) for visit, v in visits.items()}
             for code, visits in d["change_from_baseline"].items()},
            {code: Comparison.from_dict(v) for code, v in d["ancova_vs_placebo"].items()},
            AdverseEventCounts.from_dict(d["adverse_events"]),
            {name: ResponderRate.from_dict(v) for name, v in d.get("responders", {}).items()})


@dataclass(frozen=True)
class Screening(_Record):
    screened: int
    eligible: int
    screen_failures: int
    failures_by_reason: dict[str, int]


@dataclass(frozen=True)
class CohortDecision(_Record):
    """The safety review of one cohort: subjects, DLTs and the decision taken."""

    cohort: int
    n_subjects: int
    n_dlt: int
    decision: str


@dataclass(frozen=True)
class DoseResponse(_Record):
    method: str
    dose_response_detected: bool
    target_dose_in_lowest_dose_units: Optional[float]


@dataclass(frozen=True)
class MmrmSummary(_Record):
    """The MMRM of the primary endpoint: covariance structure, df method and its contrasts."""

    endpoint: str
    covariance: str
    df_method: str
    n_subjects: int
    contrasts: tuple[dict, ...]

    @classmethod
    def from_dict(cls, d: dict) -> "MmrmSummary":
        return cls(d["endpoint"], d["covariance"], d["df_method"], d["n_subjects"], tuple(d["contrasts"]))


@dataclass(frozen=True)
class TrialSummary(_Record):
    """Everything ``summary.json`` says about a trial run."""

    scenario: str
    description: str
    primary_endpoint: str
    primary_visit_month: float
    design: str
    screening: Screening
    cohort_decisions: tuple[CohortDecision, ...]
    arms: tuple[ArmSummary, ...]
    solver_failures: int
    dose_response: Optional[DoseResponse]
    notes: tuple[str, ...]
    provenance: dict
    mmrm: Optional[MmrmSummary] = None

    @property
    def ci_level_text(self) -> str:
        """The level of the summary's intervals as a heading prefix ("95%" at alpha 0.05); every
        interval of a run has the same level (1 - the scenario's alpha); "–" when there is none."""
        for a in self.arms:
            for record in (*(v for visits in a.change_from_baseline.values() for v in visits.values()),
                           *a.ancova_vs_placebo.values(), *a.responders.values()):
                return f"{100 * record.ci_level:g}%"
        return "–"

    @property
    def primary_visit(self) -> str:
        """The primary visit's label in the datasets (``"MONTH 6"``)."""
        return f"MONTH {self.primary_visit_month:g}"

    def arm(self, name: str) -> ArmSummary:
        """The arm called ``name``."""
        for a in self.arms:
            if a.arm == name:
                return a
        from ..errors import FieldError

        raise FieldError("arm", name, f"one of {[a.arm for a in self.arms]}")

    @classmethod
    def from_dict(cls, d: dict) -> "TrialSummary":
        """Read the JSON form (``summary.json``) back."""
        return cls(
            d["scenario"], d["description"], d["primary_endpoint"], d["primary_visit_month"], d["design"],
            Screening.from_dict(d["screening"]), tuple(CohortDecision.from_dict(c) for c in d["cohort_decisions"]),
            tuple(ArmSummary.from_dict(a) for a in d["arms"]), d["solver_failures"],
            None if d["dose_response"] is None else DoseResponse.from_dict(d["dose_response"]), tuple(d["notes"]),
            d["provenance"], None if d.get("mmrm") is None else MmrmSummary.from_dict(d["mmrm"]))
