"""The CSR-style report of a simulated trial, as a :class:`~oasim.report.document.Document`.

Sections: 1 design and conduct (cohorts and safety-review decisions, CONSORT flow, disposition);
then the standard analysis of the primary endpoint from :func:`oasim.adam.analyse_adam` (Table 1,
descriptive tables by visit, ANCOVA with forest plot, trend test, MMRM, spaghetti plot, safety
overview and TEAEs by SOC/PT, the same sections a real trial's ``oasim analyse`` report has);
then the trial's own: all endpoints at the primary visit, MCP-Mod dose-response, responders,
DLT listing, notes. Arms are in dose order with readable labels (1×10¹¹ particles).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..adam.report import analysis_sections, labels_for, safety_sections
from ..analysis._common import level_text
from ..analysis.safety import dlt_events
from ..data.tables import HIGHER_IS_BETTER, PARAM_LABELS, benefit_text, paramcd_of
from ..errors import FieldError
from . import figures
from .document import Document, Figure, Paragraph, Section, Table, readable_dose

if TYPE_CHECKING:  # the report reads the summary it is given; it imports nothing from the trial
    from ..trial.summary import TrialSummary


def design_section(scenario, dataset, summary: TrialSummary, lab: dict) -> Section:
    adsl = dataset["ADSL"]
    rows = []
    for c in summary.cohort_decisions:
        if scenario.design.cohorts:
            dose = scenario.design.cohorts[c.cohort - 1]
            dose_text = readable_dose(f"{dose.dose:.3g} {dose.unit}")
        else:  # a parallel-group design reviews safety as one cohort of every arm
            dose_text = "every arm (parallel groups)"
        rows.append([str(c.cohort), dose_text, str(c.n_subjects), str(c.n_dlt), c.decision])
    blocks = [Paragraph(scenario.description),
              Table("Dose cohorts and safety-review decisions", ["Cohort", "Dose per injection", "Subjects", "DLTs",
                                                                 "Decision"], rows,
                    population="All randomised subjects of the enrolled cohorts",
                    footnotes=[f"Rule: {scenario.design.safety_review.rule}; a DLT is a related AE of grade ≥ "
                               f"{scenario.design.safety_review.dlt_min_grade} within "
                               f"{scenario.design.safety_review.dlt_window_days:g} days of an injection."])]
    arm_col = "TRT01P"
    order = _arm_order(adsl)
    flow = []
    for arm in order:
        g = adsl[adsl[arm_col] == arm]
        reasons = g.loc[g["COMPLFL"] != "Y", "DCSREAS"].value_counts().to_dict()
        flow.append({"label": lab[arm], "allocated": len(g), "discontinued": reasons,
                     "analysed": int((g.get("EFFFL", pd.Series("Y", index=g.index)) == "Y").sum())})
    s = summary.screening
    blocks.append(Figure("CONSORT flow diagram", figures.consort(s.screened, s.failures_by_reason, flow),
                         population="All screened candidates",
                         footnotes=["A screen failure is counted under the first inclusion criterion it fails.",
                                    "Analysed: efficacy population (EFFFL = Y: at least one post-baseline "
                                    "efficacy record)."]))
    disp = [[f["label"], str(f["allocated"]), str(f["allocated"] - sum(f["discontinued"].values())),
             str(sum(f["discontinued"].values())), str(f["analysed"])] for f in flow]
    blocks.append(Table("Subject disposition by arm", ["Arm", "Randomised", "Completed", "Discontinued", "Analysed"],
                        disp, population="All randomised subjects (ITTFL = Y)"))
    return Section("Study design and conduct", blocks)


def _arm_order(adsl: pd.DataFrame) -> list[str]:
    codes = adsl.groupby("TRT01P")["TRT01PN"].first() if "TRT01PN" in adsl else pd.Series(0, index=adsl["TRT01P"].unique())
    return sorted(codes.index, key=lambda a: (codes[a], a))


def _level(scenario) -> str:
    """The confidence level of the trial's intervals, as a heading prefix ("95%" at alpha 0.05)."""
    return level_text(scenario.analysis.alpha)


def endpoints_section(scenario, analysis, order: list[str], lab: dict) -> Section | None:
    level = _level(scenario)
    rows = []
    for code, res in analysis.ancova.items():
        d = res.differences
        try:
            pcode = paramcd_of(code)
        except FieldError:  # a code the simulation does not write (real or hand-built data)
            pcode = code
        for arm in order:
            if arm in d.index:
                r = d.loc[arm]
                rows.append({"Endpoint": PARAM_LABELS.get(code, code), "Arm": lab[arm], "n": res.n_subjects,
                             "Difference": r["estimate"], "SE": r["se"], f"{level} CI low": r["ci_lower"],
                             f"{level} CI high": r["ci_upper"], "p": r["p_value"],
                             "Better": "higher" if pcode in HIGHER_IS_BETTER else "lower"})
    if not rows:
        return None
    month = scenario.analysis.primary_visit_month
    return Section(f"All endpoints at month {month:g}", [Table.from_frame(
        f"ANCOVA of change from baseline at month {month:g}, each dose vs placebo", pd.DataFrame(rows),
        population="Randomised subjects with baseline and the visit (observed data)", p_columns=("p",),
        footnotes=[f"ANCOVA (OLS): CHG ~ arm + BASE; t-based {level} CIs; two-sided p, no multiplicity adjustment; "
                   "n = subjects in the model (all arms).",
                   "'Better' gives the direction of benefit of each endpoint."])])


