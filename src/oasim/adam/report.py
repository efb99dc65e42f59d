"""The report and result files of an :class:`~oasim.adam.AdamAnalysis`.

:func:`analysis_sections` gives the numbered report sections (Table 1, descriptive tables by
visit, ANCOVA with a forest plot, dose-response trend, MMRM, spaghetti plot, safety overview
and TEAEs by SOC/PT); the simulated trial's report adds its own sections around the same ones.
:func:`write_outputs` writes ``report.html``, ``results.json``, ``ard.parquet`` and ``ard.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis._common import level_text
from ..report import figures
from ..report.document import Document, Figure, Paragraph, Section, Table, fmt, fmt_p, readable_dose
from .engine import AdamAnalysis, mmrm_contrasts
from ..io import atomic_output_dir

ANCOVA_METHOD = ("ANCOVA (OLS): {response} ~ treatment{base}{cov}; LS means and differences vs {control} "
                 "with t-based {level} CIs; two-sided p, no multiplicity adjustment.")


def labels_for(arms) -> dict:
    return {a: readable_dose(a) for a in arms}


def _population(a: AdamAnalysis) -> str:
    parts = [f"{a.spec.population} = Y" if a.spec.population else "all subjects with records"]
    parts += [f"{k} = {v!r}" for k, v in a.spec.where]
    return f"{a.dataset}, PARAMCD = {a.paramcd}; " + ", ".join(parts)


def _model_text(a: AdamAnalysis) -> str:
    return ANCOVA_METHOD.format(response=a.response, base=" + BASE" if a.baseline else "",
                                cov="".join(f" + {c}" for c in a.spec.covariates), control=a.control,
                                level=level_text(a.spec.alpha))


VARIABLE_NAMES = {"AGE": "Age (years)", "AGEGR1": "Age group (years)", "SEX": "Sex", "RACE": "Race",
                  "ETHNIC": "Ethnicity", "BMIBL": "BMI (kg/m²)", "BMI": "BMI (kg/m²)", "WEIGHTBL": "Weight (kg)",
                  "HEIGHTBL": "Height (cm)", "KLGRADE": "Kellgren-Lawrence grade", "COHORT": "Dose cohort",
                  "Subjects": "Subjects"}


def ci_columns(alpha: float) -> dict:
    """Headers of the ``ci_low``/``ci_high`` columns at the level ``1 - alpha`` ("90% CI low")."""
    level = level_text(alpha)
    return {"ci_low": f"{level} CI low", "ci_high": f"{level} CI high"}


def blank_repeats(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Show a grouping column's value only on the first row of each run (table layout)."""
    out = df.copy()
    values = out[column].astype(str)
    out[column] = values.where(values != values.shift(), "")
    return out


