"""Calibrate the KL-specific disease drive to published untreated cartilage-loss rates.

Target: the annual loss of the thickness index (volume-equivalent) of a typical untreated
subject at each KL grade. Sources: Raynauld 2006 (qMRI global cartilage volume −3.7 ± 3.0 % at
12 months; slow / intermediate / fast progressors −2.3 / −7.2 / −13.2 % over 24 months) and
Wluka 2006 (tibial volume ≈ −4 %/y). The split by KL grade is assumed (KL 2 slow, KL 4 fast).
Thickness studies (FORWARD placebo: −5.4 µm/y) show less loss than volume studies; oasim's
thickness index is calibrated to the volume rates.

Run ``python -m oasim.calibration.natural_history`` to print the fitted drives; copy them into
``parameters/sets/human.toml`` (kl_damage_drive_kl*). The fit is deterministic.
``python -m oasim.calibration.natural_history --check 2000`` instead simulates a virtual
population with the current set and prints the loss rates per KL grade (median and IQR).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from ..model import KneeModel
from ..parameters import ParameterSet
from ..population import Population
from ..readouts import thickness_mm
from ..simulation import simulate
from ..solvers import ScipyReferenceSolver

TARGET_LOSS_PCT_PER_YEAR = {2: 1.5, 3: 2.5, 4: 3.7}


def annual_loss_pct(parameter_set: ParameterSet, kl_grade: int, drive: float | None = None,
                    solver=None) -> float:
    """Thickness loss over the first year [%/y] of a typical subject (BMI 28) at ``kl_grade``."""
    pop = Population.sample(parameter_set, 1, np.random.default_rng(0), kl_grade=kl_grade, variability=False)
    pop.parameters["bmi_kg_per_m2"][:] = 28.0
    if drive is not None:
        pop.parameters["joint_damage_drive"][:] = drive
    result = simulate(pop, [0.0, 365.25], model=KneeModel(), solver=solver or ScipyReferenceSolver(rtol=1e-7, atol=1e-9))
    thick = thickness_mm(result.solution, pop.parameters)
    return float(100.0 * (1.0 - thick[0, 1] / thick[0, 0]))


def fit_drives(parameter_set: ParameterSet | None = None) -> dict[int, float]:
    parameter_set = parameter_set or ParameterSet.load("human")
    fitted = {}
    for grade, target in TARGET_LOSS_PCT_PER_YEAR.items():
        fitted[grade] = brentq(lambda d: annual_loss_pct(parameter_set, grade, d) - target, 0.01, 20.0, xtol=1e-4)
    return fitted


def population_loss_rates(n_subjects: int = 2000, seed: int = 12, years: float = 2.0):
    """Untreated loss of the thickness index [%/y] per KL grade in a sampled population."""
    parameter_set = ParameterSet.load("human")
    pop = Population.sample(parameter_set, n_subjects, np.random.default_rng(seed))
    sol = simulate(pop, [0.0, years * 365.25]).solution
    thick = thickness_mm(sol, pop.parameters)
    rate = 100.0 * (1.0 - thick[:, 1] / thick[:, 0]) / years
    kl = pop.covariates["kl_grade"].to_numpy()
    return {grade: rate[kl == grade] for grade in (2, 3, 4)} | {"2-3": rate[np.isin(kl, [2, 3])]}


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        for grade, r in population_loss_rates(int(sys.argv[2])).items():
            q1, med, q3 = np.percentile(r, [25, 50, 75])
            print(f"KL {grade}: n = {r.size}, median {med:.2f} %/y (IQR {q1:.2f}-{q3:.2f})")
    else:
        for grade, drive in fit_drives().items():
            print(f"kl_damage_drive_kl{grade} = {drive:.4f}   (target {TARGET_LOSS_PCT_PER_YEAR[grade]} %/y)")
