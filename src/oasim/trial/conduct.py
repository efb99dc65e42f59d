"""Trial conduct: screen → randomise → simulate → observe → review, each a function of typed objects.

``conduct_trial(scenario)`` runs the whole virtual trial and returns a :class:`TrialRun` with
everything the datasets need. The arms are :class:`~oasim.trial.design.ArmProtocol` objects built
once (:func:`arm_protocols`) and read by the solver events, the AE model, the HA observation
effect and the exposure table alike. Designs: ascending-dose cohorts (each cohort randomised
active:placebo, optional sentinel pair, safety review between cohorts) or parallel-group arms
(fixed n per arm, permuted blocks across arms in the ratio of the arm sizes). All randomness
comes from one ``SeedSequence(scenario.seed)`` split into named streams, so results do not
depend on how the work is divided.

Safety review (between cohorts, on blinded data): a dose-limiting toxicity (DLT) is a
treatment-related AE of grade >= ``dlt_min_grade`` starting within ``dlt_window_days`` of an
injection. Rule ``dlt_count``: escalation stops when a cohort has more than
``max_dlt_per_cohort`` DLTs; later cohorts are not enrolled. Rule ``escalation_design``: the
named design (BOIN, CRM, 3+3; :mod:`oasim.trial.escalation`) gets each cohort's DLT outcomes
and escalation stops when it does not recommend escalating. A parallel-group trial is one
cohort: its DLTs are counted and reported, nothing is stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from ..endpoints import (load_observation_parameters, observe_clinical, observe_imaging_and_biomarkers,
                         sample_baseline_symptoms, simulate_adverse_events)
from ..endpoints.clinical import BaselineSymptoms
from ..endpoints.hyaluronic_acid import relief_fraction, relieved_drive
from ..model import KneeModel
from ..population.eligibility import max_candidates, screening_error
from ..parameters import ParameterSet, validate_for_model
from ..population import Population
from ..readouts import thickness_mm
from ..simulation import SimulationResult, simulate
from ..solvers import SOLVERS
from ..units import DAYS_PER_MONTH
from .design import ArmProtocol, Product, product_parameters
from .escalation.spec import dlt_from_adverse_events
from .randomisation import permuted_blocks, permuted_blocks_arms

if TYPE_CHECKING:  # the trial is given a validated scenario; it does not load one
    from ..scenario import Scenario

STREAMS = ("screening", "randomisation", "symptoms", "endpoints", "adverse_events", "dropout")
PLACEBO_LABEL = "Placebo"  # TRT01P of the control arm (the analysis compares every arm with it)


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
    arms: tuple[ArmProtocol, ...] = ()
    solver_failures: int = 0  # subjects dropped because the solver failed (model.on_solver_failure = "drop")
    parameter_draw: dict = field(default_factory=dict)  # a calibrated set's posterior draw used by this trial


@dataclass(frozen=True)
class Enrolment:
    """Screened, eligible candidates (screen)."""

    population: Population
    symptoms: BaselineSymptoms
    screening: dict


@dataclass(frozen=True)
class Allocation:
    """Who gets which arm (randomise): ``subjects`` rows align with ``arm_index``."""

    subjects: pd.DataFrame
    arms: tuple[ArmProtocol, ...]
    arm_index: np.ndarray  # per subject, index into ``arms``

    def protocols(self) -> list[ArmProtocol]:
        return [self.arms[i] for i in self.arm_index]


@dataclass(frozen=True)
class Observed:
    """What the trial sees (observe): scores, AEs and follow-up, before the review's cut."""

    observations: pd.DataFrame
    adverse_events: pd.DataFrame
    dropout_day: np.ndarray
    follow_up_days: np.ndarray


@dataclass(frozen=True)
class Review:
    """Safety review between cohorts: cohorts enrolled and one decision per cohort."""

    enrolled_cohorts: tuple[int, ...]
    decisions: list[dict]


