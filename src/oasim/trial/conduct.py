"""Trial conduct: screening, cohorts, randomisation, dosing, dropout, safety review.

``conduct_trial(scenario)`` runs the whole virtual trial and returns a :class:`TrialRun` with
everything the datasets need. All randomness comes from one ``SeedSequence(scenario.seed)``
split into named streams, so results do not depend on how the work is divided.

Safety review (between cohorts, on blinded data): a dose-limiting toxicity (DLT) is a
treatment-related AE of grade >= ``dlt_min_grade`` starting within ``dlt_window_days`` of an
injection. Rule ``dlt_count``: escalation stops when a cohort has more than
``max_dlt_per_cohort`` DLTs; later cohorts are not enrolled. Rule ``escalation_design``: the
named design (BOIN, CRM, 3+3; :mod:`oasim.trial.escalation`) gets each cohort's DLT outcomes
and escalation stops when it does not recommend escalating.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from ..endpoints import (load_observation_parameters, observe_clinical, observe_imaging_and_biomarkers,
                         sample_baseline_symptoms, simulate_adverse_events)
from ..endpoints.clinical import BaselineSymptoms
from ..model import KneeModel
from ..parameters import ParameterSet, validate_for_model
from ..population import Population
from ..protocol import Dose
from ..readouts import thickness_mm
from ..scenario import DAYS_PER_MONTH, Scenario
from ..simulation import simulate
from ..solvers import SOLVERS
from .randomisation import permuted_blocks

STREAMS = ("screening", "randomisation", "symptoms", "endpoints", "adverse_events", "dropout")


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per stage, from one seed."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}


@dataclass(frozen=True)
class TrialRun:
    """Raw outcome of a conducted trial (before CDISC formatting)."""

    scenario: Scenario
    subjects: pd.DataFrame  # one row per randomised subject
    screening: dict  # counts: screened, failed by reason, eligible
    observations: pd.DataFrame  # subject_id, visit, t_days, paramcd, value (missing after dropout removed)
    adverse_events: pd.DataFrame
    exposure: pd.DataFrame
    cohort_decisions: list[dict] = field(default_factory=list)


def product_attributes(scenario: Scenario, parameter_set: ParameterSet) -> tuple[float, float]:
    """(particles per µg, relative potency) of the product.

    A named lot (``product.lot``, a QC lot folder: see ``oasim qc``) supplies its measured
    particles per µg (NTA / BCA purity) and its potency relative to the reference lot, which
    divides the exosome EC50 (``exosome_potency_rel``). An explicit ``product.particles_per_ug``
    overrides the lot's; without either the parameter set's typical value is used.
    """
    ppu, potency = parameter_set.value("exosome_particles_per_ug"), 1.0
    if scenario.product.lot is not None:
        from ..qc import load_lot_attributes

        lot = load_lot_attributes(scenario.product.lot)
        ppu, potency = float(lot.particles_per_ug), float(lot.potency_relative)
    if scenario.product.particles_per_ug is not None:
        ppu = scenario.product.particles_per_ug
    return ppu, potency


def screen(scenario: Scenario, parameter_set: ParameterSet, n_needed: int, rng: np.random.Generator):
    """Draw candidates until ``n_needed`` pass the inclusion criteria; count screen failures."""
    inc = scenario.population.inclusion
    obs = load_observation_parameters()
    pops, symptoms, failures = [], [], {"kl_grade": 0, "age": 0, "bmi": 0, "vas_pain": 0}
    screened = eligible_count = 0
    while eligible_count < n_needed:
        batch = max(64, 2 * (n_needed - eligible_count))
        pop = Population.sample(parameter_set, batch, rng, covariates=scenario.population.covariates,
                                variability=scenario.population.variability)
        sym = sample_baseline_symptoms(batch, rng, obs)
        cov = pop.covariates
        checks = {
            "kl_grade": cov["kl_grade"].isin(inc.kl_grades).to_numpy(),
            "age": cov["age_y"].between(inc.age_min_y, inc.age_max_y).to_numpy(),
            "bmi": (cov["bmi_kg_per_m2"] <= inc.bmi_max_kg_per_m2).to_numpy(),
            "vas_pain": sym.vas_pain_mm >= inc.vas_pain_min_mm,
        }
        ok = np.ones(batch, dtype=bool)
        failed_first = {}  # a candidate's screen-failure reason is the first criterion it fails
        for reason, passed in checks.items():
            failed_first[reason] = ok & ~passed
            ok &= passed
        need = n_needed - eligible_count
        idx = np.flatnonzero(ok)[:need]
        last = idx[-1] + 1 if len(idx) == need else batch  # later candidates were never screened
        for reason, mask in failed_first.items():
            failures[reason] += int(mask[:last].sum())
        screened += last
        eligible_count += len(idx)
        pops.append(pop.subset(idx))
        symptoms.append(sym.subset(idx))
    pop = Population(pd.concat([p.covariates for p in pops], ignore_index=True),
                     {k: np.concatenate([p.parameters[k] for p in pops]) for k in pops[0].parameters},
                     parameter_set.name)
    pop.covariates["subject_id"] = np.arange(1, n_needed + 1)
    sym = BaselineSymptoms(*(np.concatenate([getattr(s, f) for s in symptoms])
                             for f in BaselineSymptoms.__dataclass_fields__))
    counts = {"screened": int(screened), "eligible": int(n_needed),
              "screen_failures": int(screened - n_needed), "failures_by_reason": failures}
    return pop, sym, counts


def conduct_trial(scenario: Scenario, progress: Callable[[str], None] | None = None) -> TrialRun:
    """Run the virtual trial described by ``scenario``."""
    say = progress or (lambda _msg: None)
    rngs = streams(scenario.seed)
    model = KneeModel()
    parameter_set = ParameterSet.load(scenario.model.parameter_set)
    validate_for_model(parameter_set, model.parameter_names)
    obs = load_observation_parameters()
    cohorts = scenario.design.cohorts
    sizes = [c.n_active + c.n_placebo for c in cohorts]
    n_total = sum(sizes)

    say("screening")
    pop, symptoms, screening = screen(scenario, parameter_set, n_total, rngs["screening"])

    say("randomising")
    ppu, potency = product_attributes(scenario, parameter_set)
    pop.parameters["exosome_potency_rel"] = pop.parameters["exosome_potency_rel"] * potency
    rows, doses = [], []
    start = 0
    for k, (cohort, size) in enumerate(zip(cohorts, sizes)):
        seq = permuted_blocks(cohort.n_active, cohort.n_placebo, scenario.design.block_size,
                              rngs["randomisation"], scenario.design.sentinel)
        for j, active in enumerate(seq):
            sid = start + j + 1
            sentinel = scenario.design.sentinel and j < 2 and cohort.n_placebo > 0
            amount = cohort.dose * ppu if cohort.unit == "ug" else cohort.dose
            unit = "particles" if cohort.unit == "ug" else cohort.unit
            dose = Dose(scenario.product.product, amount, unit) if active else None
            rows.append({"subject_id": sid, "cohort": k + 1, "active": bool(active),
                         "arm": f"{_dose_label(cohort)}" if active else "Placebo",
                         "dose": cohort.dose if active else 0.0, "dose_unit": cohort.unit,
                         "dose_model_amount": amount if active else 0.0, "sentinel": bool(sentinel),
                         "randno": f"R{k + 1:02d}{j + 1:03d}"})
            doses.append(dose)
        start += size
    subjects = pd.DataFrame(rows).merge(pop.covariates, on="subject_id")

    t_visits = np.asarray(scenario.visit_days)
    injections = [[Dose(d.product, d.amount, d.unit, day) for day in scenario.schedule.injection_days]
                  if d is not None else [] for d in doses]

    say(f"simulating {n_total} subjects")
    solver = SOLVERS[scenario.model.solver](rtol=scenario.model.rtol)
    result = simulate(pop, t_visits, injections, model=model, solver=solver)
    sol = result.solution

    say("observing endpoints")
    scores = observe_clinical(symptoms, sol["pain_drive_rel"], thickness_mm(sol, pop.parameters),
                              t_visits, rngs["endpoints"], obs)
    scores.update(observe_imaging_and_biomarkers(sol, pop.parameters, rngs["endpoints"], obs))

    dropout_day = rngs["dropout"].exponential(365.25 / scenario.dropout.rate_per_year, n_total) \
        if scenario.dropout.rate_per_year > 0 else np.full(n_total, np.inf)
    follow_up = np.minimum(dropout_day, t_visits[-1])
    ae_injections = [[(day, d) for day in scenario.schedule.injection_days] for d in doses]  # None = saline
    ae = simulate_adverse_events(subjects["subject_id"], ae_injections, follow_up, rngs["adverse_events"], obs)
    observed_until = pd.Series(follow_up, index=subjects["subject_id"].to_numpy())
    ae = ae[ae["onset_day"] <= ae["subject_id"].map(observed_until)].reset_index(drop=True)

    say("safety review")
    enrolled_cohorts, decisions = _safety_review(scenario, subjects, ae)
    keep = subjects["cohort"].isin(enrolled_cohorts).to_numpy()

    observations = _observation_table(scores, subjects["subject_id"].to_numpy(), scenario, t_visits)
    visible = observations["t_days"].to_numpy() <= dropout_day[observations["subject_id"].to_numpy() - 1]
    mri_days = {m * DAYS_PER_MONTH for m in scenario.visits.mri_months}
    is_mri = observations["paramcd"].str.startswith("MRI_")
    visible &= ~is_mri.to_numpy() | observations["t_days"].isin(mri_days).to_numpy()
    observations = observations[visible & keep[observations["subject_id"].to_numpy() - 1]]

    subjects = subjects.assign(dropout_day=np.where(dropout_day < t_visits[-1], np.round(dropout_day), np.nan),
                               follow_up_days=np.round(follow_up))[keep].reset_index(drop=True)
    ae = ae[ae["subject_id"].isin(subjects["subject_id"])].reset_index(drop=True)
    exposure = pd.DataFrame([
        {"subject_id": r.subject_id, "day": day, "product": scenario.product.name if r.active else "Placebo (saline)",
         "dose": r.dose, "dose_unit": r.dose_unit,
         "sentinel_offset_days": 0.0 if r.sentinel or not scenario.design.sentinel else scenario.design.sentinel_days}
        for r in subjects.itertuples() for day in scenario.schedule.injection_days])
    return TrialRun(scenario, subjects, screening, observations.reset_index(drop=True), ae, exposure, decisions)


def _dose_label(cohort) -> str:
    return f"{cohort.dose:.3g} {cohort.unit}"


def _observation_table(scores, subject_ids, scenario, t_visits) -> pd.DataFrame:
    names = [f"MONTH {m:g}" if m else "BASELINE" for m in scenario.visits.months]
    n, v = len(subject_ids), len(t_visits)
    frames = [pd.DataFrame({"subject_id": np.repeat(subject_ids, v), "visit": np.tile(names, n),
                            "visitnum": np.tile(np.arange(v), n), "t_days": np.tile(t_visits, n),
                            "paramcd": code, "value": values.reshape(-1)})
              for code, values in scores.items()]
    return pd.concat(frames, ignore_index=True)


def dlt_counts(subjects: pd.DataFrame, ae: pd.DataFrame, min_grade: int, window_days: float) -> pd.Series:
    """DLTs per subject: related AEs of grade >= min_grade within the window after a dose."""
    dlt = ae[ae["related"] & (ae["grade"] >= min_grade)
             & ((ae["onset_day"] - ae["dose_day"]).between(0, window_days))]
    return dlt.groupby("subject_id").size().reindex(subjects["subject_id"], fill_value=0)


def _safety_review(scenario: Scenario, subjects: pd.DataFrame, ae: pd.DataFrame):
    review = scenario.design.safety_review
    per_subject = dlt_counts(subjects, ae, review.dlt_min_grade, review.dlt_window_days)
    has_dlt = (per_subject > 0).to_numpy()
    enrolled, decisions = [], []
    design = None
    if review.rule == "escalation_design":
        from .escalation import design_from_spec

        spec = dict(review.escalation or {})
        spec.setdefault("num_doses", len(scenario.design.cohorts))
        design = design_from_spec(spec, prefix="design.safety_review.escalation")
    history = []
    for k in range(1, len(scenario.design.cohorts) + 1):
        enrolled.append(k)
        in_cohort = (subjects["cohort"] == k).to_numpy()
        n_dlt = int(has_dlt[in_cohort].sum())
        entry = {"cohort": k, "n_subjects": int(in_cohort.sum()), "n_dlt": n_dlt}
        if design is not None:
            active = in_cohort & subjects["active"].to_numpy()
            history.append(f"{k}" + "".join("T" if d else "N" for d in has_dlt[active]))
            decision = design.fit(" ".join(history))
            entry["decision"] = decision.action.value
            # cohorts are fixed and ascending: anything but "escalate" ends escalation
            stop = decision.next_dose is None or decision.next_dose <= k
        else:
            stop = n_dlt > review.max_dlt_per_cohort
            entry["decision"] = "stop escalation" if stop else "escalate"
        decisions.append(entry)
        if stop:
            break
    return enrolled, decisions
