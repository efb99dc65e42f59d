"""The chain of a program run: every stage's outputs, and the provenance trail of the numbers
carried from one stage to the next (which stage, which output, value, unit, and that stage's
seed, source and inputs).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .scenario import OUTPUTS, ProgramReferenceError, StageResultError, parse_reference


def json_value(x):
    """Plain JSON values (numpy → Python, tuples → lists, NaN → None)."""
    if isinstance(x, dict):
        return {str(k): json_value(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [json_value(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def digest(inputs: dict) -> str:
    """First 16 hex digits of the SHA-256 of a stage's resolved inputs (keys sorted)."""
    return hashlib.sha256(json.dumps(json_value(inputs), sort_keys=True).encode()).hexdigest()[:16]


def stage_seed(program_seed: int, stage_index: int) -> int:
    """A stage's seed: spawned from the program's seed by the stage's fixed position, so adding
    or removing another stage leaves it unchanged."""
    state = np.random.SeedSequence(program_seed, spawn_key=(stage_index,)).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))  # < 2**63, what a trial scenario accepts


@dataclass
class StageRecord:
    stage: str
    source: str  # "simulated" or "data: <path>"
    seed: int | None
    inputs: dict
    outputs: dict = field(default_factory=dict)  # name -> {"value", "unit"}

    @property
    def inputs_digest(self) -> str:
        return digest(self.inputs)


@dataclass(frozen=True)
class Carried:
    """One number (or list) passed by name from an earlier stage's output to a stage's input."""

    to: str  # "translation.dose_particles"
    origin: str  # "mouse.effective_dose_particles"
    value: object
    unit: str
    origin_source: str
    origin_seed: int | None
    origin_inputs_digest: str


class Chain:
    """Outputs of the stages run so far; resolves ``from:`` references and records them."""

    def __init__(self):
        self.records: dict[str, StageRecord] = {}
        self.carried: list[Carried] = []

    def resolve(self, stage: str, spec) -> dict:
        """``spec``'s fields with every ``from:stage.output`` replaced by that output's value."""
        out = {}
        for name, value in spec:
            ref = parse_reference(value)
            if ref is None:
                out[name] = value
                continue
            origin, output = ref
            record = self.records.get(origin)
            if record is None or output not in record.outputs:
                have = [f"{s}.{o}" for s, r in self.records.items() for o in r.outputs]
                raise ProgramReferenceError(f"{stage}.{name}", value, f"an output of an earlier stage: {have}")
            entry = record.outputs[output]
            if entry["value"] is None:
                raise StageResultError(f"{stage}.{name}", value, f"a value, but stage '{origin}' gave no "
                                       f"{output} ({entry.get('why', 'not reached')})")
            self.carried.append(Carried(f"{stage}.{name}", f"{origin}.{output}", entry["value"], entry["unit"],
                                        record.source, record.seed, record.inputs_digest))
            out[name] = entry["value"]
        return out

    def record(self, stage: str, source: str, seed: int | None, inputs: dict, outputs: dict) -> StageRecord:
        """Store a stage's outputs (name -> value, or (value, why-missing)); units from OUTPUTS."""
        rec = StageRecord(stage, source, seed, json_value(inputs))
        for name, unit in OUTPUTS[stage].items():
            value = outputs.get(name)
            why = None
            if isinstance(value, Missing):
                value, why = None, value.why
            rec.outputs[name] = {"value": json_value(value), "unit": unit, **({"why": why} if why else {})}
        self.records[stage] = rec
        return rec

    def trail_frame(self) -> pd.DataFrame:
        """The provenance trail as a table, one row per carried number, in order."""
        rows = []
        for k, c in enumerate(self.carried, 1):
            value = c.value
            shown = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value) \
                if isinstance(value, list) else (f"{value:.4g}" if isinstance(value, float) else
                                                  json.dumps(value) if isinstance(value, dict) else str(value))
            rows.append({"step": k, "to": c.to, "from": c.origin, "value": shown, "unit": c.unit,
                         "from_source": c.origin_source,
                         "from_seed": "" if c.origin_seed is None else str(c.origin_seed),
                         "from_inputs_sha256": c.origin_inputs_digest})
        return pd.DataFrame(rows, columns=["step", "to", "from", "value", "unit", "from_source", "from_seed",
                                           "from_inputs_sha256"])

    def to_json(self) -> dict:
        return {"stages": {s: {"source": r.source, "seed": r.seed, "inputs": r.inputs,
                               "inputs_sha256": r.inputs_digest, "outputs": r.outputs}
                           for s, r in self.records.items()},
                "trail": [json_value(asdict(c)) for c in self.carried]}


@dataclass(frozen=True)
class Missing:
    """An output a stage could not give, with the reason (a later reference to it fails with it)."""

    why: str
