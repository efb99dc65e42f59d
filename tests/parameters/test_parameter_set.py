"""Parameter sets: every entry has a unit and a source; bad entries are refused by name."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from oasim.cli import app
from oasim.errors import ParameterError
from oasim.parameters import ParameterSet, available_sets, bibliography_keys, validate_for_model


def test_human_set_supplies_exactly_the_model_and_readout_parameters(model, human):
    validate_for_model(human, model.parameter_names)


def test_every_source_is_a_bib_key_or_a_reasoned_kind(human):
    keys = bibliography_keys()
    for p in human:
        if p.source_kind == "read":
            assert p.source in keys, p.name
        else:
            assert len(p.source.split(":", 1)[1].strip()) > 10, f"{p.name}: give a reason"
        assert p.unit


def test_derived_and_calibrated_sources_name_a_real_reference(human):
    """A 'derived:' or 'calibrated:' entry must cite at least one bib key it rests on."""
    keys = bibliography_keys()
    for p in human:
        if p.source_kind in ("derived", "calibrated"):
            tokens = set(re.findall(r"[A-Za-z][A-Za-z0-9]+", p.source))
            assert tokens & keys, f"{p.name}: {p.source}"


def _write(tmp_path, body):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[parameters]\n' + body)
    return path


@pytest.mark.parametrize("body, field", [
    ('k_x = { value = 1.0, source = "assumed: test value" }\n', "k_x.unit"),
    ('k_x = { value = -1.0, unit = "1/day", source = "assumed: test value" }\n', "k_x.value"),
    ('k_x = { value = 1.0, unit = "1/day", source = "Nobody1999" }\n', "k_x.source"),
    ('k_x = { value = 1.0, unit = "1/day", source = "assumed:" }\n', "k_x.source"),
    ('w_fraction = { value = 1.5, unit = "1", source = "assumed: test value" }\n', "w_fraction.value"),
    ('k_x = { value = 1.0, unit = "1/day", source = "assumed: test value", cv = -0.2 }\n', "k_x.cv"),
])
def test_bad_entries_are_refused_with_the_entry_named(tmp_path, body, field):
    with pytest.raises(ParameterError) as err:
        ParameterSet.load(_write(tmp_path, body))
    assert err.value.field == field
    assert field in str(err.value) and "bad.toml" in str(err.value)


def test_unknown_and_missing_names_are_refused(tmp_path, model, human):
    extra = human.with_values()  # copy
    params = dict(extra.parameters)
    params["k_typo_per_day"] = params["k_m1_to_m2_per_day"]
    with pytest.raises(ParameterError, match="k_typo_per_day"):
        validate_for_model(type(human)("x", params), model.parameter_names)
    del params["k_typo_per_day"]
    del params["k_m1_to_m2_per_day"]
    with pytest.raises(ParameterError, match="k_m1_to_m2_per_day"):
        validate_for_model(type(human)("x", params), model.parameter_names)


def test_with_values_returns_a_new_set_and_marks_the_override(human):
    changed = human.with_values(v_sf_ml=25.0)
    assert changed.value("v_sf_ml") == 25.0 and human.value("v_sf_ml") == 15.0
    assert changed["v_sf_ml"].source_kind == "assumed"


def test_params_show_lists_every_parameter_with_unit_and_source(human):
    result = CliRunner().invoke(app, ["params", "show", "human"], terminal_width=250)
    assert result.exit_code == 0, result.output
    for p in human:
        assert p.name in result.output
    assert f"({len(human)} parameters)" in result.output


def test_params_show_unknown_set_exits_2():
    result = CliRunner().invoke(app, ["params", "show", "martian"])
    assert result.exit_code == 2
    assert "martian" in result.output and available_sets()[0] in result.output
