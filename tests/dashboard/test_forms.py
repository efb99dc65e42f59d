"""Forms built from the pydantic models: every field appears, text round-trips to the same
validated scenario, errors land on the input's path, file paths are refused."""

from __future__ import annotations

import pytest

from oasim.dashboard import forms
from oasim.dashboard.app import default_trial
from oasim.dashboard.specs import EscalationSpec, ExplorerSpec
from oasim.errors import FieldError
from oasim.scenario import Scenario


def _inputs(group, templates: bool = False) -> dict[str, forms.Input]:
    """The inputs a browser posts (template rows, blank rows to add from, only if asked)."""
    out = {}
    for item in group.items:
        if isinstance(item, forms.Group):
            out.update(_inputs(item, templates) if templates or not item.template else {})
        else:
            out[item.path] = item
    return out


def _flat(model, values) -> dict[str, str]:
    return {path: i.value for path, i in _inputs(forms.build_form(model, values)).items()}


def test_every_scenario_leaf_field_is_an_input_except_the_lot_path():
    inputs = _inputs(forms.build_form(Scenario, default_trial()))
    leaves = {forms._plain(p) for p in inputs}
    everything = {forms._plain(p) for p in _inputs(forms.build_form(Scenario, default_trial()), templates=True)}
    assert everything == set(forms._paths(Scenario)) and "product.lot" not in everything
    assert "design.arms.n" in everything and not any(p.startswith("design.arms") for p in leaves)
    assert "product.name" in leaves
    assert "design.cohorts[2].dose" in inputs and "design.cohorts[3].dose" not in inputs
    assert inputs["design.cohorts[1].unit"].choices == ("particles", "ug", "cells")
    assert inputs["model.parameter_set"].kind == "select" and "human" in inputs["model.parameter_set"].choices
    assert inputs["visits.months"].kind == "list"
    assert inputs["design.safety_review.escalation"].kind == "json"


def test_form_text_round_trips_to_the_same_scenario():
    expected = Scenario.from_dict(default_trial())
    model, errors = forms.validate_form(Scenario, _flat(Scenario, expected))
    assert not errors
    assert model == expected and model.digest() == expected.digest()


@pytest.mark.parametrize("model", [ExplorerSpec, EscalationSpec])
def test_page_specs_round_trip_their_defaults(model):
    validated, errors = forms.validate_form(model, _flat(model, None))
    assert not errors and validated == model()


def test_errors_are_keyed_by_the_input_path():
    flat = _flat(Scenario, default_trial())
    flat["design.cohorts[1].dose"] = "-3"
    flat["visits.months"] = "0, 1, x"
    flat["population.inclusion.kl_grades"] = "2, 5"
    _, errors = forms.validate_form(Scenario, flat)
    assert set(errors.fields) == {"design.cohorts[1].dose", "visits.months", "population.inclusion.kl_grades"}
    assert "greater than 0" in errors.fields["design.cohorts[1].dose"]
    assert "given x" in errors.fields["visits.months"]


def test_cross_field_errors_are_general():
    flat = _flat(Scenario, default_trial())
    flat["analysis.primary_visit_month"] = "7"
    _, errors = forms.validate_form(Scenario, flat)
    assert not errors.fields and len(errors.general) == 1 and "primary_visit_month 7" in errors.general[0]


def test_removed_rows_leave_no_gap():
    flat = {k: v for k, v in _flat(Scenario, default_trial()).items() if not k.startswith("design.cohorts[1]")}
    model, errors = forms.validate_form(Scenario, flat)
    assert not errors and [c.dose for c in model.design.cohorts] == [1e11, 1e12]


@pytest.mark.parametrize("key", ["product.lot", "model.parameter_set", "output.figures.x", "__class__"])
def test_paths_and_unknown_keys_are_refused(key):
    flat = _flat(Scenario, default_trial())
    flat[key] = "/etc" if key != "model.parameter_set" else "/tmp/evil.toml"
    model, errors = forms.validate_form(Scenario, flat)
    assert model is None and key in errors.fields


def test_path_fields_are_found_by_name_in_any_model():
    from pathlib import Path
    from typing import Optional

    from pydantic import BaseModel

    class Arm(BaseModel):
        name: str = "a"
        lot: Optional[str] = None
        table: Optional[Path] = None
        parameter_set: str = "human"

    class Design(BaseModel):
        arms: tuple[Arm, ...] = (Arm(),)

    inputs = _inputs(forms.build_form(Design))
    assert set(inputs) == {"arms[0].name", "arms[0].parameter_set"}
    assert "human" in inputs["arms[0].parameter_set"].choices
    for key, value in (("arms[0].lot", "/srv"), ("arms[0].table", "/etc/passwd"), ("arms[0].parameter_set", "x.toml")):
        model, errors = forms.validate_form(Design, {key: value})
        assert model is None and key in errors.fields


def test_long_lists_are_refused():
    with pytest.raises(FieldError, match="at most 64"):
        forms.form_to_data(ExplorerSpec, {"injection_days": ",".join(str(k) for k in range(100))})
