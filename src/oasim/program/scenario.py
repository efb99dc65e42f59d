"""The program scenario (``kind = "program"``): bench-to-bedside stages in one file.

Stages run in the fixed order of :data:`STAGES`; each is optional. A stage field may hold a
value or a reference ``"from:<stage>.<output>"`` to an output of an earlier stage (the outputs
each stage offers, with units, are :data:`OUTPUTS`). References are checked when the file is
read: a missing stage or output is a :class:`ProgramReferenceError` listing the available names.
The in-vitro and toxicity stages and the trial can be replaced by data (``source = "data"``,
``path = ...``, relative to the scenario file).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from ..errors import FieldError, ScenarioError
from ..scenario.loader import validate

STAGES = ("invitro", "toxicity", "mouse", "translation", "escalation", "trial", "analysis")

#: stage → output name → unit; what a ``from:`` reference may name
OUTPUTS: dict[str, dict[str, str]] = {
    "invitro": {"effective_concentration_per_ml": "particles/mL", "rescue_log2_fold": "log2 fold vs IL-1β"},
    "toxicity": {"highest_non_toxic_per_ml": "particles/mL", "ic50_per_ml": "particles/mL",
                 "max_human_dose_particles": "particles", "safety_margin": "1"},
    "mouse": {"effective_dose_particles": "particles", "oarsi_reduction_points": "OARSI points",
              "injection_days": "day"},
    "translation": {"human_equivalent_dose_particles": "particles", "top_dose_particles": "particles",
                    "human_doses_particles": "particles", "capped": "bool"},
    "escalation": {"true_prob_dlt": "1", "pct_selected": "%", "recommended_dose_particles": "particles",
                   "design": "design table"},
    "trial": {"adam_dir": "path", "primary_paramcd": "PARAMCD", "primary_visit": "AVISIT",
              "dose_levels_particles": "particles", "n_randomised": "subjects"},
    "analysis": {"top_dose_difference": "endpoint units", "top_dose_p_value": "1", "trend_p_value": "1"},
}

REFERENCE = re.compile(r"^from:([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)$")
Ref = str  # "from:<stage>.<output>"; checked by ProgramScenario after validation


class ProgramReferenceError(FieldError):
    """A ``from:`` reference names a stage or output that does not exist (or runs later)."""


class StageDataError(FieldError):
    """A data file standing in for a stage is missing or malformed (names the file and what is needed)."""


class StageResultError(FieldError):
    """A stage's result cannot feed the next stage (e.g. no mouse dose reached the OARSI target)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _DataSource(_Strict):
    source: Literal["simulate", "data"] = "simulate"
    path: Optional[str] = None

    @model_validator(mode="after")
    def _path_given(self):
        if self.source == "data" and not self.path:
            raise ValueError("source = 'data' needs path = the data file or folder")
        return self


class InVitroStage(_DataSource):
    """IL-1β-stimulated chondrocytes ± exosomes; the effective concentration rescues ``readout``."""

    system: Literal["invitro_mouse_chondrocyte", "invitro_human_chondrocyte"] = "invitro_mouse_chondrocyte"
    il1b_ng_per_ml: float = Field(10.0, gt=0, le=1000)
    exosome_per_ml: tuple[float, ...] = Field((1e8, 1e9, 1e10), min_length=1)
    hour: float = Field(48.0, gt=0, le=168)
    n_wells: int = Field(3, ge=2, le=96)
    readout: Literal["MMP13", "ADAMTS5", "COL2A1", "ACAN", "IL6", "NOS2"] = "MMP13"
    alpha: float = Field(0.05, gt=0, lt=0.5)


class ToxicityStage(_DataSource):
    """Human chondrocyte viability across concentrations → the highest non-toxic concentration."""

    system: Literal["invitro_human_chondrocyte", "invitro_mouse_chondrocyte"] = "invitro_human_chondrocyte"
    concentrations_per_ml: tuple[float, ...] = Field((1e9, 1e10, 1e11, 1e12, 1e13), min_length=1)
    hours: float = Field(48.0, gt=0, le=168)
    n_wells: int = Field(6, ge=2, le=96)
    effective_concentration_per_ml: Optional[Union[float, Ref]] = None
    human_system: Literal["human"] = "human"


