"""Population throughput: oasim's numba Rodas4 kernel against libRoadRunner and SciPy.

Run: ``python -m benchmarks.throughput [--quick] [--max-n 100000] [--max-rr-n 10000]``.

Two models, in one process run:

* **joint**: the oasim knee model (``KneeModel()``, human set, KL 3, log-normal variability as
  in the set), 0-730 days, doses MSC + exosomes at day 0, exosomes at days 28 and 56, MSC at
  day 182 (exported to SBML with these events for libRoadRunner), 13 visits (none on a dose
  day), no burn-in.
* **proctor**: Proctor 2014 (BIOMD0000000504) imported with ``oasim.interop.sbml.load``, every
  kinetic parameter log-normal (cv 0.25), 14 days (seconds), 100 output times.

Methods: (a) oasim ``NumbaRodasSolver`` (Rodas4, 2 threads), ``BdfSolver`` (variable-order BDF
with Jacobian/LU reuse, CVODE's policy) and the tableau-driven ``RosenbrockSolver`` variants
(Rodas3, ROS3, Rodas4 with Hermite dense output, Rodas5P stopping at outputs or with its own
4th-order interpolant; ``-x4`` / ``-x8``: 4 or 8 subjects across SIMD lanes per kernel call;
``--methods``), (b) libRoadRunner CVODE, one loaded
model reused, parameters and initial amounts set in one call each and ``reset()`` between
subjects, in a loop and as a 2-process pool (one model per worker; worker start and model
load excluded), (c) SciPy ``solve_ivp`` LSODA and BDF in a loop (the kernel's compiled RHS,
finite-difference Jacobian, small N), (d) diffrax is skipped (jax is not a dependency).
Tolerances: ``rtol`` as given and ``atol = atol_rel · scale_i`` per state for every method
(libRoadRunner via ``setIndividualTolerance``).

Error: max over 20 subjects × outputs × states of |x − ref| / (|ref| + 1e-3·max|ref_state|)
against libRoadRunner at rtol 1e-12 / atol 1e-14·scale (the prototype's metric). Memory: the
process's peak RSS after the row (a high-water mark over the run so far; tracemalloc slows
Python loops about 10x); for the pool, the largest worker's peak RSS.
Timing excludes compilation / model load. No assertions; the targets are reported.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROCTOR_XML = ROOT / "src" / "oasim" / "interop" / "models" / "BIOMD0000000504_proctor2014.xml"
N_ERR = 20
DAY = 86400.0


# ---------------------------------------------------------------------------------------------
# problems
# ---------------------------------------------------------------------------------------------

@dataclass
class Problem:
    name: str
    model: object  # KneeModel or SbmlModel
    sbml: str  # SBML text for libRoadRunner
    t_eval: np.ndarray
    params: np.ndarray  # (N, n_params) in model.parameter_names order
    y0: np.ndarray  # (N, n_states)
    events: tuple | None  # oasim dose events (N, k) or None
    rr_values: dict  # SBML id -> (N,) values for libRoadRunner (parameters and initial amounts)

    @property
    def scales(self):
        return np.array([st.scale for st in self.model.states])


def joint_problem(n: int, seed: int = 1) -> Problem:
    from oasim.interop import sbml
    from oasim.model import KneeModel
    from oasim.parameters import ParameterSet
    from oasim.population import Population
    from oasim.protocol import Dose
    from oasim.simulation import baseline_state, population_dose_events

    model = KneeModel()
    ps = ParameterSet.load("human")
    doses = (Dose("msc", 5e7, "cells", 0.0), Dose("exosome", 3e11, "particles", 0.0),
             Dose("exosome", 3e11, "particles", 28.0), Dose("exosome", 3e11, "particles", 56.0),
             Dose("msc", 5e7, "cells", 182.0))
    visits = np.array([7.0, 14.0, 21.0, 35.0, 63.0, 91.0, 119.0, 175.0, 259.0, 364.0, 546.0, 637.0, 730.0])
    pop = Population.sample(ps, n, np.random.default_rng(seed), kl_grade=3)
    params = pop.matrix(model.parameter_names)
    y0 = baseline_state(model, pop)
    events = population_dose_events(model, pop, [doses] * n)
    text = sbml.document_to_string(sbml.knee_document(ps, doses=doses))
    values = {name: params[:, j] for j, name in enumerate(model.parameter_names)}
    values.update({name: y0[:, i] for i, name in enumerate(model.state_names)})
    first = sbml.dose_parameters(model, *(a[0] for a in events))
    for key in first:  # per-subject dose amounts (MSC split fractions vary)
        values[key] = np.array([sbml.dose_parameters(model, *(a[s] for a in events))[key] for s in range(n)]) \
            if not key.endswith("_time_d") else np.full(n, first[key])
    return Problem("joint", model, text, visits, params, y0, events, values)


def proctor_problem(n: int, seed: int = 2) -> Problem:
    import libsbml

    from oasim.interop import sbml

    model = sbml.load(PROCTOR_XML)
    doc = libsbml.readSBMLFromFile(str(PROCTOR_XML))  # keep the document alive while iterating
    kinetic = [p.getId() for p in doc.getModel().getListOfParameters()]
    params = model.sample_parameters(n, np.random.default_rng(seed), cv=0.25, names=kinetic)
    y0 = model.initial_state(params)
    values = {name: params[:, j] for j, name in enumerate(model.parameter_names)}
    values.update({name: y0[:, i] for i, name in enumerate(model.state_names)})
    t_eval = np.linspace(0.0, 14 * DAY, 101)[1:]
    return Problem("proctor", model, PROCTOR_XML.read_text(), t_eval, params, y0, None, values)


def subset(pr: Problem, n: int) -> Problem:
    ev = None if pr.events is None else tuple(a[:n] for a in pr.events)
    return Problem(pr.name, pr.model, pr.sbml, pr.t_eval, pr.params[:n], pr.y0[:n], ev,
                   {k: v[:n] for k, v in pr.rr_values.items()})


# ---------------------------------------------------------------------------------------------
# methods
# ---------------------------------------------------------------------------------------------

# oasim methods: label -> (solver factory, (stages = solves per step, RHS per step)) for the floor
OASIM_METHODS = {
    "rodas4": ("(a) oasim numba Rodas4, 2 threads", (6, 6)),
    "rodas3": ("(a) oasim Rosenbrock Rodas3, 2 threads", (4, 3 + 1)),  # + 1 RHS at the accepted point
    "ros3": ("(a) oasim Rosenbrock ROS3, 2 threads", (3, 2 + 1)),
    "rodas4-dense": ("(a) oasim Rosenbrock Rodas4 + Hermite output, 2 threads", (6, 6 + 1)),
    "rodas5p": ("(a) oasim Rosenbrock Rodas5P, 2 threads", (8, 7 + 1)),
    "rodas5p-dense": ("(a) oasim Rosenbrock Rodas5P + its 4th-order interpolant, 2 threads", (8, 7 + 1)),
    # subjects across SIMD lanes (RosenbrockSolver(lanes=...)); floor from the lane kernels
    "rodas5p-dense-x4": ("(a) oasim Rosenbrock Rodas5P + its interpolant on 4 SIMD lanes, 2 threads", (8, 7 + 1)),
    "rodas5p-dense-x8": ("(a) oasim Rosenbrock Rodas5P + its interpolant on 8 SIMD lanes, 2 threads", (8, 7 + 1)),
    "rodas5p-x8": ("(a) oasim Rosenbrock Rodas5P on 8 SIMD lanes, 2 threads", (8, 7 + 1)),
    # per step: measured RHS (= Newton iterations = solves), LU and Jacobian counts, see kernel floor
    "bdf": ("(a) oasim BDF with Jacobian/LU reuse, 2 threads", None),
}


def _solver(method: str, rtol: float, atol: float):
    from oasim.solvers import BdfSolver, NumbaRodasSolver, RosenbrockSolver

    if method == "bdf":
        return BdfSolver(rtol=rtol, atol=atol)
    if method == "rodas4":
        return NumbaRodasSolver(rtol=rtol, atol=atol)
    name, lanes = _lanes(method)
    if name.endswith("-dense"):
        return RosenbrockSolver(method=name.removesuffix("-dense"), rtol=rtol, atol=atol, dense=True, lanes=lanes)
    return RosenbrockSolver(method=name, rtol=rtol, atol=atol, dense=False, lanes=lanes)


def _lanes(method: str) -> tuple[str, int]:
    """("rodas5p-dense", 8) from "rodas5p-dense-x8"; (method, 1) without a lane suffix."""
    head, _, tail = method.rpartition("-x")
    return (head, int(tail)) if head and tail.isdigit() else (method, 1)


def run_oasim(pr: Problem, rtol: float, atol: float, method: str = "rodas4"):
    solver = _solver(method, rtol, atol)
    extra = {}
    if method == "bdf":
        sol, counts = solver.solve_counted(pr.model, pr.y0, pr.params, pr.t_eval, pr.events)
        extra = dict(zip(("rhs_per_subject", "lu_per_subject", "jac_per_subject"), counts[:, 1:].mean(axis=0)))
    else:
        sol = solver.solve(pr.model, pr.y0, pr.params, pr.t_eval, pr.events)
    return sol.states, {"steps": float(sol.n_steps.mean()), "steps_max": int(sol.n_steps.max()),
                        "failed": int((~sol.ok).sum()), **extra}


class _RR:
    """A libRoadRunner model with per-subject parameter / initial-amount matrices."""

    def __init__(self, text, names, atol_per_state, rtol, atol):
        from oasim.interop.sbml import RoadRunnerReference

        self.ref = RoadRunnerReference(text, rtol=rtol, atol=atol, atol_per_state=atol_per_state,
                                       max_steps=1_000_000)
        self.names = list(names)

    def matrices(self, values: dict, n: int):
        ref = self.ref
        pv = np.tile(ref.parameter_defaults, (n, 1))
        iv = np.tile(ref.species_defaults, (n, 1))
        for j, k in enumerate(ref.parameter_ids):
            if k in values:
                pv[:, j] = values[k]
        for j, k in enumerate(ref.species_ids):
            if k in values:
                iv[:, j] = values[k]
        return pv, iv

    def run(self, times, pv, iv):
        out = np.empty((pv.shape[0], len(times) - 1, len(self.names)))
        for s in range(pv.shape[0]):
            out[s] = self.ref.run_vectors(times, self.names, pv[s], iv[s])[1:]
        return out


_WORKER: _RR | None = None


def _worker_init(text, names, atol_per_state, rtol, atol):
    global _WORKER
    _WORKER = _RR(text, names, atol_per_state, rtol, atol)


def _worker_run(args):
    times, pv, iv = args
    return _WORKER.run(times, pv, iv), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _rr_setup(pr: Problem, rtol, atol):
    names = pr.model.state_names
    tols = {st.name: atol * st.scale for st in pr.model.states}
    return (pr.sbml, names, tols, rtol, atol)


def run_rr_loop(pr: Problem, rtol, atol, rr=None):
    rr = rr or _RR(*_rr_setup(pr, rtol, atol))
    pv, iv = rr.matrices(pr.rr_values, pr.params.shape[0])
    times = np.concatenate([[0.0], pr.t_eval])
    t0 = time.perf_counter()
    out = rr.run(times, pv, iv)
    return out, time.perf_counter() - t0, {}


def run_rr_pool(pr: Problem, rtol, atol, workers=2):
    setup = _rr_setup(pr, rtol, atol)
    rr = _RR(*setup)
    pv, iv = rr.matrices(pr.rr_values, pr.params.shape[0])
    times = np.concatenate([[0.0], pr.t_eval])
    chunks = np.array_split(np.arange(pv.shape[0]), workers * 4)
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, initializer=_worker_init, initargs=setup) as pool:
        pool.map(_worker_run, [(times, pv[:1], iv[:1])] * workers)  # workers up, model loaded
        t0 = time.perf_counter()
        parts = pool.map(_worker_run, [(times, pv[c], iv[c]) for c in chunks if c.size])
        wall = time.perf_counter() - t0
    out = np.concatenate([p[0] for p in parts])
    return out, wall, {"worker_rss_mb": max(p[1] for p in parts) / 1024}


def run_scipy(pr: Problem, method: str, rtol, atol):
    """solve_ivp per subject on the kernel's compiled scaled RHS; restarts at dose times."""
    from scipy.integrate import solve_ivp

    from oasim.solvers.numba_rodas import kernel_module

    K = kernel_module(pr.model)
    scales = np.asarray(K.SCALES)
    n, n_states = pr.y0.shape
    out = np.empty((n, pr.t_eval.size, n_states))
    steps = 0
    for s in range(n):
        p = K.extend(np.ascontiguousarray(pr.params[s]))  # parameters + parameter-only terms
        buf = np.empty(n_states)

        def f(_t, z, p=p, buf=buf):
            K.rhs(np.ascontiguousarray(z), p, buf)
            return buf.copy()

        z = pr.y0[s] / scales
        doses = []
        if pr.events is not None:
            doses = [(t, i, a) for t, i, a in zip(*(e[s] for e in pr.events)) if np.isfinite(t)]
        bounds = sorted({0.0, *[d[0] for d in doses], float(pr.t_eval[-1])})
        for a, b in zip(bounds[:-1], bounds[1:]):
            for t, i, amt in doses:
                if t == a:
                    z[i] += amt / scales[i]
            mask = (pr.t_eval > a) & (pr.t_eval <= b)
            grid = np.unique(np.append(pr.t_eval[mask], b))
            sol = solve_ivp(f, (a, b), z, method=method, rtol=rtol, atol=atol, t_eval=grid)
            if not sol.success:
                raise RuntimeError(sol.message)
            out[s, mask] = sol.y[:, np.isin(grid, pr.t_eval[mask])].T
            z = sol.y[:, -1].copy()
            steps += sol.nfev
    return out * scales, {"rhs_evals": steps / n}


