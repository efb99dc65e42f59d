"""Provenance of a run: what was run, with which seed and code — one rule for every output."""

from __future__ import annotations

import hashlib
import json


def digest(scenario) -> str:
    """First 16 hex digits of the SHA-256 of a validated scenario's content (key order fixed)."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def provenance(scenario, **extra) -> dict:
    """``kind``, ``name``, ``seed``, ``scenario_digest``, ``oasim_version`` plus ``extra`` fields."""
    from . import __version__

    return {"kind": scenario.kind, "name": scenario.name, "seed": scenario.seed,
            "scenario_digest": digest(scenario), "oasim_version": __version__, **extra}
