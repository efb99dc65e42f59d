"""The one scenario loader: ``kind`` → model and runner, a registry a new kind joins with one entry."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field

import oasim
from oasim.errors import ScenarioError
from oasim.io import MARKER, RunOutput
from oasim.scenario import KINDS, Scenario, StrictModel, load, register_kind
from oasim.scenario.experiments import SCENARIOS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class ToyScenario(StrictModel):
    kind: Literal["toy"] = "toy"
    name: str
    seed: int = Field(0, ge=0)
    fail: bool = False


def run_toy(scenario: ToyScenario, out_dir: Path, source: str, progress) -> RunOutput:
    progress("toy running")
    (out_dir / "report.html").write_text(f"<p>{scenario.name}</p>", encoding="utf-8")
    if scenario.fail:
        raise RuntimeError("the toy runner failed halfway")
    return RunOutput({"name": scenario.name, "seed": scenario.seed}, {}, {"seed": scenario.seed, "source": source})


@pytest.fixture
def toy_kind():
    register_kind("toy", f"{__name__}:ToyScenario", f"{__name__}:run_toy", "a test kind")
    yield
    del KINDS["toy"]


def test_every_shipped_kind_is_registered_and_loads_its_example():
    assert {"trial", *SCENARIOS} <= set(KINDS)
    for kind, model in SCENARIOS.items():
        assert KINDS[kind].model_class() is model
    assert KINDS["trial"].model_class() is Scenario
    loaded = {load(path).kind for path in EXAMPLES.glob("*.toml")}
    assert loaded == {"trial", "invitro_il1b", "mouse_oa", "program"}


def test_an_unknown_kind_names_every_registered_kind(toy_kind):
    with pytest.raises(ScenarioError) as info:
        load({"kind": "zebrafish", "name": "x"})
    error = info.value.errors[0]
    assert error.field == "kind" and error.value == "zebrafish"
    for kind in KINDS:
        assert repr(kind) in error.allowed


def test_a_registered_kind_validates_and_runs_through_the_public_api(toy_kind, tmp_path):
    assert isinstance(oasim.load_scenario({"kind": "toy", "name": "t"}), ToyScenario)
    with pytest.raises(ScenarioError) as info:
        oasim.load_scenario({"kind": "toy", "name": "t", "seed": -1, "colour": "red"})
    assert sorted(e.field for e in info.value.errors) == ["colour", "seed"]
    messages = []
    result = oasim.run({"kind": "toy", "name": "t", "seed": 4}, out=tmp_path / "toy", progress=messages.append)
    assert messages == ["toy running"]
    assert (result.kind, result.name, result.provenance) == ("toy", "t", {"seed": 4, "source": "<scenario>"})
    assert result.summary_data == {"name": "t", "seed": 4} and result.report_html == "<p>t</p>"
    assert (tmp_path / "toy" / MARKER).is_file()


def test_a_failing_runner_leaves_no_output_folder(toy_kind, tmp_path):
    with pytest.raises(RuntimeError, match="halfway"):
        oasim.run({"kind": "toy", "name": "t", "fail": True}, out=tmp_path / "toy")
    assert list(tmp_path.iterdir()) == []


def test_a_relative_lot_is_found_beside_the_scenario_file(tmp_path):
    text = (EXAMPLES / "hucmsc_exosome_trial.toml").read_text(encoding="utf-8")
    lot = (EXAMPLES / "lot_demo").resolve()
    (tmp_path / "lots").symlink_to(lot, target_is_directory=True)
    path = tmp_path / "trial.toml"
    path.write_text(text.replace('[product]\n', '[product]\nlot = "lots"\n', 1), encoding="utf-8")
    scenario = load(path)
    assert scenario.product.lot == str(tmp_path / "lots")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    with pytest.raises(ScenarioError) as info:  # the same data without the file: no folder beside it
        load(data)
    assert info.value.errors[0].field == "product.lot"
