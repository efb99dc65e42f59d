"""Speed of dose-escalation operating characteristics: vectorised vs one-trial-at-a-time.

Run: ``python -m benchmarks.escalation [--trials 10000] [--loop-trials 500]``.

For BOIN, CRM and 3+3 on the five-dose scenario 0.05, 0.1, 0.2, 0.3, 0.5 (target 0.3, cohorts
of 3, at most 30 subjects) it times, in this process:
- ``simulate_trials`` (all trials advanced together, numpy),
- ``simulate_trials_loop`` (the reference: one trial at a time through the same design),
- ``enumerate_trials`` (exact, every path).
It prints per-trial times and the ratio loop / vectorised; no absolute-time assertions.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from oasim.trial.escalation import design_from_spec, enumerate_trials, simulate_trials, simulate_trials_loop

TRUTH = [0.05, 0.1, 0.2, 0.3, 0.5]
DESIGNS = ("boin", "crm", "3+3")


def _timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--loop-trials", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    header = f"{'design':8} {'vectorised':>12} {'per trial':>10} {'loop/trial':>11} {'ratio':>7} {'exact':>8} {'max |MC-exact| %sel':>20}"
    print(f"{args.trials} vectorised trials, {args.loop_trials} loop trials; truth {TRUTH}")
    print(header)
    for name in DESIGNS:
        design = design_from_spec({"design": name, "num_doses": 5, "target": 0.3, "cohort_size": 3, "max_n": 30})
        simulate_trials(design, TRUTH, 50, rng=0)  # warm caches (boundary tables, CRM grid)
        sims, t_vec = _timed(simulate_trials, design, TRUTH, args.trials, rng=args.seed)
        _, t_loop = _timed(simulate_trials_loop, design, TRUTH, args.loop_trials, rng=args.seed)
        exact, t_exact = _timed(enumerate_trials, design, TRUTH)
        per_vec, per_loop = t_vec / args.trials, t_loop / args.loop_trials
        gap = 100 * np.max(np.abs(sims.prob_select - exact.prob_select))
        print(
            f"{name:8} {t_vec:>10.3f} s {1e6 * per_vec:>7.1f} us {1e6 * per_loop:>8.1f} us "
            f"{per_loop / per_vec:>6.0f}x {t_exact:>6.2f} s {gap:>19.2f}"
        )


if __name__ == "__main__":
    main()
