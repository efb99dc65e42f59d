"""The true dose-toxicity curve of an escalation design, from the trial's adverse-event model.

In :func:`oasim.endpoints.adverse_events.simulate_adverse_events` each injection of dose D
causes each product-related event e (injection-site pain, effusion flare) independently with
probability p_e(D) = p_placebo + (p_max − p_placebo)·D/(D + ED50), of grade 3 with probability
p3_e = min(1, f3·(1 + gain·p_e)), grade 2 with f2, else grade 1, with onset 0–2 days after the
injection (inside any DLT window ≥ 2 days). A subject has a DLT when any event of grade ≥ g
follows any injection, so

    P(DLT) = 1 − Π_injections Π_e (1 − p_e(D) · P(grade ≥ g | event)).

This is that model's closed form (checked against its Monte Carlo in tests/program).
"""

from __future__ import annotations

from ..endpoints.adverse_events import _related_probability
from ..endpoints.parameters import load_observation_parameters
from ..errors import FieldError
from ..protocol import Dose

EVENTS = ("injection_pain", "effusion")
ONSET_MAX_DAYS = 2  # onsets are drawn 0-2 days after the injection (adverse_events.py)


def grade_at_least(min_grade: int, p_event: float, obs) -> float:
    """P(grade ≥ ``min_grade`` | a related event of probability ``p_event``)."""
    p3 = min(1.0, obs.value("ae_grade3_fraction") * (1.0 + obs.value("ae_grade3_dose_gain") * p_event))
    if min_grade <= 1:
        return 1.0
    if min_grade == 2:
        return min(1.0, p3 + obs.value("ae_grade2_fraction"))
    return p3 if min_grade == 3 else 0.0


def dlt_probability(dose_particles: float, injection_days=(0.0,), min_grade: int = 3, window_days: float = 28.0,
                    observation: str = "observation_human") -> float:
    """P(a subject has a DLT) for exosome injections of ``dose_particles`` on ``injection_days``."""
    if not dose_particles > 0:
        raise FieldError("dose_particles", dose_particles, "> 0 particles")
    if window_days < ONSET_MAX_DAYS:
        raise FieldError("dlt_window_days", window_days,
                         f">= {ONSET_MAX_DAYS} days (AE onsets lie 0-2 days after a dose)")
    obs = load_observation_parameters(observation)
    dose = Dose("exosome", float(dose_particles), "particles", 0.0)
    none = 1.0
    for event in EVENTS:
        p = _related_probability(dose, event, obs)
        none *= 1.0 - p * grade_at_least(min_grade, p, obs)
    return 1.0 - none ** len(tuple(injection_days))
