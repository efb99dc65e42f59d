"""What the worker process runs: explorer, trial, escalation and QC, each returning plain data.

Every task takes validated plain data (never a path chosen by the browser: folders are made by
the server) and a ``progress`` callback, and returns a :func:`result` dict that the page
renders: figures (inline SVG), tables (columns + rows), notes and a verdict.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import numpy as np

Progress = Callable[[str], None]

#: months shown in the explorer's table (those within the follow-up)
TABLE_MONTHS = (0, 1, 3, 6, 12, 24, 36, 48, 60)
#: explorer panels: key output -> label with unit
TABLE_COLUMNS = {"il1b_pg_per_ml": "IL-1β pg/mL", "m1_m2_ratio": "M1/M2",
                 "cartilage_thickness_change_pct": "thickness change %", "pain_drive_rel": "pain drive"}
STATE_PANELS = {
    "il1b_pg_per_ml": "synovial IL-1β (pg/mL)",
    "il10_pg_per_ml": "synovial IL-10 (pg/mL)",
    "m1_m2_ratio": "macrophage M1/M2 ratio",
    "cartilage_thickness_change_pct": "cartilage thickness change (%)",
    "chondrocyte_viability": "viable chondrocytes (fraction of healthy)",
    "pain_drive_rel": "nociceptive drive (relative)",
}
BAND_PERCENTILES = (5.0, 95.0)


def result(title: str, figures=(), tables=(), notes=(), verdict: str | None = None, **extra) -> dict:
    """The common shape of a task result."""
    return {"title": title, "figures": list(figures), "tables": list(tables), "notes": list(notes),
            "verdict": verdict, **extra}


def table(title: str, frame) -> dict:
    """A pandas frame as ``{"title", "columns", "rows"}`` of display strings."""
    import pandas as pd

    def cell(v):
        if v is None or (np.isscalar(v) and pd.isna(v)) or v is pd.NA:
            return "–"
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, (float, np.floating)):
            return f"{v:.4g}"
        return str(v)

    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    return {"title": title, "columns": [str(c) for c in frame.columns], "numeric": numeric,
            "rows": [[cell(v) for v in row] for row in frame.astype(object).itertuples(index=False)]}


def warm_up(progress: Progress) -> None:
    """Load the compiled solver once (a one-day simulation of one subject)."""
    from ..parameters import ParameterSet
    from ..population import Population
    from ..simulation import simulate

    progress("loading the compiled solver")
    population = Population.sample(ParameterSet.load("human"), 1, np.random.default_rng(0), kl_grade=3)
    simulate(population, [0.0, 1.0], None, burn_in_days=1.0)


class _NoiseFree:
    """Observation parameters with every measurement-noise SD at 0: expected (true) scores."""

    def __init__(self, obs):
        self._obs = obs

    def value(self, name: str) -> float:
        return 0.0 if name.endswith("_noise_sd") else self._obs.value(name)


def explore(spec: dict, progress: Progress) -> dict:
    """Typical subject and population band of the key states and WOMAC/VAS, with and without product."""
    import pandas as pd

    from ..endpoints import load_observation_parameters, observe_clinical, sample_baseline_symptoms
    from ..parameters import ParameterSet
    from ..population import Population
    from ..protocol import Dose
    from ..readouts import key_outputs, thickness_mm
    from ..simulation import simulate
    from . import plots
    from .specs import ExplorerSpec

    s = ExplorerSpec.model_validate(spec)
    ps = ParameterSet.load("human")
    n = s.n_subjects
    population = Population.sample(ps, n, np.random.default_rng(s.seed), kl_grade=s.kl_grade)
    typical = Population.sample(ps, 1, np.random.default_rng(s.seed), kl_grade=s.kl_grade, variability=False)
    t_days = np.linspace(0.0, s.years * 365.25, int(round(s.years * 52)) + 1)
    doses = tuple(Dose(s.product, s.dose, s.unit, d) for d in s.injection_days)
    progress(f"simulating {n} KL {s.kl_grade} subjects with {s.dose:g} {s.unit} × {len(doses)}")
    treated = simulate(population, t_days, [doses] * n)
    progress(f"simulating the same {n} subjects without product")
    control = simulate(population, t_days, None)
    progress("simulating the typical subject")
    typical_treated = simulate(typical, t_days, [doses])
    typical_control = simulate(typical, t_days, None)

    ok = treated.solution.ok & control.solution.ok
    out_t = key_outputs(treated.solution, population.parameters)
    out_typ_t = key_outputs(typical_treated.solution, typical.parameters)
    out_typ_c = key_outputs(typical_control.solution, typical.parameters)
    panels = []
    for key, label in STATE_PANELS.items():
        low, high = np.percentile(out_t[key][ok], BAND_PERCENTILES, axis=0)
        panels.append({"label": label, "typical": out_typ_t[key][0], "control": out_typ_c[key][0],
                       "low": low, "high": high})
    what = f"{s.product} {s.dose:g} {s.unit} on day {', '.join(f'{d:g}' for d in s.injection_days)}"
    band = f"population {BAND_PERCENTILES[0]:g}–{BAND_PERCENTILES[1]:g}th pct (n={int(ok.sum())}, {what.split(' on')[0]})"
    states_svg = plots.time_courses(t_days, panels, f"KL {s.kl_grade}: {what}", f"typical subject, {what.split(' on')[0]}",
                                    "typical subject, no product", band)

    progress("expected WOMAC and VAS")
    obs = _NoiseFree(load_observation_parameters())
    symptoms = sample_baseline_symptoms(n, np.random.default_rng([s.seed, 1]), obs)
    since_first = t_days - s.injection_days[0]
    scores = {}
    for arm, sim in (("product", treated), ("saline", control)):
        sol = sim.solution
        scores[arm] = observe_clinical(symptoms, sol["pain_drive_rel"], thickness_mm(sol, population.parameters),
                                       since_first, np.random.default_rng([s.seed, 2]), obs,
                                       injection_days=[d - s.injection_days[0] for d in s.injection_days])
    clinical = {}
    months = t_days / 30.4375
    for code, label in (("WOMAC_TOTAL", "WOMAC total (0–96)"), ("VAS_PAIN", "VAS pain (mm)")):
        series = {}
        for arm, name in (("product", s.product), ("saline", "saline (IA injection, no product)")):
            x = scores[arm][code][ok]
            mean = x.mean(axis=0)
            se = x.std(axis=0, ddof=1) / np.sqrt(len(x))
            series[name] = (mean, mean - 1.96 * se, mean + 1.96 * se)
        clinical[code] = plots.arm_means(months, series, f"{label}: expected course\n(mean of noise-free scores, 95% CI)",
                                         "months after first injection", label)

    rows = []
    for month in (m for m in TABLE_MONTHS if m <= s.years * 12 + 1e-9):
        k = int(np.argmin(np.abs(months - month)))
        row = {"month": month}
        for key, name in TABLE_COLUMNS.items():
            lo, med, hi = np.percentile(out_t[key][ok, k], (BAND_PERCENTILES[0], 50, BAND_PERCENTILES[1]))
            row[name] = f"{med:.3g} [{lo:.3g}, {hi:.3g}]"
        for code, name in (("WOMAC_TOTAL", "WOMAC"), ("VAS_PAIN", "VAS")):
            row[f"{name} product"] = f"{scores['product'][code][ok, k].mean():.1f}"
            row[f"{name} saline"] = f"{scores['saline'][code][ok, k].mean():.1f}"
        rows.append(row)
    notes = [f"{int((~ok).sum())} of {n} subjects failed to integrate and are left out"] if (~ok).any() else []
    return result(f"Model explorer: {what}, KL {s.kl_grade}",
                  figures=[{"title": "key states", "svg": states_svg},
                           {"title": "WOMAC total", "svg": clinical["WOMAC_TOTAL"], "half": True},
                           {"title": "VAS pain", "svg": clinical["VAS_PAIN"], "half": True}],
                  tables=[table("population at selected months: median [P5, P95] with product; mean WOMAC total and VAS "
                                "(noise-free) per arm", pd.DataFrame(rows))],
                  notes=notes)


def _visit_month(label: str) -> float | None:
    match = re.search(r"(\d+(?:\.\d+)?)", label)
    return float(match.group(1)) if match else None


def trial(scenario: dict, out_dir: str, progress: Progress) -> dict:
    """Run a trial scenario into ``out_dir`` (made by the server) and summarise it."""
    import pandas as pd

    from ..scenario import Scenario
    from ..trial.run import run_trial
    from . import plots

    spec = Scenario.from_dict(scenario, "dashboard")
    summary = run_trial(spec, Path(out_dir), progress)
    code, month, level = summary.primary_endpoint, summary.primary_visit_month, summary.ci_level_text
    series, arm_rows = {}, []
    for arm in summary.arms:
        change = arm.change_from_baseline.get(code, {})
        points = sorted((m, v) for m, v in ((_visit_month(k), v) for k, v in change.items())
                        if m is not None and v.mean is not None)
        if points:
            x = [0.0] + [m for m, _ in points]
            mean = np.array([0.0] + [v.mean for _, v in points])
            low = np.array([0.0] + [v.ci[0] if v.ci[0] is not None else v.mean for _, v in points])
            high = np.array([0.0] + [v.ci[1] if v.ci[1] is not None else v.mean for _, v in points])
            series[arm.arm] = (np.array(x), mean, low, high)
        primary = next((v for m, v in points if m == month), None)
        ancova = arm.ancova_vs_placebo.get(code)
        ae = arm.adverse_events
        arm_rows.append({
            "arm": arm.arm, "dose": f"{arm.dose:g} {arm.dose_unit}".strip(), "randomised": arm.n_randomised,
            "completed": arm.n_completed,
            f"Δ {code} month {month:g} [{level} CI]":
                f"{primary.mean:.2f} [{primary.ci[0]:.2f}, {primary.ci[1]:.2f}]" if primary else "–",
            f"vs placebo (ANCOVA) [{level} CI], p":
                f"{ancova.estimate:.2f} [{ancova.ci[0]:.2f}, {ancova.ci[1]:.2f}], p={ancova.p_value:.3f}"
                if ancova else "–",
            "AEs (related, ≥G3)": f"{ae.events} ({ae.related_events}, {ae.grade3_or_more})",
        })
    figures = []
    if series:
        xs = next(iter(series.values()))[0]
        same_x = {name: v[1:] for name, v in series.items() if len(v[0]) == len(xs)}
        figures.append({"title": code, "svg": plots.arm_means(
            xs, same_x, f"{code}: mean change from baseline per arm ({level} CI)", "month", f"change in {code}")})
    decisions = pd.DataFrame([d.to_dict() for d in summary.cohort_decisions])
    s = summary.screening
    notes = [f"screened {s.screened}, screen failures {s.screen_failures}", *summary.notes]
    if summary.dose_response:
        notes.append(f"MCP-Mod dose-response detected: {summary.dose_response.dose_response_detected}")
    return result(f"Trial {summary.scenario}", figures=figures,
                  tables=[table("arms", pd.DataFrame(arm_rows)), table("cohort decisions", decisions)],
                  notes=notes, report=True, download=True,
                  provenance=f"seed {summary.provenance['seed']} · scenario digest "
                             f"{summary.provenance['scenario_digest']}")


def escalation(spec: dict, progress: Progress) -> dict:
    """BOIN boundary table and operating characteristics of a design under a true curve."""
    from ..trial.escalation import boin_boundaries, design_from_spec, simulate_trials
    from . import plots
    from .specs import EscalationSpec

    s = EscalationSpec.model_validate(spec)
    tables = []
    progress("BOIN boundaries")
    bounds = boin_boundaries(s.target)
    frame = bounds.to_frame(s.table_max_n, 1)
    boundary = frame.set_index("n").T.reset_index().rename(columns={"index": "number of subjects treated"})
    boundary["number of subjects treated"] = boundary["number of subjects treated"].map({
        "escalate_if_dlt_le": "escalate if # DLT ≤", "deescalate_if_dlt_ge": "de-escalate if # DLT ≥",
        "eliminate_if_dlt_ge": "eliminate if # DLT ≥"})
    boundary.columns = [str(c) for c in boundary.columns]
    tables.append(table(f"BOIN boundaries, target {s.target:g}: λe {bounds.lambda_e:.4f}, λd {bounds.lambda_d:.4f}",
                        boundary))
    design = design_from_spec({"design": s.design, "num_doses": len(s.truth), "target": s.target,
                               "cohort_size": s.cohort_size, "max_n": s.max_n}, prefix="escalation")
    progress(f"simulating {s.n_trials} trials of {s.design}")
    oc = simulate_trials(design, list(s.truth), s.n_trials, s.seed)
    frame = oc.to_frame()
    tables.append(table(f"operating characteristics: {oc.design} ({oc.n_trials} trials, seed {oc.seed})", frame))
    figure = plots.selection_bars(frame["dose"].to_numpy(), frame["pct_selected"].to_numpy(),
                                  np.asarray(s.truth), s.target, f"{oc.design}: dose selected as MTD")
    notes = [f"no dose selected (early stop) in {100 * oc.prob_no_dose:.1f}% of trials; mean subjects "
             f"{oc.mean_total_n:.2f}; mean DLTs {oc.mean_total_dlt:.2f}; overall DLT rate {oc.overall_dlt_rate:.3f}"]
    return result(f"Escalation: {s.design}, target {s.target:g}", figures=[{"title": "selection", "svg": figure}],
                  tables=tables, notes=notes)


def qc(lot_dir: str, out_dir: str, progress: Progress) -> dict:
    """Release verdict of an uploaded lot folder (extracted by the server)."""
    from ..qc.release import run_qc, write_release

    progress("reading the lot and gating the flow cytometry")
    release = run_qc(lot_dir)
    progress("writing the release report")
    write_release(release, out_dir)
    verdict = f"lot {release.lot.lot_id}: {'PASS — releasable' if release.passed else 'FAIL — not releasable'}"
    return result(f"QC release: lot {release.lot.lot_id}", tables=[table("release checks (sources in the full report)",
                                release.checks().drop(columns="source"))],
                  notes=release.summary().splitlines()[-2:], verdict=verdict, passed=release.passed,
                  report=True, download=True)


TASKS: dict[str, Callable[..., dict]] = {"explore": explore, "trial": trial, "escalation": escalation, "qc": qc}