def product_attributes(scenario: Scenario, parameter_set: ParameterSet) -> tuple[float, float]:
    """(particles per µg, relative potency) of the investigational product.

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


def arm_protocols(scenario: Scenario, parameter_set: ParameterSet) -> tuple[ArmProtocol, ...]:
    """Every arm of the scenario, built once.

    Ascending cohorts: the control arm first (``design.placebo`` product), then one arm per
    cohort. Parallel groups: ``design.arms`` in order.
    """
    ppu, potency = product_attributes(scenario, parameter_set)
    days = scenario.schedule.injection_days
    spec = scenario.product
    if scenario.design.cohorts:
        ip = Product(spec.product, spec.name, spec.cell_source if spec.product == "msc" else "none",
                     spec.co_injection, ppu, potency)
        control_kind = scenario.design.placebo
        control = ArmProtocol(PLACEBO_LABEL, Product(control_kind, "Placebo (saline)" if control_kind == "saline" else "",
                                                     co_injection=spec.co_injection), 0.0, "none", days)
        return (control,) + tuple(ArmProtocol(_dose_label(c.dose, c.unit), ip, c.dose, c.unit, days)
                                  for c in scenario.design.cohorts)
    arms = []
    for a in scenario.design.arms:
        product = Product(a.product, a.product_name, a.cell_source, a.co_injection, ppu, potency)
        label = PLACEBO_LABEL if a.control else a.name
        arms.append(ArmProtocol(label, product, a.dose, a.unit, a.injection_days or days))
    return tuple(arms)


def screen(scenario: Scenario, parameter_set: ParameterSet, n_needed: int, rng: np.random.Generator) -> Enrolment:
    """Draw candidates until ``n_needed`` pass the inclusion criteria; count screen failures."""
    inc = scenario.population.inclusion
    obs = load_observation_parameters()
    pops, symptoms, failures = [], [], {"kl_grade": 0, "age": 0, "bmi": 0, "vas_pain": 0}
    screened = eligible_count = 0
    limit = max_candidates(n_needed)
    while eligible_count < n_needed:
        if screened >= limit:  # validation checks the criteria; this bounds what it cannot foresee
            raise screening_error(failures, screened, eligible_count, n_needed)
        batch = max(64, 2 * (n_needed - eligible_count))
        pop = sample_candidates(parameter_set, batch, rng, scenario, 1 in inc.kl_grades)
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
    pop = concat_populations(pops, parameter_set.name)
    pop.covariates["subject_id"] = np.arange(1, n_needed + 1)
    sym = BaselineSymptoms(*(np.concatenate([getattr(s, f) for s in symptoms])
                             for f in BaselineSymptoms.__dataclass_fields__))
    counts = {"screened": int(screened), "eligible": int(n_needed),
              "screen_failures": int(screened - n_needed), "failures_by_reason": failures}
    return Enrolment(pop, sym, counts)


def concat_populations(pops: list[Population], name: str) -> Population:
    return Population(pd.concat([p.covariates for p in pops], ignore_index=True),
                      {k: np.concatenate([p.parameters[k] for p in pops]) for k in pops[0].parameters}, name)


def sample_candidates(parameter_set: ParameterSet, n: int, rng: np.random.Generator, scenario: Scenario,
                      with_kl1: bool) -> Population:
    """Candidates from the covariate model; with ``with_kl1`` a share become KL 1 (see :func:`with_kl1_stratum`)."""
    pop = Population.sample(parameter_set, n, rng, covariates=scenario.population.covariates,
                            variability=scenario.population.variability)
    return with_kl1_stratum(pop, rng) if with_kl1 else pop


def with_kl1_stratum(pop: Population, rng: np.random.Generator) -> Population:
    """Turn a share of the KL 2 subjects into KL 1 (doubtful narrowing).

    The covariate model draws KL 2-4. Where KL 1 is eligible, each KL 2 subject becomes KL 1
    with probability r / (1 + r), r = ``kl1_probability_rel_kl2``; a KL 1 subject's disease
    drive is ``kl1_damage_drive_rel_kl2`` × its KL 2 drive and its baseline matrix content
    ``kl1_baseline_matrix_rel`` (``trial/products.toml``). A new population is returned.
    """
    factors = product_parameters()
    r = factors.value("kl1_probability_rel_kl2")
    kl = pop.covariates["kl_grade"].to_numpy()
    to_kl1 = (kl == 2) & (rng.random(len(kl)) < r / (1.0 + r))
    params = dict(pop.parameters)
    params["joint_damage_drive"] = np.where(to_kl1, params["joint_damage_drive"]
                                            * factors.value("kl1_damage_drive_rel_kl2"), params["joint_damage_drive"])
    # the baseline state reads baseline_matrix_kl<grade>_rel for the subject's grade
    params["baseline_matrix_kl1_rel"] = np.full(len(kl), factors.value("kl1_baseline_matrix_rel"))
    cov = pop.covariates.assign(kl_grade=np.where(to_kl1, 1, kl))
    return Population(cov, params, pop.parameter_set)


def randomise(scenario: Scenario, enrolment: Enrolment, arms: tuple[ArmProtocol, ...],
              rng: np.random.Generator) -> Allocation:
    """Allocate the enrolled subjects to arms (permuted blocks; sentinel pairs in cohorts)."""
    design = scenario.design
    rows, arm_index = [], []
    if design.cohorts:
        start = 0
        for k, cohort in enumerate(design.cohorts):
            seq = permuted_blocks(cohort.n_active, cohort.n_placebo, design.block_size, rng, design.sentinel)
            for j, active in enumerate(seq):
                sentinel = design.sentinel and j < 2 and cohort.n_placebo > 0
                arm_index.append(k + 1 if active else 0)
                rows.append({"subject_id": start + j + 1, "cohort": k + 1, "sentinel": bool(sentinel),
                             "randno": f"R{k + 1:02d}{j + 1:03d}"})
            start += len(seq)
    else:
        seq = permuted_blocks_arms([a.n for a in design.arms], design.block_size, rng)
        arm_index = list(seq)
        rows = [{"subject_id": j + 1, "cohort": 1, "sentinel": False, "randno": f"R01{j + 1:03d}"}
                for j in range(len(seq))]
    arm_index = np.asarray(arm_index, dtype=int)
    chosen = [arms[i] for i in arm_index]
    subjects = pd.DataFrame({name: [r[name] for r in rows] for name in ("subject_id", "cohort", "sentinel", "randno")}
                            | {"active": [a.label != PLACEBO_LABEL for a in chosen], "arm": [a.label for a in chosen],
                               "product": [a.product.kind for a in chosen], "dose": [a.dose for a in chosen],
                               "dose_unit": [a.dose_unit for a in chosen],
                               "dose_model_amount": [a.model_amount for a in chosen]})
    subjects = subjects.merge(enrolment.population.covariates, on="subject_id")
    return Allocation(subjects, arms, arm_index)


def simulate_arms(population: Population, allocation: Allocation, t_visits: np.ndarray, model: KneeModel,
                  solver, on_solver_failure: str = "raise", factors: ParameterSet | None = None) -> SimulationResult:
    """Solve every subject with its arm's parameter vector and injections (one solver call).

    With ``on_solver_failure="drop"`` failed subjects keep NaN states and ``result.failed`` marks
    them (the trial drops and counts them when it assembles its records).
    """
    params = {k: np.array(v, copy=True) for k, v in population.parameters.items()}
    for i, arm in enumerate(allocation.arms):
        mask = allocation.arm_index == i
        if mask.any():
            for name, values in arm.subject_parameters(population.parameters, factors).items():
                params[name] = np.where(mask, values, params[name])
    treated = Population(population.covariates, params, population.parameter_set)
    doses = [arm.model_doses() for arm in allocation.protocols()]
    return simulate(treated, t_visits, doses, model=model, solver=solver, on_solver_failure=on_solver_failure)


def observe(scenario: Scenario, allocation: Allocation, symptoms: BaselineSymptoms, result: SimulationResult,
            t_visits: np.ndarray, rngs: dict[str, np.random.Generator], obs,
            factors: ParameterSet | None = None) -> Observed:
    """Scores (with HA relief; each injection renews the placebo course), MRI and biomarkers,
    dropout and AEs of every subject."""
    factors = factors or product_parameters()
    sol, params = result.solution, result.population.parameters
    protocols = allocation.protocols()
    relief = relief_fraction(t_visits, [a.ha_injection_days() for a in protocols],
                             factors.value("ha_pain_relief_peak_fraction"), factors.value("ha_peak_day"))
    drive = relieved_drive(sol["pain_drive_rel"], relief, obs.value("pain_drive_exponent"))
    scores = observe_clinical(symptoms, drive, thickness_mm(sol, params), t_visits, rngs["endpoints"], obs,
                              injection_days=[list(a.injection_days) for a in protocols])
    scores.update(observe_imaging_and_biomarkers(sol, params, rngs["endpoints"], obs))
    n = len(protocols)
    dropout_day = rngs["dropout"].exponential(365.25 / scenario.dropout.rate_per_year, n) \
        if scenario.dropout.rate_per_year > 0 else np.full(n, np.inf)
    follow_up = np.minimum(dropout_day, t_visits[-1])
    subjects = allocation.subjects
    ae = simulate_adverse_events(subjects["subject_id"], [a.ae_injections() for a in protocols], follow_up,
                                 rngs["adverse_events"], obs)
    observed_until = pd.Series(follow_up, index=subjects["subject_id"].to_numpy())
    ae = ae[ae["onset_day"] <= ae["subject_id"].map(observed_until)].reset_index(drop=True)
    observations = _observation_table(scores, subjects["subject_id"].to_numpy(), scenario, t_visits)
    return Observed(observations, ae, dropout_day, follow_up)


def review(scenario: Scenario, subjects: pd.DataFrame, ae: pd.DataFrame) -> Review:
    """The safety review between cohorts (see the module docstring)."""
    enrolled, decisions = _safety_review(scenario, subjects, ae)
    return Review(tuple(enrolled), decisions)


def conduct_trial(scenario: Scenario, progress: Callable[[str], None] | None = None,
                  model_set: ParameterSet | None = None) -> TrialRun:
    """Run the virtual trial described by ``scenario``: screen → randomise → simulate → observe → review.

    ``model_set``: the scenario's parameter set already loaded (``ParameterSet.load(
    scenario.model.parameter_set)``), so that repeated trials of one scenario (``oasim power``)
    read and parse it once; by default it is loaded here.
    """
    say = progress or (lambda _msg: None)
    rngs = streams(scenario.seed)
    model = KneeModel()
    parameter_set, obs, factors, draw = trial_parameters(scenario, model_set)
    validate_for_model(parameter_set, model.parameter_names)
    arms = arm_protocols(scenario, parameter_set)
    t_visits = np.asarray(scenario.visit_days)

    say("screening")
    enrolment = screen(scenario, parameter_set, scenario.design.n_total, rngs["screening"])
    say("randomising")
    allocation = randomise(scenario, enrolment, arms, rngs["randomisation"])
    say(f"simulating {scenario.design.n_total} subjects")
    solver = SOLVERS[scenario.model.solver](rtol=scenario.model.rtol)
    result = simulate_arms(enrolment.population, allocation, t_visits, model, solver, scenario.model.on_solver_failure,
                           factors)
    say("observing endpoints")
    seen = observe(scenario, allocation, enrolment.symptoms, result, t_visits, rngs, obs, factors)
    say("safety review")
    decided = review(scenario, allocation.subjects, seen.adverse_events)
    return replace(_assemble(scenario, enrolment, allocation, seen, decided, t_visits, result.failed),
                   parameter_draw=draw)


def trial_parameters(scenario: Scenario, model_set: ParameterSet | None = None,
                     ) -> tuple[ParameterSet, ParameterSet, ParameterSet, dict]:
    """(model set, observation model, product factors, the posterior draw used) of one trial.

    A calibrated set (``human_calibrated``) contributes one posterior draw per trial, from a
    stream of its own, so replicates of ``oasim power`` (one seed each) carry parameter
    uncertainty; the draw's observation and product parameters replace theirs. ``model_set``:
    the scenario's set if the caller has loaded it already (it is not modified).
    """
    parameter_set = model_set if model_set is not None else ParameterSet.load(scenario.model.parameter_set)
    obs, factors = load_observation_parameters(), product_parameters()
    draw_rng = np.random.default_rng(np.random.SeedSequence([scenario.seed, 0x0A5C]))
    parameter_set, other = parameter_set.posterior_draw(draw_rng)
    note = "posterior draw of " + scenario.model.parameter_set
    obs_over = {k: v for k, v in other.items() if k in obs}
    factor_over = {k: v for k, v in other.items() if k not in obs}
    if obs_over:
        obs = obs.with_values(note, **obs_over)
    if factor_over:
        factors = factors.with_values(note, **factor_over)
    draw = {} if parameter_set.posterior is None else {
        "draw_index": parameter_set.draw_index, "n_draws": parameter_set.n_draws,
        **{k: parameter_set.value(k) for k in parameter_set.posterior.columns if k in parameter_set}, **other}
    return parameter_set, obs, factors, draw


def _assemble(scenario: Scenario, enrolment: Enrolment, allocation: Allocation, seen: Observed, decided: Review,
              t_visits: np.ndarray, failed: np.ndarray) -> TrialRun:
    """Keep what the trial records: enrolled cohorts, visits before dropout, MRI visits only;
    subjects the solver failed on (only possible with ``on_solver_failure="drop"``) are dropped and counted."""
    subjects = allocation.subjects
    keep = subjects["cohort"].isin(decided.enrolled_cohorts).to_numpy()
    n_failed = int((keep & failed).sum())
    keep &= ~failed
    observations = seen.observations
    sid = observations["subject_id"].to_numpy() - 1
    visible = observations["t_days"].to_numpy() <= seen.dropout_day[sid]
    mri_days = {m * DAYS_PER_MONTH for m in scenario.visits.mri_months}
    paramcd = observations["paramcd"]
    is_mri = paramcd.isin([c for c in paramcd.unique() if c.startswith("MRI_")]).to_numpy()
    visible &= ~is_mri | observations["t_days"].isin(mri_days).to_numpy()
    observations = observations[visible & keep[sid]]
    subjects = subjects.assign(dropout_day=np.where(seen.dropout_day < t_visits[-1], np.round(seen.dropout_day), np.nan),
                               follow_up_days=np.round(seen.follow_up_days))
    kept_arms = allocation.arm_index[keep]
    subjects = subjects[keep].reset_index(drop=True)
    ae = seen.adverse_events[seen.adverse_events["subject_id"].isin(subjects["subject_id"])].reset_index(drop=True)
    exposure = _exposure(scenario, subjects, [allocation.arms[i] for i in kept_arms])
    return TrialRun(scenario, subjects, enrolment.screening, observations.reset_index(drop=True), ae, exposure,
                    decided.decisions, allocation.arms, n_failed)


def _exposure(scenario: Scenario, subjects: pd.DataFrame, protocols: list[ArmProtocol]) -> pd.DataFrame:
    """EX rows: one per injection, read from each subject's arm protocol."""
    sentinel_days = scenario.design.sentinel_days if scenario.design.sentinel and scenario.design.cohorts else 0.0
    return pd.DataFrame([
        {"subject_id": sid, "day": day, "product": arm.exposure_product(), "dose": arm.dose,
         "dose_unit": arm.dose_unit, "sentinel_offset_days": 0.0 if sentinel else sentinel_days}
        for sid, sentinel, arm in zip(subjects["subject_id"].tolist(), subjects["sentinel"].tolist(), protocols)
        for day in arm.injection_days],
        columns=["subject_id", "day", "product", "dose", "dose_unit", "sentinel_offset_days"])