def dose_response_section(scenario, analysis, primary: str) -> Section | None:
    dr = analysis.dose_response
    if dr is None:
        return None
    from ..analysis.mcpmod import _full_model

    curves = {}
    for name, fit in dr.fits.iterrows():
        func, _n = _full_model(fit["model"])
        curves[name] = (lambda d, f=func, p=tuple(fit["parameters"]): f(np.asarray(d, float), *p))
    shapes = {} if curves else _candidate_shapes(dr)
    target = dr.target_dose
    target_text = (f"Target dose: {target:.3g} × the lowest dose." if np.isfinite(target) else
                   "Target dose: not estimated (no clinically relevant effect Δ is set for this endpoint).")
    tests = dr.tests.reset_index(names="model")
    level = _level(scenario)
    arms = dr.arm_mean_intervals(scenario.analysis.alpha)
    arm_rows = arms.reset_index(names="dose").astype({"df": int}).assign(dose=lambda f: f["dose"].map("{:g}".format))
    blocks = [Figure(f"MCP-Mod: {PARAM_LABELS.get(primary, primary)} change vs dose with fitted candidate models",
                     figures.dose_response(arms, curves, "dose (multiples of the lowest dose)",
                                           "change from baseline", level, shapes=shapes),
                     population="Randomised subjects with the primary visit",
                     footnotes=[f"Arm means with t-based {level} CIs, as in the table of arm means below; solid "
                                "curves: significant candidate models fitted by least squares; dashed (only when no "
                                "model is significant): the candidate shapes scaled to the placebo and top-dose means.",
                                target_text]),
              Table.from_frame("Arm means in the MCP-Mod model", arm_rows, population="as above", p_columns=(),
                               rename={"dose": "Dose", "mean": "Mean", "se": "SE", "ci_lower": f"{level} CI low",
                                       "ci_upper": f"{level} CI high"},
                               footnotes=[f"Change from baseline ~ dose as a factor (OLS, no baseline adjustment: "
                                          f"the model the contrasts are tested in); SE from the pooled residual SD; "
                                          f"t-based {level} CIs with df = subjects − doses."]),
              Table.from_frame("MCP-Mod multiple contrast test", tests, population="as above",
                               p_columns=("p_adjusted",),
                               rename={"model": "Candidate model", "p_adjusted": "Adjusted p",
                                       "significant": "Significant"},
                               footnotes=[f"One-sided, decreasing; critical value {dr.critical_value:.3f}; "
                                          f"dose-response {'detected' if dr.dose_response_detected else 'not detected'}"
                                          f" at α = {dr.alpha:g}."])]
    return Section("Dose-response (MCP-Mod)", blocks)


def _candidate_shapes(dr) -> dict:
    """Candidate shapes (rows of the contrast table, named like ``emax(3.0,)``) scaled to run
    from the placebo mean to the top-dose mean."""
    import re

    from ..analysis.mcpmod import model_shape

    means = dr.arm_means["mean"]
    d_max = float(means.index.max())
    e0, span = float(means.iloc[0]), float(means.iloc[-1] - means.iloc[0])
    shapes = {}
    for name in dr.contrasts.index:
        m = re.match(r"^(\w+)(?:\((.*)\))?$", str(name))
        if not m:
            continue
        kind = m.group(1)
        params = [float(v) for v in (m.group(2) or "").split(",") if v.strip()]
        top = float(model_shape(kind, np.array([d_max]), params)[0])
        if top == 0:
            continue
        shapes[name] = (lambda d, k=kind, p=params, t=top: e0 + span * model_shape(k, np.asarray(d, float), p) / t)
    return shapes