class MouseStage(_DataSource):
    """DMM / collagenase mice: vehicle vs exosome doses; the effective dose reaches the OARSI target.

    As data: a CSV of OARSI scores, one row per mouse (dose_particles with 0 = vehicle, week,
    oarsi); the last week decides, ``injection_days`` gives the schedule the doses were given on.
    """

    system: Literal["mouse_dmm", "mouse_collagenase"] = "mouse_dmm"
    doses_particles: tuple[float, ...] = Field((1e7, 1e8, 1e9), min_length=1)
    injection_days: tuple[float, ...] = Field((7, 14, 21, 28, 35, 42, 49), min_length=1)
    weeks: tuple[float, ...] = Field((12.0,), min_length=1)
    n_per_group: int = Field(8, ge=2, le=200)
    oarsi_reduction_points: float = Field(1.0, gt=0, le=6)
    alpha: Optional[float] = Field(0.05, gt=0, lt=0.5)  # None: the mean reduction alone decides

    @model_validator(mode="after")
    def _ordered(self):
        if any(b <= a for a, b in zip(self.doses_particles, self.doses_particles[1:])):
            raise ValueError(f"doses_particles must increase strictly, got {list(self.doses_particles)}")
        if any(w <= 0 or w > 52 for w in self.weeks):
            raise ValueError(f"weeks {list(self.weeks)} must lie in (0, 52]")
        return self


class TranslationStage(_Strict):
    """Mouse → human dose by one rule, a ladder of ``n_levels`` doses up to the capped top dose."""

    dose_particles: Union[float, Ref]
    days: Union[tuple[float, ...], Ref] = (0.0,)
    horizon_days: float = Field(28.0, gt=0, le=3650)
    method: Literal["exposure", "sf_volume", "cartilage_area"] = "exposure"
    cap_particles: Optional[Union[float, Ref]] = None
    n_levels: int = Field(3, ge=1, le=10)
    step_ratio: float = Field(3.0, gt=1, le=100)
    significant_digits: int = Field(2, ge=1, le=6)


class EscalationStage(_Strict):
    """Operating characteristics of the escalation design under the AE model's toxicity at the doses."""

    dose_levels_particles: Union[tuple[float, ...], Ref]
    design: dict[str, Any] = Field(default_factory=lambda: {"design": "boin", "target": 0.25, "max_n": 24})
    # None: as the program's trial does (its schedule and safety review), else day 0, grade 3, 28 days
    injection_days: Optional[tuple[float, ...]] = None
    dlt_min_grade: Optional[int] = Field(None, ge=1, le=5)
    dlt_window_days: Optional[float] = Field(None, gt=0, le=365)
    n_trials: int = Field(2000, ge=10, le=1_000_000)


class TrialStage(_DataSource):
    """The randomised ascending-dose trial (a trial scenario body) or an ADaM folder of a real one."""

    dose_levels_particles: Optional[Union[tuple[float, ...], Ref]] = None
    n_active_per_cohort: int = Field(6, ge=1, le=1000)
    n_placebo_per_cohort: int = Field(2, ge=0, le=1000)
    escalation_design: Optional[Union[dict[str, Any], Ref]] = None
    scenario: dict[str, Any] = Field(default_factory=dict)  # the trial scenario without kind/name/seed/cohorts
    paramcd: Optional[str] = None  # data: the primary parameter
    visit: Optional[str] = None  # data: the primary visit (AVISIT)

    @model_validator(mode="after")
    def _needs(self):
        if self.source == "simulate" and self.dose_levels_particles is None:
            raise ValueError("a simulated trial needs dose_levels_particles "
                             "(e.g. 'from:translation.human_doses_particles')")
        if self.source == "data" and not (self.paramcd and self.visit):
            raise ValueError("a trial given as data needs paramcd and visit (the primary parameter and AVISIT)")
        if any(k in self.scenario for k in ("kind", "name", "seed")):
            raise ValueError("trial.scenario must not set kind, name or seed (the program sets them)")
        return self


class AnalysisStage(_Strict):
    """The standard ADaM analysis (ANCOVA vs control, dose trend) of the trial's primary endpoint."""

    adam_dir: Union[str, Ref] = "from:trial.adam_dir"
    paramcd: Union[str, Ref] = "from:trial.primary_paramcd"
    visit: Union[str, Ref] = "from:trial.primary_visit"
    trend: Optional[str] = "TRTDOSE"


