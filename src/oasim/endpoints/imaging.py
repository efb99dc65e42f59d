"""MRI (cartilage thickness, T2, effusion-synovitis grade) and synovial-fluid IL-1β readouts.

* Thickness [mm]: qMRI mean femorotibial thickness. The model's thickness index is calibrated to
  volume loss rates (Raynauld 2006, 1.5-3.7 %/y), while qMRI thickness falls more slowly (FORWARD
  placebo: -0.02 mm over 2 years, Hochberg 2019); the observed change from baseline is the index
  change × ``mri_thickness_change_ratio``, plus measurement noise at each visit.
* T2 [ms]: healthy T2 plus a rise proportional to matrix loss (collagen network damage and
  hydration), plus mapping noise (assumed linear mapping).
* Effusion-synovitis grade 0–3 (MOAKS-like): log2 of synovial inflammation (M1 and activated
  FLS relative to health) plus reader noise, rounded and clipped (assumed mapping).
* SF IL-1β [pg/mL]: the model level with multiplicative assay noise; values below the LLOQ are
  reported as LLOQ/2 (a common convention) and flagged.
"""

from __future__ import annotations

import numpy as np

from ..readouts import pg_per_ml, thickness_mm
from ..solvers.solution import Solution


def mri_thickness_mm(index_mm: np.ndarray, obs) -> np.ndarray:
    """True qMRI thickness (n, n_visits) from the model's thickness index: the baseline plus
    ``mri_thickness_change_ratio`` × the index's change (scaled to FORWARD's placebo rate)."""
    return index_mm[:, :1] + obs.value("mri_thickness_change_ratio") * (index_mm - index_mm[:, :1])


def observe_imaging_and_biomarkers(solution: Solution, params: dict, rng: np.random.Generator,
                                   obs) -> dict[str, np.ndarray]:
    """Observed MRI and biomarker values, each (n_subjects, n_visits)."""
    thick = mri_thickness_mm(thickness_mm(solution, params), obs)
    matrix_loss = 1.0 - 0.5 * (solution["aggrecan_rel"] + solution["collagen_ii_rel"])
    t2 = obs.value("mri_t2_healthy_ms") + obs.value("mri_t2_per_matrix_loss_ms") * matrix_loss
    synovitis_rel = 0.5 * (solution["m1_cells"] / np.asarray(params["m1_healthy_cells"])[:, None]
                           + solution["fls_activated_fraction"]
                           / np.asarray(params["fls_activated_healthy_fraction"])[:, None])
    grade = np.log2(np.maximum(synovitis_rel, 1e-6)) + rng.normal(0, obs.value("synovitis_grade_noise_sd"), thick.shape)
    il1b = pg_per_ml(solution, params, "il1b")
    cv = obs.value("sf_il1b_assay_cv")
    omega = np.sqrt(np.log1p(cv ** 2))
    il1b_obs = il1b * np.exp(rng.normal(-0.5 * omega ** 2, omega, il1b.shape))
    lloq = obs.value("sf_il1b_lloq_pg_per_ml")
    il1b_obs = np.where(il1b_obs < lloq, lloq / 2.0, il1b_obs)
    return {
        "MRI_THICK_MM": np.round(thick + rng.normal(0, obs.value("mri_thickness_noise_sd_mm"), thick.shape), 3),
        "MRI_T2_MS": np.round(t2 + rng.normal(0, obs.value("mri_t2_noise_sd_ms"), thick.shape), 1),
        "MRI_SYNOV_GRADE": np.clip(np.round(grade), 0, 3),
        "SF_IL1B_PG_ML": np.round(il1b_obs, 2),
    }