def responders_section(scenario, analysis, order: list[str], lab: dict) -> Section | None:
    if not analysis.responders:
        return None
    level = _level(scenario)
    blocks = []
    for name, res in analysis.responders.items():
        rates = res.rates.reindex([a for a in order if a in res.rates.index]).reset_index(names="arm")
        rates["arm"] = rates["arm"].map(lambda a: lab.get(a, a))
        comp = res.comparisons.reindex([a for a in order if a in res.comparisons.index]).reset_index(names="arm")
        comp["arm"] = comp["arm"].map(lambda a: lab.get(a, a))
        for col in ("odds_ratio", "or_ci_lower", "or_ci_upper"):  # an exact conditional OR or limit may be infinite
            comp[col] = comp[col].map(lambda v: "∞" if v == np.inf else v).astype(object)
        blocks.append(Table.from_frame(f"{name} responders at month {scenario.analysis.primary_visit_month:g}", rates,
                                       population="Randomised subjects with the primary visit",
                                       rename={"arm": "Arm", "responders": "Responders", "rate": "Rate",
                                               "ci_lower": f"{level} CI low", "ci_upper": f"{level} CI high"},
                                       footnotes=[f"Clopper-Pearson exact {level} CI of the rate."]))
        blocks.append(Table.from_frame(f"{name} responders: each dose vs placebo", comp, population="as above",
                                       rename={"arm": "Arm", "risk_difference": "Risk difference",
                                               "rd_ci_lower": f"RD {level} CI low", "rd_ci_upper": f"RD {level} CI high",
                                               "odds_ratio": "Odds ratio", "or_ci_lower": f"OR {level} CI low",
                                               "or_ci_upper": f"OR {level} CI high", "p_value": "p",
                                               "or_method": "OR method"},
                                       footnotes=["Risk difference with Newcombe hybrid-score CI; odds ratio, its CI "
                                                  "and p by the OR method of the row: logistic regression with "
                                                  "baseline (Wald CI), or, where the logistic model is not estimable "
                                                  "(separation: no or all responders in an arm), the exact "
                                                  "conditional odds ratio with exact CI and Fisher's exact p, "
                                                  "unadjusted for baseline; a higher response rate favours the "
                                                  "arm."]))
    return Section("Responders", blocks)


def dlt_section(scenario, dataset, lab: dict) -> Section:
    review = scenario.design.safety_review
    ae = dataset["ADAE"]
    events = pd.DataFrame({"subject_id": ae["USUBJID"], "grade": ae["ATOXGRN"], "related": ae["AREL"] == "RELATED",
                           "onset_day": ae["ASTDY"], "dose_day": ae["DOSEDY"]})
    dlt = ae[dlt_events(events, review.dlt_min_grade, review.dlt_window_days)]  # the safety review's rule
    rows = [[r.USUBJID, str(r.COHORT), lab.get(r.TRT01A, r.TRT01A), r.AEDECOD, str(r.ATOXGRN), str(r.ASTDY),
             str(r.ASTDY - r.DOSEDY)] for r in dlt.itertuples()]
    if not rows:
        return Section("Dose-limiting toxicities", [Paragraph("No dose-limiting toxicity occurred.")])
    return Section("Dose-limiting toxicities", [Table(
        "Listing of dose-limiting toxicities", ["Subject", "Cohort", "Arm", "Preferred term", "Grade", "Study day",
                                               "Days after injection"], rows,
        population="Safety population (SAFFL = Y)",
        footnotes=[f"DLT: related AE of grade ≥ {review.dlt_min_grade} within {review.dlt_window_days:g} days "
                   f"of an injection."])])


def trial_document(scenario, dataset, analysis, summary: TrialSummary, adam) -> Document:
    order = adam.arms
    lab = labels_for(order)
    primary = scenario.analysis.primary_endpoint
    sections = [design_section(scenario, dataset, summary, lab)]
    sections += analysis_sections(adam, benefit=benefit_text(adam.paramcd, adam.control), safety=False, notes=False)
    for extra in (endpoints_section(scenario, analysis, order, lab),
                  dose_response_section(scenario, analysis, primary),
                  responders_section(scenario, analysis, order, lab)):
        if extra is not None:
            sections.append(extra)
    sections += safety_sections(adam.ae_overview, adam.ae_by_term, lab)
    sections.append(dlt_section(scenario, dataset, lab))
    notes = [*adam.notes, *analysis.notes]
    sections.append(Section("Analysis decisions and notes", [Paragraph(n) for n in notes]))
    prov = summary.provenance
    return Document(
        title=f"{scenario.name}: simulated clinical study report",
        subtitle=f"Primary endpoint {PARAM_LABELS.get(primary, primary)} at month "
                 f"{scenario.analysis.primary_visit_month:g}; arms in dose order",
        sections=sections,
        provenance=[f"seed {prov['seed']} · scenario digest {prov['scenario_digest']} · parameter set "
                    f"{prov['parameter_set']}{_draw_text(prov.get('posterior_draw'))} · oasim {prov['oasim_version']}",
                    "Tables: datasets/*.parquet (ADaM/SDTM), ard.parquet (analysis results), summary.json."],
    )


def _draw_text(draw: dict | None) -> str:
    """' (posterior draw i of n)' for a calibrated parameter set, '' otherwise."""
    if not draw or draw.get("draw_index") is None:
        return ""
    return f" (posterior draw {draw['draw_index']} of {draw['n_draws']}, one per trial seed)"
