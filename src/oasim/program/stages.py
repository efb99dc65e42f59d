"""The program's stages: each takes its resolved inputs and a seed, runs the project's own
runner (or reads data standing in for it) and returns named outputs, tables and report blocks.

Runners used: :func:`oasim.experiments.run_il1b_assay`, :func:`~oasim.experiments.run_toxicity`,
:func:`~oasim.experiments.run_mouse_oa`, :func:`~oasim.experiments.translate`,
:func:`oasim.trial.escalation.simulate_trials`, :func:`oasim.trial.run.run_trial`,
:func:`oasim.adam.analyse_adam`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..experiments import bench
from ..report.document import Figure, Paragraph, Table
from . import data
from .scenario import ProgramScenario, StageResultError, trial_scenario
from .trail import Missing


@dataclass
class StageOutput:
    outputs: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    blocks: list = field(default_factory=list)
    source: str = "simulated"
    seeded: bool = True  # False: the stage drew no random numbers (deterministic or data)

    def __post_init__(self):
        self.seeded = self.seeded and self.source == "simulated"


@dataclass(frozen=True)
class Context:
    program: ProgramScenario
    work_dir: Path  # the run's (temporary) output folder
    from_reference: frozenset = frozenset()  # "stage.field" resolved from a reference


def _figure(title: str, png: bytes, population: str = "", footnotes=()) -> Figure:
    return Figure(title, png, population, list(footnotes))


def _sci(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``columns`` shown with 3 significant digits (particle counts span many decades)."""
    return frame.assign(**{c: frame[c].map(lambda v: f"{v:.3g}") for c in columns})


def _source(p: dict, ctx: Context) -> str:
    return "simulated" if p.get("source", "simulate") == "simulate" else f"data: {ctx.program.data_path(p['path'])}"


# ---------------------------------------------------------------- in vitro ---------------------------

STIMULATED = "IL-1β"


def _group_name(il1b: float, exo: float) -> str:
    if il1b == 0 and exo == 0:
        return "control"
    if exo == 0:
        return STIMULATED
    return f"{STIMULATED} + Exo {exo:.3g}/mL" if il1b > 0 else f"Exo {exo:.3g}/mL"


def effective_concentration(wells: pd.DataFrame, readout: str, alpha: float) -> tuple[pd.DataFrame, float | None]:
    """Lowest exosome concentration whose IL-1β-stimulated wells differ from IL-1β alone (Dunnett
    on log2 fold change, p < ``alpha``) in the direction of the unstimulated control.

    ``wells``: il1b_ng_per_ml, exosome_per_ml, readout, value (fold change vs control, linear).
    Returns the per-concentration table and the concentration (None when none rescues).
    """
    w = wells[wells["readout"] == readout]
    groups = {_group_name(a, b): np.log2(g["value"].to_numpy(float))
              for (a, b), g in w.groupby(["il1b_ng_per_ml", "exosome_per_ml"], sort=True)}
    stats = bench.compare_groups(groups, STIMULATED, "dunnett")
    p = dict(zip(stats["group"], stats["p_value"]))
    direction = np.sign(np.mean(groups["control"]) - np.mean(groups[STIMULATED])) if "control" in groups else -1.0
    rows, found = [], None
    treated = w[(w["il1b_ng_per_ml"] > 0) & (w["exosome_per_ml"] > 0)]
    for c in sorted(treated["exosome_per_ml"].unique()):
        name = _group_name(float(treated[treated["exosome_per_ml"] == c]["il1b_ng_per_ml"].iloc[0]), c)
        diff = float(np.mean(groups[name]) - np.mean(groups[STIMULATED]))
        rescues = bool(p.get(name, 1.0) < alpha and np.sign(diff) == direction)
        rows.append({"exosome_per_ml": float(c), "log2_fold_vs_il1b": diff, "p_value": p.get(name, np.nan),
                     "rescue": rescues})
        if rescues and found is None:
            found = float(c)
    return pd.DataFrame(rows), found


