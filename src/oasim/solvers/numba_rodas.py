"""Default population solver: a numba Rodas4 kernel with generated sparse linear algebra.

The model-specific kernel module (rhs, analytic sparse Jacobian, pivot-free sparse LU, and the
Rodas4 driver from ``rodas_kernel.py``) is generated once per model, written to a cache folder
keyed by its content hash and imported; numba caches its compiled code beside it, so later
processes load it in a fraction of a second. Subjects run in parallel (``prange``) on all cores.

Cache folder: ``$OASIM_CACHE_DIR`` or ``~/.cache/oasim``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..model import KneeModel
from .codegen import generate_source, source_hash
from .base import AbstractSolver, kernel_arrays
from .solution import Solution


def cache_dir() -> Path:
    root = os.environ.get("OASIM_CACHE_DIR") or Path.home() / ".cache" / "oasim"
    path = Path(root) / "kernels"
    path.mkdir(parents=True, exist_ok=True)
    return path


@lru_cache(maxsize=8)
def _kernel_module_for_source(text: str):
    name = f"oasim_kernel_{source_hash(text)}"
    if name in sys.modules:
        return sys.modules[name]
    path = cache_dir() / f"{name}.py"
    if not path.exists() or path.read_text() != text:
        # atomic write: other processes may import the same file concurrently
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def kernel_module(model):
    """The compiled kernel module for ``model`` (generated and cached on first use)."""
    template = resources.files("oasim.solvers").joinpath("rodas_kernel.py").read_text("utf-8")
    return _kernel_module_for_source(_model_source(model) + "\n\n" + template)


@lru_cache(maxsize=8)
def _model_source(model) -> str:
    return generate_source(model)


@dataclass(frozen=True)
class NumbaRodasSolver(AbstractSolver):
    """Rodas4 (order 4(3), L-stable) over subjects in parallel.

    Parameters
    ----------
    rtol : relative tolerance
    atol : absolute tolerance in units of each state's typical scale (``State.scale``)
    max_steps : per subject, over the whole integration
    h_init_days : first step after the start and after every dose
    """

    rtol: float = 1e-6
    atol: float = 1e-8
    max_steps: int = 200_000
    h_init_days: float = 1e-4

    def solve(self, model, y0, params, t_eval_days, events=None, t_start_days=0.0) -> Solution:
        kernel = kernel_module(model)
        t_eval, z0, params, (ev_t, ev_idx, amt), scales, out, status, t_reached = kernel_arrays(
            kernel, model, y0, params, t_eval_days, events, t_start_days)
        n_steps = np.zeros(z0.shape[0], dtype=np.int64)
        kernel.solve_population(z0, params, float(t_start_days), t_eval, ev_t, ev_idx, amt,
                                self.rtol, self.atol, self.h_init_days, self.max_steps,
                                out, status, n_steps, t_reached)
        out *= scales  # in place: a population's output array is the largest allocation here
        return Solution(t_eval, out, model.state_names, status, n_steps, t_reached)