def analysis_sections(a: AdamAnalysis, benefit: str | None = None, safety: bool = True,
                      notes: bool = True) -> list[Section]:
    """Report sections for one analysed parameter (Table 1 … MMRM, then safety and notes).

    Every interval's header, title and figure is at the analysis' level ``1 - a.spec.alpha``
    (the MMRM table at its fit's ``alpha``)."""
    lab = labels_for(a.arms)
    level, ci_names = level_text(a.spec.alpha), ci_columns(a.spec.alpha)
    pop = _population(a)
    benefit = benefit or (f"Direction of benefit is not recorded in the data: a positive difference means a "
                          f"higher {a.response} than {a.control}.")
    sections = []
    if len(a.table1):
        t1 = blank_repeats(a.table1.assign(variable=a.table1["variable"].map(lambda v: VARIABLE_NAMES.get(v, v))),
                           "variable").rename(columns=lab)
        sections.append(Section("Baseline characteristics", [Table.from_frame(
            "Demographic and baseline characteristics by arm", t1, population=(
                f"ADSL{', ' + a.spec.population + ' = Y' if a.spec.population else ''}"),
            footnotes=["Continuous: n, mean (SD), median, min, max. Categorical: n (% of the arm)."],
            rename={"variable": "Variable", "statistic": ""})]))
    desc = a.descriptive.copy()
    blocks = []
    for var in dict.fromkeys(desc["variable"]):
        d = desc[desc["variable"] == var].assign(arm=lambda x: x["arm"].map(lab))
        d = blank_repeats(d[["visit", "arm", "n", "mean", "sd", "median", "min", "max"]], "visit")
        blocks.append(Table.from_frame(f"{a.param}: {var} by visit and arm", d, population=pop,
                                       rename={"visit": "Visit", "arm": "Arm", "sd": "SD"},
                                       footnotes=["Visits ordered by AVISITN."]))
    if desc["visit"].nunique() > 1:
        blocks.append(Figure(f"{a.param}: mean {a.response} ± {level} CI by visit",
                             figures.mean_by_visit(desc[desc["variable"] == a.response], a.arms, lab, a.response,
                                                   level=1 - a.spec.alpha),
                             population=pop, footnotes=["t-based CIs from the descriptive table: mean ± "
                                                        "t(n − 1)·SD/√n per arm and visit."]))
        blocks.append(Figure(f"{a.param}: individual {a.response} trajectories (red: arm mean)",
                             figures.spaghetti(a.records, a.treatment, a.arms, lab, a.response), population=pop,
                             footnotes=["At most 60 subjects per arm are drawn (the first by USUBJID)."]))
    sections.append(Section(f"{a.param}: descriptive statistics", blocks))
    blocks = [Paragraph(_model_text(a))]
    if len(a.lsmeans):
        blocks.append(Table.from_frame("LS means by visit and arm",
                                       blank_repeats(a.lsmeans.assign(arm=a.lsmeans["arm"].map(lab)), "visit"),
                                       population=pop, rename={"visit": "Visit", "arm": "Arm", "estimate": "LS mean",
                                                               "se": "SE", **ci_names}))
    if len(a.pairwise):
        p = a.pairwise.assign(arm=a.pairwise["arm"].map(lab), reference=a.pairwise["reference"].map(lab))
        blocks.append(Table.from_frame(f"Differences vs {lab[a.control]}", blank_repeats(p, "visit"), population=pop,
                                       footnotes=[_model_text(a), benefit],
                                       rename={"visit": "Visit", "arm": "Arm", "reference": "Reference",
                                               "estimate": "Difference", "se": "SE", **ci_names,
                                               "p_value": "p"}))
        f = p.assign(label=p["visit"].astype(str) + ": " + p["arm"])
        blocks.append(Figure(f"Forest plot: difference vs {lab[a.control]} in {a.response} ({level} CI)",
                             figures.forest(f, f"difference in {a.response}", benefit), population=pop,
                             footnotes=[benefit]))
    sections.append(Section(f"{a.param}: ANCOVA vs control", blocks))
    if len(a.dose_response):
        d = a.dose_response[["visit", "variable", "slope", "se", "df", "ci_low", "ci_high", "p_value", "n"]]
        sections.append(Section(f"{a.param}: dose-response trend test", [Table.from_frame(
            f"Linear trend of {a.response} in {a.spec.trend}", d, population=pop, digits=4,
            footnotes=["OLS slope of the response on the numeric dose variable with the same covariates as the "
                       "ANCOVA; t test of slope = 0."],
            rename={"visit": "Visit", "variable": "Dose variable", "slope": "Slope per unit", "se": "SE",
                    **ci_names, "p_value": "p"})]))
    if a.mmrm is not None:
        c = mmrm_contrasts(a.mmrm, a.control)
        rank = {arm: k for k, arm in enumerate(a.arms)}
        visit_rank = {str(v): k for k, v in enumerate(a.visits["AVISIT"])}
        c = c.iloc[np.lexsort((c["arm"].map(rank).fillna(99), c["visit"].map(visit_rank).fillna(99)))]
        c = blank_repeats(c, "visit")
        c = c.assign(arm=c["arm"].map(lambda x: lab.get(x, x)), reference=c["reference"].map(lambda x: lab.get(x, x)))
        note = (f"MMRM (REML): {a.response} ~ treatment × visit" + (" + BASE × visit" if a.baseline else "")
                + "".join(f" + {v}" for v in a.spec.covariates)
                + f"; unstructured covariance, {a.mmrm.df_method} df; {a.mmrm.n_subjects} subjects, "
                f"{a.mmrm.n_obs} observations; no imputation (missing at random).")
        sections.append(Section(f"{a.param}: mixed model for repeated measures", [Table.from_frame(
            f"MMRM differences vs {lab[a.control]} by visit", c, population=pop, footnotes=[note, benefit],
            rename={"visit": "Visit", "arm": "Arm", "reference": "Reference", "estimate": "Difference",
                    "se": "SE", **ci_columns(a.mmrm.alpha), "p_value": "p"})]))
    if safety:
        sections.extend(safety_sections(a.ae_overview, a.ae_by_term, lab))
    if notes and a.notes:
        sections.append(Section("Analysis decisions and notes", [Paragraph(n) for n in a.notes]))
    return sections


