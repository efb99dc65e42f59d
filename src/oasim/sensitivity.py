"""Why efficacy varies: which subject traits drive the size of the treatment effect.

Every subject is simulated twice, untreated and treated (a "twin" comparison, so the
individual effect is known exactly in silico), and the individual effect on a readout at a
chosen day is related to the subject's covariates, varying parameters and baseline state by
partial rank correlation coefficients (PRCC; Marino et al. 2008, J Theor Biol 254:178), the
usual global sensitivity measure of QSP models: rank-transform everything, regress each
driver and the effect on all other drivers, and correlate the residuals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .errors import FieldError
from .parameters import ParameterSet
from .population import Population
from .protocol import Dose
from .readouts import key_outputs
from .simulation import simulate

READOUTS = ("pain_drive_rel", "il1b_pg_per_ml", "m1_m2_ratio", "cartilage_thickness_mm")


def prcc(features: pd.DataFrame, outcome: np.ndarray) -> pd.DataFrame:
    """Partial rank correlation of each column of ``features`` with ``outcome``, with p-values."""
    x = features.rank().to_numpy(float)
    y = stats.rankdata(outcome)
    n, k = x.shape
    if n <= k + 2:
        raise FieldError("subjects", n, f"> number of drivers + 2 ({k + 2})")
    rows = []
    for j, name in enumerate(features.columns):
        others = np.column_stack([np.ones(n), np.delete(x, j, axis=1)])
        rx = x[:, j] - others @ np.linalg.lstsq(others, x[:, j], rcond=None)[0]
        ry = y - others @ np.linalg.lstsq(others, y, rcond=None)[0]
        r = float(np.corrcoef(rx, ry)[0, 1]) if rx.std() > 0 and ry.std() > 0 else 0.0
        dof = n - 2 - (k - 1)
        t = r * np.sqrt(dof / max(1e-300, 1.0 - r * r))
        rows.append({"driver": name, "prcc": r, "p_value": float(2 * stats.t.sf(abs(t), dof))})
    table = pd.DataFrame(rows)
    return table.reindex(table["prcc"].abs().sort_values(ascending=False).index).reset_index(drop=True)


@dataclass(frozen=True)
class EffectDrivers:
    """Individual effects and their drivers."""

    effect: np.ndarray = field(repr=False)
    drivers: pd.DataFrame
    readout: str
    day: float

    def summary(self) -> str:
        q = np.percentile(self.effect, [10, 50, 90])
        return (f"individual effect on {self.readout} at day {self.day:g} (treated − untreated twin): "
                f"median {q[1]:.4g}, 10th-90th percentile {q[0]:.4g} to {q[2]:.4g}\n"
                f"{self.drivers.to_string(index=False)}")


def treatment_effect_drivers(parameter_set: ParameterSet, doses: Sequence[Dose], n_subjects: int = 1000,
                             readout: str = "pain_drive_rel", day: float = 91.0, seed: int = 1,
                             kl_grade: int | None = None, engine=None) -> EffectDrivers:
    """Twin-simulate a population and rank what drives the size of the effect.

    Drivers: BMI, KL grade, every parameter with population variability, and baseline
    synovial-fluid IL-1β, M1/M2 ratio and cartilage thickness. ``engine``: where the subjects are
    simulated (:class:`oasim.distributed.Engine`; the result does not depend on it).
    """
    if readout not in READOUTS:
        raise FieldError("readout", readout, f"one of {READOUTS}")
    if not day > 0:
        raise FieldError("day", day, "> 0")
    pop = Population.sample(parameter_set, n_subjects, np.random.default_rng(seed), kl_grade=kl_grade)
    t = [0.0, float(day)]
    untreated = key_outputs(simulate(pop, t, engine=engine).solution, pop.parameters)
    treated = key_outputs(simulate(pop, t, [tuple(doses)] * n_subjects, engine=engine).solution, pop.parameters)
    effect = treated[readout][:, 1] - untreated[readout][:, 1]
    features = {"bmi_kg_per_m2": pop.covariates["bmi_kg_per_m2"].to_numpy(float)}
    if kl_grade is None:
        features["kl_grade"] = pop.covariates["kl_grade"].to_numpy(float)
    for p in parameter_set:
        if p.cv is not None and np.ptp(pop.parameters[p.name]) > 0:
            features[p.name] = pop.parameters[p.name]
    features["baseline_il1b_pg_per_ml"] = untreated["il1b_pg_per_ml"][:, 0]
    features["baseline_m1_m2_ratio"] = untreated["m1_m2_ratio"][:, 0]
    features["baseline_thickness_mm"] = untreated["cartilage_thickness_mm"][:, 0]
    return EffectDrivers(effect, prcc(pd.DataFrame(features), effect), readout, float(day))
