"""Build the CDISC tables of a conducted trial (:class:`oasim.trial.conduct.TrialRun`).

SDTM-like: DM, EX, QS, MO, LB, AE. ADaM: ADSL (one record per subject, population flags),
ADQS (BDS, every efficacy, imaging and biomarker parameter), ADAE (OCCDS). Names follow the
ADaM IG: PARAMCD ≤ 8 characters (the scenario's endpoint names map through :data:`PARAMCDS`),
integer study days with Day 1 = day of first dose and no Day 0, ASEQ, PARAMN, ANL01FL, DTYPE.
Variable labels are in :mod:`oasim.data.metadata`.

The treatment variables (TRT01P/TRT01PN/TRT01A/TRT01AN in ADSL, TRTP/TRTPN/TRTA/TRTAN in the
BDS and ADAE) are joined only at :meth:`~oasim.data.TrialDataset.unblind`. Not simulated, so not
present: calendar dates (``--DTC``, ``TRTSDT``), sites, race.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import FieldError
from .dataset import TrialDataset, dose_ranks

# scenario endpoint name -> (PARAMCD, PARAM); PARAMN is the position in this table
PARAMS = {
    "WOMAC_PAIN": ("WOMPAIN", "WOMAC pain (0-20)"),
    "WOMAC_STIFF": ("WOMSTIFF", "WOMAC stiffness (0-8)"),
    "WOMAC_FUNC": ("WOMFUNC", "WOMAC physical function (0-68)"),
    "WOMAC_TOTAL": ("WOMTOT", "WOMAC total (0-96)"),
    "WOMAC_TOTAL_NORM": ("WOMTOTN", "WOMAC total normalised (0-100)"),
    "VAS_PAIN": ("VASPAIN", "Pain VAS (0-100 mm)"),
    "PGA_VAS": ("PGAVAS", "Patient global assessment VAS (0-100 mm)"),
    "KOOS_PAIN": ("KOOSPAIN", "KOOS pain (0-100)"),
    "KOOS_SYMPTOMS": ("KOOSSYM", "KOOS symptoms (0-100)"),
    "KOOS_ADL": ("KOOSADL", "KOOS activities of daily living (0-100)"),
    "KOOS_SPORT": ("KOOSSPRT", "KOOS sport/recreation (0-100)"),
    "KOOS_QOL": ("KOOSQOL", "KOOS quality of life (0-100)"),
    "MRI_THICK_MM": ("MRITHICK", "MRI cartilage thickness (mm)"),
    "MRI_T2_MS": ("MRIT2", "MRI cartilage T2 (ms)"),
    "MRI_SYNOV_GRADE": ("MRISYNOV", "MRI effusion-synovitis grade (0-3)"),
    "SF_IL1B_PG_ML": ("IL1B", "Synovial fluid IL-1beta (pg/mL)"),
}
PARAMCDS = {name: code for name, (code, _label) in PARAMS.items()}
ENDPOINT_OF = {code: name for name, code in PARAMCDS.items()}
PARAM_LABELS = {code: label for code, label in PARAMS.values()} | {name: label for name, (_c, label) in PARAMS.items()}
PARAMN = {code: k + 1 for k, code in enumerate(PARAMCDS.values())}
# direction of benefit: KOOS scores (0 = extreme problems, 100 = none) and cartilage thickness
# are better when higher; WOMAC, VAS, PGA, T2, synovitis and IL-1beta when lower
HIGHER_IS_BETTER = {"KOOSPAIN", "KOOSSYM", "KOOSADL", "KOOSSPRT", "KOOSQOL", "MRITHICK"}


def benefit_text(paramcd: str, control: str = "Placebo") -> str:
    """The footnote saying which sign of a difference vs control favours the active arm."""
    up = paramcd in HIGHER_IS_BETTER
    return (f"Direction of benefit: {'higher' if up else 'lower'} values are better, so a "
            f"{'positive' if up else 'negative'} difference vs {control} favours the active arm.")

# MedDRA-style system organ class of each simulated preferred term (MedDRA SOC names; the
# terms are not coded with a licensed dictionary)
SOC_OF_TERM = {
    "Injection site pain": "General disorders and administration site conditions",
    "Joint effusion": "Musculoskeletal and connective tissue disorders",
    "Arthralgia": "Musculoskeletal and connective tissue disorders",
    "Back pain": "Musculoskeletal and connective tissue disorders",
    "Nasopharyngitis": "Infections and infestations",
    "Headache": "Nervous system disorders",
}
# age groups (assumed: a common knee-OA split at 65 and 75 years; not from a protocol)
AGE_GROUPS = ((0, 65, "<65", 1), (65, 75, "65-74", 2), (75, 200, ">=75", 3))


def paramcd_of(name: str) -> str:
    """The PARAMCD of a scenario endpoint name (``"WOMAC_TOTAL"`` → ``"WOMTOT"``); a PARAMCD maps
    to itself."""
    if name in PARAMCDS:
        return PARAMCDS[name]
    if name in ENDPOINT_OF:
        return name
    raise FieldError("endpoint", name, f"one of {sorted(PARAMCDS)} or their PARAMCD {sorted(ENDPOINT_OF)}")


def study_day(t_days, first_dose_day: float) -> pd.array:
    """Integer study day: Day 1 = the day of the first dose, the day before is Day -1 (no Day 0).

    A missing time (e.g. the dose day of a background AE) stays missing (nullable Int64).
    """
    rel = np.floor(np.asarray(t_days, dtype=float) - first_dose_day + 1e-9)
    day = np.where(rel >= 0, rel + 1, rel)
    return pd.array(np.where(np.isfinite(day), day, np.nan), dtype="Float64").astype("Int64")


def build_tables(run) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """(blinded tables, randomisation list)."""
    sc = run.scenario
    study = sc.name.upper()
    subj = run.subjects
    usubjid = subj["subject_id"].map(lambda i: f"{study}-{i:04d}")
    ids = dict(zip(subj["subject_id"], usubjid))
    first_dose = float(min(sc.schedule.injection_days))

    dm = pd.DataFrame({"STUDYID": study, "USUBJID": usubjid, "SUBJID": subj["subject_id"],
                       "AGE": subj["age_y"].round(0).astype(int), "AGEU": "YEARS", "SEX": subj["sex"],
                       "BMI": subj["bmi_kg_per_m2"].round(1), "KLGRADE": subj["kl_grade"],
                       "COHORT": subj["cohort"], "RANDNO": subj["randno"]})
    ex = pd.DataFrame({"STUDYID": study, "USUBJID": run.exposure["subject_id"].map(ids),
                       "EXTRT": "BLINDED IP", "EXROUTE": "INTRA-ARTICULAR",
                       "EXSTDY": study_day(run.exposure["day"], first_dose),
                       # days after the cohort's sentinel pair was dosed (sentinel dosing)
                       "EXCOHDY": run.exposure["sentinel_offset_days"].astype(float),
                       "EXSENTFL": np.where(run.exposure["sentinel_offset_days"] == 0, "Y", "")})
    obs = run.observations.assign(USUBJID=run.observations["subject_id"].map(ids), STUDYID=study)
    obs = obs.rename(columns={"visit": "VISIT", "visitnum": "VISITNUM"})
    obs["paramcd"] = obs["paramcd"].map(PARAMCDS)
    obs["DY"] = study_day(obs["t_days"], first_dose)
    qs_mask = ~obs["paramcd"].str.startswith(("MRI", "IL1B"))
    qs = obs[qs_mask].rename(columns={"paramcd": "QSTESTCD", "value": "QSSTRESN", "DY": "QSDY"})
    mo = obs[obs["paramcd"].str.startswith("MRI")].rename(
        columns={"paramcd": "MOTESTCD", "value": "MOSTRESN", "DY": "MODY"})
    lb = obs[obs["paramcd"] == "IL1B"].rename(
        columns={"paramcd": "LBTESTCD", "value": "LBSTRESN", "DY": "LBDY"}).assign(LBSTRESU="pg/mL",
                                                                                 LBSPEC="SYNOVIAL FLUID")
    drop = ["subject_id", "t_days"]
    qs, mo, lb = (t.drop(columns=drop).reset_index(drop=True) for t in (qs, mo, lb))
    ae = run.adverse_events
    onset = study_day(ae["onset_day"], first_dose)
    ae_t = pd.DataFrame({"STUDYID": study, "USUBJID": ae["subject_id"].map(ids), "AETERM": ae["term"],
                         "AEDECOD": ae["term"], "AEBODSYS": ae["term"].map(SOC_OF_TERM).fillna("UNCODED"),
                         "AETOXGR": ae["grade"].astype(int), "AESTDY": onset,
                         "AEENDY": study_day(ae["onset_day"] + ae["duration_days"], first_dose),
                         "AEREL": np.where(ae["related"], "Y", "N"),
                         "AESER": np.where(ae["grade"] >= 4, "Y", "N"),
                         "AEACN": "DOSE NOT CHANGED",  # the simulation has no AE-driven withdrawal
                         "DOSEDY": study_day(ae["dose_day"], first_dose)})
    ae_t.insert(2, "AESEQ", ae_t.groupby("USUBJID").cumcount() + 1)

    completed = subj["dropout_day"].isna()
    adsl = dm.drop(columns=["BMI"]).copy()
    adsl["AGEGR1"], adsl["AGEGR1N"] = _age_groups(adsl["AGE"])
    adsl["BMIBL"] = dm["BMI"]
    adsl["SAFFL"] = "Y"
    adsl["ITTFL"] = "Y"
    post = obs[(obs["VISITNUM"] > 0) & obs["value"].notna() & qs_mask]
    adsl["EFFFL"] = np.where(adsl["USUBJID"].isin(post["USUBJID"]), "Y", "N")
    adsl["COMPLFL"] = np.where(completed, "Y", "N")
    adsl["EOSSTT"] = np.where(completed, "COMPLETED", "DISCONTINUED")
    adsl["DCSREAS"] = np.where(completed, "", "WITHDRAWAL BY SUBJECT")
    adsl["EOSDY"] = study_day(np.where(completed, subj["follow_up_days"], subj["dropout_day"]), first_dose)
    adsl["TRTDURD"] = subj["follow_up_days"]
    adqs = pd.concat([
        bds(qs, "QSTESTCD", "QSSTRESN", "QSDY", adsl),
        bds(mo, "MOTESTCD", "MOSTRESN", "MODY", adsl),
        bds(lb, "LBTESTCD", "LBSTRESN", "LBDY", adsl),
    ], ignore_index=True)
    adqs.insert(3, "PARAM", adqs["PARAMCD"].map(PARAM_LABELS))
    adqs.insert(4, "PARAMN", adqs["PARAMCD"].map(PARAMN).astype(int))
    adqs["DTYPE"] = ""  # observed values only: no imputed (LOCF, WOCF ...) records
    adqs["ANL01FL"] = np.where(adqs["AVAL"].notna(), "Y", "")
    adqs = adqs.sort_values(["USUBJID", "PARAMN", "AVISITN"], kind="stable").reset_index(drop=True)
    adqs.insert(2, "ASEQ", adqs.groupby("USUBJID").cumcount() + 1)
    adae = ae_t.merge(adsl[["USUBJID", "COHORT", "TRTDURD"]], on="USUBJID", how="left")
    adae["ASTDY"] = adae["AESTDY"]
    adae["AENDY"] = ae_t["AEENDY"]
    adae["ATOXGR"] = adae["AETOXGR"].astype(str)
    adae["ATOXGRN"] = adae["AETOXGR"]
    adae["AREL"] = np.where(adae["AEREL"] == "Y", "RELATED", "NOT RELATED")
    adae["TRTEMFL"] = np.where(adae["ASTDY"] >= 1, "Y", "")
    randomisation = pd.DataFrame({
        "USUBJID": usubjid, "RANDNO": subj["randno"], "COHORT": subj["cohort"],
        "TRT01P": subj["arm"], "TRT01A": subj["arm"],
        "TRTDOSE": subj["dose"], "TRTDOSU": np.where(subj["active"], subj["dose_unit"], ""),
        # what each subject received, for the unblinded EX (an HA control is "Hyaluronic acid", not "Placebo")
        "EXTRT": subj["subject_id"].map(run.exposure.drop_duplicates("subject_id").set_index("subject_id")["product"])
        .fillna(subj["arm"]),
    })
    randomisation.insert(4, "TRT01PN", dose_ranks(randomisation))
    randomisation.insert(6, "TRT01AN", randomisation["TRT01PN"])
    tables = {"DM": dm, "EX": ex, "QS": qs, "MO": mo, "LB": lb, "AE": ae_t,
              "ADSL": adsl, "ADQS": adqs, "ADAE": adae}
    return tables, randomisation


def _age_groups(age: pd.Series) -> tuple[pd.Series, pd.Series]:
    label = pd.Series("", index=age.index, dtype=object)
    code = pd.Series(0, index=age.index, dtype=int)
    for lo, hi, name, n in AGE_GROUPS:
        mask = (age >= lo) & (age < hi)
        label[mask], code[mask] = name, n
    return label, code


def from_trial_run(run) -> TrialDataset:
    """Build the blinded dataset (and sealed randomisation list) from a conducted trial."""
    tables, randomisation = build_tables(run)
    return TrialDataset(run.scenario.name.upper(), tables, True, randomisation)


def bds(findings: pd.DataFrame, testcd: str, value: str, day: str, adsl: pd.DataFrame) -> pd.DataFrame:
    """ADaM BDS rows (PARAMCD, AVISIT, AVAL, BASE, CHG, PCHG, ABLFL) from a findings table."""
    df = findings.rename(columns={testcd: "PARAMCD", value: "AVAL", day: "ADY", "VISIT": "AVISIT",
                                  "VISITNUM": "AVISITN"})
    df = df[["STUDYID", "USUBJID", "PARAMCD", "AVISIT", "AVISITN", "ADY", "AVAL"]].copy()
    base = df[df["AVISITN"] == 0].set_index(["USUBJID", "PARAMCD"])["AVAL"]
    df["ABLFL"] = np.where(df["AVISITN"] == 0, "Y", "")
    df["BASE"] = df.set_index(["USUBJID", "PARAMCD"]).index.map(base)
    df["CHG"] = np.where(df["AVISITN"] > 0, df["AVAL"] - df["BASE"], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["PCHG"] = np.where((df["AVISITN"] > 0) & (df["BASE"] != 0), 100.0 * df["CHG"] / df["BASE"], np.nan)
    keep = adsl[[c for c in ("USUBJID", "COHORT", "KLGRADE") if c in adsl.columns]]
    return df.merge(keep, on="USUBJID", how="left")