def run_invitro(p: dict, seed: int, ctx: Context) -> StageOutput:
    from ..experiments import AssayDesign, WellGroup, run_il1b_assay
    from ..experiments.report import assay_bars

    blocks = []
    if p["source"] == "data":
        wells = data.read_invitro_csv(ctx.program.data_path(p["path"]), "invitro.path", p["readout"], p["hour"])
    else:
        il1b = p["il1b_ng_per_ml"]
        groups = (WellGroup("control"), WellGroup(STIMULATED, il1b),
                  *(WellGroup(_group_name(il1b, c), il1b, c) for c in p["exosome_per_ml"]))
        design = AssayDesign(groups, p["system"], (p["hour"],), p["n_wells"], genes=(p["readout"],))
        result = run_il1b_assay(design, np.random.default_rng(seed), seed)
        levels = {g.name: (g.il1b_ng_per_ml, g.exosome_particles_per_ml) for g in groups}
        wells = result.wells.assign(il1b_ng_per_ml=result.wells["group"].map(lambda g: levels[g][0]),
                                    exosome_per_ml=result.wells["group"].map(lambda g: levels[g][1]))
        bars = assay_bars(result.wells, result.stats, p["hour"], [g.name for g in groups])
        blocks.append(_figure(f"IL-1β-stimulated chondrocytes ± exosomes, {p['hour']:g} h", bars,
                              f"{p['system']}, n = {p['n_wells']} wells",
            ["bars: mean, error bars: SD, points: wells; stars: Dunnett vs IL-1β alone"]))
    table, found = effective_concentration(wells, p["readout"], p["alpha"])
    rescue = table.loc[table["exosome_per_ml"] == found, "log2_fold_vs_il1b"]
    blocks.insert(0, Table.from_frame(f"{p['readout']} rescue by concentration", _sci(table, "exosome_per_ml"),
                                      "stimulated wells",
                                      [f"Dunnett vs IL-1β alone on log2 fold change; rescue = p < {p['alpha']:g} "
                                       "towards the unstimulated control"], digits=3,
                                      rename={"exosome_per_ml": "exosomes [particles/mL]"}))
    outputs = {"effective_concentration_per_ml": found if found is not None else
               Missing(f"no concentration rescued {p['readout']} at p < {p['alpha']:g}"),
               "rescue_log2_fold": float(rescue.iloc[0]) if len(rescue) else Missing("no rescue")}
    return StageOutput(outputs, {"wells": wells, "rescue": table}, blocks, _source(p, ctx))


# ---------------------------------------------------------------- toxicity ---------------------------

def run_toxicity_stage(p: dict, seed: int, ctx: Context) -> StageOutput:
    from ..experiments import System, run_toxicity
    from ..experiments.translation import JointScale

    threshold = System.load(p["system"]).value("cytotoxic_viability_pct")
    if p["source"] == "data":
        table = data.read_toxicity_csv(ctx.program.data_path(p["path"]), "toxicity.path")
        stats, highest, ic50 = data.toxicity_summary(table, threshold)
    else:
        result = run_toxicity(p["concentrations_per_ml"], np.random.default_rng(seed), p["system"], p["hours"],
                              p["n_wells"], seed)
        table, stats, highest, ic50 = result.table, result.stats, result.highest_non_toxic_per_ml, result.ic50_per_ml
    v_sf_ml = JointScale.from_system(p["human_system"]).sf_volume_ml
    means = table.groupby("concentration_per_ml")["viability_pct"].agg(["mean", "std", "size"]).reset_index()
    blocks = [Table.from_frame("Chondrocyte viability by exosome concentration", _sci(means, "concentration_per_ml"),
                               p["system"],
                               [f"cytotoxic below {threshold:g}% of vehicle (ISO 10993-5) or significantly below "
                                "vehicle (Dunnett, p < 0.05)"], digits=1,
                               rename={"concentration_per_ml": "exosomes [particles/mL]", "mean": "viability [%]",
                                       "std": "SD", "size": "n"})]
    effective = p.get("effective_concentration_per_ml")
    outputs = {
        "highest_non_toxic_per_ml": highest if highest is not None else
        Missing("even the lowest concentration was toxic"),
        "ic50_per_ml": ic50 if ic50 is not None else Missing("viability never fell below 50%"),
        "max_human_dose_particles": highest * v_sf_ml if highest is not None else Missing("no non-toxic concentration"),
        "safety_margin": highest / effective if highest is not None and effective else
        Missing("no effective concentration"),
    }
    blocks.append(Paragraph(
        f"Highest non-toxic concentration {_num(highest)} particles/mL; × human synovial fluid {v_sf_ml:g} mL "
        f"(parameter set 'human', v_sf_ml) = maximum human dose {_num(outputs['max_human_dose_particles'])} particles"
        + (f"; margin over the in-vitro effective concentration {_num(effective)}/mL: "
           f"×{_num(outputs['safety_margin'])}."
           if effective else ".")))
    return StageOutput(outputs, {"viability": table, "viability_stats": stats}, blocks, _source(p, ctx))


