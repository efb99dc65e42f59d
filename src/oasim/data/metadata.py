"""Dataset and variable metadata of the trial tables: labels (≤ 40 characters, the SAS XPT v5
limit), types, codelists; the define-style metadata tables written by ``oasim export``.

Labels of standard variables follow the SDTM IG / ADaM IG wording where one exists; the
codelists list the values the simulation writes (CDISC controlled terminology submission values
where one applies: NY, SEX, NCOMPLT).
"""

from __future__ import annotations

import pandas as pd

DATASET_LABELS = {
    "DM": "Demographics", "EX": "Exposure", "QS": "Questionnaires", "MO": "Morphology (MRI findings)",
    "LB": "Laboratory Test Results", "AE": "Adverse Events", "ADSL": "Subject-Level Analysis Dataset",
    "ADQS": "Efficacy, Imaging, Biomarker Analysis", "ADAE": "Adverse Events Analysis Dataset",
    "ARD": "Analysis Results Dataset", "RANDOM": "Randomisation List",
}
DATASET_CLASS = {"DM": "SPECIAL PURPOSE", "EX": "INTERVENTIONS", "QS": "FINDINGS", "MO": "FINDINGS",
                 "LB": "FINDINGS", "AE": "EVENTS", "ADSL": "SUBJECT LEVEL ANALYSIS DATASET",
                 "ADQS": "BASIC DATA STRUCTURE", "ADAE": "OCCURRENCE DATA STRUCTURE", "ARD": "ANALYSIS RESULTS"}

LABELS = {
    "STUDYID": "Study Identifier", "USUBJID": "Unique Subject Identifier", "SUBJID": "Subject Identifier for the Study",
    "AGE": "Age", "AGEU": "Age Units", "AGEGR1": "Pooled Age Group 1", "AGEGR1N": "Pooled Age Group 1 (N)",
    "SEX": "Sex", "BMI": "Body Mass Index (kg/m2)", "BMIBL": "Baseline BMI (kg/m2)",
    "KLGRADE": "Kellgren-Lawrence Grade of Index Knee", "COHORT": "Dose Cohort", "RANDNO": "Randomization Number",
    "TRT01P": "Planned Treatment for Period 01", "TRT01PN": "Planned Treatment for Period 01 (N)",
    "TRT01A": "Actual Treatment for Period 01", "TRT01AN": "Actual Treatment for Period 01 (N)",
    "TRTDOSE": "Planned Dose per Injection", "TRTDOSU": "Units for Planned Dose",
    "TRTP": "Planned Treatment", "TRTPN": "Planned Treatment (N)", "TRTA": "Actual Treatment",
    "TRTAN": "Actual Treatment (N)", "SAFFL": "Safety Population Flag", "ITTFL": "Intent-To-Treat Population Flag",
    "EFFFL": "Efficacy Population Flag", "COMPLFL": "Completers Population Flag", "EOSSTT": "End of Study Status",
    "DCSREAS": "Reason for Discontinuation from Study", "EOSDY": "Study Day of End of Study",
    "TRTDURD": "Follow-up Duration (Days)",
    "EXTRT": "Name of Treatment", "EXROUTE": "Route of Administration", "EXSTDY": "Study Day of Start of Treatment",
    "EXCOHDY": "Days After Cohort Sentinel Dosing", "EXSENTFL": "Sentinel Subject Flag", "EXDOSE": "Dose",
    "EXDOSU": "Dose Units",
    "VISIT": "Visit Name", "VISITNUM": "Visit Number",
    "QSTESTCD": "Question Short Name", "QSSTRESN": "Numeric Finding in Standard Units", "QSDY": "Study Day of Finding",
    "MOTESTCD": "Test or Examination Short Name", "MOSTRESN": "Numeric Result/Finding in Std Units",
    "MODY": "Study Day of Test", "LBTESTCD": "Lab Test or Examination Short Name",
    "LBSTRESN": "Numeric Result/Finding in Std Units", "LBDY": "Study Day of Specimen Collection",
    "LBSTRESU": "Standard Units", "LBSPEC": "Specimen Type",
    "AESEQ": "Sequence Number", "AETERM": "Reported Term for the Adverse Event",
    "AEDECOD": "Dictionary-Derived Term", "AEBODSYS": "Body System or Organ Class",
    "AETOXGR": "Standard Toxicity Grade", "AESTDY": "Study Day of Start of Adverse Event",
    "AEENDY": "Study Day of End of Adverse Event", "AEREL": "Causality", "AESER": "Serious Event",
    "AEACN": "Action Taken with Study Treatment", "DOSEDY": "Study Day of Preceding Injection",
    "ASTDY": "Analysis Start Relative Day", "AENDY": "Analysis End Relative Day",
    "ATOXGR": "Analysis Toxicity Grade", "ATOXGRN": "Analysis Toxicity Grade (N)",
    "AREL": "Analysis Causality", "TRTEMFL": "Treatment Emergent Analysis Flag",
    "ASEQ": "Analysis Sequence Number", "PARAMCD": "Parameter Code", "PARAM": "Parameter",
    "PARAMN": "Parameter (N)", "AVISIT": "Analysis Visit", "AVISITN": "Analysis Visit (N)",
    "ADY": "Analysis Relative Day", "AVAL": "Analysis Value", "ABLFL": "Baseline Record Flag",
    "BASE": "Baseline Value", "CHG": "Change from Baseline", "PCHG": "Percent Change from Baseline",
    "DTYPE": "Derivation Type", "ANL01FL": "Analysis Flag 01",
    "DATASET": "Analysed Dataset", "ANALYSIS": "Analysis", "ARM": "Arm", "REFARM": "Reference Arm",
    "STAT": "Statistic", "VALUE": "Statistic Value",
}