# ---------------------------------------------------------------------------------------------
# accuracy, floor
# ---------------------------------------------------------------------------------------------

def max_rel_error(x, ref):
    floor = 1e-3 * np.abs(ref).max(axis=(0, 1), keepdims=True) + 1e-300
    return float(np.max(np.abs(x - ref) / (np.abs(ref) + floor)))


def kernel_floor(model, z, p, reps=200_000, lanes=1, method="rodas5p"):
    """ns per RHS, per W = c·I − J plus sparse LU, per triangular solve (1 thread, best of 5), per subject:
    with ``lanes`` > 1 the lane kernels (``lanes`` subjects per call, the same subject in every
    lane) divided by ``lanes``."""
    if lanes > 1:
        from oasim.solvers.rosenbrock import rosenbrock_module, slp_vectorised

        K = rosenbrock_module(model, method, lanes)
        pe = K.extend(p)
        zl, pl = np.repeat(z, lanes), np.repeat(pe, lanes)  # state i of lane l at i * lanes + l
        with slp_vectorised():
            res = _floor(K.rhs_L, K.jac_w_L, K.lu_factor_L, K.lu_solve_L, zl, pl, np.full(lanes, 1.0),
                         K.NNZ * lanes, reps // lanes)
        return {**{k: v / lanes for k, v in res.items()}, "nnz": int(K.NNZ)}
    from oasim.solvers.numba_rodas import kernel_module

    K = kernel_module(model)
    res = _floor(K.rhs, K.jac_w, K.lu_factor, K.lu_solve, z, K.extend(p), 1.0, K.NNZ, reps)
    return {**res, "nnz": int(K.NNZ)}


def _floor(rhs, jac_w, lu_factor, lu_solve, z, p, c, nnz, reps):
    from numba import njit

    @njit(fastmath=True)
    def t_rhs(z, p, out, reps):
        acc = 0.0
        for _ in range(reps):
            rhs(z, p, out)
            acc += out[0]
            z[0] += 1e-300 * acc
        return acc

    @njit(fastmath=True)
    def t_lu(z, p, w, reps):
        acc = 0.0
        for k in range(reps):
            jac_w(z, p, 1.0 + 1e-9 * k, w)
            lu_factor(w)
            acc += w[0]
        return acc

    @njit(fastmath=True)
    def t_lu_lanes(z, p, w, reps):
        acc = 0.0
        cv = np.ones(c.size)
        for k in range(reps):
            cv[k % cv.size] += 1e-9
            jac_w(z, p, cv, w)
            lu_factor(w)
            acc += w[0]
        return acc

    @njit(fastmath=True)
    def t_solve(w, b, reps):
        acc = 0.0
        for _ in range(reps):
            lu_solve(w, b)
            acc += b[0]
            b[0] = 1.0 + 1e-300 * acc
        return acc

    n = z.size
    out = np.empty(n)
    w = np.empty(nnz)
    b = np.ones(n)
    res = {}
    lanes = isinstance(c, np.ndarray)
    for name, fn, args in (("rhs", t_rhs, (z.copy(), p, out)), ("w_lu", t_lu_lanes if lanes else t_lu, (z.copy(), p, w)),
                           ("solve", t_solve, (w, b))):
        fn(*args, 10)
        best = np.inf
        for _ in range(5):  # best of 5: on a shared machine a single window can be preempted
            t0 = time.perf_counter()
            fn(*args, reps)
            best = min(best, time.perf_counter() - t0)
        res[name] = best / reps * 1e9
    return res


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, *args):
    """(result, wall, process peak RSS after the call [MB]); tracemalloc would slow Python loops ~10x."""
    t0 = time.perf_counter()
    result = fn(*args)
    wall = time.perf_counter() - t0
    return result, wall, peak_rss_mb()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N up to 1e3, fewer rows")
    parser.add_argument("--max-n", type=int, default=100_000, help="largest N for oasim")
    parser.add_argument("--max-rr-n", type=int, default=10_000, help="largest N for libRoadRunner")
    parser.add_argument("--proctor-max-n", type=int, default=10_000,
                        help="largest N for Proctor 2014 (oasim ~2 ms/subject there: 1e5 takes minutes)")
    parser.add_argument("--proctor-max-rr-n", type=int, default=1_000)
    parser.add_argument("--models", default="joint,proctor")
    parser.add_argument("--scipy-n", type=int, default=10)
    parser.add_argument("--methods", default="rodas4,bdf,rodas3,ros3,rodas4-dense,rodas5p",
                        help=f"oasim methods, from {', '.join(OASIM_METHODS)}")
    parser.add_argument("--method-max-n", type=int, default=10_000,
                        help="largest N for the oasim methods other than rodas4")
    parser.add_argument("--rtols", default="1e-6,1e-5,1e-4",
                        help="oasim tolerances (atol = rtol / 100); add 1e-7 to compare at libRoadRunner's 1e-7")
    args = parser.parse_args(argv)
    max_n = min(args.max_n, 1000) if args.quick else args.max_n
    max_rr = min(args.max_rr_n, 1000) if args.quick else args.max_rr_n
    sizes = [n for n in (100, 1_000, 10_000, 100_000) if n <= max_n]
    try:
        import jax  # noqa: F401
        has_jax = True
    except ImportError:
        has_jax = False

    import numba
    import roadrunner

    print(f"# python -m benchmarks.throughput {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"# {os.cpu_count()} cores, numba {numba.__version__} ({numba.get_num_threads()} threads), "
          f"libroadrunner {roadrunner.__version__}; diffrax: {'available but not run' if has_jax else 'skipped (jax absent)'}")
    print("# load average at start (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    rows, notes = [], []
    all_sizes, all_max_rr = sizes, max_rr
    for name in args.models.split(","):
        sizes = all_sizes if name == "joint" else [n for n in all_sizes if n <= args.proctor_max_n]
        max_rr = all_max_rr if name == "joint" else min(all_max_rr, args.proctor_max_rr_n)
        big = (joint_problem if name == "joint" else proctor_problem)(max(sizes))
        configs = [(float(r), float(f"{float(r) / 100:.3g}")) for r in args.rtols.split(",")]  # 1e-6 -> 1e-08 exactly
        rr_configs = [(1e-5, 1e-7), (1e-6, 1e-8), (1e-7, 1e-9)]
        methods = [m for m in args.methods.split(",") if m]
        # tight reference on the first N_ERR subjects (libRoadRunner, rtol 1e-12)
        small = subset(big, N_ERR)
        ref, ref_wall, _ = run_rr_loop(small, 1e-12, 1e-14)
        notes.append(f"{name}: reference libRoadRunner rtol 1e-12 on {N_ERR} subjects took {ref_wall:.1f} s")
        # warm-up / compile
        t0 = time.perf_counter()
        for method in methods:
            t0 = time.perf_counter()
            run_oasim(subset(big, 2), 1e-6, 1e-8, method)
            notes.append(f"{name}: oasim {method} kernel load/compile {time.perf_counter() - t0:.1f} s")

        def add(method, n, rtol, wall, mem, err, extra):
            rows.append(dict(model=name, method=method, n=n, rtol=rtol, wall=wall, us=wall / n * 1e6,
                             rate=n / wall, mem=mem, err=err, **extra))

        steps_for_floor = {}
        for method in methods:
            label = OASIM_METHODS[method][0]
            for rtol, atol in configs:
                for n in [m for m in sizes if method == "rodas4" or m <= args.method_max_n]:
                    pr = subset(big, n)
                    (states, info), wall, mem = timed(run_oasim, pr, rtol, atol, method)
                    err = max_rel_error(states[:N_ERR], ref)
                    add(label, n, rtol, wall, mem, err, info)
                    if rtol == 1e-6:
                        steps_for_floor[method] = (info, n)
                    print(f"  {name} oasim {method} rtol={rtol:g} N={n}: {wall:.2f} s, err {err:.1e}", file=sys.stderr)
        for rtol, atol in rr_configs:
            rr = _RR(*_rr_setup(big, rtol, atol))
            for n in [s for s in sizes if s <= min(max_rr, 1000)]:
                pr = subset(big, n)
                (states, wall, info), _, mem = timed(run_rr_loop, pr, rtol, atol, rr)
                add("(b) libRoadRunner loop, 1 process", n, rtol, wall, mem, max_rel_error(states[:N_ERR], ref), info)
            for n in [s for s in sizes if s <= max_rr]:
                pr = subset(big, n)
                states, wall, info = run_rr_pool(pr, rtol, atol)
                add("(b) libRoadRunner 2-process pool", n, rtol, wall, info["worker_rss_mb"],
                    max_rel_error(states[:N_ERR], ref), {})
                print(f"  {name} rr pool rtol={rtol:g} N={n}: {wall:.2f} s", file=sys.stderr)
        for method in ("LSODA", "BDF"):
            pr = subset(big, min(args.scipy_n, N_ERR))
            (states, info), wall, mem = timed(run_scipy, pr, method, 1e-6, 1e-8)
            add(f"(c) SciPy solve_ivp {method} loop", pr.params.shape[0], 1e-6, wall, mem,
                max_rel_error(states, ref[:states.shape[0]]), info)
        # arithmetic floor
        z_fl, p_fl = big.y0[0] / big.scales, np.ascontiguousarray(big.params[0])
        floors = {1: kernel_floor(big.model, z_fl, p_fl)}
        for method in methods:
            label, per_step_counts = OASIM_METHODS[method]
            name_l, lanes = _lanes(method)
            if lanes not in floors:
                floors[lanes] = kernel_floor(big.model, z_fl, p_fl, lanes=lanes, method=name_l.removesuffix("-dense"))
            fl = floors[lanes]
            info, n_at = steps_for_floor[method]
            steps = info["steps"]
            if per_step_counts is None:  # BDF: the kernel's own counts (a W+LU includes a Jacobian)
                rhs_n, lu_n = info["rhs_per_subject"], info["lu_per_subject"]
                floor_ns = rhs_n * (fl["rhs"] + fl["solve"]) + lu_n * fl["w_lu"]
                how = (f"{rhs_n / steps:.2f} RHS + solves and {lu_n / steps:.3f} W+LU per step "
                       f"({info['jac_per_subject']:.0f} Jacobians/subject)")
            else:
                n_solve, n_rhs = per_step_counts
                floor_ns = (fl["w_lu"] + n_rhs * fl["rhs"] + n_solve * fl["solve"]) * steps
                how = f"1 W+LU, {n_rhs} RHS, {n_solve} solves per step"
                if lanes > 1:
                    how += f" (times per subject: the lane kernels' per call / {lanes})"
            measured = [r for r in rows if r["model"] == name and r["method"] == label and r["rtol"] == 1e-6
                        and r["n"] == n_at][0]
            floor_us = floor_ns / 1e3
            notes.append(
                f"{name} floor, {method}: RHS {fl['rhs']:.0f} ns, W+LU {fl['w_lu']:.0f} ns (W nnz {fl['nnz']}), solve "
                f"{fl['solve']:.0f} ns; {how}; "
                f"{steps:.0f} steps/subject at rtol 1e-6 -> floor {floor_us:.0f} µs core time = "
                f"{floor_us / 2:.0f} µs/subject on 2 cores; measured {measured['us']:.0f} µs/subject (N={n_at:.0e}) = "
                f"{measured['us'] / (floor_us / 2):.2f}x the floor")

    # ratios: oasim at the same (model, N, rtol) vs each other method
    print()
    print("| model | method | N | rtol | wall (s) | µs/subject | subjects/s | oasim ratio (same N, rtol) | "
          "peak mem (MB) | max rel err | steps/subject |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        same = [q for q in rows if q["model"] == r["model"] and q["method"] == OASIM_METHODS["rodas4"][0]
                and q["rtol"] == r["rtol"]]
        match = [q for q in same if q["n"] == r["n"]] or [q for q in same if q["n"] == min(all_sizes)]
        ratio = match[0]["rate"] / r["rate"] if match and not r["method"].startswith("(a)") else float("nan")
        steps = f"{r['steps']:.0f} (max {r['steps_max']})" if "steps" in r else (
            f"{r['rhs_evals']:.0f} RHS" if "rhs_evals" in r else "–")
        print(f"| {r['model']} | {r['method']} | {r['n']:.0e} | {r['rtol']:g} | {r['wall']:.2f} | {r['us']:.0f} | "
              f"{r['rate']:.0f} | {'' if ratio != ratio else f'{ratio:.1f}x'} | {r['mem']:.0f} | {r['err']:.1e} | {steps} |")
    print()
    for note in notes:
        print(f"- {note}")
    # targets at equal achieved accuracy
    print()
    for name in args.models.split(","):
        pool = [r for r in rows if r["model"] == name and "pool" in r["method"]]
        ours = [r for r in rows if r["model"] == name and r["method"].startswith("(a)")]
        if not pool or not ours:
            continue
        n_cmp = max(r["n"] for r in pool)
        for p in [r for r in pool if r["n"] == n_cmp]:
            # per oasim method: the fastest row whose error is no larger than libRoadRunner's
            for label in dict.fromkeys(o["method"] for o in ours):
                cands = [o for o in ours if o["method"] == label and o["err"] <= p["err"]]
                if not cands:
                    continue
                best = max(cands, key=lambda o: o["rate"])
                print(f"- target {name}, {label.split(', ')[0][4:]}: libRoadRunner pool rtol {p['rtol']:g} N={n_cmp:.0e} "
                      f"(err {p['err']:.1e}, {p['rate']:.0f}/s) vs oasim rtol {best['rtol']:g} N={best['n']:.0e} "
                      f"(err {best['err']:.1e}, {best['rate']:.0f}/s): {best['rate'] / p['rate']:.1f}x at equal or "
                      f"better accuracy")
        big_rows = [o for o in ours if o["n"] == 100_000 and name == "joint"]
        for o in big_rows:
            print(f"- target 1e5 joint subjects x 2 years within 60 s: rtol {o['rtol']:g}: {o['wall']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