def _num(x) -> str:
    return "–" if x is None or isinstance(x, Missing) else f"{x:.3g}"


# ---------------------------------------------------------------- mouse ------------------------------

VEHICLE = "vehicle"


def oarsi_by_dose(mice: pd.DataFrame, week: float) -> pd.DataFrame:
    """OARSI at ``week`` per exosome dose: mean, reduction vs vehicle (dose 0), Dunnett p vs vehicle.

    ``mice``: dose_particles (0 = vehicle), week, oarsi — one row per mouse.
    """
    at = mice[mice["week"] == week]
    values = {f"{d:.3g}": g["oarsi"].to_numpy(float) for d, g in at.groupby("dose_particles", sort=True)}
    vehicle = f"{0.0:.3g}"
    p = dict(zip(*bench.compare_groups(values, vehicle, "dunnett")[["group", "p_value"]].to_numpy().T))
    doses = sorted(d for d in at["dose_particles"].unique() if d > 0)
    return pd.DataFrame([{"dose_particles": float(d), "oarsi_mean": float(np.mean(values[f"{d:.3g}"])),
                          "reduction_points": float(np.mean(values[vehicle]) - np.mean(values[f"{d:.3g}"])),
                          "p_value": float(p.get(f"{d:.3g}", np.nan))} for d in doses])


def effective_dose(table: pd.DataFrame, target: float, alpha: float | None, week: float) -> tuple[float, float]:
    """(lowest dose reaching the OARSI reduction ``target`` [and Dunnett p < alpha], its reduction)."""
    table["meets_target"] = (table["reduction_points"] >= target) & (
        table["p_value"] < alpha if alpha is not None else True)
    hits = table[table["meets_target"]]
    if len(hits):
        return float(hits["dose_particles"].iloc[0]), float(hits["reduction_points"].iloc[0])
    best = table.loc[table["reduction_points"].idxmax()]
    raise StageResultError("mouse.oarsi_reduction_points", target,
                           f"a reduction some dose reaches: the largest was {best['reduction_points']:.2f} OARSI "
                           f"points at {best['dose_particles']:.3g} particles (p = {best['p_value']:.3g}) at week "
                           f"{week:g}; lower the target or add higher doses")


def _dose_group(dose: float) -> str:
    return f"Exo {dose:.3g}"


