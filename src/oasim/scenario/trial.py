"""The trial scenario (``kind = "trial"``): TOML validated with pydantic — the one place where
a trial's options are checked.

``Scenario.from_toml(path)`` returns a frozen scenario or raises :class:`ScenarioError` listing
every problem with its field path, the value given and what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import Field, ValidationInfo, field_validator, model_validator

from ..protocol import DOSE_MAX
from ..solvers import SOLVERS
from ..units import DAYS_PER_MONTH
from .loader import StrictModel, read_toml, validate

ENDPOINTS = ("WOMAC_PAIN", "WOMAC_STIFF", "WOMAC_FUNC", "WOMAC_TOTAL", "WOMAC_TOTAL_NORM", "VAS_PAIN", "PGA_VAS",
             "KOOS_PAIN", "KOOS_SYMPTOMS", "KOOS_ADL", "KOOS_SPORT", "KOOS_QOL",
             "MRI_THICK_MM", "MRI_T2_MS", "MRI_SYNOV_GRADE", "SF_IL1B_PG_ML")
MAX_FOLLOW_UP_MONTHS = 120.0  # assumed: twice the longest follow-up of the knee OA injection trials found (5 y)


SolverName = Literal[tuple(SOLVERS)]  # the names of oasim.solvers.SOLVERS, as `oasim simulate --solver`


class ModelSpec(StrictModel):
    parameter_set: str = "human"
    # a name in oasim.solvers.SOLVERS: numba (Rodas4, the default), rosenbrock (Rodas3), rodas5p-x4
    # (Rodas5P + interpolant, 4 subjects per SIMD step; first use compiles 1.5-3 min), bdf, scipy
    solver: SolverName = "numba"
    rtol: float = Field(1e-6, gt=0, le=1e-3)
    # "drop": subjects the solver fails on leave the trial and are counted (summary solver_failures)
    on_solver_failure: Literal["raise", "drop"] = "raise"

    @field_validator("solver", mode="before")
    @classmethod
    def _registered(cls, v):
        # the message `oasim simulate --solver` gives; the Literal keeps the choices for forms and the schema
        if not isinstance(v, str) or v not in SOLVERS:
            raise ValueError(f"one of {sorted(SOLVERS)}")
        return v

    @field_validator("parameter_set")
    @classmethod
    def _loads(cls, v):
        from ..errors import OasimError
        from ..parameters import ParameterSet

        try:
            ParameterSet.load(v)  # what `run` will load: a built-in name or a .toml path
        except OasimError as exc:
            raise ValueError(str(exc)) from None
        return v


class InclusionSpec(StrictModel):
    kl_grades: tuple[Literal[1, 2, 3, 4], ...] = (2, 3)
    age_min_y: float = Field(40.0, ge=18, le=100)
    age_max_y: float = Field(80.0, ge=18, le=100)
    bmi_max_kg_per_m2: float = Field(40.0, ge=15, le=70)
    vas_pain_min_mm: float = Field(40.0, ge=0, le=100)

    @model_validator(mode="after")
    def _age_order(self):
        if self.age_min_y > self.age_max_y:
            raise ValueError(f"age_min_y ({self.age_min_y}) must not exceed age_max_y ({self.age_max_y})")
        return self


class PopulationSpec(StrictModel):
    covariates: Literal["human_koa"] = "human_koa"
    variability: bool = True
    inclusion: InclusionSpec = InclusionSpec()

    @model_validator(mode="after")
    def _criteria_reachable(self):
        from ..errors import ScreeningError
        from ..population.eligibility import check_inclusion

        try:
            check_inclusion(self.inclusion, self.covariates)
        except ScreeningError as exc:
            raise ValueError(f"{exc.field} = {exc.value!r}: allowed {exc.allowed}") from None
        return self


class ProductSpec(StrictModel):
    """The investigational product of an ascending-dose design (parallel arms name their own)."""

    name: str = "hUC-MSC-Exos"
    product: Literal["exosome", "msc"] = "exosome"
    cell_source: Literal["umbilical_cord", "bone_marrow", "adipose"] = "umbilical_cord"
    co_injection: Literal["none", "hyaluronic_acid"] = "none"
    particles_per_ug: Optional[float] = Field(None, gt=1e6, lt=1e14)
    lot: Optional[str] = None
    reference: str = ""

    @field_validator("lot")
    @classmethod
    def _lot_exists(cls, v):
        if v is not None and not (Path(v) / "lot.toml").is_file():
            raise ValueError(f"a QC lot folder containing lot.toml (see `oasim qc --help`); {v} has none")
        if v is not None:
            lot_particles_per_ug(v)  # the lot's files must be readable now, not halfway through `run`
        return v

    @property
    def effective_particles_per_ug(self) -> float | None:
        """particles_per_ug if given, else the lot's measured value, else None."""
        if self.particles_per_ug is not None or self.lot is None:
            return self.particles_per_ug
        return lot_particles_per_ug(self.lot)