def safety_sections(overview: pd.DataFrame, by_term: pd.DataFrame, lab: dict) -> list[Section]:
    if not len(overview):
        return []
    rows = []
    names = {"any_teae": "Any TEAE", "related": "Related TEAE", "grade3_or_more": "TEAE of grade ≥ 3",
             "serious": "Serious TEAE", "leading_to_withdrawal": "TEAE leading to withdrawal"}
    for key, name in names.items():
        rows.append([name] + [_pct(r[key], r["n"]) for r in overview.to_dict("records")])
    arms = [lab.get(a, a) for a in overview["arm"]]
    head = [f"{a} (N={n})" for a, n in zip(arms, overview["n"])]
    blocks = [Table("Overview of treatment-emergent adverse events", ["", *head], rows,
                    population="Safety population (SAFFL = Y), by actual treatment",
                    footnotes=["Subjects with at least one event, n (%); a subject counts once per row.",
                               "Related: AREL/AEREL = Y, RELATED, POSSIBLE, PROBABLE or DEFINITE. Grade ≥ 3: "
                               "ATOXGR (or AETOXGR) ≥ 3, or severity AESEV = SEVERE where no grade is recorded. "
                               "Leading to withdrawal: AEACN = DRUG WITHDRAWN, or the subject left the study for an "
                               "adverse event (ADSL DCSREAS = ADVERSE EVENT or DSRAEFL = Y)."])]
    if len(by_term):
        trows = []
        n_by_arm = dict(zip(overview["arm"], overview["n"]))
        for soc, g in by_term.groupby("soc", sort=True):
            trows.append([soc or "(no SOC)", ""] + ["" for _ in overview["arm"]])
            for r in g.sort_values("pt").to_dict("records"):
                trows.append(["", r["pt"]] + [_pct(r.get(a, 0), n_by_arm[a]) for a in overview["arm"]])
        blocks.append(Table("Subjects with TEAEs by system organ class and preferred term", ["SOC", "PT", *head],
                            trows, population="Safety population (SAFFL = Y)",
                            footnotes=["n (%) of subjects; a subject counts once per SOC/PT."]))
    return [Section("Safety", blocks)]


def _pct(k, n) -> str:
    try:
        k = int(k)
    except (TypeError, ValueError):
        return "–"
    return f"{k} ({100 * k / n:.1f}%)" if n else str(k)


def analysis_document(a: AdamAnalysis, source: str) -> Document:
    from .. import __version__

    return Document(
        title=f"Analysis of {a.param} ({a.paramcd})",
        subtitle=f"{a.dataset} from {source}; treatment variable {a.treatment}; control {a.control}",
        sections=analysis_sections(a),
        provenance=[f"oasim {__version__} · oasim analyse · results also in results.json and ard.parquet"],
    )


def write_outputs(a: AdamAnalysis, out_dir: str | Path, source: str, force: bool = False) -> Path:
    """Write report.html, results.json, ard.parquet and ard.json into ``out_dir`` (atomically)."""
    with atomic_output_dir(out_dir, force) as tmp:
        analysis_document(a, source).write(tmp / "report.html")
        (tmp / "results.json").write_text(json.dumps(a.to_json(), indent=2), encoding="utf-8")
        write_ard(a.ard(), tmp)
    return Path(out_dir)


def write_ard(ard: pd.DataFrame, folder: Path) -> None:
    """``ard.parquet`` and ``ard.json`` (records; NaN → null)."""
    ard.to_parquet(folder / "ard.parquet", index=False)
    records = json.loads(ard.to_json(orient="records"))
    (folder / "ard.json").write_text(json.dumps(records, indent=1), encoding="utf-8")


__all__ = ["analysis_sections", "safety_sections", "write_outputs", "write_ard", "analysis_document", "fmt", "fmt_p"]