def _dose_label(dose: float, unit: str) -> str:
    return f"{dose:.3g} {unit}"


def _observation_table(scores, subject_ids, scenario, t_visits) -> pd.DataFrame:
    """Long table: per score (in ``scores`` order), per subject, per visit; columns built once."""
    names = np.array([f"MONTH {m:g}" if m else "BASELINE" for m in scenario.visits.months], dtype=object)
    n, v, k = len(subject_ids), len(t_visits), len(scores)
    return pd.DataFrame({"subject_id": np.tile(np.repeat(subject_ids, v), k), "visit": np.tile(names, n * k),
                         "visitnum": np.tile(np.arange(v), n * k), "t_days": np.tile(t_visits, n * k),
                         "paramcd": np.repeat(np.array(list(scores), dtype=object), n * v),
                         "value": np.concatenate([values.reshape(-1) for values in scores.values()])})


def _safety_review(scenario: Scenario, subjects: pd.DataFrame, ae: pd.DataFrame):
    review_spec = scenario.design.safety_review
    has_dlt = dlt_from_adverse_events(ae, subjects["subject_id"], review_spec.dlt_min_grade,
                                      review_spec.dlt_window_days).to_numpy()
    if not scenario.design.cohorts:  # parallel groups: one cohort, reported, never stopped
        return [1], [{"cohort": 1, "n_subjects": len(subjects), "n_dlt": int(has_dlt.sum()),
                      "decision": "none (parallel-group design)"}]
    enrolled, decisions = [], []
    design = None
    if review_spec.rule == "escalation_design":
        from .escalation import design_from_spec

        spec = dict(review_spec.escalation or {})
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
            stop = n_dlt > review_spec.max_dlt_per_cohort
            entry["decision"] = "stop escalation" if stop else "escalate"
        decisions.append(entry)
        if stop:
            break
    return enrolled, decisions