def run_mouse(p: dict, seed: int, ctx: Context) -> StageOutput:
    from ..experiments import MouseDesign, MouseGroup, run_mouse_oa
    from ..experiments.report import time_courses
    from ..protocol import Dose

    figures, tables = [], {}
    if p["source"] == "data":
        mice = data.read_mouse_csv(ctx.program.data_path(p["path"]), "mouse.path")
        population = f"mice of {p['path']}"
    else:
        groups = (MouseGroup(VEHICLE), *(MouseGroup(_dose_group(d), tuple(Dose("exosome", d, "particles", day)
                                                                          for day in p["injection_days"]))
                                         for d in p["doses_particles"]))
        design = MouseDesign(groups, p["system"], tuple(p["weeks"]), p["n_per_group"], VEHICLE, "dunnett")
        result = run_mouse_oa(design, np.random.default_rng(seed), seed)
        dose_of = {g.name: (g.doses[0].amount if g.doses else 0.0) for g in groups}
        scores = result.mice[result.mice["readout"] == "oarsi"]
        mice = pd.DataFrame({"dose_particles": scores["group"].map(dose_of), "week": scores["week"],
                             "mouse": scores["mouse"], "oarsi": scores["value"]}).reset_index(drop=True)
        population = f"{p['system']} mice, n = {p['n_per_group']} per group"
        tables = {"mice_all_readouts": result.mice, "stats": result.stats}
        figures = [_figure("OARSI and synovitis over time", time_courses(
            result.mice, "week", ("oarsi", "synovitis"), [g.name for g in groups], "weeks after induction"),
            f"{p['system']} mice", ["mean ± SD per group; points: mice"])]
    week = float(mice["week"].max())
    table = oarsi_by_dose(mice, week)
    alpha = p["alpha"]
    effective, reduction = effective_dose(table, p["oarsi_reduction_points"], alpha, week)
    blocks = [
        Table.from_frame(f"OARSI at week {week:g} by exosome dose", _sci(table, "dose_particles"), population,
                         [f"reduction = vehicle mean − group mean; target ≥ {p['oarsi_reduction_points']:g} points"
                          + (f" with Dunnett p < {alpha:g}" if alpha else "")],
                         digits=2, rename={"dose_particles": "dose [particles/injection]"}),
        *figures,
        Paragraph(f"Effective dose: {effective:.3g} particles per injection on days "
                  f"{', '.join(f'{d:g}' for d in p['injection_days'])} (lowest dose meeting the target)."),
    ]
    outputs = {"effective_dose_particles": effective, "oarsi_reduction_points": reduction,
               "injection_days": list(p["injection_days"])}
    return StageOutput(outputs, {"mice": mice, "oarsi_by_dose": table, **tables}, blocks, _source(p, ctx))


# ---------------------------------------------------------------- translation ------------------------

def round_down(x: float, digits: int) -> float:
    """``x`` rounded down to ``digits`` significant digits (never above a cap)."""
    scale = 10.0 ** (math.floor(math.log10(x)) - digits + 1)
    return float(f"{math.floor(x / scale * (1 + 1e-12)) * scale:.{digits}g}")


def dose_ladder(top: float, n_levels: int, step_ratio: float, digits: int) -> list[float]:
    """``n_levels`` ascending doses ending at ``top``, ``step_ratio`` apart, rounded down."""
    return [round_down(top / step_ratio ** (n_levels - 1 - k), digits) for k in range(n_levels)]


def run_translation(p: dict, seed: int, ctx: Context) -> StageOutput:
    from ..experiments import translate

    source_system = ctx.program.mouse.system if ctx.program.mouse is not None else "mouse_dmm"
    days = tuple(float(d) for d in np.atleast_1d(p["days"]))
    result = translate(float(p["dose_particles"]), source_system, "human", days, p["horizon_days"])
    hed = float(result.doses[p["method"]])
    cap = p.get("cap_particles")
    top = min(hed, cap) if cap is not None else hed
    levels = dose_ladder(top, p["n_levels"], p["step_ratio"], p["significant_digits"])
    ladder = pd.DataFrame({"level": range(1, len(levels) + 1), "dose_particles": levels})
    blocks = [
        Table.from_frame("Human-equivalent dose by rule",
                         _sci(result.to_frame(), "source_dose_particles", "target_dose_particles", "ratio"),
                         f"{source_system} → human knee",
                         [f"rule used: {p['method']}"] + result.assumptions(), digits=3),
        Table.from_frame("Trial dose levels", _sci(ladder, "dose_particles"), "", [
            f"top = min(human-equivalent dose {hed:.3g}, cap {_num(cap)}) = {top:.3g} particles; levels "
            f"{p['step_ratio']:g}× apart, rounded down to {p['significant_digits']} significant digits"], digits=3),
    ]
    trial = ctx.program.trial
    trial_days = tuple(float(d) for d in (trial.scenario.get("schedule", {}).get("injection_days", (0.0,))
                                          if trial is not None else days))
    blocks.append(Paragraph(
        f"Doses are per injection on days {', '.join(f'{d:g}' for d in days)} (the schedule the rule matched)."
        + ("" if trial_days == days else f" The trial injects on days {', '.join(f'{d:g}' for d in trial_days)}: "
           "exposure per injection is matched, total exposure is not.")))
    outputs = {"human_equivalent_dose_particles": hed, "top_dose_particles": top, "human_doses_particles": levels,
               "capped": bool(cap is not None and cap < hed)}
    return StageOutput(outputs, {"methods": result.to_frame(), "dose_levels": ladder}, blocks, "computed", False)


