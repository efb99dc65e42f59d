"""Protocol: what is done to the knee and when — doses (product, amount, unit, time) and visits.

Doses are accepted in cells (MSCs), particles or µg protein (exosomes). µg are converted with
an explicit particles-per-µg factor (the product lot's purity, Webber 2013), never implicitly.
MSC doses split into the fast and persistent viable pools at injection (see model/therapy.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np

from .errors import FieldError

Product = Literal["exosome", "msc"]
DOSE_UNITS: dict[str, tuple[str, ...]] = {"exosome": ("particles", "ug"), "msc": ("cells",)}
# Largest accepted dose per injection, by unit: input validation ceilings (larger numbers are typos
# or overflow the solver: 1e300 particles ends the integration at day 0), not efficacy limits.
DOSE_MAX: dict[str, float] = {
    "cells": 1e10,  # cells; assumed: 100x the highest intra-articular MSC dose in the trials found (1e8 cells, Matas2024 8e7, NCT03357770 1e8)
    "particles": 5e13,  # particles; assumed: 100x the highest clinical EV dose found (5e11 particles, NCT05060107)
    "ug": 5e13 / 1.5e9,  # ug protein; derived: the particle ceiling at the low-purity threshold 1.5e9 particles/ug (Webber2013)
}


def dose_in_model_units(amount: float, unit: str, particles_per_ug: float | np.ndarray | None):
    """A dose in the model's unit: cells stay cells, µg protein becomes particles.

    The one place where µg are converted: ``particles = µg × particles_per_ug`` (the product
    lot's purity, Webber 2013); never implicitly. ``particles_per_ug`` may be one value per
    subject (an array); the result then is an array too.
    """
    if unit in ("ug", "ug_protein"):
        factor = None if particles_per_ug is None else np.asarray(particles_per_ug, float)
        if factor is None or not np.all(factor > 0):
            raise FieldError("particles_per_ug", particles_per_ug, "> 0 to convert a µg dose to particles")
        return float(amount) * (float(factor) if factor.ndim == 0 else factor)
    return float(amount)


@dataclass(frozen=True)
class Dose:
    """One intra-articular injection.

    Parameters
    ----------
    product : {"exosome", "msc"}
    amount : float
        Dose in ``unit`` (>= 0).
    unit : {"particles", "ug", "cells"}
    t_days : float
        Time of injection [day] (>= 0).
    """

    product: str
    amount: float
    unit: str
    t_days: float = 0.0

    def __post_init__(self):
        if self.product not in DOSE_UNITS:
            raise FieldError("dose.product", self.product, f"one of {sorted(DOSE_UNITS)}")
        if self.unit not in DOSE_UNITS[self.product]:
            raise FieldError("dose.unit", self.unit, f"for {self.product}: one of {DOSE_UNITS[self.product]}")
        if not np.isfinite(self.amount) or not 0 <= self.amount <= DOSE_MAX[self.unit]:
            raise FieldError("dose.amount", self.amount, f"a number in [0, {DOSE_MAX[self.unit]:.3g}] {self.unit} "
                             "(the plausible range, see oasim.protocol.DOSE_MAX)")
        if not np.isfinite(self.t_days) or self.t_days < 0:
            raise FieldError("dose.t_days", self.t_days, "a finite time >= 0 days")

    @classmethod
    def parse(cls, text: str) -> "Dose":
        """Parse ``"exosome:3e11:particles@0"`` (product:amount:unit@day)."""
        try:
            head, _, day = text.partition("@")
            product, amount, unit = head.split(":")
            return cls(product.strip(), float(amount), unit.strip(), float(day) if day else 0.0)
        except ValueError:
            raise FieldError("dose", text, "'product:amount:unit@day', e.g. 'exosome:3e11:particles@0'") from None

    def particles(self, particles_per_ug: float) -> float:
        """Exosome dose in particles (µg × explicit particles-per-µg factor)."""
        if self.product != "exosome":
            raise FieldError("dose.product", self.product, "'exosome' for a particle count")
        return dose_in_model_units(self.amount, self.unit, particles_per_ug)


@dataclass(frozen=True)
class Visit:
    """A scheduled assessment."""

    name: str
    t_days: float


@dataclass(frozen=True)
class Protocol:
    """Doses and visits of one arm (shared by experiments and trials)."""

    doses: tuple[Dose, ...] = ()
    visits: tuple[Visit, ...] = field(default_factory=tuple)

    @property
    def t_eval_days(self) -> np.ndarray:
        return np.array(sorted({v.t_days for v in self.visits}), dtype=float)


def dose_increments(dose: Dose, particles_per_ug, msc_fast_fraction, msc_persistent_fraction):
    """The state jumps of one injection: ``[(state name, amount in the state's unit), ...]``.

    Exosomes enter the free synovial-fluid pool (µg converted with the explicit particles per
    µg); MSCs split into the fast and persistent viable pools. The one place this rule lives.
    """
    if dose.product == "exosome":
        return [("exosome_free_particles", dose.particles(particles_per_ug))]
    return [("msc_fast_cells", dose.amount * msc_fast_fraction),
            ("msc_persistent_cells", dose.amount * msc_persistent_fraction)]


def dose_events(doses_per_subject: Sequence[Sequence[Dose]], state_index: dict[str, int],
                particles_per_ug: np.ndarray, msc_fast_fraction: np.ndarray,
                msc_persistent_fraction: np.ndarray):
    """Turn per-subject dose lists into padded event arrays for the solvers.

    Returns ``(t_days, state_idx, amount)`` each of shape (n_subjects, max_events), sorted by
    time within a subject, padded with t = inf; ``amount`` is in the state's own unit.
    """
    n = len(doses_per_subject)
    rows = []
    for s, doses in enumerate(doses_per_subject):
        events = [(d.t_days, state_index[name], amount) for d in doses
                  for name, amount in dose_increments(d, particles_per_ug[s], msc_fast_fraction[s],
                                                      msc_persistent_fraction[s])]
        rows.append(sorted(events))
    width = max(1, max((len(r) for r in rows), default=0))
    t = np.full((n, width), np.inf)
    idx = np.zeros((n, width), dtype=np.int64)
    amount = np.zeros((n, width))
    for s, r in enumerate(rows):
        for k, (td, i, a) in enumerate(r):
            t[s, k], idx[s, k], amount[s, k] = td, i, a
    return t, idx, amount
