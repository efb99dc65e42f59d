"""Hyaluronic acid's own short-lived symptomatic effect (on top of the IA-injection placebo response).

HA has no state in the knee model: it acts on what the patient reports. After an injection on
day d its relief of the pain score follows a gamma-shaped course that peaks ``ha_peak_day``
after the injection (Bannuru 2011: effect vs IA placebo 0.31 at week 4, peak 0.46 at week 8,
0.21 at week 24; this shape gives 0.82, 1 and 0.41 of the peak at those weeks):

    relief(t) = f_peak · Σ_d s((t − d) / t_peak),   s(x) = x · e^(1 − x) for x > 0, else 0,

capped at f_peak. ``f_peak`` is the fraction of the pain score relieved at the peak (Pereira
2022, large blinded trials: about 2 mm of a typical 55 mm VAS). The relief enters the
observation model through the nociceptive drive it is given (:func:`relieved_drive`): pain
scores scale with drive^exponent, so dividing the drive by (1 − relief)^(−1/exponent) lowers
every pain score by the fraction ``relief``, and function by the matching power.

Not modelled: structural (disease-modifying) effects of HA, molecular-weight differences and
the number of injections per course beyond summing single-injection courses.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def relief_fraction(t_days: np.ndarray, injection_days: Sequence[Sequence[float]], peak_fraction: float,
                    peak_day: float) -> np.ndarray:
    """(n_subjects, n_visits) fraction of the pain score relieved by HA at ``t_days``.

    Parameters
    ----------
    t_days : (n_visits,) days since the first injection
    injection_days : per subject, the days HA was injected (empty: no HA)
    peak_fraction : relief at the peak of one injection's course (0-1)
    peak_day : days from an injection to its peak relief (> 0)
    """
    t = np.asarray(t_days, float)
    out = np.zeros((len(injection_days), t.size))
    for i, days in enumerate(injection_days):
        for d in days:
            x = np.maximum(t - d, 0.0) / peak_day
            out[i] += x * np.exp(1.0 - x)
    return peak_fraction * np.minimum(out, 1.0)


def relieved_drive(pain_drive_rel: np.ndarray, relief: np.ndarray, pain_exponent: float) -> np.ndarray:
    """The nociceptive drive as the observation model should see it with HA relief applied."""
    return pain_drive_rel * (1.0 - relief) ** (1.0 / pain_exponent)
