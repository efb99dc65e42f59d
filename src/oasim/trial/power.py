"""Operating characteristics of a whole trial design by repeated simulation ("how many patients").

Each replicate runs the scenario's full trial (screening, randomisation, safety review, model,
observation, dropout) with its own seed ``SeedSequence(scenario.seed, spawn_key=(k,))`` and
analyses the primary endpoint at the primary visit by ANCOVA of change on arm with baseline,
every active arm vs pooled placebo. Power per arm is the share of replicates in which the
difference favours the active arm and its two-sided p-value is below alpha; the probability
that escalation stopped early for safety is reported too.

Replicates are computed in chunks; with an output folder each chunk is written atomically as
``chunk_<k>.parquet`` and a rerun skips chunks already written, so a long sweep can be resumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..analysis import ancova
from ..data import from_trial_run
from ..data.tables import paramcd_of
from ..errors import FieldError, OasimError
from ..scenario import Scenario
from .analyse import PLACEBO, arm_order
from .conduct import conduct_trial

# endpoints where a lower value is better (pain, disability, inflammation); others: higher is better
LOWER_IS_BETTER = ("WOMAC", "VAS_PAIN", "PGA_VAS", "MRI_T2", "MRI_SYNOV", "SF_IL1B")


def benefit_sign(paramcd: str) -> float:
    """-1 if a decrease is a benefit for ``paramcd``, +1 if an increase is."""
    return -1.0 if paramcd.startswith(LOWER_IS_BETTER) else 1.0


def replicate_seed(seed: int, k: int) -> int:
    """Seed of replicate ``k``: independent streams, whatever the chunking or worker count."""
    return int(np.random.SeedSequence(seed, spawn_key=(k,)).generate_state(1, dtype=np.uint64)[0] >> 1)


def one_replicate(scenario: Scenario, k: int) -> list[dict]:
    """Rows (one per active arm) of replicate ``k``."""
    sc = scenario.model_copy(update={"seed": replicate_seed(scenario.seed, k)})
    run = conduct_trial(sc)
    ds = from_trial_run(run).unblind()
    code = paramcd_of(sc.analysis.primary_endpoint)  # ADQS PARAMCD (<= 8 characters)
    visitn = list(sc.visits.months).index(sc.analysis.primary_visit_month)
    adqs = ds["ADQS"]
    rows = adqs[(adqs["PARAMCD"] == code) & (adqs["AVISITN"] == visitn)].dropna(subset=["CHG", "BASE"])
    n_cohorts = len(sc.design.cohorts)
    stopped = len(run.cohort_decisions) < n_cohorts
    out = []
    try:
        diffs = ancova(rows, response="CHG", treatment="TRT01P", baseline="BASE", control=PLACEBO,
                       alpha=sc.analysis.alpha).differences
    except OasimError:
        diffs = pd.DataFrame(columns=["estimate", "p_value"])
    for arm in sorted(set(run.subjects.loc[run.subjects["active"], "arm"])):
        if arm in diffs.index:
            est, p = float(diffs.loc[arm, "estimate"]), float(diffs.loc[arm, "p_value"])
            lo, hi = (float(diffs.loc[arm, c]) if c in diffs.columns else np.nan for c in ("ci_lower", "ci_upper"))
        else:
            est, p, lo, hi = np.nan, np.nan, np.nan, np.nan
        out.append({"replicate": k, "arm": arm, "estimate": est, "p_value": p, "ci_lower": lo, "ci_upper": hi,
                    "n_active": int(((run.subjects["arm"] == arm)).sum()), "n_total": int(len(run.subjects)), "n_ae": int(len(run.adverse_events)),
                    "stopped_early": stopped, "n_dlt": int(sum(d["n_dlt"] for d in run.cohort_decisions))})
    return out


@dataclass(frozen=True)
class PowerResult:
    """Per-replicate rows and the per-arm summary."""

    replicates: pd.DataFrame = field(repr=False)
    endpoint: str
    alpha: float
    n_trials: int

    def to_frame(self) -> pd.DataFrame:
        """Per arm: power with a Clopper–Pearson CI, mean estimate, P(stopped early)."""
        from ..analysis import clopper_pearson

        sign = benefit_sign(self.endpoint)
        df = self.replicates
        rows = []
        for arm in arm_order(df["arm"]):
            g = df[df["arm"] == arm]
            hit = ((g["p_value"] < self.alpha) & (sign * g["estimate"] > 0)).to_numpy()
            lo, hi = clopper_pearson(np.array([hit.sum()]), np.array([len(g)]))
            rows.append({"arm": arm, "replicates": len(g), "power": hit.mean(), "power_ci_low": float(lo[0]),
                         "power_ci_high": float(hi[0]), "mean_difference": g["estimate"].mean(),
                         "sd_difference": g["estimate"].std(ddof=1)})
        table = pd.DataFrame(rows)
        per_trial = df.drop_duplicates("replicate")
        table["p_stopped_early"] = per_trial["stopped_early"].mean()
        return table

    def summary(self) -> str:
        return (f"{self.n_trials} simulated trials, {self.endpoint}, two-sided alpha {self.alpha} "
                f"(benefit direction required)\n{self.to_frame().to_string(index=False)}")


def replicate_chunk(scenario: Scenario, start: int, stop: int) -> pd.DataFrame:
    """Rows of replicates ``start .. stop - 1`` (a pure function of its arguments: any worker)."""
    return pd.DataFrame([row for k in range(start, stop) for row in one_replicate(scenario, k)])


def simulate_power(scenario: Scenario, n_trials: int, chunk_size: int = 10, out_dir: Path | None = None,
                   progress: Callable[[int, int], None] | None = None, engine=None) -> PowerResult:
    """Run ``n_trials`` replicates of ``scenario`` (resumable when ``out_dir`` is given).

    ``engine``: an :class:`oasim.distributed.Engine` (local by default, or Dask); the replicates
    and therefore the result are the same on every engine.
    """
    from functools import partial

    from ..distributed import run_chunks

    if n_trials < 2:
        raise FieldError("trials", n_trials, ">= 2")
    if chunk_size < 1:
        raise FieldError("chunk_size", chunk_size, ">= 1")
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp = out_dir / "scenario_digest.txt"
        if stamp.exists() and stamp.read_text().strip() != scenario.digest():
            raise FieldError("out", str(out_dir), "a folder of the same scenario (digest differs: use a new folder)")
        stamp.write_text(scenario.digest())
    frame = run_chunks(partial(replicate_chunk, scenario), n_trials, chunk_size, out_dir, engine, progress)
    return PowerResult(frame, scenario.analysis.primary_endpoint, scenario.analysis.alpha, n_trials)