CODELISTS = {
    "NY": ["Y", "N"],
    "SEX": ["F", "M"],
    "AGEGR1": ["<65", "65-74", ">=75"],
    "EOSSTT": ["COMPLETED", "DISCONTINUED"],
    "NCOMPLT": ["WITHDRAWAL BY SUBJECT"],
    "AEREL": ["Y", "N"],
    "AREL": ["RELATED", "NOT RELATED"],
    "EXROUTE": ["INTRA-ARTICULAR"],
}
CODELIST_OF = {"SAFFL": "NY", "ITTFL": "NY", "EFFFL": "NY", "COMPLFL": "NY", "AESER": "NY", "TRTEMFL": "NY",
               "ABLFL": "NY", "ANL01FL": "NY", "EXSENTFL": "NY", "SEX": "SEX", "AGEGR1": "AGEGR1",
               "EOSSTT": "EOSSTT", "DCSREAS": "NCOMPLT", "AEREL": "AEREL", "AREL": "AREL", "EXROUTE": "EXROUTE",
               "PARAMCD": "PARAMCD"}


def label_of(variable: str, labels: dict | None = None) -> str:
    """The label of ``variable`` (from ``labels`` first, e.g. read from a file), ≤ 40 characters."""
    text = (labels or {}).get(variable) or LABELS.get(variable, variable)
    return text[:40]


def is_character(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def define_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Define-style metadata: ``datasets``, ``variables`` and ``codelists`` tables."""
    datasets, variables = [], []
    for name, df in tables.items():
        labels = df.attrs.get("labels", {})
        datasets.append({"DATASET": name, "LABEL": DATASET_LABELS.get(name, name)[:40],
                         "CLASS": DATASET_CLASS.get(name, ""), "RECORDS": len(df), "VARIABLES": df.shape[1]})
        for k, col in enumerate(df.columns, 1):
            s = df[col]
            char = is_character(s)
            length = int(s.astype(str).str.encode("utf-8").str.len().max()) if char and len(s) else 8
            variables.append({"DATASET": name, "VARIABLE": col, "ORDER": k, "LABEL": label_of(col, labels),
                              "TYPE": "text" if char else ("integer" if pd.api.types.is_integer_dtype(s) else "float"),
                              "LENGTH": max(length, 1), "CODELIST": CODELIST_OF.get(col, "")})
    used = {v["CODELIST"] for v in variables}
    codes = [{"CODELIST": cl, "VALUE": v, "DECODE": ""} for cl, values in CODELISTS.items() if cl in used
             for v in values]
    for name, df in tables.items():  # PARAMCD/PARAM pairs as they are in the data
        if {"PARAMCD", "PARAM"} <= set(df.columns):
            pairs = df[["PARAMCD", "PARAM"]].drop_duplicates()
            codes += [{"CODELIST": "PARAMCD", "VALUE": c, "DECODE": p} for c, p in pairs.itertuples(index=False)]
    codes = list({(c["CODELIST"], c["VALUE"]): c for c in codes}.values())
    return {"datasets": pd.DataFrame(datasets), "variables": pd.DataFrame(variables), "codelists": pd.DataFrame(codes)}
