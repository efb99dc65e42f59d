"""The standard analysis of one parameter of an ADaM BDS dataset (``oasim analyse``).

Given the datasets of a trial (ADSL, one or more BDS datasets, ADAE) and an
:class:`AnalysisSpec`, :func:`analyse_adam`

1. selects the records: the parameter (PARAMCD), the record filters (``--where``), the
   population flag (from ADSL when present, else from the BDS record), the visits (AVISIT or
   AVISITN; by default every post-baseline visit), visits ordered by AVISITN;
2. checks them: one record per subject and visit, every subject in ADSL, CHG = AVAL − BASE,
   the control arm present; each failure is an :class:`~oasim.errors.AdamError` naming the
   dataset, variable and value and listing what is there;
3. analyses CHG with BASE as covariate when both are present, else AVAL: descriptive
   statistics per arm and visit, the ANCOVA per visit (:func:`oasim.analysis.ancova`; LS means,
   each arm minus control with SE, t-based CI at 1 − alpha and p), a linear dose-response trend test
   (OLS slope of the response on a numeric dose variable, same covariates; statsmodels), and
   the MMRM over the selected visits when there are several (:func:`oasim.analysis.mmrm`,
   unstructured, Kenward–Roger);
4. summarises ADSL (Table 1 by arm) and ADAE over the safety population (subjects with any
   TEAE, related, grade ≥ 3, serious, leading to withdrawal; subjects by SOC and PT).

Decisions taken for the user (default control arm, response variable, where Table 1 comes
from) are listed in ``notes`` and printed in the report.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from ..analysis import ancova, mmrm
from ..errors import AdamError, FieldError, OasimError

CONTINUOUS_BASELINE = ("AGE", "BMIBL", "BMI", "WEIGHTBL", "HEIGHTBL", "KLGRADE")
CATEGORICAL_BASELINE = ("AGEGR1", "SEX", "RACE", "ETHNIC", "KLGR", "COHORT")
RELATED_VALUES = {"Y", "YES", "RELATED", "PROBABLE", "POSSIBLE", "DEFINITE", "PROBABLY RELATED",
                  "POSSIBLY RELATED"}


@dataclass(frozen=True)
class AnalysisSpec:
    """The choices of ``oasim analyse`` (see its ``--help``)."""

    paramcd: str | None = None
    visits: tuple[str, ...] = ()
    population: str | None = None
    where: tuple[tuple[str, str], ...] = ()
    covariates: tuple[str, ...] = ()
    control: str | None = None
    treatment: str | None = None
    trend: str | None = None
    alpha: float = 0.05  # two-sided: every CI at 1 - alpha (oasim analyse --alpha)
    mmrm: bool = True  # fit the MMRM when several visits are selected

    def __post_init__(self):
        if not 0 < self.alpha < 1:  # NaN too: a named error before any fit
            raise FieldError("alpha", self.alpha, "a number with 0 < alpha < 1 (0.05: 95% intervals)")

    @staticmethod
    def parse_where(items) -> tuple[tuple[str, str], ...]:
        """``["ANL01FL=Y", ...]`` → ``(("ANL01FL", "Y"), ...)``."""
        out = []
        for item in items or ():
            var, sep, value = str(item).partition("=")
            if not sep or not var.strip():
                raise AdamError("--where", str(item), str(item), "VAR=VALUE, e.g. ANL01FL=Y")
            out.append((var.strip(), value.strip()))
        return tuple(out)


@dataclass(frozen=True)
class AdamAnalysis:
    """Results of :func:`analyse_adam`; every table is a DataFrame in arm (dose) order."""

    spec: AnalysisSpec
    dataset: str
    paramcd: str
    param: str
    response: str
    baseline: str | None
    treatment: str
    control: str
    arms: list[str]
    visits: pd.DataFrame  # AVISIT, AVISITN in order
    descriptive: pd.DataFrame
    lsmeans: pd.DataFrame
    pairwise: pd.DataFrame
    dose_response: pd.DataFrame
    mmrm: object | None = field(repr=False)
    table1: pd.DataFrame = field(repr=False)
    ae_overview: pd.DataFrame = field(repr=False)
    ae_by_term: pd.DataFrame = field(repr=False)
    records: pd.DataFrame = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def primary_visit(self) -> str:
        return str(self.visits["AVISIT"].iloc[-1])

    def to_json(self) -> dict:
        """JSON-ready results (NaN → None); the shape printed by ``oasim analyse --json``.
        ``ci_level`` (1 − alpha) is the two-sided level of every ``ci_low``/``ci_high``."""
        pv = self.primary_visit
        prim = self.pairwise[self.pairwise["visit"] == pv]
        dr = self.dose_response[self.dose_response["visit"] == pv]
        out = {
            "dataset": self.dataset, "paramcd": self.paramcd, "param": self.param,
            "response": self.response, "baseline": self.baseline, "treatment": self.treatment,
            "control": self.control, "arms": self.arms, "population": self.spec.population,
            "alpha": self.spec.alpha, "ci_level": 1 - self.spec.alpha,
            "where": [f"{k}={v}" for k, v in self.spec.where], "covariates": list(self.spec.covariates),
            "visits": self.visits.to_dict("records"), "primary_visit": pv,
            "pairwise": _records(prim), "pairwise_by_visit": _records(self.pairwise),
            "lsmeans": _records(self.lsmeans),
            "dose_response": _records(dr)[0] if len(dr) else None,
            "dose_response_by_visit": _records(self.dose_response),
            "mmrm": None if self.mmrm is None else {
                "covariance": self.mmrm.covariance_structure, "df_method": self.mmrm.df_method,
                "n_subjects": self.mmrm.n_subjects, "n_obs": self.mmrm.n_obs,
                "contrasts": _records(mmrm_contrasts(self.mmrm, self.control))},
            "descriptive": _records(self.descriptive), "table1": _records(self.table1),
            "ae_overview": _records(self.ae_overview), "ae_by_term": _records(self.ae_by_term),
            "notes": list(self.notes),
        }
        return _clean(out)

    def ard(self) -> pd.DataFrame:
        """Analysis-results table: one row per analysis × parameter × visit × arm × statistic.
        Every ``ci_low``/``ci_high`` pair is followed by a ``ci_level`` row (its two-sided level,
        1 − alpha; the MMRM's at its fit's alpha), so the file says what its intervals are."""
        rows = []

        def add(analysis, frame, stats, arm_col="arm", ref_col=None, visit_col="visit", alpha=self.spec.alpha):
            for rec in frame.to_dict("records"):
                for stat in stats:
                    if stat in rec:
                        rows.append({"ANALYSIS": analysis, "PARAMCD": self.paramcd, "AVISIT": rec.get(visit_col, ""),
                                     "ARM": str(rec.get(arm_col, "")),
                                     "REFARM": str(rec.get(ref_col, "")) if ref_col else "",
                                     "STAT": stat, "VALUE": _num(rec[stat])})
                        if stat == "ci_high":
                            rows.append(rows[-1] | {"STAT": "ci_level", "VALUE": 1.0 - alpha})

        add("DESCRIPTIVE", self.descriptive, ["n", "mean", "sd", "median", "min", "max"])
        add("ANCOVA LSMEAN", self.lsmeans, ["estimate", "se", "ci_low", "ci_high"])
        add("ANCOVA DIFF", self.pairwise, ["estimate", "se", "df", "ci_low", "ci_high", "p_value"], ref_col="reference")
        add("TREND", self.dose_response, ["slope", "se", "ci_low", "ci_high", "p_value"], arm_col="variable")
        if self.mmrm is not None:
            add("MMRM DIFF", mmrm_contrasts(self.mmrm, self.control),
                ["estimate", "se", "df", "ci_low", "ci_high", "p_value"], ref_col="reference", alpha=self.mmrm.alpha)
        for rec in self.ae_overview.to_dict("records"):
            for stat in ("n", "any_teae", "related", "grade3_or_more", "serious", "leading_to_withdrawal"):
                rows.append({"ANALYSIS": "AE OVERVIEW", "PARAMCD": "", "AVISIT": "", "ARM": rec["arm"],
                             "REFARM": "", "STAT": stat, "VALUE": float(rec[stat])})
        ard = pd.DataFrame(rows, columns=["ANALYSIS", "PARAMCD", "AVISIT", "ARM", "REFARM", "STAT", "VALUE"])
        ard.insert(0, "DATASET", self.dataset)
        return ard


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def json_safe(x, digits: int | None = None):
    """JSON-ready values: NaN/inf → None, numpy scalars → Python, floats rounded to ``digits``."""
    if isinstance(x, dict):
        return {str(k): json_safe(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v, digits) for v in x]
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(float(x)):
            return None
        return float(x) if digits is None else round(float(x), digits)
    return x


_clean = json_safe


def _records(df: pd.DataFrame) -> list[dict]:
    return _clean(df.to_dict("records"))


# ----------------------------------------------------------------------------- selection
def _find_bds(tables: dict[str, pd.DataFrame], paramcd: str | None) -> tuple[str, str]:
    bds = {name: df for name, df in tables.items()
           if name not in ("ADSL", "ADAE") and {"PARAMCD", "AVAL", "USUBJID"} <= set(df.columns)}
    if not bds:
        raise AdamError("(folder)", "PARAMCD", None,
                        f"no BDS dataset (with USUBJID, PARAMCD, AVAL); datasets present: {sorted(tables)}")
    codes = {name: list(dict.fromkeys(df["PARAMCD"].astype(str))) for name, df in bds.items()}
    everything = [f"{n}:{c}" for n, cs in codes.items() for c in cs]
    if paramcd is None:
        if len(everything) != 1:
            raise AdamError("(folder)", "PARAMCD", None, f"choose one with --paramcd; have {everything}")
        name, code = everything[0].split(":", 1)
        return name, code
    holders = [n for n, cs in codes.items() if paramcd in cs]
    if not holders:
        raise AdamError("/".join(sorted(bds)), "PARAMCD", paramcd, f"not found; have {everything}")
    return sorted(holders)[0], paramcd


def _match(series: pd.Series, value: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series):
        try:
            return series == float(value)
        except ValueError:
            return pd.Series(False, index=series.index)
    return series.astype(str).str.strip() == value


def _require(df: pd.DataFrame, dataset: str, variable: str, role: str) -> None:
    if variable not in df.columns:
        raise AdamError(dataset, variable, None, f"variable needed as {role} is missing; have {list(df.columns)}")


def _arm_order(records: pd.DataFrame, treatment: str, control: str, adsl: pd.DataFrame | None) -> list[str]:
    arms = list(dict.fromkeys(records[treatment].astype(str)))
    numeric = f"{treatment}N"
    key = None
    for source in (records, adsl):
        if source is not None and {treatment, numeric} <= set(source.columns):
            key = source.groupby(source[treatment].astype(str))[numeric].first().to_dict()
            break
    if key is not None:
        return sorted(arms, key=lambda a: (a != control, _num(key.get(a)), a))
    return sorted(arms, key=lambda a: (a != control, a))


def _default_control(records: pd.DataFrame, treatment: str, notes: list[str]) -> str:
    arms = list(dict.fromkeys(records[treatment].astype(str)))
    numeric = f"{treatment}N"
    if numeric in records.columns:
        zero = records.loc[records[numeric] == 0, treatment].astype(str).unique()
        if len(zero) == 1:
            notes.append(f"control arm {zero[0]!r}: the arm with {numeric} = 0 (set --control to change)")
            return str(zero[0])
    named = [a for a in arms if a.strip().lower() == "placebo"]
    if len(named) == 1:
        notes.append(f"control arm {named[0]!r}: the arm named placebo (set --control to change)")
        return named[0]
    raise AdamError("(records)", treatment, None, f"name the control arm with --control; arms present: {arms}")


def check_in_adsl(rec: pd.DataFrame, adsl: pd.DataFrame, name: str) -> None:
    """Every subject of ``rec`` (dataset ``name``) has an ADSL record, else :class:`AdamError`."""
    missing = sorted(set(rec["USUBJID"].astype(str)) - set(adsl["USUBJID"].astype(str)))
    if missing:
        raise AdamError(name, "USUBJID", missing[:5],
                        f"{len(missing)} subject(s) of {name} absent from ADSL ({len(adsl)} subjects)")


def check_records(rec: pd.DataFrame, name: str) -> None:
    """One record per subject, parameter and visit, and CHG = AVAL − BASE where all three are
    present; else :class:`AdamError` naming the first offending record."""
    key = [k for k in ("USUBJID", "PARAMCD", "AVISITN") if k in rec.columns]
    dup = rec[rec.duplicated(key, keep=False)]
    if len(dup):
        first = dup.iloc[0]
        raise AdamError(name, "/".join(key), tuple(_clean(first[k]) for k in key),
                        f"{len(dup)} records share a subject, parameter and visit: add a record filter "
                        f"(e.g. --where ANL01FL=Y or --where DTYPE=) so there is one per subject and visit")
    if {"AVAL", "BASE", "CHG"} <= set(rec.columns):
        both = rec.dropna(subset=["AVAL", "BASE", "CHG"])
        bad = (both["CHG"] - (both["AVAL"] - both["BASE"])).abs() > 1e-6 * np.maximum(1.0, both["AVAL"].abs())
        if bad.any():
            r = both[bad].iloc[0]
            raise AdamError(name, "CHG", _clean(r["CHG"]),
                            f"CHG must equal AVAL - BASE ({r['AVAL']} - {r['BASE']} for {r['USUBJID']} at "
                            f"{r['AVISIT'] if 'AVISIT' in r else r['AVISITN']}); {int(bad.sum())} record(s) differ")


def check_control(arms, control: str, dataset: str, variable: str) -> None:
    """``control`` is one of ``arms``, else :class:`AdamError` listing them (and a near match)."""
    arms = [str(a) for a in dict.fromkeys(arms)]
    if control not in arms:
        close = [a for a in arms if a.lower() == str(control).lower()]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise AdamError(dataset, variable, control, f"control arm not among the arms{hint}; have {arms}")


def _select(tables, spec: AnalysisSpec, notes: list[str]):
    name, code = _find_bds(tables, spec.paramcd)
    bds = tables[name]
    adsl = tables.get("ADSL")
    rec = bds[bds["PARAMCD"].astype(str) == code].copy()
    for var in ("AVISIT", "AVISITN"):
        _require(rec, name, var, "visit")
    if adsl is not None:
        _require(adsl, "ADSL", "USUBJID", "subject identifier")
        if adsl["USUBJID"].duplicated().any():
            dup = adsl.loc[adsl["USUBJID"].duplicated(), "USUBJID"].iloc[0]
            raise AdamError("ADSL", "USUBJID", dup, "one record per subject in ADSL")
        check_in_adsl(rec, adsl, name)
        extra = [c for c in adsl.columns if c not in rec.columns]
        rec = rec.merge(adsl[["USUBJID", *extra]], on="USUBJID", how="left")
    for var, value in spec.where:
        _require(rec, name, var, "--where variable")
        rec = rec[_match(rec[var], value)]
        if rec.empty:
            have = sorted(map(str, bds.loc[bds["PARAMCD"].astype(str) == code, var].unique()))[:20] \
                if var in bds.columns else []
            raise AdamError(name, var, value, f"no record of {code} left; values present: {have}")
    if spec.population:
        if spec.population not in rec.columns:  # listed from ADSL, where subject-level flags live
            _require(adsl if adsl is not None else rec, "ADSL" if adsl is not None else name, spec.population,
                     "population flag")
        source = "ADSL" if adsl is not None and spec.population in adsl.columns else name
        rec = rec[rec[spec.population].astype(str) == "Y"]
        if rec.empty:
            raise AdamError(source, spec.population, "Y", "no subject of the population has a record")
    treatment = spec.treatment or ("TRTP" if "TRTP" in rec.columns else "TRT01P")
    _require(rec, name if treatment in bds.columns else "ADSL", treatment, "treatment (--treatment)")
    rec[treatment] = rec[treatment].astype(str)
    # visits
    visits_all = rec[["AVISIT", "AVISITN"]].drop_duplicates().sort_values("AVISITN")
    if spec.visits:
        chosen = []
        for v in spec.visits:
            hit = visits_all[(visits_all["AVISIT"].astype(str) == v)
                             | (visits_all["AVISITN"].astype(str).isin([v, f"{v}.0"]))]
            if hit.empty:
                listed = [f"{a} ({n:g})" for a, n in visits_all.itertuples(index=False)]
                raise AdamError(name, "AVISIT", v, f"not a visit of {code}; have {listed}")
            chosen.append(hit)
        visits = pd.concat(chosen).drop_duplicates().sort_values("AVISITN")
    else:
        post = ~rec.get("ABLFL", pd.Series("", index=rec.index)).astype(str).eq("Y") & (rec["AVISITN"] > 0)
        visits = rec.loc[post, ["AVISIT", "AVISITN"]].drop_duplicates().sort_values("AVISITN")
        if visits.empty:
            raise AdamError(name, "AVISITN", None, f"no post-baseline visit of {code}; have {visits_all.values.tolist()}")
    rec = rec[rec["AVISITN"].isin(visits["AVISITN"])]
    check_records(rec, name)
    return name, code, rec, treatment, visits.reset_index(drop=True)


# ----------------------------------------------------------------------------- analyses
def _descriptive(rec, treatment, response, arms, visits, alpha) -> pd.DataFrame:
    rows = []
    for visit, visitn in visits.itertuples(index=False):
        at = rec[rec["AVISITN"] == visitn]
        for arm in arms:
            for var in dict.fromkeys(["AVAL", response]):
                x = at.loc[at[treatment] == arm, var].dropna().to_numpy(float)
                n = x.size
                rows.append({"visit": visit, "visitn": _num(visitn), "arm": arm, "variable": var, "n": n,
                             "mean": x.mean() if n else np.nan, "sd": x.std(ddof=1) if n > 1 else np.nan,
                             "median": np.median(x) if n else np.nan, "min": x.min() if n else np.nan,
                             "max": x.max() if n else np.nan})
    return pd.DataFrame(rows)


def _ancova_at(rows, response, treatment, baseline, control, covariates, alpha, visit):
    res = ancova(rows, response=response, treatment=treatment, baseline=baseline, control=control,
                 covariates=list(covariates), alpha=alpha)
    lsm = res.lsmeans.reset_index(names="arm").rename(columns={"ci_lower": "ci_low", "ci_upper": "ci_high"})
    lsm.insert(0, "visit", visit)
    diff = res.differences.reset_index(names="arm").rename(columns={"ci_lower": "ci_low", "ci_upper": "ci_high"})
    diff.insert(1, "reference", control)
    diff.insert(0, "visit", visit)
    cols = ["visit", "arm", "reference", "estimate", "se", "df", "ci_low", "ci_high", "p_value"]
    return lsm[["visit", "arm", "estimate", "se", "df", "ci_low", "ci_high"]], diff[cols], res.n_subjects


def _trend_at(rows, response, dose, baseline, covariates, alpha, visit) -> dict:
    data = rows[[response, dose, *( [baseline] if baseline else []), *covariates]].dropna()
    rhs = [f"Q({dose!r})"] + ([f"Q({baseline!r})"] if baseline else [])
    rhs += [f"C(Q({c!r}))" if not pd.api.types.is_numeric_dtype(data[c]) else f"Q({c!r})" for c in covariates]
    fit = smf.ols(f"Q({response!r}) ~ " + " + ".join(rhs), data=data).fit()
    term = f"Q({dose!r})"
    lo, hi = fit.conf_int(alpha).loc[term]
    return {"visit": visit, "variable": dose, "method": "OLS slope (linear trend)", "slope": fit.params[term],
            "se": fit.bse[term], "df": fit.df_resid, "t": fit.tvalues[term], "ci_low": lo, "ci_high": hi,
            "p_value": fit.pvalues[term], "n": int(fit.nobs)}


def mmrm_contrasts(res, control) -> pd.DataFrame:
    c = res.contrasts.rename(columns={"ci_lower": "ci_low", "ci_upper": "ci_high"}).copy()
    c["visit"] = c["visit"].astype(str)
    c["arm"] = c["arm"].astype(str)
    c.insert(2, "reference", control)
    keep = [k for k in ["visit", "arm", "reference", "estimate", "se", "df", "ci_low", "ci_high", "p_value"]
            if k in c.columns]
    return c[keep].reset_index(drop=True)


def table1(subjects: pd.DataFrame, treatment: str, arms: list[str]) -> pd.DataFrame:
    """Baseline characteristics by arm: continuous (n, mean (SD), median, range), categorical n (%)."""
    rows = []
    groups = {arm: subjects[subjects[treatment].astype(str) == arm] for arm in arms}
    groups["Total"] = subjects
    rows.append({"variable": "Subjects", "statistic": "N", **{a: str(len(g)) for a, g in groups.items()}})
    for var in CONTINUOUS_BASELINE:
        if var in subjects.columns and pd.api.types.is_numeric_dtype(subjects[var]) and var != "KLGRADE":
            for stat in ("n", "mean (SD)", "median", "min, max"):
                rows.append({"variable": var, "statistic": stat,
                             **{a: _continuous(g[var].dropna().to_numpy(float), stat) for a, g in groups.items()}})
    for var in (*CATEGORICAL_BASELINE, "KLGRADE"):
        if var in subjects.columns:
            levels = sorted(subjects[var].dropna().astype(str).unique())
            if f"{var}N" in subjects.columns:  # coded order (AGEGR1N ...) when the data carry it
                code = subjects.groupby(subjects[var].astype(str))[f"{var}N"].first()
                levels.sort(key=lambda lv: _num(code.get(lv)))
            for level in levels:
                rows.append({"variable": var, "statistic": level,
                             **{a: _count(g[var].astype(str) == level) for a, g in groups.items()}})
    return pd.DataFrame(rows)


def _continuous(x: np.ndarray, stat: str) -> str:
    if x.size == 0:
        return ""
    if stat == "n":
        return str(x.size)
    if stat == "mean (SD)":
        return f"{x.mean():.1f} ({x.std(ddof=1):.2f})" if x.size > 1 else f"{x.mean():.1f}"
    if stat == "median":
        return f"{np.median(x):.1f}"
    return f"{x.min():g}, {x.max():g}"


def _count(mask: pd.Series) -> str:
    n, total = int(mask.sum()), len(mask)
    return f"{n} ({100 * n / total:.1f}%)" if total else "0"


def _grade(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    return series.astype(str).map(lambda s: float(m.group()) if (m := re.search(r"\d+", s)) else np.nan)


def _withdrawal(ae: pd.DataFrame, adsl: pd.DataFrame) -> pd.Series | None:
    """TEAEs leading to withdrawal: AEACN = DRUG WITHDRAWN, or the subject left the study for an
    adverse event (ADSL DCSREAS = ADVERSE EVENT or DSRAEFL = Y). None when nothing records it."""
    have = [c for c in ("DCSREAS", "DSRAEFL") if c in adsl.columns]
    if "AEACN" not in ae.columns and not have:
        return None
    mask = ae["AEACN"].astype(str).str.upper().str.contains("WITHDRAWN") if "AEACN" in ae.columns \
        else pd.Series(False, index=ae.index)
    if have:
        left = adsl.get("DCSREAS", pd.Series("", index=adsl.index)).astype(str).str.upper().eq("ADVERSE EVENT") \
            | adsl.get("DSRAEFL", pd.Series("", index=adsl.index)).astype(str).eq("Y")
        mask = mask | ae["USUBJID"].isin(adsl.loc[left, "USUBJID"])
    return mask


def ae_tables(adae: pd.DataFrame, adsl: pd.DataFrame, arms_hint: list[str] | None = None):
    """(overview per arm, subjects by SOC/PT per arm) over the safety population of ADSL."""
    arm_var = "TRT01A" if "TRT01A" in adsl.columns else "TRT01P"
    _require(adsl, "ADSL", arm_var, "actual treatment for the safety population")
    pop = adsl[adsl["SAFFL"].astype(str) == "Y"] if "SAFFL" in adsl.columns else adsl
    pop = pop.assign(**{arm_var: pop[arm_var].astype(str)})
    arms = [a for a in (arms_hint or []) if a in set(pop[arm_var])]
    arms += [a for a in dict.fromkeys(pop[arm_var]) if a not in arms]
    _require(adae, "ADAE", "USUBJID", "subject identifier")
    unknown = sorted(set(adae["USUBJID"].astype(str)) - set(adsl["USUBJID"].astype(str)))
    if unknown:
        raise AdamError("ADAE", "USUBJID", unknown[:5], f"{len(unknown)} subject(s) absent from ADSL")
    ae = adae.drop(columns=[c for c in adae.columns if c in (arm_var,)]).merge(
        pop[["USUBJID", arm_var]], on="USUBJID", how="inner")
    if "TRTEMFL" in ae.columns:
        ae = ae[ae["TRTEMFL"].astype(str) == "Y"]
    rel_var = next((v for v in ("AREL", "AEREL") if v in ae.columns), None)
    grade_var = next((v for v in ("ATOXGR", "AETOXGR") if v in ae.columns), None)
    flags = {
        "related": ae[rel_var].astype(str).str.upper().isin(RELATED_VALUES) if rel_var else None,
        "grade3_or_more": _grade(ae[grade_var]) >= 3 if grade_var else (
            ae["AESEV"].astype(str).str.upper().eq("SEVERE") if "AESEV" in ae.columns else None),
        "serious": ae["AESER"].astype(str).eq("Y") if "AESER" in ae.columns else None,
        "leading_to_withdrawal": _withdrawal(ae, adsl),
    }
    rows = []
    for arm in arms:
        in_arm = ae[arm_var] == arm
        row = {"arm": arm, "n": int((pop[arm_var] == arm).sum()), "any_teae": int(ae.loc[in_arm, "USUBJID"].nunique())}
        for key, mask in flags.items():
            row[key] = int(ae.loc[in_arm & mask, "USUBJID"].nunique()) if mask is not None else np.nan
        row["events"] = int(in_arm.sum())
        rows.append(row)
    overview = pd.DataFrame(rows)
    soc = "AEBODSYS" if "AEBODSYS" in ae.columns else None
    pt = "AEDECOD" if "AEDECOD" in ae.columns else None
    term_rows = []
    if pt:
        keys = [soc, pt] if soc else [pt]
        for key, g in ae.groupby(keys, sort=True):
            key = key if isinstance(key, tuple) else (key,)
            row = {"soc": key[0] if soc else "", "pt": key[-1]}
            for arm, n in zip(arms, overview["n"]):
                k = g.loc[g[arm_var] == arm, "USUBJID"].nunique()
                row[arm] = k
            term_rows.append(row)
    by_term = pd.DataFrame(term_rows, columns=["soc", "pt", *arms])
    return overview, by_term, arm_var


def _in_arm_order(frames: list[pd.DataFrame], arms: list[str], columns: list[str]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=columns)
    df = pd.concat(frames, ignore_index=True)
    visit_rank = {v: i for i, v in enumerate(dict.fromkeys(df["visit"]))}
    arm_rank = {a: i for i, a in enumerate(arms)}
    key = df["visit"].map(visit_rank) * (len(arms) + 1) + df["arm"].astype(str).map(arm_rank).fillna(len(arms))
    return df.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(drop=True)[columns]


# ----------------------------------------------------------------------------- driver
def analyse_adam(tables: dict[str, pd.DataFrame], spec: AnalysisSpec = AnalysisSpec()) -> AdamAnalysis:
    """Analyse ``spec.paramcd`` of the datasets ``tables`` (name → DataFrame, e.g. from
    :func:`~oasim.adam.read_adam_dir`); see the module docstring for what is run."""
    notes: list[str] = []
    name, code, rec, treatment, visits = _select(tables, spec, notes)
    adsl = tables.get("ADSL")
    arms_present = list(dict.fromkeys(rec[treatment]))
    if spec.control is None:
        control = _default_control(rec, treatment, notes)
    else:
        control = spec.control
        check_control(arms_present, control, name, treatment)
    arms = _arm_order(rec, treatment, control, adsl)
    if len(arms) < 2:
        raise AdamError(name, treatment, arms, "at least two arms (a control and one other)")
    for cov in spec.covariates:
        _require(rec, name, cov, "--covariates variable")
    has_base = "BASE" in rec.columns and rec["BASE"].notna().any()
    response = "CHG" if has_base and "CHG" in rec.columns and rec["CHG"].notna().any() else "AVAL"
    baseline = "BASE" if has_base else None
    notes.append(f"response {response}" + (" with BASE as covariate" if baseline else " (no BASE: ANOVA/ANCOVA without baseline)"))
    param = str(rec["PARAM"].iloc[0]) if "PARAM" in rec.columns else code
    lsm, pairs, trend = [], [], []
    if spec.trend:
        _require(rec, name, spec.trend, "--trend dose variable")
        if not pd.api.types.is_numeric_dtype(rec[spec.trend]):
            raise AdamError(name, spec.trend, str(rec[spec.trend].iloc[0]), "a numeric dose variable for --trend")
    for visit, visitn in visits.itertuples(index=False):
        rows = rec[rec["AVISITN"] == visitn]
        try:
            lsm_v, diff_v, _n = _ancova_at(rows, response, treatment, baseline, control, spec.covariates,
                                           spec.alpha, visit)
            lsm.append(lsm_v)
            pairs.append(diff_v)
        except OasimError as exc:
            notes.append(f"ANCOVA at {visit}: not fitted ({exc})")
        if spec.trend:
            trend.append(_trend_at(rows, response, spec.trend, baseline, spec.covariates, spec.alpha, visit))
    mm = None
    if len(visits) >= 2 and spec.mmrm:
        long = rec.copy()
        long["AVISIT"] = pd.Categorical(long["AVISIT"].astype(str), categories=list(visits["AVISIT"].astype(str)),
                                        ordered=True)
        try:
            mm = mmrm(long, response=response, treatment=treatment, visit="AVISIT", subject="USUBJID",
                      baseline=baseline, covariates=list(spec.covariates), covariance="us",
                      df_method="kenward-roger", control=control, alpha=spec.alpha)
        except OasimError as exc:
            notes.append(f"MMRM: not fitted ({exc})")
    if adsl is not None:
        subj = adsl.copy()
        if spec.population and spec.population in subj.columns:
            subj = subj[subj[spec.population].astype(str) == "Y"]
        t1_arm = treatment if treatment in subj.columns else ("TRT01P" if "TRT01P" in subj.columns else None)
    else:
        subj = rec.drop_duplicates("USUBJID")
        t1_arm = treatment
        notes.append(f"Table 1 from the subject-level variables carried in {name} (no ADSL supplied)")
    t1 = table1(subj.assign(**{t1_arm: subj[t1_arm].astype(str)}), t1_arm, arms) if t1_arm else pd.DataFrame()
    if adsl is not None and "ADAE" in tables:
        overview, by_term, _ = ae_tables(tables["ADAE"], adsl, arms)
    else:
        overview = pd.DataFrame(columns=["arm", "n", "any_teae", "related", "grade3_or_more", "serious",
                                         "leading_to_withdrawal", "events"])
        by_term = pd.DataFrame(columns=["soc", "pt"])
        notes.append("AE overview not produced: it needs ADSL and ADAE")
    return AdamAnalysis(
        spec=spec, dataset=name, paramcd=code, param=param, response=response, baseline=baseline,
        treatment=treatment, control=control, arms=arms, visits=visits,
        descriptive=_descriptive(rec, treatment, response, arms, visits, spec.alpha),
        lsmeans=_in_arm_order(lsm, arms, ["visit", "arm", "estimate", "se", "df", "ci_low", "ci_high"]),
        pairwise=_in_arm_order(pairs, arms, ["visit", "arm", "reference", "estimate", "se", "df", "ci_low",
                                             "ci_high", "p_value"]),
        dose_response=pd.DataFrame(trend, columns=["visit", "variable", "method", "slope", "se", "df", "t", "ci_low",
                                                   "ci_high", "p_value", "n"]),
        mmrm=mm, table1=t1, ae_overview=overview, ae_by_term=by_term, records=rec, notes=notes)
