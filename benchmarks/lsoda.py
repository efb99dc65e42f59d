"""numbalsoda's LSODA against oasim's Rodas4 on the joint knee model, one thread, one process.

Run: ``python -m benchmarks.lsoda [--n 200]`` (needs ``pip install numbalsoda``, which builds from
source with a Fortran compiler; it is not a dependency of oasim). The problem is the throughput
benchmark's joint problem (``benchmarks.throughput.joint_problem``: 2 years, 5 doses, 13 visits);
LSODA gets the kernel's compiled scaled RHS as a numba ``cfunc`` (no analytic Jacobian: numbalsoda
takes none) and restarts at every dose; Rodas4 runs with one numba thread. Error: max relative
error against libRoadRunner at rtol 1e-12 on 20 subjects, as in ``benchmarks.throughput``.
Timing only; no assertions.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def _lsoda_runner(pr):
    from numba import carray, cfunc
    from numbalsoda import lsoda, lsoda_sig

    from oasim.solvers.numba_rodas import kernel_module

    kernel = kernel_module(pr.model)
    n = pr.y0.shape[1]
    n_pe = kernel.extend(np.ascontiguousarray(pr.params[0])).size
    rhs = kernel.rhs

    @cfunc(lsoda_sig)
    def f(t, u, du, p):
        rhs(carray(u, (n,)), carray(p, (n_pe,)), carray(du, (n,)))

    scales = np.asarray(kernel.SCALES)

    def run(rtol):
        out = np.empty((pr.y0.shape[0], pr.t_eval.size, n))
        for s in range(pr.y0.shape[0]):
            p = kernel.extend(np.ascontiguousarray(pr.params[s]))
            z = pr.y0[s] / scales
            doses = [(t, i, a) for t, i, a in zip(*(e[s] for e in pr.events)) if np.isfinite(t)]
            bounds = sorted({0.0, *[d[0] for d in doses], float(pr.t_eval[-1])})
            for a, b in zip(bounds[:-1], bounds[1:]):
                for t, i, amount in doses:
                    if t == a:
                        z[i] += amount / scales[i]
                mask = (pr.t_eval > a) & (pr.t_eval <= b)
                grid = np.unique(np.concatenate([[a], pr.t_eval[mask], [b]]))
                sol, ok = lsoda(f.address, np.ascontiguousarray(z), grid, data=p, rtol=rtol, atol=rtol * 1e-2,
                                mxstep=100_000)
                if not ok:
                    raise RuntimeError(f"LSODA failed on subject {s}")
                out[s, mask] = sol[np.isin(grid, pr.t_eval[mask])]
                z = sol[-1].copy()
        return out * scales

    return run


def main(argv=None) -> int:
    import numba

    from benchmarks.throughput import N_ERR, joint_problem, max_rel_error, run_rr_loop, subset
    from oasim.solvers import NumbaRodasSolver

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args(argv)
    print(f"# python -m benchmarks.lsoda {' '.join(argv if argv is not None else sys.argv[1:])}")
    print("# load average at start: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    pr = joint_problem(args.n)
    ref, _, _ = run_rr_loop(subset(pr, N_ERR), 1e-12, 1e-14)
    run_lsoda = _lsoda_runner(pr)
    numba.set_num_threads(1)
    run_lsoda(1e-5)  # compile the cfunc and warm up before timing
    print("| rtol | numbalsoda LSODA µs/subject | its max rel err | Rodas4 (1 thread) µs/subject | its max rel err |")
    print("|---|---|---|---|---|")
    for rtol in (1e-5, 1e-6, 1e-7):
        t0 = time.perf_counter()
        x = run_lsoda(rtol)
        t_lsoda = time.perf_counter() - t0
        solver = NumbaRodasSolver(rtol=rtol, atol=rtol * 1e-2)
        solver.solve(pr.model, pr.y0[:2], pr.params[:2], pr.t_eval, tuple(a[:2] for a in pr.events))
        t0 = time.perf_counter()
        sol = solver.solve(pr.model, pr.y0, pr.params, pr.t_eval, pr.events)
        t_rodas = time.perf_counter() - t0
        print(f"| {rtol:g} | {t_lsoda / args.n * 1e6:.0f} | {max_rel_error(x[:N_ERR], ref):.1e} | "
              f"{t_rodas / args.n * 1e6:.0f} | {max_rel_error(sol.states[:N_ERR], ref):.1e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