# ---------------------------------------------------------------- escalation -------------------------

def escalation_figure(frame: pd.DataFrame) -> bytes:
    """% selected per dose (bars) and the true P(DLT) (line, right axis), as PNG."""
    import matplotlib.pyplot as plt

    from ..report.figures import to_png

    fig, ax = plt.subplots(figsize=(5.0, 3.2))
    labels = [f"{d:.2g}" for d in frame["dose_particles"]]
    ax.bar(labels, frame["pct_selected"], color="#4c72b0", alpha=0.75)
    ax.set_xlabel("dose [particles]")
    ax.set_ylabel("% of trials selecting the dose")
    ax.set_ylim(0, 100)
    right = ax.twinx()
    right.plot(labels, frame["true_prob_dlt"], color="#c44e52", marker="o")
    right.set_ylabel("true P(DLT)")
    right.set_ylim(0, max(0.05, 1.2 * float(frame["true_prob_dlt"].max())))
    return to_png(fig)


def dlt_definition(p: dict, program: ProgramScenario) -> tuple[tuple[float, ...], int, float]:
    """(injection days, lowest DLT grade, DLT window [days]): the stage's own, else the trial's
    schedule and safety review, else day 0, grade 3, 28 days."""
    body = program.trial.scenario if program.trial is not None and program.trial.source == "simulate" else {}
    review = body.get("design", {}).get("safety_review", {})
    days = p["injection_days"] or tuple(body.get("schedule", {}).get("injection_days", (0.0,)))
    grade = p["dlt_min_grade"] or int(review.get("dlt_min_grade", 3))
    window = p["dlt_window_days"] or float(review.get("dlt_window_days", 28.0))
    return tuple(float(d) for d in days), grade, window


def run_escalation(p: dict, seed: int, ctx: Context) -> StageOutput:
    from ..trial.escalation import design_from_spec, simulate_trials
    from .dlt import dlt_probability

    levels = [float(d) for d in p["dose_levels_particles"]]
    days, grade, window = dlt_definition(p, ctx.program)
    truth = [dlt_probability(d, days, grade, window) for d in levels]
    spec = {**p["design"], "num_doses": len(levels)}
    design = design_from_spec(spec, prefix="escalation.design")
    oc = simulate_trials(design, truth, p["n_trials"], seed)
    frame = oc.to_frame().assign(dose_particles=levels)
    best = int(np.argmax(frame["pct_selected"].to_numpy()))
    blocks = [_figure("True toxicity and dose selection", escalation_figure(frame), f"{p['n_trials']} simulated trials",
                      ["bars: % of trials selecting the dose; line: true P(DLT) from the AE model"]),
              Table.from_frame(f"Operating characteristics of {oc.design}",
                               _sci(frame, "dose_particles", "true_prob_dlt"),
                               f"{p['n_trials']} simulated trials",
                               [f"true P(DLT) from the AE model (observation_human): related grade ≥ {grade} "
                                f"within {window:g} days of an injection on days {', '.join(f'{d:g}' for d in days)}",
                                f"no dose selected in {100 * oc.prob_no_dose:.1f}% of trials"], digits=3)]
    outputs = {"true_prob_dlt": truth, "pct_selected": frame["pct_selected"].tolist(),
               "recommended_dose_particles": levels[best], "design": spec}
    return StageOutput(outputs, {"operating_characteristics": frame}, blocks)


# ---------------------------------------------------------------- trial ------------------------------

