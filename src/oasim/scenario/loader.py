"""One loader for every scenario file: read the TOML, pick the ``kind``, validate, run.

:data:`KINDS` maps a scenario ``kind`` to its pydantic model and its runner, both named as
``"module:attribute"`` and imported only when a scenario of that kind is loaded or run (so
validating a trial does not import the experiments, and ``oasim --help`` imports neither).
A new kind is one entry::

    KINDS["program"] = Kind("oasim.program:ProgramScenario", "oasim.program:run_scenario", "bench to bedside")

or :func:`register_kind` from the package that defines it.

A runner is called as ``runner(scenario, out_dir, source, progress)``: it writes its files
into ``out_dir`` (a fresh temporary folder that :func:`run` renames into place when the runner
returns, :func:`oasim.io.atomic_output_dir`), calls ``progress(message)`` as it goes, and
returns an :class:`oasim.io.RunOutput` (summary, tables, provenance, text blocks).
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import FieldError, ScenarioError

DEFAULT_KIND = "trial"
"""The kind of a scenario file without a ``kind`` field."""


class StrictModel(BaseModel):
    """Base of every scenario model: frozen, and an unknown field is an error (a misspelling)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class Kind:
    """Where a scenario kind's model and runner live (``"module:attribute"``)."""

    model: str
    runner: str
    description: str = ""

    def model_class(self) -> type[BaseModel]:
        return _resolve(self.model)

    def runner_function(self) -> Callable:
        return _resolve(self.runner)


KINDS: dict[str, Kind] = {
    "trial": Kind("oasim.scenario.trial:Scenario", "oasim.trial.run:run_scenario",
                  "randomised trial: ascending-dose cohorts or parallel arms"),
    "invitro_il1b": Kind("oasim.scenario.experiments:InVitroScenario", "oasim.experiments.run:run_scenario",
                         "IL-1β chondrocyte assay (± exosomes, ± macrophages), optional toxicity"),
    "mouse_oa": Kind("oasim.scenario.experiments:MouseScenario", "oasim.experiments.run:run_scenario",
                     "mouse DMM / collagenase OA with intra-articular injections, optional dose translation"),
    "explant": Kind("oasim.scenario.experiments:ExplantScenario", "oasim.experiments.run:run_scenario",
                    "cartilage explants under IL-1 / oncostatin M"),
    "program": Kind("oasim.program.scenario:ProgramScenario", "oasim.program.run:run_scenario",
                    "bench to bedside: in vitro → toxicity → mouse → translation → escalation → trial → analysis"),
}
"""Scenario ``kind`` → its model and runner; :func:`load` and :func:`run` dispatch on it."""


def register_kind(name: str, model: str, runner: str, description: str = "") -> None:
    """Add (or replace) a scenario kind; ``model`` and ``runner`` are ``"module:attribute"``."""
    KINDS[name] = Kind(model, runner, description)


def read_toml(path: str | Path) -> dict:
    """The TOML file at ``path`` as a dict; a :class:`ScenarioError` if it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(str(path), [FieldError("file", str(path), "an existing TOML file")])
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(path), [FieldError("file", str(path), f"a UTF-8 text file ({exc.reason} at byte "
                                                                      f"{exc.start})")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), [FieldError("file", str(path), f"valid TOML ({exc})")]) from None
    return data


def field_errors(exc: ValidationError, source: str) -> list[FieldError]:
    """Pydantic errors as FieldErrors with dotted paths (cohorts[1].dose)."""
    out = []
    for err in exc.errors():
        path = ""
        for part in err["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "no such field (check the spelling)"
        elif err["type"] == "missing":
            msg = "a value (the field is required)"
        out.append(FieldError(path or "<root>", err.get("input"), msg, source))
    return out


def validate(model: type[BaseModel], data: dict, source: str = "<scenario>", base_dir: str | Path | None = None):
    """``model`` validated from ``data``; a :class:`ScenarioError` listing every problem.

    ``base_dir`` (the scenario file's folder) and ``source`` reach the validators as the
    validation context ``{"base_dir": ..., "source": ...}``, for paths written relative to the
    file and for errors that name it.
    """
    context = {"source": source} if base_dir is None else {"base_dir": Path(base_dir), "source": source}
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise ScenarioError(source, field_errors(exc, source)) from None


def load(source: str | Path | dict):
    """Read (a TOML path) or take (a dict) a scenario and validate it as the model of its ``kind``.

    Raises
    ------
    oasim.errors.ScenarioError
        An unknown ``kind``, or every validation problem with field, value and what is allowed.
    """
    if isinstance(source, dict):
        data, where, base_dir = source, "<scenario>", None
    else:
        data, where, base_dir = read_toml(source), str(source), Path(source).parent
    kind = data.get("kind", DEFAULT_KIND)
    if not isinstance(kind, str) or kind not in KINDS:
        raise ScenarioError(where, [FieldError("kind", kind, f"one of {sorted(KINDS)}", where)])
    return validate(KINDS[kind].model_class(), data, where, base_dir)


def run(scenario, out: str | Path, force: bool = False, source: str = "<scenario>",
        progress: Callable[[str], None] | None = None):
    """Run a validated scenario with its kind's runner into the folder ``out``, written atomically.

    Returns the runner's :class:`oasim.io.RunOutput`.
    """
    from ..io import atomic_output_dir

    runner = KINDS[scenario.kind].runner_function()
    with atomic_output_dir(out, force) as tmp:
        return runner(scenario, tmp, source, progress or (lambda _message: None))