class CohortSpec(StrictModel):
    dose: float = Field(gt=0)
    unit: Literal["particles", "ug", "cells"]
    n_active: int = Field(ge=1, le=1000)
    n_placebo: int = Field(0, ge=0, le=1000)

    @model_validator(mode="after")
    def _dose_ceiling(self):
        if self.dose > DOSE_MAX[self.unit]:
            raise ValueError(f"dose {self.dose:g} {self.unit} exceeds the plausible ceiling "
                             f"{DOSE_MAX[self.unit]:.3g} {self.unit} (oasim.protocol.DOSE_MAX)")
        return self


class ArmSpec(StrictModel):
    """One arm of a parallel-group design: product, dose, schedule and its fixed size."""

    name: str = Field(min_length=1, max_length=60)
    product: Literal["saline", "hyaluronic_acid", "msc", "exosome"]
    product_name: str = ""
    cell_source: Literal["umbilical_cord", "bone_marrow", "adipose", "none"] = "none"
    dose: float = Field(0.0, ge=0)
    unit: Literal["particles", "ug", "cells", "none"] = "none"
    co_injection: Literal["none", "hyaluronic_acid"] = "none"
    injection_days: Optional[tuple[float, ...]] = None  # default: schedule.injection_days
    n: int = Field(ge=1, le=5000)
    control: bool = False  # the comparator (labelled Placebo in TRT01P; EX gives its product)

    @model_validator(mode="after")
    def _product_fits(self):
        units = {"saline": ("none",), "hyaluronic_acid": ("none",), "msc": ("cells",), "exosome": ("particles", "ug")}
        if self.unit not in units[self.product]:
            raise ValueError(f"unit '{self.unit}' does not fit product '{self.product}' (allowed {units[self.product]})")
        if self.product in ("msc", "exosome") and self.dose <= 0:
            raise ValueError(f"a {self.product} arm needs dose > 0")
        if self.product == "msc" and self.cell_source == "none":
            raise ValueError("an msc arm needs cell_source umbilical_cord, bone_marrow or adipose")
        if self.unit in DOSE_MAX and self.dose > DOSE_MAX[self.unit]:
            raise ValueError(f"dose {self.dose:g} {self.unit} exceeds the plausible ceiling "
                             f"{DOSE_MAX[self.unit]:.3g} {self.unit} (oasim.protocol.DOSE_MAX)")
        days = self.injection_days
        if days is not None and (not days or days[0] != 0 or any(b <= a for a, b in zip(days, days[1:]))):
            raise ValueError(f"injection_days must start at 0 and increase strictly, got {list(days)}")
        return self


class SafetyReviewSpec(StrictModel):
    rule: Literal["dlt_count", "escalation_design"] = "dlt_count"
    max_dlt_per_cohort: int = Field(1, ge=0)
    dlt_min_grade: int = Field(3, ge=1, le=5)
    dlt_window_days: float = Field(28.0, gt=0, le=365)
    escalation: Optional[dict[str, Any]] = None