def run_trial_stage(p: dict, seed: int, ctx: Context) -> StageOutput:
    from ..data.tables import paramcd_of
    from ..trial.run import run_trial

    if p["source"] == "data":
        folder = ctx.program.data_path(p["path"])
        tables = data.read_adam_folder(folder, "trial.path")
        adsl = tables["ADSL"]
        outputs = {"adam_dir": str(folder), "primary_paramcd": p["paramcd"], "primary_visit": p["visit"],
                   "dose_levels_particles": sorted(float(d) for d in adsl["TRTDOSE"].unique() if d > 0)
                   if "TRTDOSE" in adsl else Missing("ADSL has no TRTDOSE"),
                   "n_randomised": int(len(adsl))}
        blocks = [Paragraph(f"Trial data read from {folder}: {len(adsl)} subjects in ADSL; datasets "
                            f"{', '.join(sorted(tables))}.")]
        return StageOutput(outputs, {}, blocks, _source(p, ctx))
    doses = [float(d) for d in p["dose_levels_particles"]]
    scenario = trial_scenario(ctx.program, doses, p.get("escalation_design"), seed)
    summary = run_trial(scenario, ctx.work_dir / "trial")
    month = scenario.analysis.primary_visit_month
    arms = pd.DataFrame([{"arm": a.arm, "n_randomised": a.n_randomised, "n_completed": a.n_completed,
                          "related_AEs": a.adverse_events.related_events,
                          "grade3_or_more": a.adverse_events.grade3_or_more} for a in summary.arms])
    decisions = pd.DataFrame([d.to_dict() for d in summary.cohort_decisions])
    blocks = [Table.from_frame("Cohorts and safety reviews", decisions, "randomised subjects",
                               [f"safety review: {scenario.design.safety_review.rule}"], digits=0),
              Table.from_frame("Arms", arms, "randomised subjects", ["AEs: events"], digits=0),
              Paragraph(f"Full trial outputs (CDISC datasets, report) in trial/; primary endpoint "
                        f"{scenario.analysis.primary_endpoint} at month {month:g}.")]
    outputs = {"adam_dir": "trial/datasets", "primary_paramcd": paramcd_of(scenario.analysis.primary_endpoint),
               "primary_visit": f"MONTH {month:g}", "dose_levels_particles": doses,
               "n_randomised": int(arms["n_randomised"].sum())}
    return StageOutput(outputs, {"arms": arms, "cohort_decisions": decisions}, blocks)


# ---------------------------------------------------------------- analysis ---------------------------

def run_analysis(p: dict, seed: int, ctx: Context) -> StageOutput:
    from ..adam import AnalysisSpec, analyse_adam

    folder = Path(p["adam_dir"])
    if not folder.is_absolute():
        folder = ctx.work_dir / folder if "analysis.adam_dir" in ctx.from_reference else ctx.program.data_path(folder)
    tables = data.read_adam_folder(folder, "analysis.adam_dir")
    result = analyse_adam(tables, AnalysisSpec(paramcd=p["paramcd"], visits=(p["visit"],), trend=p["trend"]))
    pairwise = result.pairwise[result.pairwise["visit"] == p["visit"]]
    top = pairwise.iloc[-1] if len(pairwise) else None
    trend = result.dose_response[result.dose_response["visit"] == p["visit"]]
    outputs = {"top_dose_difference": float(top["estimate"]) if top is not None else Missing("no active arm"),
               "top_dose_p_value": float(top["p_value"]) if top is not None else Missing("no active arm"),
               "trend_p_value": float(trend["p_value"].iloc[0]) if len(trend) else Missing("no trend variable")}
    shown = pairwise.drop(columns=["visit"])
    blocks = [Table.from_frame(f"{result.param}: difference vs {result.control} at {p['visit']} (ANCOVA)", shown,
                               "analysis set of the ADaM data", [f"{result.response} adjusted for baseline"], digits=2),
              Table.from_frame("Adverse events", result.ae_overview, "safety set", digits=0)]
    if len(trend):
        blocks.append(Paragraph(f"Linear trend in {p['trend']}: slope {trend['slope'].iloc[0]:.4g} per unit, "
                                f"p = {trend['p_value'].iloc[0]:.3g}."))
    return StageOutput(outputs, {"pairwise": pairwise, "lsmeans": result.lsmeans, "ae_overview": result.ae_overview},
                       blocks, f"analysis of {p['adam_dir']}", False)


RUNNERS = {"invitro": run_invitro, "toxicity": run_toxicity_stage, "mouse": run_mouse,
           "translation": run_translation, "escalation": run_escalation, "trial": run_trial_stage,
           "analysis": run_analysis}

TITLES = {"invitro": "In-vitro assay: IL-1β-stimulated chondrocytes and exosome rescue",
          "toxicity": "Toxicity on human chondrocytes", "mouse": "Mouse OA model",
          "translation": "Dose translation to the human knee", "escalation": "Escalation design",
          "trial": "Randomised ascending-dose trial", "analysis": "Analysis of the trial data"}
