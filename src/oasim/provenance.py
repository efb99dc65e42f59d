"""Provenance of a run: what was run, with which seed and code — one rule for every output."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path


def digest(scenario) -> str:
    """First 16 hex digits of the SHA-256 of a validated scenario's content (key order fixed)."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def provenance(scenario, **extra) -> dict:
    """``kind``, ``name``, ``seed``, ``scenario_digest``, ``oasim_version`` plus ``extra`` fields."""
    from . import __version__

    return {"kind": scenario.kind, "name": scenario.name, "seed": scenario.seed,
            "scenario_digest": digest(scenario), "oasim_version": __version__, **extra}


def source_digest(root: str | Path | None = None) -> str:
    """First 16 hex digits of the SHA-256 of every file of the installed oasim package (code and
    bundled data, ``__pycache__`` left out), path by path: what names resumable intermediate
    results (design chunks), so an edited source tree never silently reuses chunks computed by
    other code under the same version string. ``root``: another folder (tests)."""
    return _source_digest(str(Path(root) if root is not None else Path(__file__).parent))


@functools.lru_cache(maxsize=4)
def _source_digest(root: str) -> str:
    h = hashlib.sha256()
    base = Path(root)
    for path in sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(base).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]
