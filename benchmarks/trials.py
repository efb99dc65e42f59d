"""Full virtual trials per second: locally and on a local 2-worker Dask cluster.

Run: ``python -m benchmarks.trials [--trials 100] [--workers 2] [--chunk-size 5] [--reference-trials 40]``.

Each replicate is the whole example trial (``examples/hucmsc_exosome_trial.toml``: 3 ascending
cohorts × 8 subjects, 5 visits, screening, randomisation, safety review, model, observation,
dropout, ANCOVA), as in ``oasim power``. Local = this process (numba uses both cores for the
subjects of a replicate); Dask = ``Engine(workers=N)``: N worker processes with one numba thread
each, started on the loopback interface (the wall time includes cluster start and each worker's
kernel load; both are reported). The tables are checked equal. Timing only; no assertions.

Reference, in the same process (absolute times drift with the machine's load): the first
``--reference-trials`` replicates by the full route ``oasim power`` took before issue 16 item 5
(parameter set read per replicate, CDISC tables built and unblinded, formula ANCOVA:
``one_replicate(..., lean=False)``), timed in blocks of ``--chunk-size`` alternating with the
same blocks by the current route (``replicate_chunk``); the ratio of the two is reported and the
reference rows are checked equal to the local ones. (The trial conduct both share is the current one.)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "hucmsc_exosome_trial.toml"


def main(argv=None) -> int:
    import pandas as pd

    from oasim.distributed import Engine
    from oasim.scenario import Scenario
    from oasim.parameters import ParameterSet
    from oasim.trial.power import one_replicate, replicate_chunk, simulate_power

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=5)
    parser.add_argument("--reference-trials", type=int, default=40)
    args = parser.parse_args(argv)
    sc = Scenario.from_toml(EXAMPLE)
    print(f"# python -m benchmarks.trials {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(f"# {os.cpu_count()} cores; load average before {os.getloadavg()[0]:.1f}")
    t0 = time.perf_counter()
    simulate_power(sc, 2, chunk_size=2)  # kernel load / compile, scenario caches
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    local = simulate_power(sc, args.trials, chunk_size=args.chunk_size).replicates
    t_local = time.perf_counter() - t0
    # reference and this route on the same replicates, alternating in blocks, so that a change
    # of the machine's load hits both alike
    n_ref = min(args.reference_trials, args.trials)
    model_set = ParameterSet.load(sc.model.parameter_set)
    t_ref = t_lean = 0.0
    reference, lean = [], []
    for a in range(0, n_ref, args.chunk_size):
        b = min(a + args.chunk_size, n_ref)
        t0 = time.perf_counter()
        reference += [row for k in range(a, b) for row in one_replicate(sc, k, lean=False)]
        t_ref += time.perf_counter() - t0
        t0 = time.perf_counter()
        lean.append(replicate_chunk(sc, a, b, model_set=model_set))
        t_lean += time.perf_counter() - t0
    reference = pd.DataFrame(reference)
    same_ref = reference.equals(local[local["replicate"] < n_ref].reset_index(drop=True)) and \
        reference.equals(pd.concat(lean, ignore_index=True))
    t0 = time.perf_counter()
    simulate_power(sc, 2, chunk_size=1, engine=Engine(workers=args.workers))
    t_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    dask = simulate_power(sc, args.trials, chunk_size=args.chunk_size, engine=Engine(workers=args.workers)).replicates
    t_dask = time.perf_counter() - t0
    same = local.equals(dask) or pd.testing.assert_frame_equal(local, dask) is None
    print()
    print("| engine | trials | wall (s) | trials/s | 1,000 trials (s, extrapolated) |")
    print("|---|---|---|---|---|")
    for label, wall, n in (("local (1 process, numba 2 threads)", t_local, args.trials),
                           ("local, alternating with the reference (replicate_chunk)", t_lean, n_ref),
                           ("reference: full route, set read per replicate (local)", t_ref, n_ref),
                           (f"Dask LocalCluster, {args.workers} workers x 1 thread (incl. cluster start)", t_dask,
                            args.trials)):
        print(f"| {label} | {n} | {wall:.1f} | {n / wall:.2f} | {1000 * wall / n:.0f} |")
    print()
    print(f"- warm-up (kernel load, 2 trials) {warm:.1f} s; a 2-trial Dask run (cluster start + worker kernel "
          f"load) {t_start:.1f} s")
    print(f"- trials per second, this route / reference (alternating blocks of {args.chunk_size}): {t_ref / t_lean:.2f}x")
    print(f"- local and Dask tables identical: {same}; reference rows identical to local: {same_ref}")
    print(f"- load average after {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
