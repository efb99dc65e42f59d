"""Population simulations too large for memory: chunks of subjects streamed to Parquet.

``stream_population`` samples, simulates and reduces one chunk of subjects at a time and writes
each chunk's key outputs as ``part_<first>_<last>.parquet`` (atomically) in long form: one row
per subject and output time, float32 values. Memory is bounded by the chunk size, not by the
number of subjects. Chunk ``k`` draws its subjects from ``SeedSequence(seed, spawn_key=(k,))``,
so a run is reproducible for a given seed and chunk size, and a rerun into the same folder
skips the parts already written (resume) — only with the same settings and oasim code (the
folder's stamp, :func:`oasim.distributed.claim_resumable_dir`; otherwise a named error). A ``summary.json`` with the per-visit mean and SD of
every output over the subjects that solved is written at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .distributed import chunk_bounds, claim_resumable_dir, write_parquet_atomic
from .errors import FieldError
from .parameters import ParameterSet
from .population import Population
from .protocol import Dose
from .readouts import key_outputs


@dataclass(frozen=True)
class StreamSummary:
    n_subjects: int
    n_failed: int
    t_days: np.ndarray
    mean: dict
    sd: dict


def _part_path(out_dir: Path, start: int, stop: int) -> Path:
    return out_dir / f"part_{start:08d}_{stop:08d}.parquet"


def chunk_frame(ps: ParameterSet, start: int, stop: int, k: int, seed: int, t_days: np.ndarray,
                doses: Sequence[Dose], kl: int | None, solver, on_solver_failure: str = "raise") -> pd.DataFrame:
    """Key outputs of subjects ``start .. stop - 1`` (chunk ``k``) in long form."""
    from .simulation import simulate

    n = stop - start
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))
    pop = Population.sample(ps, n, rng, kl_grade=kl)
    result = simulate(pop, t_days, [tuple(doses)] * n, solver=solver, on_solver_failure=on_solver_failure)
    outputs = key_outputs(result.solution, pop.parameters)
    n_t = t_days.size
    frame = {"subject": np.repeat(np.arange(start, stop, dtype=np.int64), n_t),
             "kl_grade": np.repeat(pop.covariates["kl_grade"].to_numpy(np.int8), n_t),
             "status": np.repeat(result.solution.status.astype(np.int8), n_t),
             "t_days": np.tile(t_days.astype(np.float32), n)}
    for name, values in outputs.items():
        frame[name] = values.astype(np.float32).ravel()
    return pd.DataFrame(frame)


def stream_settings(ps: ParameterSet, t_days: np.ndarray, doses: Sequence[Dose], seed: int, kl: int | None,
                    chunk_subjects: int, solver=None) -> dict:
    """What a part's content depends on besides the code and the subjects' range: the stamp's
    settings (:func:`oasim.distributed.claim_resumable_dir`). The parameter set by name and a
    digest of its values and CVs (a set edited under the same name is another set); the solver by
    its repr (class, tolerances; None: simulate's default)."""
    values = json.dumps(sorted((k, p.value, p.cv) for k, p in ps.parameters.items()))
    return {"parameter_set": ps.name, "parameter_set_digest": hashlib.sha256(values.encode()).hexdigest()[:16],
            "seed": int(seed), "kl": kl, "chunk_subjects": int(chunk_subjects),
            "t_days": [float(t) for t in t_days], "doses": [dict(d.__dict__) for d in doses],
            "solver": None if solver is None else repr(solver)}


def stream_population(ps: ParameterSet, n_subjects: int, t_days: np.ndarray, doses: Sequence[Dose],
                      out_dir: Path, seed: int = 1, kl: int | None = None, chunk_subjects: int = 20_000,
                      solver=None, progress: Callable[[int, int], None] | None = None,
                      on_solver_failure: str = "raise") -> StreamSummary:
    """Simulate ``n_subjects`` in chunks, writing each chunk's outputs to ``out_dir``."""
    if chunk_subjects < 1:
        raise FieldError("chunk_subjects", chunk_subjects, ">= 1")
    t_days = np.asarray(t_days, float)
    out_dir = claim_resumable_dir(out_dir, "simulate", stream_settings(ps, t_days, doses, seed, kl, chunk_subjects, solver))
    sums = sumsq = None
    count = np.zeros(t_days.size)
    n_failed = 0
    done = 0
    names: list[str] = []
    for k, (a, b) in enumerate(chunk_bounds(n_subjects, chunk_subjects)):
        path = _part_path(out_dir, a, b)
        if path.exists():
            frame = pd.read_parquet(path)
        else:
            frame = chunk_frame(ps, a, b, k, seed, t_days, doses, kl, solver, on_solver_failure)
            write_parquet_atomic(frame, path)
        names = [c for c in frame.columns if c not in ("subject", "kl_grade", "status", "t_days")]
        ok = frame["status"].to_numpy() == 0
        values = frame[names].to_numpy(np.float64).reshape(b - a, t_days.size, len(names))
        okv = values[ok.reshape(b - a, t_days.size)[:, 0]]
        if sums is None:
            sums = np.zeros((t_days.size, len(names)))
            sumsq = np.zeros_like(sums)
        sums += okv.sum(axis=0)
        sumsq += (okv ** 2).sum(axis=0)
        count += okv.shape[0]
        n_failed += int((~ok).sum() // t_days.size)
        done = b
        del frame, values, okv
        if progress is not None:
            progress(done, n_subjects)
    mean = sums / count[:, None]
    var = np.maximum(sumsq / count[:, None] - mean ** 2, 0.0) * count[:, None] / np.maximum(count[:, None] - 1, 1)
    summary = StreamSummary(n_subjects, n_failed, t_days,
                            {n: mean[:, j].tolist() for j, n in enumerate(names)},
                            {n: np.sqrt(var[:, j]).tolist() for j, n in enumerate(names)})
    text = json.dumps({"n_subjects": n_subjects, "n_failed": n_failed, "seed": seed,
                       "chunk_subjects": chunk_subjects, "t_days": t_days.tolist(),
                       "doses": [d.__dict__ for d in doses],
                       "outputs": {n: {"mean": summary.mean[n], "sd": summary.sd[n]} for n in names}}, indent=2)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, out_dir / "summary.json")
    return summary
