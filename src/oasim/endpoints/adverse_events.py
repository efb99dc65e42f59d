"""Adverse events: injection-site pain and effusion flare (dose-dependent), plus background AEs.

The probability of a product-related event after an injection of dose D is
p(D) = p_placebo + (p_max − p_placebo) · D / (D + ED50), per product (MSC cells, exosome
particles); saline gets p_placebo. Grades follow CTCAE-style 1–3: grade 3 with probability
f3·(1 + gain·p), grade 2 with f2, otherwise grade 1; onset 0–2 days after the injection,
log-normal duration. Background (unrelated) AEs arrive as a Poisson process over follow-up.
Sources: Chen 2021 (ELIXCYTE, AEs by dose), Matas 2024 (UC-MSC swelling at high dose), DF-HA
2021 (saline injection-site events), Kuah 2018 (AE severity); EV-specific values are assumed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import FieldError
from ..protocol import Dose

BACKGROUND_TERMS = ("Arthralgia", "Nasopharyngitis", "Headache", "Back pain")


def _related_probability(dose: Dose | None, event: str, obs) -> float:
    base = obs.value(f"ae_{event}_placebo_prob")
    if dose is None or dose.amount == 0:
        return base
    product = dose.product
    unit = "cells" if product == "msc" else "particles"
    ed50 = obs.value(f"ae_{event}_{product}_ed50_{unit}")
    if dose.unit == "ug":
        raise FieldError("dose.unit", dose.unit, "particles or cells (convert µg with the lot's particles per µg first)")
    amount = dose.amount
    pmax = obs.value(f"ae_{event}_{product}_max_prob")
    return base + (pmax - base) * amount / (amount + ed50)


def simulate_adverse_events(subject_ids, injections: list[list[tuple[float, Dose | None]]],
                            follow_up_days: np.ndarray, rng: np.random.Generator, obs) -> pd.DataFrame:
    """AEs of every subject.

    Parameters
    ----------
    injections : per subject, list of (day, Dose) — Dose None for placebo (saline); exosome
        doses must be in particles (convert µg first)
    follow_up_days : per subject, days observed (for background AEs)

    Returns
    -------
    DataFrame with subject_id, term, grade, onset_day, duration_days, related, dose_day
    """
    rows = []
    f2, f3, gain = (obs.value("ae_grade2_fraction"), obs.value("ae_grade3_fraction"),
                    obs.value("ae_grade3_dose_gain"))
    sigma = 0.6
    median = obs.value("ae_duration_median_days")
    for sid, subject_injections, fu in zip(subject_ids, injections, follow_up_days):
        for day, dose in subject_injections:
            for event, term in (("injection_pain", "Injection site pain"), ("effusion", "Joint effusion")):
                p = _related_probability(dose, event, obs)
                if rng.random() < p:
                    u = rng.random()
                    p3 = min(1.0, f3 * (1.0 + gain * p))
                    grade = 3 if u < p3 else (2 if u < p3 + f2 else 1)
                    rows.append((sid, term, grade, day + int(rng.integers(0, 3)),
                                 float(np.round(median * np.exp(rng.normal(0, sigma)), 1)), True, day))
        n_bg = rng.poisson(obs.value("ae_background_rate_per_year") * fu / 365.25)
        for _ in range(n_bg):
            rows.append((sid, BACKGROUND_TERMS[int(rng.integers(len(BACKGROUND_TERMS)))],
                         1 if rng.random() < 0.8 else 2, int(rng.integers(0, max(1, int(fu)))),
                         float(np.round(median * 2 * np.exp(rng.normal(0, sigma)), 1)), False, np.nan))
    return pd.DataFrame(rows, columns=["subject_id", "term", "grade", "onset_day", "duration_days",
                                       "related", "dose_day"])
