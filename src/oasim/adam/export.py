"""Submission formats: SAS XPT v5 (pyreadstat), CDISC Dataset-JSON v1.1 (validated with
jsonschema against the published schema shipped in ``schema/``), CSV; and the define-style
metadata tables.

XPT v5 limits are enforced, not silently truncated in names: dataset and variable names
≤ 8 characters (an :class:`~oasim.errors.AdamError` otherwise), labels cut to 40 characters,
character values ≤ 200 bytes. Nullable integers are written as SAS numerics (missing = ``.``).
Dataset-JSON is read from ``.json``, ``.ndjson`` and compressed ``.dsjc`` (zlib or gzip stream
of the NDJSON form).
"""

from __future__ import annotations

import json
import zlib
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..data.metadata import DATASET_LABELS, define_tables, is_character, label_of
from ..errors import AdamError, DataError
from ..io import atomic_output_dir

FORMATS = ("xpt", "dataset-json", "csv")


@lru_cache(maxsize=1)
def dataset_json_schema() -> dict:
    """The CDISC Dataset-JSON v1.1 JSON schema (cdisc-org/DataExchange-DatasetJson, MIT)."""
    text = resources.files("oasim.adam").joinpath("schema/dataset.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def validate_dataset_json(doc: dict) -> None:
    """Raise :class:`~oasim.errors.DataError` listing the schema violations of ``doc``."""
    import jsonschema

    validator = jsonschema.Draft201909Validator(dataset_json_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    if errors:
        lines = "; ".join(f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors[:5])
        raise DataError(doc.get("name", "dataset"), f"not valid Dataset-JSON v1.1 ({len(errors)} error(s)): {lines}")


def _data_type(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_integer_dtype(s):
        return "integer"
    if pd.api.types.is_numeric_dtype(s):
        return "double"
    return "string"


def _cell(x):
    if x is None or x is pd.NA:
        return None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (float, np.floating)):
        return None if not np.isfinite(x) else float(x)
    return x


def to_dataset_json(df: pd.DataFrame, name: str, study_oid: str = "", label: str | None = None) -> dict:
    """A Dataset-JSON v1.1 document (dict) of ``df``; variable labels from the metadata."""
    labels = df.attrs.get("labels", {})
    columns = []
    for col in df.columns:
        entry = {"itemOID": f"IT.{name}.{col}", "name": str(col), "label": label_of(col, labels),
                 "dataType": _data_type(df[col])}
        if entry["dataType"] == "string":
            entry["length"] = max(1, int(df[col].astype(str).str.encode("utf-8").str.len().max() or 1))
        columns.append(entry)
    rows = [[_cell(v) for v in rec] for rec in df.astype(object).itertuples(index=False, name=None)]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    doc = {"datasetJSONCreationDateTime": now, "datasetJSONVersion": "1.1.0", "fileOID": f"oasim/{name}",
           "originator": "oasim", "sourceSystem": {"name": "oasim", "version": __version__},
           "studyOID": study_oid or "oasim", "itemGroupOID": f"IG.{name}", "records": len(rows), "name": name,
           "label": label or DATASET_LABELS.get(name, name), "columns": columns, "rows": rows}
    return doc


def read_dataset_json(path: str | Path) -> tuple[pd.DataFrame, dict]:
    """(data, labels) of a Dataset-JSON file: ``.json``, ``.ndjson`` or compressed ``.dsjc``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".dsjc", ".ndjson"):
        raw = path.read_bytes()
        text = zlib.decompress(raw, 47).decode("utf-8") if suffix == ".dsjc" else raw.decode("utf-8")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        doc = json.loads(lines[0])
        doc["rows"] = [json.loads(ln) for ln in lines[1:]]
    else:
        doc = json.loads(path.read_text(encoding="utf-8"))
    names = [c["name"] for c in doc["columns"]]
    rows = [r if isinstance(r, list) else [r.get(n) for n in names] for r in doc.get("rows", [])]
    df = pd.DataFrame(rows, columns=names)
    for c in doc["columns"]:
        if c["dataType"] in ("integer", "float", "double", "decimal"):
            df[c["name"]] = pd.to_numeric(df[c["name"]])
    return df, {c["name"]: c.get("label", "") for c in doc["columns"]}


def _check_xpt_names(name: str, df: pd.DataFrame) -> None:
    if len(name) > 8 or not name[:1].isalpha():
        raise AdamError(name, "(dataset name)", name, "SAS XPT v5 names have at most 8 characters, starting with a letter")
    for col in df.columns:
        if len(str(col)) > 8:
            raise AdamError(name, str(col), str(col), "SAS XPT v5 variable names have at most 8 characters")


def _xpt_frame(df: pd.DataFrame, name: str) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if is_character(s):
            out[col] = s.astype(object).where(s.notna(), "").astype(str)
            too_long = out[col].str.encode("utf-8").str.len() > 200
            if too_long.any():
                raise AdamError(name, col, out.loc[too_long, col].iloc[0][:40] + "...",
                                "character values of at most 200 bytes (SAS XPT v5)")
        else:
            out[col] = pd.to_numeric(s).astype(float)
    return out


def write_xpt(df: pd.DataFrame, name: str, path: Path) -> None:
    import pyreadstat

    _check_xpt_names(name, df)
    labels = df.attrs.get("labels", {})
    pyreadstat.write_xport(_xpt_frame(df, name), str(path), file_label=DATASET_LABELS.get(name, name)[:40],
                           column_labels=[label_of(c, labels) for c in df.columns], table_name=name,
                           file_format_version=5)


def collect_tables(results_dir: Path) -> dict[str, pd.DataFrame]:
    """The tables of a results folder: ``datasets/*.parquet`` of ``oasim run`` (or the folder's
    own dataset files) and ``ard.parquet`` when present."""
    from .io import read_adam_dir

    results_dir = Path(results_dir)
    source = results_dir / "datasets" if (results_dir / "datasets").is_dir() else results_dir
    tables = {k: v for k, v in read_adam_dir(source).items() if k != "RANDOMISATION"}
    if (results_dir / "ard.parquet").exists():
        tables["ARD"] = pd.read_parquet(results_dir / "ard.parquet")
    if not tables:
        raise DataError(results_dir, "no tables to export")
    return tables


def export(results_dir: str | Path, fmt: str, out_dir: str | Path, force: bool = False) -> Path:
    """Write every table of ``results_dir`` in ``fmt`` plus ``define_*.csv`` into ``out_dir``
    (atomically; a non-empty ``out_dir`` only with ``force``, see :func:`oasim.io.atomic_output_dir`)."""
    if fmt not in FORMATS:
        raise AdamError("--format", "format", fmt, f"one of {list(FORMATS)}")
    tables = collect_tables(Path(results_dir))
    out_dir = Path(out_dir)
    with atomic_output_dir(out_dir, force) as tmp:
        study = next((str(t["STUDYID"].iloc[0]) for t in tables.values() if "STUDYID" in t and len(t)), "")
        for name, df in tables.items():
            if fmt == "xpt":
                write_xpt(df, name, tmp / f"{name.lower()}.xpt")
            elif fmt == "dataset-json":
                doc = to_dataset_json(df, name, study)
                validate_dataset_json(doc)
                (tmp / f"{name.lower()}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            else:
                df.to_csv(tmp / f"{name.lower()}.csv", index=False)
        for kind, table in define_tables(tables).items():
            table.to_csv(tmp / f"define_{kind}.csv", index=False)
    return out_dir
