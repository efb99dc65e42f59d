"""Products and arm protocols: what one arm of a trial injects, how much and when.

An :class:`ArmProtocol` is built once per arm and is the one thing the solver events
(:meth:`ArmProtocol.model_doses`), the adverse-event model (:meth:`ArmProtocol.ae_injections`),
the exposure table (:meth:`ArmProtocol.exposure_product`) and the observation layer
(:meth:`ArmProtocol.ha_injection_days`) read. Products:

* ``saline`` — IA placebo; no model state, the observation layer's placebo response only.
* ``hyaluronic_acid`` — IA viscosupplement; no model state; its own short-lived symptomatic
  relief on top of the placebo response (:mod:`oasim.endpoints.hyaluronic_acid`).
* ``msc`` — cells, with a ``cell_source`` (umbilical_cord / bone_marrow / adipose) whose
  potency and retention factors scale the subject's MSC secretion and viable-cell half-lives
  (:func:`cell_source_parameters`; the mechanism itself is the model's, shared by all sources).
* ``exosome`` — particles (or µg protein, converted once by :func:`dose_in_model_units`).

Any product can be co-injected with hyaluronic acid (``co_injection``). Factors are in
``trial/products.toml`` (value, unit, source).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal, Mapping

import numpy as np

from ..errors import FieldError, ParameterError
from ..parameters import ParameterSet
from ..protocol import Dose, dose_in_model_units

ProductKind = Literal["saline", "hyaluronic_acid", "msc", "exosome"]
PRODUCTS: tuple[str, ...] = ("saline", "hyaluronic_acid", "msc", "exosome")
CELL_SOURCES: tuple[str, ...] = ("umbilical_cord", "bone_marrow", "adipose", "none")
CO_INJECTIONS: tuple[str, ...] = ("none", "hyaluronic_acid")
# dose units each product accepts; "ug" is the scenario files' spelling of "ug_protein"
DOSE_UNITS: dict[str, tuple[str, ...]] = {"saline": ("none",), "hyaluronic_acid": ("none",), "msc": ("cells",),
                                          "exosome": ("particles", "ug_protein", "ug")}
PRODUCT_LABELS = {"saline": "Saline", "hyaluronic_acid": "Hyaluronic acid", "msc": "MSC", "exosome": "MSC exosomes"}
# subject parameters of the shared MSC mechanism that a cell source's factors multiply
POTENCY_PARAMETERS = ("msc_pge2_pg_per_mcells_day", "msc_il1ra_pg_per_mcells_day", "msc_tsg6_pg_per_mcells_day",
                      "msc_exosome_secretion_particles_per_cell_day")
# half-effective cell numbers of the contact- and apoptosis-mediated MSC actions (T-cell contact,
# macrophage education by efferocytosis), which a cell source's potency divides: potency is the
# per-cell immunomodulatory activity, secreted or not (see cell_source_parameters)
PER_CELL_HALF_EFFECT_PARAMETERS = ("k_half_msc_contact_cells", "k_half_msc_efferocytosis_cells_per_day")
RETENTION_PARAMETERS = ("msc_fast_half_life_d", "msc_persistent_half_life_d")


@lru_cache(maxsize=1)
def product_parameters() -> ParameterSet:
    """``trial/products.toml``: HA effect, cell-source factors, KL 1 stratum (value, unit, source)."""
    return ParameterSet.load(str(resources.files("oasim.trial").joinpath("products.toml")))


@dataclass(frozen=True)
class Product:
    """What is injected (the arm's investigational product or control)."""

    kind: str
    name: str = ""
    cell_source: str = "none"
    co_injection: str = "none"
    particles_per_ug: float | None = None
    potency_rel: float = 1.0  # a QC lot's measured potency vs the reference lot (exosomes)

    def __post_init__(self):
        if self.kind not in PRODUCTS:
            raise FieldError("product", self.kind, f"one of {', '.join(PRODUCTS)}")
        if self.cell_source not in CELL_SOURCES:
            raise FieldError("cell_source", self.cell_source, f"one of {', '.join(CELL_SOURCES)}")
        if self.kind == "msc" and self.cell_source == "none":
            raise FieldError("cell_source", self.cell_source, "umbilical_cord, bone_marrow or adipose for an MSC product")
        if self.co_injection not in CO_INJECTIONS:
            raise FieldError("co_injection", self.co_injection, f"one of {', '.join(CO_INJECTIONS)}")
        if not self.potency_rel > 0:
            raise FieldError("potency_rel", self.potency_rel, "> 0")

    @property
    def acts_on_model(self) -> bool:
        """True for products with a model state (cells, vesicles)."""
        return self.kind in ("msc", "exosome")

    @property
    def label(self) -> str:
        base = self.name or PRODUCT_LABELS[self.kind]
        return base + (" + HA" if self.co_injection == "hyaluronic_acid" else "")


@dataclass(frozen=True)
class ArmProtocol:
    """One arm: product, dose (as given and in model units) and injection days."""

    label: str
    product: Product
    dose: float = 0.0
    dose_unit: str = "none"
    injection_days: tuple[float, ...] = (0.0,)

    def __post_init__(self):
        allowed = DOSE_UNITS[self.product.kind]
        if self.dose_unit not in allowed:
            raise FieldError("dose_unit", self.dose_unit, f"for {self.product.kind}: one of {', '.join(allowed)}")
        if not np.isfinite(self.dose) or self.dose < 0:
            raise FieldError("dose", self.dose, "a finite number >= 0")
        if self.product.acts_on_model and not self.dose > 0:
            raise FieldError("dose", self.dose, f"> 0 for a {self.product.kind} arm")
        days = tuple(float(d) for d in self.injection_days)
        if not days or days[0] < 0 or any(b <= a for a, b in zip(days, days[1:])):
            raise FieldError("injection_days", self.injection_days, "days >= 0, strictly increasing, at least one")
        object.__setattr__(self, "injection_days", days)

    @property
    def model_amount(self) -> float:
        """Dose per injection in the model's unit (cells or particles; 0 for saline/HA)."""
        if not self.product.acts_on_model:
            return 0.0
        return dose_in_model_units(self.dose, self.dose_unit, self.product.particles_per_ug)

    @property
    def model_unit(self) -> str:
        return {"msc": "cells", "exosome": "particles"}.get(self.product.kind, "none")

    def model_doses(self) -> tuple[Dose, ...]:
        """The solver's injections (none for saline and HA, which have no model state)."""
        if not self.product.acts_on_model:
            return ()
        amount = self.model_amount
        return tuple(Dose(self.product.kind, amount, self.model_unit, day) for day in self.injection_days)

    def ae_injections(self) -> list[tuple[float, Dose | None]]:
        """(day, Dose) per injection for the AE model; None = a saline-like injection (saline, HA).

        HA is given the saline injection-reaction probabilities (assumed: flare-ups after HA,
        RR 1.51 (0.84-2.72) in Rutjes 2012, are not distinguishable from saline).
        """
        doses = self.model_doses()
        if not doses:
            return [(day, None) for day in self.injection_days]
        return [(d.t_days, d) for d in doses]

    def ha_injection_days(self) -> tuple[float, ...]:
        """Days on which hyaluronic acid enters the knee (the product itself or a co-injection)."""
        if self.product.kind == "hyaluronic_acid" or self.product.co_injection == "hyaluronic_acid":
            return self.injection_days
        return ()

    def exposure_product(self) -> str:
        """EXTRT text of the arm (unblinded)."""
        return self.product.label

    def subject_parameters(self, parameters: Mapping[str, np.ndarray],
                           factors: ParameterSet | None = None) -> dict[str, np.ndarray]:
        """The arm's per-subject parameter vector: cell-source factors and lot potency applied.

        A new dict (the input is not changed): MSC arms apply the source's potency
        (:func:`apply_msc_potency`) and scale the viable-cell half-lives by its retention factor; exosome arms
        divide their EC50 through ``exosome_potency_rel`` × the lot's measured potency.
        """
        out = dict(parameters)
        if self.product.kind == "msc":
            out.update(cell_source_parameters(parameters, self.product.cell_source, factors))
        elif self.product.kind == "exosome" and self.product.potency_rel != 1.0:
            out["exosome_potency_rel"] = np.asarray(parameters["exosome_potency_rel"]) * self.product.potency_rel
        return out


def cell_source_parameters(parameters: Mapping[str, np.ndarray], cell_source: str,
                           factors: ParameterSet | None = None) -> dict[str, np.ndarray]:
    """The MSC parameters of ``cell_source``: potency applied (:func:`apply_msc_potency`),
    viable-cell half-lives × retention.

    ``factors`` defaults to ``trial/products.toml`` (calibration passes a set with overrides).
    """
    factors = factors or product_parameters()
    potency = factors.value(f"msc_potency_{cell_source}_rel")
    retention = factors.value(f"msc_retention_{cell_source}_rel")
    present = [n for n in POTENCY_PARAMETERS + RETENTION_PARAMETERS if n in parameters]
    if not present:
        raise ParameterError("cell_source", cell_source,
                             f"a parameter set with the MSC parameters {POTENCY_PARAMETERS + RETENTION_PARAMETERS}")
    out = apply_msc_potency(parameters, potency)
    out.update({n: np.asarray(parameters[n], float) * retention for n in RETENTION_PARAMETERS if n in parameters})
    return out


def apply_msc_potency(parameters: Mapping[str, np.ndarray], potency) -> dict[str, np.ndarray]:
    """The MSC parameters at a relative potency (scalar or per subject): every per-cell action
    scaled alike.

    Secretion rates (:data:`POTENCY_PARAMETERS`) are multiplied by ``potency``; the half-effective
    cell numbers of the contact- and apoptosis-mediated actions
    (:data:`PER_CELL_HALF_EFFECT_PARAMETERS`) are divided by it, so a cell of potency 0.1 does a
    tenth of what a reference cell does by every route. One factor for all routes is assumed:
    MSC potency assays (T-cell suppression, IDO activity) measure secreted and contact-dependent
    suppression together and no source separates them per cell source; with secretion alone
    scaled, a potency near 0 still left the contact and efferocytosis effects of 1e7-1e8 cells
    saturated, and the calibration could not express an MSC arm no better than its control
    (Gupta2016's 50M and 150M arms).
    """
    potency = np.asarray(potency, float)
    out = {n: np.asarray(parameters[n], float) * potency for n in POTENCY_PARAMETERS if n in parameters}
    out.update({n: np.asarray(parameters[n], float) / potency for n in PER_CELL_HALF_EFFECT_PARAMETERS
                if n in parameters})
    return out
