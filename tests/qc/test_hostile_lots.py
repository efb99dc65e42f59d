"""Hostile lot folders: unsafe ids, wrong types, non-finite numbers and FCS events -> named errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from oasim.cli import app
from oasim.errors import DataError, FieldError
from oasim.qc.flow import read_fcs
from oasim.qc.lot import read_lot


@pytest.fixture
def lot(demo_lot, tmp_path):
    folder = tmp_path / "deep" / "er" / "lot"
    shutil.copytree(demo_lot, folder)
    return folder


def _edit(lot, old: str, new: str) -> None:
    path = lot / "lot.toml"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")


@pytest.mark.parametrize("lot_id", ["../../x", "a/b", ".hidden", "", "x" * 101])
def test_lot_ids_that_are_not_a_plain_folder_name_are_refused(lot, tmp_path, monkeypatch, lot_id):
    _edit(lot, 'id = "EXO-DEMO-001"', f'id = "{lot_id}"')
    with pytest.raises(FieldError, match="lot.id"):
        read_lot(lot)
    monkeypatch.chdir(tmp_path / "deep")
    result = CliRunner().invoke(app, ["qc", str(lot)])
    assert result.exit_code == 2 and "lot.id" in result.output
    assert sorted(p.name for p in (tmp_path / "deep").iterdir()) == ["er"]  # nothing written anywhere


@pytest.mark.parametrize("old,new,field", [
    ('id = "EXO-DEMO-001"', "id = 17", "lot.id"),
    ("potency_relative = 1.0", "potency_relative = inf", "lot.potency_relative"),
    ("potency_relative = 1.0", "potency_relative = nan", "lot.potency_relative"),
    ("potency_relative = 1.0", 'potency_relative = "abc"', "lot.potency_relative"),
    ("potency_relative = 1.0", "potency_relative = true", "lot.potency_relative"),
    ("control_percentile = 99.0", 'control_percentile = "high"', "flow.control_percentile"),
    ("control_percentile = 99.0", "control_percentile = 150", "flow.control_percentile"),
    ("dilution_factor = 1000.0", 'dilution_factor = "x"', "nta.dilution_factor"),
    ("dilution_factor = 1000.0", "dilution_factor = -1.0", "nta.dilution_factor"),
    ('gating = "control_p99"', "gating = 5", "flow.gating"),
    ('CD90 = { file = "msc_positive_panel.fcs"', 'CD90 = { file = 3', "flow.markers.CD90.file"),
])
def test_wrong_types_and_ranges_in_lot_toml_are_field_errors(lot, old, new, field):
    _edit(lot, old, new)
    with pytest.raises(FieldError) as info:
        read_lot(lot)
    assert info.value.field == field


def test_a_binary_lot_toml_is_a_data_error(lot):
    (lot / "lot.toml").write_bytes(bytes(range(256)))
    with pytest.raises(DataError, match="UTF-8"):
        read_lot(lot)


@pytest.mark.parametrize("value,problem", [(np.nan, "not finite"), (np.inf, "not finite"), (1e30, "outside")])
def test_fcs_events_must_be_finite_and_within_the_channel_range(lot, value, problem):
    import flowio

    path = lot / "flow" / "msc_positive_panel.fcs"
    fcs = flowio.FlowData(str(path))
    events = np.asarray(fcs.as_array(preprocess=False), dtype=np.float32).copy()
    assert np.isfinite(read_fcs(path).events).all()
    events[5, 2] = value
    names = list(fcs.pnn_labels)
    with open(path, "wb") as handle:
        flowio.create_fcs(handle, events.ravel().tolist(), names)
    with pytest.raises(DataError, match=problem) as info:
        read_fcs(path)
    assert names[2] in str(info.value)