class DesignSpec(StrictModel):
    """Ascending-dose ``cohorts`` (with a ``placebo`` control) or parallel-group ``arms``: one of the two."""

    cohorts: tuple[CohortSpec, ...] = ()
    arms: tuple[ArmSpec, ...] = ()
    placebo: Literal["saline", "hyaluronic_acid"] = "saline"
    block_size: Optional[int] = Field(None, ge=2)
    sentinel: bool = True
    sentinel_days: float = Field(7.0, ge=0, le=90)
    blinding: Literal["double", "open"] = "double"
    safety_review: SafetyReviewSpec = SafetyReviewSpec()

    @property
    def n_total(self) -> int:
        return sum(c.n_active + c.n_placebo for c in self.cohorts) + sum(a.n for a in self.arms)

    @model_validator(mode="after")
    def _ascending(self):
        if bool(self.cohorts) == bool(self.arms):
            raise ValueError("give either cohorts (ascending-dose design) or arms (parallel groups), not both or neither")
        if sum(a.control for a in self.arms) > 1:
            raise ValueError("at most one arm may be the control")
        if len({a.name for a in self.arms}) < len(self.arms):
            raise ValueError("arm names must be unique")
        if self.arms and self.block_size:
            sizes = [a.n for a in self.arms]
            blocks = sum(sizes) // self.block_size
            if sum(sizes) % self.block_size or any(n % blocks for n in sizes):
                raise ValueError(f"block_size {self.block_size} must divide the trial size {sum(sizes)} "
                                 f"into blocks that keep the allocation ratio {sizes}")
        doses = [c.dose for c in self.cohorts]
        if any(b < a for a, b in zip(doses, doses[1:])):
            raise ValueError(f"cohort doses must be non-decreasing (ascending-dose design), got {doses}")
        # arms are labelled "<dose to 3 significant digits> <unit>" (trial.conduct): distinct doses must
        # not share a label, or their subjects would be analysed as one arm
        for a, b in zip(self.cohorts, self.cohorts[1:]):
            if (a.dose, a.unit) != (b.dose, b.unit) and f"{a.dose:.3g} {a.unit}" == f"{b.dose:.3g} {b.unit}":
                raise ValueError(f"doses {a.dose!r} and {b.dose!r} {a.unit} differ only beyond 3 significant digits "
                                 f"and would merge into one arm '{a.dose:.3g} {a.unit}'; make them equal or distinct")
        for c in self.cohorts:
            if self.block_size and (c.n_active + c.n_placebo) % self.block_size:
                raise ValueError(f"block_size {self.block_size} must divide every cohort size "
                                 f"({c.n_active + c.n_placebo})")
        return self


class ScheduleSpec(StrictModel):
    injection_days: tuple[float, ...] = Field((0.0,), min_length=1)

    @field_validator("injection_days")
    @classmethod
    def _sorted(cls, v):
        if v[0] != 0 or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError("must start at 0 and increase strictly")
        if v[-1] > MAX_FOLLOW_UP_MONTHS * DAYS_PER_MONTH:
            raise ValueError(f"injection days must lie within {MAX_FOLLOW_UP_MONTHS * DAYS_PER_MONTH:g} days "
                             f"({MAX_FOLLOW_UP_MONTHS:g} months of follow-up), got {v[-1]:g}")
        return v


class VisitsSpec(StrictModel):
    months: tuple[float, ...] = Field((0.0, 1.0, 3.0, 6.0, 12.0), min_length=2)
    mri_months: tuple[float, ...] = (0.0, 6.0, 12.0)

    @field_validator("months", "mri_months")
    @classmethod
    def _finite(cls, v):
        if any(not 0 <= m <= MAX_FOLLOW_UP_MONTHS for m in v):
            raise ValueError(f"months in [0, {MAX_FOLLOW_UP_MONTHS:g}] (baseline and post-baseline visits), got {list(v)}")
        return v

    @model_validator(mode="after")
    def _grid(self):
        m = self.months
        if m[0] != 0 or any(b <= a for a, b in zip(m, m[1:])):
            raise ValueError(f"months must start at 0 (baseline) and increase strictly, got {list(m)}")
        if not set(self.mri_months) <= set(m):
            raise ValueError(f"mri_months {list(self.mri_months)} must be visits in months {list(m)}")
        return self


class DropoutSpec(StrictModel):
    rate_per_year: float = Field(0.1, ge=0, le=2)


class AnalysisSpec(StrictModel):
    primary_endpoint: Literal[ENDPOINTS] = "WOMAC_TOTAL"  # type: ignore[valid-type]
    primary_visit_month: float = 6.0
    endpoints: tuple[Literal[ENDPOINTS], ...] = ("WOMAC_TOTAL", "WOMAC_PAIN", "VAS_PAIN",  # type: ignore[valid-type]
                                                 "MRI_THICK_MM", "SF_IL1B_PG_ML")
    alpha: float = Field(0.05, gt=0, lt=0.5)
    mmrm: bool = True


