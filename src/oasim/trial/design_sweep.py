"""Design sweeps ("how many patients"): a grid of trial variants, each run as repeated trials.

``--vary KEY=V1,V2,...`` keys (several ``--vary`` make a full grid):

=================  ==========================================================================
key                meaning
=================  ==========================================================================
n_active           active subjects per cohort (every cohort), integer >= 1; when the scenario's
                   randomisation block no longer keeps the active:placebo ratio, the block
                   becomes the whole cohort
n_placebo          placebo subjects per cohort (every cohort), integer >= 0 (same block rule)
dose_scale         multiplies every cohort's dose (dose levels), number > 0
kl                 enrichment by Kellgren-Lawrence grade: grades joined by ``+``, e.g. ``2+3,3``
primary_visit      primary visit [month]; must be one of the scenario's visit months
=================  ==========================================================================

For every design point the sweep runs ``trials`` replicates (``oasim.trial.power``) and the same
design with every dose scaled by ``NULL_DOSE_SCALE`` (an effectively zero dose: the null-effect
variant) for the type I error. Per design point and arm it reports power (significant benefit),
type I error (the same in the null variant), the mean estimate and its Monte-Carlo SD,
coverage of the confidence interval (of the design point's Monte-Carlo mean estimate, i.e.
calibration of the CI width; there is no separate ground-truth effect), P(choosing the right
dose), the expected number randomised and of adverse events, and P(stopped early).

P(choosing the right dose): the right dose is the arm with the largest mean benefit at the
design point (Monte-Carlo truth); a replicate chooses, among its arms with a significant
benefit, the one with the largest estimated benefit (no significant arm = no choice).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FieldError, OasimError
from ..scenario import Scenario
from .analyse import arm_order
from .power import benefit_sign, simulate_power

NULL_DOSE_SCALE = 1e-9  # assumed: 1e-9 of a clinical dose (~100 particles) has no modelled effect
VARY_KEYS = ("n_active", "n_placebo", "dose_scale", "kl", "primary_visit")


class DesignSpecError(FieldError):
    """A ``--vary`` specification that cannot be parsed or applied."""


def _number(key, text, kind, low):
    try:
        value = kind(text)
    except ValueError:
        raise DesignSpecError(f"--vary {key}", text, f"{'an integer' if kind is int else 'a number'} >= {low}") from None
    if not (value >= low) or (kind is float and not np.isfinite(value)) or (key == "dose_scale" and value <= 0):
        raise DesignSpecError(f"--vary {key}", text, f"{'> 0' if key == 'dose_scale' else f'>= {low}'}")
    return value


def parse_vary(specs: list[str]) -> dict[str, list]:
    """``["n_active=6,12", "kl=2+3,3"]`` -> ``{"n_active": [6, 12], "kl": [(2, 3), (3,)]}``."""
    grid: dict[str, list] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip()
        if not sep or not values.strip():
            raise DesignSpecError("--vary", spec, "KEY=V1,V2,... with KEY one of " + ", ".join(VARY_KEYS))
        if key not in VARY_KEYS:
            raise DesignSpecError("--vary", key, "one of " + ", ".join(VARY_KEYS))
        if key in grid:
            raise DesignSpecError("--vary", key, "each key once")
        items = [v.strip() for v in values.split(",")]
        if key in ("n_active", "n_placebo"):
            parsed = [_number(key, v, int, 1 if key == "n_active" else 0) for v in items]
        elif key in ("dose_scale", "primary_visit"):
            parsed = [_number(key, v, float, 0.0) for v in items]
        else:
            parsed = []
            for v in items:
                grades = tuple(sorted({_number(key, g, int, 2) for g in v.split("+")}))
                if not set(grades) <= {2, 3, 4}:
                    raise DesignSpecError("--vary kl", v, "KL grades 2, 3, 4 joined by +")
                parsed.append(grades)
        if len(set(parsed)) != len(parsed):
            raise DesignSpecError(f"--vary {key}", values, "distinct values")
        grid[key] = parsed
    return grid


def apply_point(scenario: Scenario, point: dict, dose_scale: float = 1.0) -> Scenario:
    """The scenario with the design point's changes (and every dose times ``dose_scale``)."""
    data = scenario.model_dump()
    scale = point.get("dose_scale", 1.0) * dose_scale
    for c in data["design"]["cohorts"]:
        c["n_active"] = point.get("n_active", c["n_active"])
        c["n_placebo"] = point.get("n_placebo", c["n_placebo"])
        c["dose"] = c["dose"] * scale
    size = {c["n_active"] + c["n_placebo"] for c in data["design"]["cohorts"]}
    block = data["design"].get("block_size")
    if block and any(n % block or (c["n_active"] * block) % n
                     for c in data["design"]["cohorts"] for n in [c["n_active"] + c["n_placebo"]]):
        # the varied n no longer fits the scenario's randomisation block: one block per cohort
        data["design"]["block_size"] = max(size) if len(size) == 1 else block
    if "kl" in point:
        data["population"]["inclusion"]["kl_grades"] = list(point["kl"])
    if "primary_visit" in point:
        if point["primary_visit"] not in scenario.visits.months:
            raise DesignSpecError("--vary primary_visit", point["primary_visit"],
                                  f"one of the visit months {list(scenario.visits.months)}")
        data["analysis"]["primary_visit_month"] = point["primary_visit"]
    try:
        return Scenario.from_dict(data, f"design point {point}")
    except OasimError as exc:
        raise DesignSpecError("--vary", point, f"a valid scenario ({exc})") from exc


def grid_points(grid: dict[str, list]) -> list[dict]:
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))] or [{}]


