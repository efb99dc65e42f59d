"""Property: whatever a scenario file holds, `oasim validate` ends in success or a named error.

Hypothesis mutates the example trial: it replaces, deletes or adds fields anywhere in the
document with hostile values (NaN, ±inf, huge and negative numbers, empty and wrong-typed
lists, strings, tables). Every outcome must be exit code 0 or 2 with no other exception; the
slow variant also runs the trials `validate` accepts (small cohorts), which must then end in a
result or an :class:`~oasim.errors.OasimError`.
"""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from oasim.cli import app
from oasim.errors import OasimError
from oasim.scenario import Scenario

TRIAL = Path(__file__).resolve().parent / "data" / "trial.toml"
BASE = tomllib.loads(TRIAL.read_text("utf-8"))

scalars = st.one_of(
    st.integers(-10**12, 10**12), st.sampled_from([0, 1, 2, 3, 4, -1, 2**63, 10**9]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e300, 1e-300, 0.0, 0.5, 1.0004e11, 1e11]),
    st.text(max_size=12), st.sampled_from(["", "trial", "../../x", "human", "numba", "particles", "cells", "ug"]),
    st.booleans(),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)


def _locations(doc, prefix=()):
    """Every (path) to a value in the document, tables and arrays included."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _locations(value, (*prefix, key))


LOCATIONS = sorted(_locations(BASE), key=str)


@st.composite
def scenario_dicts(draw):
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(LOCATIONS))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict) != isinstance(path[-1], str):
                continue  # an earlier mutation turned an array into a table or back
            action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
            if action == "replace":
                parent[path[-1]] = draw(values)
            elif action == "delete" and isinstance(parent, dict):
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or retyped the parent
    return doc


def _validate(doc: dict, tmp: Path):
    path = tmp / "scenario.toml"
    path.write_text(tomli_w.dumps(doc), "utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("scenarios")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=scenario_dicts())
def test_validate_ends_in_success_or_a_named_error(folder, doc):
    _validate(doc, folder)


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=scenario_dicts())
def test_validate_ends_in_success_or_a_named_error_long(folder, doc):
    _validate(doc, folder)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=scenario_dicts())
def test_accepted_scenarios_run_or_fail_by_name(folder, doc):
    from oasim.trial.conduct import conduct_trial

    code, path = _validate(doc, folder)
    if code != 0 or doc.get("kind", "trial") != "trial":
        return
    data = tomllib.loads(path.read_text("utf-8"))
    for cohort in data["design"]["cohorts"]:  # keep the simulation small: 4 subjects per cohort
        cohort.update(n_active=min(cohort["n_active"], 3), n_placebo=min(cohort.get("n_placebo", 0), 1))
    data["design"]["block_size"] = None
    data["design"] = {k: v for k, v in data["design"].items() if v is not None}
    try:
        conduct_trial(Scenario.from_dict(data))
    except OasimError:
        pass
