"""Exports: SAS XPT v5 round trip through pyreadstat, Dataset-JSON v1.1 validated against the
published schema (jsonschema), define-style metadata, named errors for XPT limits."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

from oasim.adam.export import read_dataset_json, to_dataset_json, validate_dataset_json, write_xpt
from oasim.adam.io import read_adam_dir
from oasim.cli import app
from oasim.errors import AdamError, DataError

PILOT = Path(__file__).parent / "data" / "cdiscpilot"


@pytest.fixture(scope="module")
def adsl() -> pd.DataFrame:
    df, labels = read_dataset_json(PILOT / "adsl.dsjc")
    df.attrs["labels"] = labels
    return df


def test_xpt_round_trip_keeps_values_names_and_labels(adsl, tmp_path):
    path = tmp_path / "adsl.xpt"
    write_xpt(adsl, "ADSL", path)
    back, meta = pyreadstat.read_xport(str(path))
    assert list(back.columns) == list(adsl.columns) and meta.table_name == "ADSL"
    assert meta.column_names_to_labels["TRT01PN"] == adsl.attrs["labels"]["TRT01PN"]
    assert all(len(v) <= 40 for v in meta.column_names_to_labels.values())
    for col in adsl.columns:
        if pd.api.types.is_numeric_dtype(adsl[col]):
            np.testing.assert_allclose(back[col].to_numpy(float), adsl[col].to_numpy(float), equal_nan=True)
        else:
            assert back[col].tolist() == adsl[col].fillna("").astype(str).tolist(), col


def test_xpt_limits_are_named_errors(tmp_path):
    with pytest.raises(AdamError, match="TOOLONGNAME.*at most 8"):
        write_xpt(pd.DataFrame({"TOOLONGNAME": [1.0]}), "ADX", tmp_path / "x.xpt")
    with pytest.raises(AdamError, match="ADX.TEXT.*200 bytes"):
        write_xpt(pd.DataFrame({"TEXT": ["x" * 201]}), "ADX", tmp_path / "x.xpt")


def test_dataset_json_validates_against_the_published_schema(adsl):
    doc = to_dataset_json(adsl, "ADSL", "CDISCPILOT01")
    validate_dataset_json(doc)
    assert doc["records"] == len(adsl) == 254
    bad = dict(doc)
    del bad["itemGroupOID"]
    with pytest.raises(DataError, match="itemGroupOID"):
        validate_dataset_json(bad)
    with pytest.raises(DataError, match="dataType"):
        validate_dataset_json({**doc, "columns": [{**doc["columns"][0], "dataType": "text"}]})


def test_export_command_writes_every_format_and_define_tables(tmp_path):
    src = tmp_path / "adam"
    src.mkdir()
    for name in ("adsl.dsjc", "adae.dsjc"):
        shutil.copy(PILOT / name, src / name)
    for fmt, suffix in (("xpt", ".xpt"), ("dataset-json", ".json"), ("csv", ".csv")):
        result = CliRunner().invoke(app, ["export", str(src), "--format", fmt])
        assert result.exit_code == 0, result.output
        out = src / f"export-{fmt}"
        assert {p.name for p in out.glob(f"*{suffix}")} >= {f"adsl{suffix}", f"adae{suffix}"}
    again = read_adam_dir(src / "export-dataset-json")  # what we wrote reads back
    assert len(again["ADAE"]) == 1191
    doc = json.loads((src / "export-dataset-json" / "adae.json").read_text())
    validate_dataset_json(doc)
    variables = pd.read_csv(src / "export-xpt" / "define_variables.csv")
    assert {"DATASET", "VARIABLE", "LABEL", "TYPE", "LENGTH", "CODELIST"} <= set(variables.columns)
    assert (variables["LABEL"].str.len() <= 40).all()
    result = CliRunner().invoke(app, ["export", str(src), "--format", "xpt"])
    assert result.exit_code == 2 and "--force" in result.output
    result = CliRunner().invoke(app, ["export", str(src), "--format", "sas7bdat", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "xpt" in result.output