def _point_metrics(rep: pd.DataFrame, null: pd.DataFrame, sign: float, alpha: float) -> list[dict]:
    rows = []
    benefit = sign * rep["estimate"]
    rep = rep.assign(benefit=benefit, hit=(rep["p_value"] < alpha) & (benefit > 0))
    mean_benefit = rep.groupby("arm")["benefit"].mean()
    right = mean_benefit.idxmax() if mean_benefit.notna().any() else None
    chosen = (rep[rep["hit"]].sort_values(["replicate", "benefit"], ascending=[True, False])
              .drop_duplicates("replicate").set_index("replicate")["arm"])
    n_rep = rep["replicate"].nunique()
    p_right = float((chosen == right).sum() / n_rep) if right is not None else np.nan
    per_trial = rep.drop_duplicates("replicate")
    null = null.assign(hit=(null["p_value"] < alpha) & (sign * null["estimate"] > 0),
                       any_sig=null["p_value"] < alpha)
    # the null variant's arms carry the scaled doses in their labels: pair them by dose order
    pairing = dict(zip(arm_order(null["arm"]), arm_order(rep["arm"])))
    null["arm"] = null["arm"].map(pairing)
    for arm in arm_order(rep["arm"]):
        g = rep[rep["arm"] == arm]
        mc_mean = g["estimate"].mean()
        covered = (g["ci_lower"] <= mc_mean) & (mc_mean <= g["ci_upper"])
        ng = null[null["arm"] == arm]
        rows.append({"arm": arm, "replicates": len(g), "power": g["hit"].mean(),
                     "type1_error": ng["any_sig"].mean() if len(ng) else np.nan,
                     "type1_error_benefit": ng["hit"].mean() if len(ng) else np.nan,
                     "mean_estimate": mc_mean, "sd_estimate": g["estimate"].std(ddof=1),
                     "ci_coverage_of_mc_mean": covered.mean(), "right_dose": arm == right,
                     "p_choose_right_dose": p_right, "power_any_arm": rep.groupby("replicate")["hit"].any().mean(),
                     "expected_n": per_trial["n_total"].mean(), "expected_n_ae": per_trial["n_ae"].mean(),
                     "expected_n_dlt": per_trial["n_dlt"].mean(), "p_stopped_early": per_trial["stopped_early"].mean()})
    return rows


@dataclass(frozen=True)
class DesignResult:
    table: pd.DataFrame  # one row per design point and arm
    replicates: pd.DataFrame  # every replicate row, with the design point and variant ("design" / "null")


def run_design(scenario: Scenario, grid: dict[str, list], n_trials: int, out_dir: Path | None = None,
               chunk_size: int = 10, engine=None, progress=None) -> DesignResult:
    """Run every design point and its null variant; resumable per point when ``out_dir`` is given
    (only by the same oasim code: :func:`oasim.distributed.claim_resumable_dir`)."""
    points = grid_points(grid)
    scenarios = [apply_point(scenario, p) for p in points]  # validate every point before running any
    if out_dir is not None:  # the same oasim code, or a named error naming this folder (its points check too)
        from ..distributed import claim_resumable_dir

        out_dir = claim_resumable_dir(out_dir, "design")
    sign = benefit_sign(scenario.analysis.primary_endpoint)
    tables, reps = [], []
    total = 2 * n_trials * len(points)
    done_before = 0
    for i, (point, sc) in enumerate(zip(points, scenarios)):
        frames = {}
        for variant, scv in (("design", sc), ("null", apply_point(scenario, point, NULL_DOSE_SCALE))):
            folder = None if out_dir is None else Path(out_dir) / f"point_{i:03d}_{variant}"
            cb = None if progress is None else (lambda d, n, base=done_before: progress(base + d, total))
            frames[variant] = simulate_power(scv, n_trials, chunk_size, folder, cb, engine).replicates
            done_before += n_trials
        desc = {k: ("+".join(map(str, v)) if isinstance(v, tuple) else v) for k, v in point.items()}
        for row in _point_metrics(frames["design"], frames["null"], sign, scenario.analysis.alpha):
            tables.append({"point": i, **desc, **row})
        for variant, f in frames.items():
            reps.append(f.assign(point=i, variant=variant, **desc))
    return DesignResult(pd.DataFrame(tables), pd.concat(reps, ignore_index=True))


def write_outputs(result: DesignResult, out_dir: Path, grid: dict[str, list]) -> list[Path]:
    """design.parquet, replicates.parquet, design.duckdb (tables design, replicates), power_vs_n.png."""
    import duckdb

    from ..distributed import write_parquet_atomic

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "design.parquet", out_dir / "replicates.parquet"]
    write_parquet_atomic(result.table, paths[0])
    write_parquet_atomic(result.replicates, paths[1])
    db = out_dir / "design.duckdb"
    tmp = out_dir / "design.duckdb.tmp"
    tmp.unlink(missing_ok=True)
    with duckdb.connect(str(tmp)) as con:
        con.execute(f"CREATE TABLE design AS SELECT * FROM read_parquet('{paths[0]}')")
        con.execute(f"CREATE TABLE replicates AS SELECT * FROM read_parquet('{paths[1]}')")
    tmp.replace(db)
    paths.append(db)
    if "n_active" in grid:
        paths.append(_power_figure(result.table, out_dir / "power_vs_n.png"))
    return paths


def _power_figure(table: pd.DataFrame, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = [c for c in ("n_placebo", "dose_scale", "kl", "primary_visit") if c in table.columns]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, g in table.groupby(["arm", *others], sort=True):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join([str(key[0])] + [f"{c}={v}" for c, v in zip(others, key[1:])])
        g = g.sort_values("n_active")
        ax.plot(g["n_active"], g["power"], marker="o", label=label)
    ax.axhline(0.8, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("active subjects per cohort")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path
