"""Build the CDISC-style tables of a conducted trial (:class:`oasim.trial.conduct.TrialRun`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dataset import bds

PARAM_LABELS = {
    "WOMAC_PAIN": "WOMAC pain (0-20)", "WOMAC_STIFF": "WOMAC stiffness (0-8)",
    "WOMAC_FUNC": "WOMAC physical function (0-68)", "WOMAC_TOTAL": "WOMAC total (0-96)",
    "WOMAC_TOTAL_NORM": "WOMAC total normalised (0-100)", "VAS_PAIN": "Pain VAS (0-100 mm)", "PGA_VAS": "Patient global assessment (0-100 mm)",
    "KOOS_PAIN": "KOOS pain", "KOOS_SYMPTOMS": "KOOS symptoms", "KOOS_ADL": "KOOS ADL",
    "KOOS_SPORT": "KOOS sport/recreation", "KOOS_QOL": "KOOS quality of life",
    "MRI_THICK_MM": "MRI cartilage thickness (mm)", "MRI_T2_MS": "MRI cartilage T2 (ms)",
    "MRI_SYNOV_GRADE": "MRI effusion-synovitis grade (0-3)", "SF_IL1B_PG_ML": "Synovial fluid IL-1beta (pg/mL)",
}


def build_tables(run) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """(blinded tables, randomisation list)."""
    sc = run.scenario
    study = sc.name.upper()
    subj = run.subjects
    usubjid = subj["subject_id"].map(lambda i: f"{study}-{i:04d}")
    ids = dict(zip(subj["subject_id"], usubjid))

    dm = pd.DataFrame({"STUDYID": study, "USUBJID": usubjid, "SUBJID": subj["subject_id"],
                       "AGE": subj["age_y"].round(0).astype(int), "AGEU": "YEARS", "SEX": subj["sex"],
                       "BMI": subj["bmi_kg_per_m2"].round(1), "KLGRADE": subj["kl_grade"],
                       "COHORT": subj["cohort"], "RANDNO": subj["randno"]})
    ex = pd.DataFrame({"STUDYID": study, "USUBJID": run.exposure["subject_id"].map(ids),
                       "EXTRT": "BLINDED IP", "EXROUTE": "INTRA-ARTICULAR",
                       "EXSTDY": run.exposure["day"].astype(float),  # day of the subject's own schedule
                       # days after the cohort's sentinel pair was dosed (sentinel dosing)
                       "EXCOHDY": run.exposure["sentinel_offset_days"].astype(float),
                       "EXSENTFL": np.where(run.exposure["sentinel_offset_days"] == 0, "Y", "")})
    obs = run.observations.assign(USUBJID=run.observations["subject_id"].map(ids), STUDYID=study)
    obs = obs.rename(columns={"visit": "VISIT", "visitnum": "VISITNUM"})
    qs_mask = ~obs["paramcd"].str.startswith(("MRI_", "SF_"))
    qs = obs[qs_mask].rename(columns={"paramcd": "QSTESTCD", "value": "QSSTRESN", "t_days": "QSDY"})
    mo = obs[obs["paramcd"].str.startswith("MRI_")].rename(
        columns={"paramcd": "MOTESTCD", "value": "MOSTRESN", "t_days": "MODY"})
    lb = obs[obs["paramcd"].str.startswith("SF_")].rename(
        columns={"paramcd": "LBTESTCD", "value": "LBSTRESN", "t_days": "LBDY"}).assign(LBSTRESU="pg/mL", LBSPEC="SYNOVIAL FLUID")
    drop = ["subject_id"]
    qs, mo, lb = (t.drop(columns=drop).reset_index(drop=True) for t in (qs, mo, lb))
    ae = run.adverse_events
    ae_t = pd.DataFrame({"STUDYID": study, "USUBJID": ae["subject_id"].map(ids), "AEDECOD": ae["term"],
                         "AETOXGR": ae["grade"].astype(int), "AESTDY": ae["onset_day"].astype(float),
                         "AEENDY": (ae["onset_day"] + ae["duration_days"]).round(1),
                         "AEREL": np.where(ae["related"], "Y", "N"),
                         "AESER": np.where(ae["grade"] >= 4, "Y", "N"), "DOSEDY": ae["dose_day"]})

    completed = subj["dropout_day"].isna()
    adsl = dm.copy()
    adsl["SAFFL"] = "Y"
    adsl["ITTFL"] = "Y"
    adsl["COMPLFL"] = np.where(completed, "Y", "N")
    adsl["DCSREAS"] = np.where(completed, "", "LOST TO FOLLOW-UP / WITHDRAWAL")
    adsl["EOSDY"] = np.where(completed, subj["follow_up_days"], subj["dropout_day"])
    adsl["TRTDURD"] = subj["follow_up_days"]
    adqs = pd.concat([
        bds(qs, "QSTESTCD", "QSSTRESN", "QSDY", adsl),
        bds(mo, "MOTESTCD", "MOSTRESN", "MODY", adsl),
        bds(lb, "LBTESTCD", "LBSTRESN", "LBDY", adsl),
    ], ignore_index=True)
    adqs["PARAM"] = adqs["PARAMCD"].map(PARAM_LABELS)
    adae = ae_t.merge(adsl[["USUBJID", "COHORT", "TRTDURD"]], on="USUBJID", how="left")
    adae["TRTEMFL"] = "Y"
    randomisation = pd.DataFrame({
        "USUBJID": usubjid, "RANDNO": subj["randno"], "COHORT": subj["cohort"],
        "TRT01P": subj["arm"], "TRT01A": subj["arm"],
        "TRTDOSE": subj["dose"], "TRTDOSU": np.where(subj["active"], subj["dose_unit"], ""),
    })
    tables = {"DM": dm, "EX": ex, "QS": qs, "MO": mo, "LB": lb, "AE": ae_t,
              "ADSL": adsl, "ADQS": adqs, "ADAE": adae}
    return tables, randomisation
