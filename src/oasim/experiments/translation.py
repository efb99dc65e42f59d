"""Dose translation between joints: mouse → human (and back) for intra-articular exosomes.

Three rules, each invertible:

* **SF volume**: same concentration in synovial fluid, dose × V_SF,target / V_SF,source;
* **cartilage surface area**: same particles per mm² of articular surface;
* **exposure matching**: same time-averaged tissue-bound exosome effect
  Ē = (1/T) ∫ B(t) / (B(t) + EC50/potency) dt over the horizon T, with B(t) the model's linear
  two-pool PK (free in SF → tissue-bound; :func:`oasim.model.therapy.bound_exosomes_after_bolus`,
  the closed form of the knee model's own exosome equations) per injection, superposed.
  The target dose solving Ē_target = Ē_source is found by bracketing root search in log dose.

Each joint's volume, clearance, uptake, bound half-life and EC50 come from its parameter set;
the surface areas from the sets' ``[readouts]``. Note: the mouse EC50 is itself derived from the
human one by the area ratio, so exposure matching differs from area scaling only through the
species' PK (clearance) and the non-linearity of the effect.

References: Eckstein2001 (human surface area), NCT05060107 (clinical doses).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ..model.therapy import bound_exosomes_after_bolus, exosome_rates_per_day
from .systems import System


@dataclass(frozen=True)
class JointScale:
    """What dose translation needs to know about one species' joint."""

    name: str
    sf_volume_ml: float
    cartilage_area_mm2: float
    free_half_life_h: float
    uptake_per_day: float
    bound_half_life_d: float
    ec50_bound_particles: float

    @classmethod
    def from_system(cls, name: str) -> "JointScale":
        s = System.load(name)
        v = s.value
        return cls(name, v("v_sf_ml"), v("cartilage_surface_area_mm2"), v("exosome_free_half_life_h"),
                   v("k_exosome_uptake_per_day"), v("exosome_bound_half_life_d"),
                   v("ec50_exosome_bound_particles") / v("exosome_potency_rel"))

    def bound_particles(self, dose: float, dose_days, t_days) -> np.ndarray:
        """Tissue-bound exosomes B(t) after equal injections of ``dose`` at ``dose_days``."""
        kf, ku, kb = exosome_rates_per_day(self.free_half_life_h, self.uptake_per_day, self.bound_half_life_d)
        t = np.asarray(t_days, float)
        total = np.zeros_like(t)
        for t0 in np.atleast_1d(dose_days):
            tau = np.clip(t - t0, 0.0, None)
            total += np.where(t >= t0, bound_exosomes_after_bolus(dose, tau, kf, ku, kb), 0.0)
        return total

    def mean_effect(self, dose: float, dose_days=(0.0,), horizon_days: float = 28.0) -> float:
        """Time-averaged exosome effect Ē over [first dose, first dose + horizon]."""
        start = float(np.min(dose_days))
        t = np.linspace(start, start + horizon_days, 4001)
        b = self.bound_particles(dose, dose_days, t)
        e = b / (b + self.ec50_bound_particles)
        return float(np.trapezoid(e, t) / horizon_days)


def by_sf_volume(dose: float, source: JointScale, target: JointScale) -> float:
    """Same synovial-fluid concentration."""
    return dose * target.sf_volume_ml / source.sf_volume_ml


def by_cartilage_area(dose: float, source: JointScale, target: JointScale) -> float:
    """Same particles per mm² of articular cartilage surface."""
    return dose * target.cartilage_area_mm2 / source.cartilage_area_mm2


def by_exposure(dose: float, source: JointScale, target: JointScale, dose_days=(0.0,),
                horizon_days: float = 28.0) -> float:
    """Target dose giving the same time-averaged tissue-bound exosome effect (same schedule)."""
    goal = source.mean_effect(dose, dose_days, horizon_days)
    if goal <= 0.0:
        return 0.0
    f = lambda log_d: target.mean_effect(10.0 ** log_d, dose_days, horizon_days) - goal  # noqa: E731
    lo, hi = np.log10(dose) - 8.0, np.log10(dose) + 8.0
    if f(lo) > 0 or f(hi) < 0:
        raise ValueError(f"exposure matching: effect {goal:.3g} not reachable in the target joint")
    return float(10.0 ** brentq(f, lo, hi, xtol=1e-10, rtol=1e-12))


@dataclass(frozen=True)
class TranslationResult:
    dose_particles: float
    source: JointScale
    target: JointScale
    dose_days: tuple[float, ...]
    horizon_days: float
    doses: dict  # method -> target dose [particles]
    mean_effect: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"method": k, "source_dose_particles": self.dose_particles,
                              "target_dose_particles": v, "ratio": v / self.dose_particles}
                             for k, v in self.doses.items()])

    def assumptions(self) -> list[str]:
        s, t = self.source, self.target
        return [
            f"SF volume: {s.name} {s.sf_volume_ml:g} mL, {t.name} {t.sf_volume_ml:g} mL (parameter sets v_sf_ml)",
            f"cartilage surface: {s.name} {s.cartilage_area_mm2:g} mm², {t.name} {t.cartilage_area_mm2:g} mm² "
            "(human: Eckstein 2001; mouse: assumed)",
            f"exposure: same schedule (days {', '.join(f'{d:g}' for d in self.dose_days)}), mean effect over "
            f"{self.horizon_days:g} d = {self.mean_effect:.3f}; free EV t½ {s.free_half_life_h:g} h vs "
            f"{t.free_half_life_h:g} h, EC50 {s.ec50_bound_particles:.3g} vs {t.ec50_bound_particles:.3g} bound particles",
            "the mouse EC50 is derived from the human one by the area ratio, so exposure matching departs "
            "from area scaling only through PK and effect saturation",
        ]

    def summary(self) -> str:
        lines = [f"{self.dose_particles:.3g} particles per {self.source.name} knee →"]
        names = {"sf_volume": "by SF volume", "cartilage_area": "by cartilage area", "exposure": "by exposure matching"}
        for k, v in self.doses.items():
            lines.append(f"  {names[k]:<22s} {v:10.3g} particles per {self.target.name} knee")
        lines.append("assumptions:")
        lines += [f"  - {a}" for a in self.assumptions()]
        return "\n".join(lines)


def translate(dose_particles: float, source: str = "mouse_dmm", target: str = "human", dose_days=(0.0,),
              horizon_days: float = 28.0) -> TranslationResult:
    """Translate an effective dose between joints by all three rules."""
    src, tgt = JointScale.from_system(source), JointScale.from_system(target)
    days = tuple(float(d) for d in np.atleast_1d(dose_days))
    doses = {"sf_volume": by_sf_volume(dose_particles, src, tgt),
             "cartilage_area": by_cartilage_area(dose_particles, src, tgt),
             "exposure": by_exposure(dose_particles, src, tgt, days, horizon_days)}
    return TranslationResult(dose_particles, src, tgt, days, horizon_days, doses,
                             src.mean_effect(dose_particles, days, horizon_days))
