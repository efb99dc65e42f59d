"""Operating characteristics of a whole trial design by repeated simulation ("how many patients").

Each replicate runs the scenario's full trial (screening, randomisation, safety review, model,
observation, dropout) with its own seed ``SeedSequence(scenario.seed, spawn_key=(k,))`` and
analyses the primary endpoint at the primary visit by ANCOVA of change on arm with baseline,
every active arm vs pooled placebo. Power per arm is the share of replicates in which the
difference favours the active arm and its two-sided p-value is below alpha; the probability
that escalation stopped early for safety is reported too.

Replicates are computed in chunks; with an output folder each chunk is written atomically as
``chunk_<k>.parquet`` and a rerun skips chunks already written, so a long sweep can be resumed.
The folder records the scenario (``scenario_digest.txt``) and the code that wrote it
(:func:`oasim.distributed.claim_resumable_dir`): a rerun of another scenario or with other
oasim code (version or source digest) is refused, never mixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..analysis import ancova
from ..analysis.ancova import ancova_differences
from ..data import from_trial_run
from ..data.tables import ENDPOINT_OF, paramcd_of
from ..errors import FieldError, OasimError
from ..parameters import ParameterSet
from ..scenario import Scenario
from .analyse import PLACEBO, arm_order
from .conduct import TrialRun, conduct_trial

# endpoints where a lower value is better (pain, disability, inflammation); others: higher is better
LOWER_IS_BETTER = ("WOMAC", "VAS_PAIN", "PGA_VAS", "MRI_T2", "MRI_SYNOV", "SF_IL1B")


def benefit_sign(paramcd: str) -> float:
    """-1 if a decrease is a benefit for ``paramcd``, +1 if an increase is."""
    return -1.0 if paramcd.startswith(LOWER_IS_BETTER) else 1.0


def replicate_seed(seed: int, k: int) -> int:
    """Seed of replicate ``k``: independent streams, whatever the chunking or worker count."""
    return int(np.random.SeedSequence(seed, spawn_key=(k,)).generate_state(1, dtype=np.uint64)[0] >> 1)


def primary_rows(run: TrialRun) -> pd.DataFrame:
    """The rows the power analysis fits (CHG, TRT01P, BASE of the primary endpoint at the primary
    visit, complete CHG and BASE, in USUBJID order), from the trial's records.

    The values of ADQS (:func:`oasim.data.from_trial_run`, unblinded) without building the CDISC
    tables: BASE is the subject's value at the baseline visit (visit number 0), CHG the value
    minus BASE, TRT01P the subject's arm. :func:`primary_rows_from_datasets` takes the same rows
    from the tables themselves (``oasim run``'s route); ``tests/trial/test_power_pinned.py``
    checks both give the same rows.
    """
    sc = run.scenario
    name = ENDPOINT_OF[paramcd_of(sc.analysis.primary_endpoint)]  # observations carry endpoint names
    visitn = list(sc.visits.months).index(sc.analysis.primary_visit_month)
    obs = run.observations
    mine = (obs["paramcd"] == name).to_numpy()
    sid, visitnum, value = (obs[c].to_numpy()[mine] for c in ("subject_id", "visitnum", "value"))
    base = pd.Series(value[visitnum == 0], index=sid[visitnum == 0])
    at_visit = visitnum == visitn
    sid, aval = sid[at_visit], value[at_visit]
    base_at = base.reindex(sid).to_numpy()
    arm_of = pd.Series(run.subjects["arm"].to_numpy(), index=run.subjects["subject_id"].to_numpy())
    chg = aval - base_at
    # complete CHG and BASE, in ADQS order: USUBJID is "<STUDYID>-<subject id, 4 digits>"
    keep = np.flatnonzero(~np.isnan(chg) & ~np.isnan(base_at))
    keep = keep[np.argsort(np.char.mod("%04d", sid[keep]), kind="stable")]
    return pd.DataFrame({"CHG": chg[keep], "TRT01P": arm_of.reindex(sid[keep]).to_numpy(), "BASE": base_at[keep]})


def primary_rows_from_datasets(run: TrialRun) -> pd.DataFrame:
    """:func:`primary_rows` read from the unblinded CDISC tables (ADQS joined with the randomisation list)."""
    sc = run.scenario
    code = paramcd_of(sc.analysis.primary_endpoint)  # ADQS PARAMCD (<= 8 characters)
    visitn = list(sc.visits.months).index(sc.analysis.primary_visit_month)
    adqs = from_trial_run(run).unblind()["ADQS"]
    rows = adqs[(adqs["PARAMCD"] == code) & (adqs["AVISITN"] == visitn)].dropna(subset=["CHG", "BASE"])
    return rows[["CHG", "TRT01P", "BASE"]].reset_index(drop=True)


def one_replicate(scenario: Scenario, k: int, model_set: ParameterSet | None = None, lean: bool = True) -> list[dict]:
    """Rows (one per active arm) of replicate ``k``.

    ``model_set``: the scenario's parameter set, loaded once by the caller (see
    :func:`~oasim.trial.conduct.conduct_trial`). ``lean`` (default): the analysis rows come from
    the trial's records (:func:`primary_rows`) and the ANCOVA is fitted on arrays
    (:func:`~oasim.analysis.ancova.ancova_differences`); ``lean=False`` builds the CDISC tables and
    fits :func:`~oasim.analysis.ancova` with its formula, as ``oasim run`` does. Both give the same rows.
    """
    sc = scenario.model_copy(update={"seed": replicate_seed(scenario.seed, k)})
    run = conduct_trial(sc, model_set=model_set)
    stopped = len(run.cohort_decisions) < len(sc.design.cohorts)
    settings = {"response": "CHG", "treatment": "TRT01P", "baseline": "BASE", "control": PLACEBO,
                "alpha": sc.analysis.alpha}
    try:
        if lean:
            diffs = ancova_differences(primary_rows(run), **settings)
        else:
            diffs = ancova(primary_rows_from_datasets(run), **settings).differences
    except OasimError:
        diffs = pd.DataFrame(columns=["estimate", "p_value"])
    arm = run.subjects["arm"]
    per_trial = {"n_total": int(len(run.subjects)), "n_ae": int(len(run.adverse_events)), "stopped_early": stopped,
                 "n_dlt": int(sum(d["n_dlt"] for d in run.cohort_decisions))}
    out = []
    for name in sorted(set(arm[run.subjects["active"]])):
        if name in diffs.index:
            est, p = float(diffs.loc[name, "estimate"]), float(diffs.loc[name, "p_value"])
            lo, hi = (float(diffs.loc[name, c]) if c in diffs.columns else np.nan for c in ("ci_lower", "ci_upper"))
        else:
            est, p, lo, hi = np.nan, np.nan, np.nan, np.nan
        out.append({"replicate": k, "arm": name, "estimate": est, "p_value": p, "ci_lower": lo, "ci_upper": hi,
                    "n_active": int((arm == name).sum()), **per_trial})
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


def replicate_chunk(scenario: Scenario, start: int, stop: int, model_set: ParameterSet | None = None,
                    lean: bool = True) -> pd.DataFrame:
    """Rows of replicates ``start .. stop - 1`` (a pure function of its arguments: any worker).

    ``model_set``: the scenario's parameter set (:func:`simulate_power` reads it once and ships it
    with every chunk); read here if not given.
    """
    if model_set is None:
        model_set = ParameterSet.load(scenario.model.parameter_set)
    return pd.DataFrame([row for k in range(start, stop) for row in one_replicate(scenario, k, model_set, lean)])


def simulate_power(scenario: Scenario, n_trials: int, chunk_size: int = 10, out_dir: Path | None = None,
                   progress: Callable[[int, int], None] | None = None, engine=None) -> PowerResult:
    """Run ``n_trials`` replicates of ``scenario`` (resumable when ``out_dir`` is given).

    ``engine``: an :class:`oasim.distributed.Engine` (local by default, or Dask); the replicates
    and therefore the result are the same on every engine.
    """
    from functools import partial

    from ..distributed import claim_resumable_dir, run_chunks

    if n_trials < 2:
        raise FieldError("trials", n_trials, ">= 2")
    if chunk_size < 1:
        raise FieldError("chunk_size", chunk_size, ">= 1")
    if out_dir is not None:
        out_dir = claim_resumable_dir(out_dir, "power")  # same oasim code, or a named error
        stamp = out_dir / "scenario_digest.txt"
        if stamp.exists() and stamp.read_text().strip() != scenario.digest():
            raise FieldError("out", str(out_dir), "a folder of the same scenario (digest differs: use a new folder)")
        stamp.write_text(scenario.digest())
    model_set = ParameterSet.load(scenario.model.parameter_set)  # once, not per replicate
    frame = run_chunks(partial(replicate_chunk, scenario, model_set=model_set), n_trials, chunk_size, out_dir, engine, progress)
    return PowerResult(frame, scenario.analysis.primary_endpoint, scenario.analysis.alpha, n_trials)
