"""Patient-reported outcomes: WOMAC (Likert 3.1), VAS pain and KOOS.

Each subject has a baseline symptom level per instrument (correlated through one latent
severity; Kuah 2018 baseline tables). The latent severity at enrolment is a stable trait plus a
transient excursion (flare-type variability: 23-32 % of people report significant pain variation
in any 6 months, Parry 2017); screening on pain selects high excursions, which then fade with
``rtm_half_life_days``: regression to the mean, present in every arm without any injection
(Englund 2025: untreated trial-eligible OAI participants improved 2.5 WOMAC function points at
1 year). The model moves symptoms through
* the disease state: the baseline level scales with the subject's model nociceptive drive at
  baseline relative to a typical KL 2-3 knee (``baseline_drive_exponent``), so KL grade and an
  inflammatory phenotype raise baseline symptoms; follow-up scores move with the drive relative
  to baseline (``pain_drive_rel``: synovitis, PGE2, flare, sensitisation), raised to an exponent;
* cartilage loss, weakly (Bacon 2020: +0.32 WOMAC pain points per 0.1 mm lost);
* a placebo (IA injection) response of the size pooled for saline arms (Previtali 2020), larger
  in subjects with more baseline pain (placebo effect sizes rise with baseline pain, Bannuru
  2015), building over weeks and fading by 12 months (Previtali 2025), and renewed by each
  injection (``injection_days``; renewal is not quantified in the literature: a repeat injection
  restores ``placebo_renewal_fraction`` of the full response);
* measurement noise; scores are rounded and clipped to each instrument's range.

Patient global assessment (PGA, 0–100 mm) follows the pain-VAS course (assumed).

WOMAC LK3.1: pain 0–20 (5 items), stiffness 0–8 (2), function 0–68 (17), total 0–96
(Bellamy 1988); normalised 0–100 = raw / max × 100. VAS 0–100 mm. KOOS subscales are
0 (extreme problems) – 100 (none) (Roos 1998): ADL uses the same 17 items as WOMAC function, so
KOOS ADL = 100 − function/68 × 100 exactly; Pain and Symptoms are approximated from WOMAC pain
and stiffness, Sport/Rec and QOL from pain and function (assumed mappings, see functions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WOMAC_RANGES = {"WOMAC_PAIN": 20, "WOMAC_STIFF": 8, "WOMAC_FUNC": 68}
REFERENCES = ("Kuah2018", "Bacon2020", "Previtali2020", "Previtali2025", "Bellamy1988", "Roos1998",
              "Englund2025", "Bannuru2015", "Parry2017")


@dataclass(frozen=True)
class BaselineSymptoms:
    """True (noise-free) baseline symptom levels, one value per subject."""

    womac_pain: np.ndarray
    womac_stiffness: np.ndarray
    womac_function: np.ndarray
    vas_pain_mm: np.ndarray
    placebo_magnitude: np.ndarray  # subject's relative placebo response (mean 1)
    transient_latent: np.ndarray | None = None  # enrolment excursion of the latent severity (SD 1)

    def subset(self, index) -> "BaselineSymptoms":
        return BaselineSymptoms(*(None if getattr(self, f) is None else getattr(self, f)[index]
                                  for f in self.__dataclass_fields__))


def sample_baseline_symptoms(n: int, rng: np.random.Generator, obs) -> BaselineSymptoms:
    """Correlated baseline WOMAC subscales and VAS (one latent severity), clipped to range.

    The latent severity is ``sqrt(1 - φ)·trait + sqrt(φ)·transient`` with φ =
    ``symptom_transient_variance_fraction``; the transient part fades after enrolment (see
    :func:`regression_to_mean`), so subjects screened on high pain improve without treatment.
    """
    rho = obs.value("symptom_correlation")
    phi = obs.value("symptom_transient_variance_fraction")
    trait, transient = rng.normal(size=n), rng.normal(size=n)
    latent = np.sqrt(1.0 - phi) * trait + np.sqrt(phi) * transient

    def draw(name, upper):
        z = np.sqrt(rho) * latent + np.sqrt(1.0 - rho) * rng.normal(size=n)
        x = obs.value(f"{name}_baseline_mean") + obs.value(f"{name}_baseline_sd") * z
        return np.clip(x, 0.0, upper)

    cv = obs.value("placebo_response_cv")
    omega = np.sqrt(np.log1p(cv ** 2))
    placebo = np.exp(rng.normal(-0.5 * omega ** 2, omega, n))  # mean 1
    return BaselineSymptoms(draw("womac_pain", 20), draw("womac_stiffness", 8),
                            draw("womac_function", 68), draw("vas_pain", 100), placebo, transient)


def placebo_shape(t_days: np.ndarray, obs, injection_days=None) -> np.ndarray:
    """Fraction of the plateau placebo response at ``t_days``.

    ``injection_days`` (default: one injection at day 0) are the days of the subject's
    injections; each one renews the response to ``placebo_renewal_fraction`` of the full course
    started at that day, and the largest course counts (the response does not add up).
    """
    t = np.asarray(t_days, float)

    def course(since):
        since = np.maximum(since, 0.0)
        build = 1.0 - np.exp(-since / obs.value("placebo_onset_days"))
        return np.where(since > 0, build / (1.0 + (since / obs.value("placebo_half_decline_days")) ** 3), 0.0)

    days = [0.0] if injection_days is None else sorted(float(d) for d in injection_days)
    if not days:
        return np.zeros_like(t)
    renewal = obs.value("placebo_renewal_fraction")
    shape = course(t - days[0])
    for day in days[1:]:
        shape = np.maximum(shape, renewal * course(t - day))
    return shape


def regression_to_mean(t_days: np.ndarray, obs) -> np.ndarray:
    """Fraction of the enrolment excursion that has faded at ``t_days`` after baseline."""
    t = np.maximum(np.asarray(t_days, float), 0.0)
    return 1.0 - 0.5 ** (t / obs.value("rtm_half_life_days"))


def _score(true_value, noise_sd, upper, rng, decimals=0):
    noisy = true_value + rng.normal(0.0, noise_sd, np.shape(true_value))
    return np.clip(np.round(noisy, decimals), 0.0, upper)


def baseline_disease_factor(baseline_drive_rel: np.ndarray, obs) -> np.ndarray:
    """How the disease state at baseline scales a subject's symptom level (KL grade, inflammation):
    (baseline drive / reference drive) ** ``baseline_drive_exponent``; same shape as the input."""
    drive = np.asarray(baseline_drive_rel, float)
    return (drive / obs.value("pain_drive_reference_rel")) ** obs.value("baseline_drive_exponent")


def drive_factor(ratio, exponent, independent_fraction):
    """Factor on a symptom's baseline level at drive ratio ``ratio`` (drive / baseline drive):
    a share ``independent_fraction`` of the symptom does not follow the model drive
    (``pain_drive_independent_fraction``), the rest moves with ratio ** exponent, so the relief
    an anti-inflammatory therapy gives plateaus at 1 − that share."""
    return independent_fraction + (1.0 - independent_fraction) * ratio ** exponent


def observe_clinical(baseline: BaselineSymptoms, pain_drive_rel: np.ndarray, thickness_mm: np.ndarray,
                     t_days: np.ndarray, rng: np.random.Generator, obs, *,
                     injection_days=None) -> dict[str, np.ndarray]:
    """Observed PRO scores, each (n_subjects, n_visits).

    Parameters
    ----------
    pain_drive_rel : (n, n_visits) model nociceptive drive; column 0 is baseline
    thickness_mm : (n, n_visits) true cartilage thickness
    t_days : (n_visits,) days since the first injection
    injection_days : days of the (active or saline) injections, one list for every subject or
        one list per subject; default one injection at day 0. Each injection renews the
        placebo response.
    """
    drive0 = pain_drive_rel[:, :1]
    ratio = pain_drive_rel / drive0
    floor = obs.value("pain_drive_independent_fraction")
    pain_factor = drive_factor(ratio, obs.value("pain_drive_exponent"), floor)
    function_factor = drive_factor(ratio, obs.value("function_drive_exponent"), floor)
    disease = baseline_disease_factor(drive0, obs)
    loss_0p1mm = (thickness_mm[:, :1] - thickness_mm) / 0.1
    n = pain_drive_rel.shape[0]
    t = np.asarray(t_days, float)
    if injection_days is None or len(injection_days) == 0 or np.ndim(injection_days[0]) == 0:
        course = np.broadcast_to(placebo_shape(t, obs, injection_days), (n, len(t)))
    else:
        course = np.array([placebo_shape(t, obs, days) for days in injection_days])
    # subjects with more baseline pain respond more to placebo (Bannuru 2015); mean 1 at the
    # population baseline mean
    severity = np.clip(baseline.womac_pain / obs.value("womac_pain_baseline_mean"), 0.0, None)
    shape = course * (baseline.placebo_magnitude * severity)[:, None]
    # regression to the mean: the enrolment excursion of the latent severity fades
    transient = (np.zeros(n) if baseline.transient_latent is None else baseline.transient_latent)
    rtm_z = (np.sqrt(obs.value("symptom_correlation") * obs.value("symptom_transient_variance_fraction"))
             * transient[:, None] * regression_to_mean(t, obs)[None, :])
    # Bacon 2020 gives the structure coupling for WOMAC pain (0-20); the other instruments get the
    # same rise relative to their range (x 8/20 stiffness, x 68/20 function, x 100/20 VAS)
    structure = obs.value("womac_pain_per_0p1mm_loss") * loss_0p1mm

    def level(name, base, factor, scale):
        """Symptom course of one instrument: disease × drive, structure, placebo, RTM."""
        return ((base[:, None] * disease - obs.value(f"{name}_baseline_sd") * rtm_z) * factor
                + structure * scale - obs.value(f"placebo_{name}") * shape)

    pain = level("womac_pain", baseline.womac_pain, pain_factor, 1.0)
    stiff = level("womac_stiffness", baseline.womac_stiffness, pain_factor, 8 / 20)
    func = level("womac_function", baseline.womac_function, function_factor, 68 / 20)
    vas = level("vas_pain", baseline.vas_pain_mm, pain_factor, 5.0)
    out = {
        "WOMAC_PAIN": _score(pain, obs.value("womac_pain_noise_sd"), 20, rng),
        "WOMAC_STIFF": _score(stiff, obs.value("womac_stiffness_noise_sd"), 8, rng),
        "WOMAC_FUNC": _score(func, obs.value("womac_function_noise_sd"), 68, rng),
        "VAS_PAIN": _score(vas, obs.value("vas_pain_noise_sd"), 100, rng),
        # patient global assessment (0-100 mm): assumed to follow the pain VAS course, with its
        # own measurement noise (needed for the OMERACT-OARSI 2-of-3 criterion)
        "PGA_VAS": _score(vas, obs.value("vas_pain_noise_sd"), 100, rng),
    }
    out["WOMAC_TOTAL"] = out["WOMAC_PAIN"] + out["WOMAC_STIFF"] + out["WOMAC_FUNC"]
    out["WOMAC_TOTAL_NORM"] = np.round(out["WOMAC_TOTAL"] / 96.0 * 100.0, 2)
    out.update(koos_from_womac(out["WOMAC_PAIN"], out["WOMAC_STIFF"], out["WOMAC_FUNC"]))
    return out


def koos_from_womac(pain, stiffness, function) -> dict[str, np.ndarray]:
    """KOOS subscales (0 = extreme problems, 100 = none) from WOMAC subscales.

    ADL is exact (same 17 items as WOMAC function). Pain, Symptoms, Sport/Rec and QOL are
    assumed mappings: KOOS Pain and Symptoms track WOMAC pain and stiffness on the same
    relative scale; Sport/Rec and QOL are lower than ADL in knee OA, modelled as 25 points and
    1.2× pain below 100.
    """
    pain_norm = 100.0 * pain / 20.0
    adl = 100.0 - 100.0 * function / 68.0
    return {
        "KOOS_PAIN": np.round(100.0 - pain_norm, 1),
        "KOOS_SYMPTOMS": np.round(100.0 - 100.0 * stiffness / 8.0, 1),
        "KOOS_ADL": np.round(adl, 1),
        "KOOS_SPORT": np.round(np.clip(adl - 25.0, 0.0, 100.0), 1),
        "KOOS_QOL": np.round(np.clip(100.0 - 1.2 * pain_norm, 0.0, 100.0), 1),
    }
