"""Scenario files of the preclinical experiments, validated with pydantic.

``kind`` selects the experiment: ``"invitro_il1b"`` (IL-1β chondrocyte assay, optional
toxicity), ``"mouse_oa"`` (DMM / collagenase with IA injections, optional dose translation) and
``"explant"``. Errors name the field path, the value given and what is allowed.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from ..errors import FieldError, ScenarioError
from .loader import StrictModel, validate


class _Header(StrictModel):
    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    seed: int = Field(0, ge=0, lt=2**63)


def _check_groups(names: list[str], reference: str | None) -> None:
    if len(set(names)) != len(names):
        raise ValueError(f"group names must be unique, got {names}")
    if reference is not None and reference not in names:
        raise ValueError(f"reference_group '{reference}' is not a group (allowed: {names})")


class WellGroupSpec(StrictModel):
    name: str = Field(min_length=1, max_length=60)
    il1b_ng_per_ml: float = Field(0.0, ge=0, le=1000)
    exosome: float = Field(0.0, ge=0)
    exosome_unit: Literal["particles_per_ml", "ug_per_ml"] = "particles_per_ml"
    conditioned_medium_fraction: float = Field(0.0, ge=0, le=1)
    macrophages: bool = False


class ToxicitySpec(StrictModel):
    system: Literal["invitro_human_chondrocyte", "invitro_mouse_chondrocyte"] = "invitro_human_chondrocyte"
    concentrations_per_ml: tuple[float, ...] = Field(min_length=1)
    hours: float = Field(48.0, gt=0, le=168)
    n_wells: int = Field(6, ge=2, le=96)


class InVitroScenario(_Header):
    kind: Literal["invitro_il1b"] = "invitro_il1b"
    system: Literal["invitro_mouse_chondrocyte", "invitro_human_chondrocyte"] = "invitro_mouse_chondrocyte"
    readout_hours: tuple[float, ...] = Field((24.0, 48.0, 72.0), min_length=1)
    n_wells: int = Field(3, ge=2, le=96)
    pretreatment_h: float = Field(0.0, ge=0, le=168)
    method: Literal["dunnett", "tukey"] = "dunnett"
    reference_group: Optional[str] = None
    particles_per_ug: Optional[float] = Field(None, gt=1e6, lt=1e14)
    groups: tuple[WellGroupSpec, ...] = Field(min_length=2)
    toxicity: Optional[ToxicitySpec] = None

    @model_validator(mode="after")
    def _checks(self):
        _check_groups([g.name for g in self.groups], self.reference_group)
        if any(h <= 0 or h > 168 for h in self.readout_hours):
            raise ValueError(f"readout_hours {list(self.readout_hours)} must lie in (0, 168]")
        return self


class DoseSpec(StrictModel):
    product: Literal["exosome", "msc"]
    amount: float = Field(gt=0)
    unit: Literal["particles", "ug", "cells"]
    days: tuple[float, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unit(self):
        allowed = {"exosome": ("particles", "ug"), "msc": ("cells",)}[self.product]
        if self.unit not in allowed:
            raise ValueError(f"unit '{self.unit}' does not fit product '{self.product}' (allowed {allowed})")
        if any(d < 0 for d in self.days):
            raise ValueError(f"days {list(self.days)} must be >= 0")
        return self


class MouseGroupSpec(StrictModel):
    name: str = Field(min_length=1, max_length=60)
    sham: bool = False
    doses: tuple[DoseSpec, ...] = ()


class TranslationSpec(StrictModel):
    dose_particles: float = Field(gt=0)
    days: tuple[float, ...] = (0.0,)
    horizon_days: float = Field(28.0, gt=0, le=3650)


class MouseScenario(_Header):
    kind: Literal["mouse_oa"] = "mouse_oa"
    system: Literal["mouse_dmm", "mouse_collagenase"] = "mouse_dmm"
    weeks: tuple[float, ...] = Field((2.0, 4.0, 8.0, 12.0), min_length=1)
    n_per_group: int = Field(8, ge=2, le=200)
    method: Literal["dunnett", "tukey"] = "dunnett"
    reference_group: Optional[str] = None
    groups: tuple[MouseGroupSpec, ...] = Field(min_length=2)
    translation: Optional[TranslationSpec] = None

    @model_validator(mode="after")
    def _checks(self):
        _check_groups([g.name for g in self.groups], self.reference_group)
        if any(w <= 0 or w > 52 for w in self.weeks):
            raise ValueError(f"weeks {list(self.weeks)} must lie in (0, 52]")
        return self


class ExplantGroupSpec(StrictModel):
    name: str = Field(min_length=1, max_length=60)
    il1_ng_per_ml: float = Field(0.0, ge=0, le=1000)
    osm_ng_per_ml: float = Field(0.0, ge=0, le=1000)
    activator: bool = False
    withdraw_day: Optional[float] = Field(None, ge=0)


class ExplantScenario(_Header):
    kind: Literal["explant"] = "explant"
    system: Literal["explant_bovine"] = "explant_bovine"
    days: tuple[float, ...] = Field((0.0, 3.0, 7.0, 10.0, 14.0, 21.0, 28.0), min_length=2)
    n_explants: int = Field(4, ge=2, le=96)
    groups: tuple[ExplantGroupSpec, ...] = Field(min_length=1)


SCENARIOS = {"invitro_il1b": InVitroScenario, "mouse_oa": MouseScenario, "explant": ExplantScenario}


def validate_scenario(data: dict, source: str = "<scenario>"):
    """The validated scenario model for ``data["kind"]``; raises :class:`ScenarioError`."""
    kind = data.get("kind")
    if kind not in SCENARIOS:
        raise ScenarioError(source, [FieldError("kind", kind, f"one of {sorted(SCENARIOS)}", source)])
    return validate(SCENARIOS[kind], data, source)
