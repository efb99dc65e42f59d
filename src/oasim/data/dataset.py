"""TrialDataset: the CDISC-style tables of one trial, blinded until an explicit unblinding step.

Tables (one DataFrame each; column names follow SDTM/ADaM conventions):

* DM  — demographics (USUBJID, AGE, SEX, BMI, KLGRADE, COHORT, RANDNO)
* EX  — exposure (EXTRT, EXDOSE, EXDOSU, EXSTDY; EXCOHDY = days after the cohort's sentinel
  pair, EXSENTFL); blinded: EXTRT = "BLINDED IP", no dose
* QS  — questionnaires (QSTESTCD = WOMAC_*, VAS_PAIN, KOOS_*; QSSTRESN; VISIT, VISITNUM, QSDY)
* MO  — MRI findings (MOTESTCD = MRI_*), LB — SF IL-1β (LBTESTCD = SF_IL1B_PG_ML)
* AE  — adverse events (AEDECOD, AETOXGR, AESTDY, AEENDY, AEREL)
* ADSL, ADQS (all efficacy parameters, with BASE, CHG, PCHG), ADAE

While blinded, no table carries the arm; the randomisation list is kept apart and only
:meth:`TrialDataset.unblind` joins it (adding TRT01P/TRT01A and dose columns). Real trial data
in the same layout loads with :meth:`TrialDataset.read` and goes through the same analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..io import atomic_output_dir

SDTM = ("DM", "EX", "QS", "MO", "LB", "AE")
ADAM = ("ADSL", "ADQS", "ADAE")
ARM_COLUMNS = ("TRT01P", "TRT01A", "TRTDOSE", "TRTDOSU", "ARM", "ACTARM")
RANDOMISATION_KEYS = ("USUBJID", "TRT01P", "TRT01PN", "TRT01A", "TRT01AN", "TRTDOSE", "TRTDOSU")


@dataclass(frozen=True)
class TrialDataset:
    """All tables of a trial; ``randomisation`` is None once written blinded or for real data."""

    study_id: str
    tables: dict[str, pd.DataFrame]
    blinded: bool = True
    randomisation: pd.DataFrame | None = field(default=None, repr=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def unblind(self, randomisation: pd.DataFrame | None = None) -> "TrialDataset":
        """Join the randomisation list to every table.

        ADSL and DM get TRT01P/TRT01PN/TRT01A/TRT01AN and the dose (TRTDOSE, TRTDOSU); the BDS
        and ADAE also get the record-level TRTP/TRTPN/TRTA/TRTAN (one treatment period).
        """
        rand = randomisation if randomisation is not None else self.randomisation
        if rand is None:
            raise DataError("randomisation", "no randomisation list to unblind with")
        if not self.blinded:
            return self
        rand = rand.copy()
        if "TRT01PN" not in rand.columns:  # lists written before the numeric codes existed
            rand["TRT01PN"] = dose_ranks(rand)
            rand["TRT01AN"] = rand["TRT01PN"]
        tables = dict(self.tables)
        keys = rand[list(RANDOMISATION_KEYS)]
        for name in ("DM", "ADSL", "ADQS", "ADAE"):
            tables[name] = tables[name].merge(keys, on="USUBJID", how="left")
        for name in ("ADQS", "ADAE"):
            t = tables[name]
            tables[name] = t.assign(TRTP=t["TRT01P"], TRTPN=t["TRT01PN"], TRTA=t["TRT01A"], TRTAN=t["TRT01AN"])
        ex = tables["EX"].drop(columns=["EXTRT"]).merge(keys, on="USUBJID", how="left")
        # the product received (lists written before EXTRT was kept there: the actual arm)
        ex["EXTRT"] = ex["USUBJID"].map(rand.set_index("USUBJID")["EXTRT"]) if "EXTRT" in rand.columns \
            else ex["TRT01A"]
        ex["EXDOSE"] = ex["TRTDOSE"]
        ex["EXDOSU"] = ex["TRTDOSU"]
        tables["EX"] = ex.drop(columns=[c for c in RANDOMISATION_KEYS if c != "USUBJID"])
        return replace(self, tables=tables, blinded=False, randomisation=rand)

    def write(self, folder: str | Path, force: bool = False) -> Path:
        """Write every table as Parquet plus one DuckDB file ``trial.duckdb`` holding them all.

        Written into a temporary sibling folder and renamed into place, so a failure leaves
        nothing half-written; a non-empty ``folder`` is replaced only with ``force`` and only
        if oasim wrote it (:func:`oasim.io.atomic_output_dir`). The randomisation list goes
        to ``randomisation.parquet`` only for unblinded datasets.
        """
        import duckdb

        folder = Path(folder)
        with atomic_output_dir(folder, force) as tmp:
            for name, df in self.tables.items():
                df.to_parquet(tmp / f"{name}.parquet", index=False)
            if not self.blinded and self.randomisation is not None:
                self.randomisation.to_parquet(tmp / "randomisation.parquet", index=False)
            con = duckdb.connect(str(tmp / "trial.duckdb"))
            try:
                for name, df in self.tables.items():
                    con.register("_df", df)
                    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _df')
                    con.unregister("_df")
            finally:
                con.close()
        return folder

    @classmethod
    def read(cls, folder: str | Path, study_id: str | None = None) -> "TrialDataset":
        """Read tables from ``folder`` (``<NAME>.parquet`` or ``<NAME>.csv``); real data welcome.

        ADSL, ADQS and ADAE are required; a dataset whose ADSL has TRT01P is treated as unblinded.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise DataError(folder, "not a folder of trial tables")
        tables = {}
        for name in SDTM + ADAM:
            for suffix, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
                path = folder / f"{name}{suffix}"
                if path.exists():
                    try:
                        tables[name] = reader(path)
                    except Exception as exc:  # pragma: no cover - depends on the file
                        raise DataError(path, f"cannot be read ({exc})") from exc
                    break
        for name in ADAM:
            if name not in tables:
                raise DataError(folder, f"missing table {name} (.parquet or .csv)")
        required = {"ADSL": ["USUBJID"], "ADQS": ["USUBJID", "PARAMCD", "AVISITN", "AVAL", "BASE", "CHG"],
                    "ADAE": ["USUBJID", "AEDECOD"]}
        for name, cols in required.items():
            missing = [c for c in cols if c not in tables[name].columns]
            if missing:
                raise DataError(folder / name, f"missing column(s) {missing}")
        rand_path = folder / "randomisation.parquet"
        rand = pd.read_parquet(rand_path) if rand_path.exists() else None
        blinded = "TRT01P" not in tables["ADSL"].columns
        sid = study_id or str(tables["ADSL"].get("STUDYID", pd.Series(["STUDY"])).iloc[0])
        return cls(sid, tables, blinded, rand)


def dose_ranks(rand: pd.DataFrame) -> pd.Series:
    """TRT01PN: 0 for placebo, then 1, 2, ... by increasing dose (ties by label)."""
    arms = rand.drop_duplicates("TRT01P")[["TRT01P", "TRTDOSE"]]
    active = arms[arms["TRTDOSE"] > 0].sort_values(["TRTDOSE", "TRT01P"])
    codes = {a: k + 1 for k, a in enumerate(active["TRT01P"])}
    return rand["TRT01P"].map(lambda a: codes.get(a, 0)).astype(int)