class ProgramScenario(_Strict):
    """A validated program scenario: header plus the stages present, in :data:`STAGES` order."""

    kind: Literal["program"] = "program"
    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    seed: int = Field(0, ge=0, lt=2**63)
    base_dir: str = Field(".", exclude=True)  # folder relative data paths are read from (the file's); not in the digest
    invitro: Optional[InVitroStage] = None
    toxicity: Optional[ToxicityStage] = None
    mouse: Optional[MouseStage] = None
    translation: Optional[TranslationStage] = None
    escalation: Optional[EscalationStage] = None
    trial: Optional[TrialStage] = None
    analysis: Optional[AnalysisStage] = None

    def stages(self) -> list[tuple[str, BaseModel]]:
        """The stages present, in running order."""
        return [(s, getattr(self, s)) for s in STAGES if getattr(self, s) is not None]

    def data_path(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else Path(self.base_dir) / p

    @model_validator(mode="before")
    @classmethod
    def _base_dir_from_the_file(cls, data, info: ValidationInfo):
        """Relative data paths are read from the scenario file's folder (the loader's context)."""
        base_dir = (info.context or {}).get("base_dir")
        if isinstance(data, dict) and base_dir is not None and "base_dir" not in data:
            data = {**data, "base_dir": str(Path(base_dir).resolve())}
        return data

    @model_validator(mode="after")
    def _references_resolve(self, info: ValidationInfo):
        """Every ``from:`` reference names an earlier stage's output; the trial stage is complete."""
        source = (info.context or {}).get("source", "<scenario>")
        errors = reference_errors(self, source) + trial_errors(self, source)
        if errors:  # not a ValueError: pydantic lets it through as it is, every problem listed
            raise ScenarioError(source, errors)
        return self

    @classmethod
    def from_dict(cls, data: dict, source: str = "<scenario>") -> "ProgramScenario":
        """Validate ``data`` (relative paths resolve against ``source``'s folder) and its references."""
        base_dir = None if source == "<scenario>" else Path(source).parent
        return validate(cls, data, source, base_dir)


def parse_reference(value) -> tuple[str, str] | None:
    """``"from:mouse.effective_dose_particles"`` → ``("mouse", "effective_dose_particles")``; else None."""
    if isinstance(value, str) and value.startswith("from:"):
        m = REFERENCE.match(value)
        return (m.group(1), m.group(2)) if m else ("", value)
    return None


def available(before: str, program: ProgramScenario) -> list[str]:
    """Every ``stage.output`` a field of stage ``before`` may refer to (earlier stages present)."""
    present = [s for s, _ in program.stages()]
    earlier = present[:present.index(before)] if before in present else present
    return [f"{s}.{o}" for s in earlier for o in OUTPUTS[s]]


def reference_errors(program: ProgramScenario, source: str) -> list[FieldError]:
    out: list[FieldError] = []
    for stage, spec in program.stages():
        for field, value in spec:
            ref = parse_reference(value)
            if ref is None:
                continue
            allowed = available(stage, program)
            if f"{ref[0]}.{ref[1]}" not in allowed:
                out.append(ProgramReferenceError(f"{stage}.{field}", value,
                                                 f"'from:<stage>.<output>' naming an earlier stage's output: "
                                                 f"{allowed or 'none (no earlier stage)'}", source))
    return out


def trial_errors(program: ProgramScenario, source: str) -> list[FieldError]:
    """Check the trial body now (with placeholder doses), so a bad field fails before any stage runs."""
    if program.trial is None or program.trial.source != "simulate":
        return []
    try:
        trial_scenario(program, (1e11,), None)
    except ScenarioError as exc:
        return [FieldError(f"trial.scenario.{e.field}", e.value, e.allowed, source) for e in exc.errors]
    return []


def trial_scenario(program: ProgramScenario, doses_particles, escalation: dict | None, seed: int = 0):
    """The trial :class:`~oasim.scenario.Scenario` of the program: its body plus one cohort per dose."""
    from ..scenario import Scenario, validate

    t = program.trial
    body = {k: v for k, v in t.scenario.items()}
    design = dict(body.get("design", {}))
    design["cohorts"] = [{"dose": float(d), "unit": "particles", "n_active": t.n_active_per_cohort,
                          "n_placebo": t.n_placebo_per_cohort} for d in doses_particles]
    if escalation is not None:
        design["safety_review"] = {**design.get("safety_review", {}), "rule": "escalation_design",
                                   "escalation": dict(escalation)}
    body.update(kind="trial", name=f"{program.name[:74]}-trial", seed=seed, design=design)
    body.setdefault("product", {"name": "hUC-MSC-Exos", "product": "exosome"})
    return validate(Scenario, body, "trial.scenario", Path(program.base_dir))  # lot paths beside the program file

