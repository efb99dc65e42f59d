"""Read standard datasets (one file per dataset) from SAS XPT, Parquet, CSV or Dataset-JSON
(``.json``, ``.ndjson``, compressed ``.dsjc``).

The dataset name is the file stem in upper case (``adsl.xpt`` → ``ADSL``). Character missing
values read as empty strings, as SAS stores them, whatever the format. Variable labels are
kept in ``DataFrame.attrs["labels"]`` when the format carries them (XPT, Dataset-JSON).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import DataError

SUFFIXES = (".xpt", ".parquet", ".csv", ".json", ".ndjson", ".dsjc")


def read_dataset(path: str | Path) -> pd.DataFrame:
    """One dataset; ``attrs["labels"]`` maps variable → label when the file has labels."""
    path = Path(path)
    suffix = path.suffix.lower()
    labels: dict[str, str] = {}
    try:
        if suffix == ".xpt":
            import pyreadstat

            df, meta = pyreadstat.read_xport(str(path))
            labels = {k: v for k, v in meta.column_names_to_labels.items() if v}
        elif suffix == ".parquet":
            df = pd.read_parquet(path)
        elif suffix == ".csv":
            df = pd.read_csv(path, keep_default_na=False, na_values=[""])
            df = df.drop(columns=[c for c in df.columns if str(c).startswith("Unnamed: ")])
        elif suffix in (".json", ".ndjson", ".dsjc"):
            from .export import read_dataset_json

            df, labels = read_dataset_json(path)
        else:
            raise DataError(path, f"unknown dataset format {suffix!r}; allowed {list(SUFFIXES)}")
    except DataError:
        raise
    except Exception as exc:  # the reader's own message says what is wrong with the file
        raise DataError(path, f"cannot be read ({type(exc).__name__}: {exc})") from exc
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    df.attrs["labels"] = labels
    return df


def read_adam_dir(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Every dataset file in ``folder`` keyed by upper-case name (XPT preferred over Parquet, CSV)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "not a folder of datasets")
    tables: dict[str, pd.DataFrame] = {}
    for suffix in SUFFIXES:
        for path in sorted(folder.iterdir()):
            name = path.stem.upper()
            if path.suffix.lower() == suffix and name not in tables and not path.name.startswith("."):
                if suffix == ".json" and not _is_dataset_json(path):
                    continue
                tables[name] = read_dataset(path)
    if not tables:
        raise DataError(folder, f"no dataset files ({', '.join(SUFFIXES)})")
    return tables


def _is_dataset_json(path: Path) -> bool:
    import json

    try:
        with path.open(encoding="utf-8") as fh:
            head = json.load(fh)
    except (OSError, ValueError):
        return False
    return isinstance(head, dict) and "datasetJSONVersion" in head

