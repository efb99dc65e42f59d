"""The inputs of the explorer and escalation pages, as pydantic models (rendered by forms.py).

The trial designer uses :class:`oasim.scenario.Scenario` itself; these two pages have no
scenario file, so their inputs are declared here with the same conventions (units in names,
bounds in ``Field``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..protocol import DOSE_UNITS


class ExplorerSpec(BaseModel):
    """One product, dose and schedule given to subjects of one KL grade."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product: Literal["exosome", "msc"] = Field("exosome", description="exosomes (particles or µg) or MSCs (cells)")
    dose: float = Field(3e11, gt=0, le=1e14, description="amount per injection, in unit")
    unit: Literal["particles", "ug", "cells"] = "particles"
    injection_days: tuple[float, ...] = Field((0.0,), min_length=1, max_length=24,
                                              description="days of the injections")
    kl_grade: Literal[2, 3, 4] = Field(3, description="Kellgren–Lawrence grade of every subject")
    n_subjects: int = Field(100, ge=2, le=500, description="subjects in the population band")
    years: float = Field(2.0, ge=0.1, le=5, description="follow-up")
    seed: int = Field(1, ge=0, lt=2**63)

    @field_validator("injection_days")
    @classmethod
    def _days(cls, v):
        if v[0] < 0 or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError("must be >= 0 and increase strictly")
        return v

    @model_validator(mode="after")
    def _unit_fits_product(self):
        if self.unit not in DOSE_UNITS[self.product]:
            raise ValueError(f"unit '{self.unit}' does not fit product '{self.product}' "
                             f"(allowed {', '.join(DOSE_UNITS[self.product])})")
        if self.injection_days[-1] > self.years * 365.25:
            raise ValueError(f"the last injection (day {self.injection_days[-1]:g}) is after the end of "
                             f"follow-up (day {self.years * 365.25:g})")
        return self


class EscalationSpec(BaseModel):
    """A dose-escalation design and a true dose-toxicity curve (``oasim escalate``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    design: Literal["boin", "crm", "3+3"] = "boin"
    target: float = Field(0.3, gt=0.05, lt=0.6, description="target DLT probability")
    truth: tuple[float, ...] = Field((0.05, 0.1, 0.2, 0.3, 0.5), min_length=2, max_length=12,
                                     description="true P(DLT) per dose level")
    cohort_size: int = Field(3, ge=1, le=12)
    max_n: int = Field(30, ge=3, le=120, description="maximum subjects in the trial")
    n_trials: int = Field(2000, ge=100, le=50_000, description="simulated trials")
    seed: int = Field(1, ge=0, lt=2**63)
    table_max_n: int = Field(24, ge=1, le=120, description="BOIN table: n = 1 … this")

    @field_validator("truth")
    @classmethod
    def _probabilities(cls, v):
        if any(not 0 <= p <= 1 for p in v):
            raise ValueError("each value must be a probability in [0, 1]")
        return v