class OutputSpec(StrictModel):
    figures: bool = True


class Scenario(StrictModel):
    """A validated trial scenario (``kind = "trial"``)."""

    kind: Literal["trial"] = "trial"
    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    seed: int = Field(ge=0, lt=2**63)
    model: ModelSpec = ModelSpec()
    population: PopulationSpec = PopulationSpec()
    product: ProductSpec = ProductSpec()
    design: DesignSpec
    schedule: ScheduleSpec = ScheduleSpec()
    visits: VisitsSpec = VisitsSpec()
    dropout: DropoutSpec = DropoutSpec()
    analysis: AnalysisSpec = AnalysisSpec()
    output: OutputSpec = OutputSpec()

    @model_validator(mode="before")
    @classmethod
    def _lot_beside_the_file(cls, data, info: ValidationInfo):
        """A relative ``product.lot`` is looked up beside the scenario file first."""
        base_dir = (info.context or {}).get("base_dir")
        product = data.get("product") if isinstance(data, dict) else None
        lot = product.get("lot") if isinstance(product, dict) else None
        if base_dir is not None and isinstance(lot, str) and not Path(lot).is_absolute():
            beside = Path(base_dir) / lot
            if beside.is_dir():
                data = {**data, "product": {**product, "lot": str(beside)}}
        return data

    @model_validator(mode="after")
    def _cross_checks(self):
        if self.schedule.injection_days[-1] > self.visit_days[-1]:
            raise ValueError(f"schedule.injection_days {list(self.schedule.injection_days)} must lie within the "
                             f"follow-up (last visit day {self.visit_days[-1]:g})")
        if self.analysis.primary_visit_month == 0:
            raise ValueError("analysis.primary_visit_month must be a post-baseline visit (not month 0)")
        if self.analysis.primary_visit_month not in self.visits.months:
            raise ValueError(f"analysis.primary_visit_month {self.analysis.primary_visit_month} "
                             f"is not a visit (visits.months {list(self.visits.months)})")
        allowed = {"exosome": ("particles", "ug"), "msc": ("cells",)}[self.product.product]
        for i, c in enumerate(self.design.cohorts):
            if c.unit not in allowed:
                raise ValueError(f"design.cohorts[{i}].unit '{c.unit}' does not fit product "
                                 f"'{self.product.product}' (allowed {allowed})")
            if c.unit == "ug" and self.product.particles_per_ug is None and self.product.lot is None:
                raise ValueError("µg doses need product.particles_per_ug or product.lot")
            ppu = self.product.effective_particles_per_ug if c.unit == "ug" else None
            if ppu is not None and c.dose * ppu > DOSE_MAX["particles"]:
                raise ValueError(f"design.cohorts[{i}]: {c.dose:g} ug x {ppu:g} "
                                 f"particles/ug exceeds the ceiling {DOSE_MAX['particles']:.3g} particles")
        for i, a in enumerate(self.design.arms):
            if a.unit == "ug" and self.product.particles_per_ug is None and self.product.lot is None:
                raise ValueError(f"design.arms[{i}]: µg doses need product.particles_per_ug or product.lot")
        return self

    @property
    def visit_days(self) -> list[float]:
        return [m * DAYS_PER_MONTH for m in self.visits.months]

    def digest(self) -> str:
        """SHA-256 of the validated content (provenance in outputs)."""
        from ..provenance import digest

        return digest(self)

    @classmethod
    def from_toml(cls, path: str | Path) -> "Scenario":
        return cls.from_file_data(read_toml(path), path)

    @classmethod
    def from_file_data(cls, data: dict, path: str | Path) -> "Scenario":
        """Validate ``data`` read from the file ``path`` (relative lot paths are relative to it)."""
        return validate(cls, data, str(path), Path(path).parent)

    @classmethod
    def from_dict(cls, data: dict, source: str = "<scenario>") -> "Scenario":
        return validate(cls, data, source)


def lot_particles_per_ug(lot: str) -> float:
    """The lot's measured particles per µg; a ValueError (for pydantic) when its files are broken."""
    from ..errors import OasimError
    from ..qc import load_lot_attributes

    try:
        return float(load_lot_attributes(lot).particles_per_ug)
    except OasimError as exc:
        raise ValueError(f"a readable QC lot: {exc}") from None
