"""``oasim validate-against``: simulated predictive intervals of published arm statistics.

For an arm table (:mod:`oasim.calibration.arms`) every study is replayed R times. Month-0 rows
condition their arm and are reported under ``conditioning`` (with their simulated interval, as
a check), not scored. Every later row gets

* the simulated 95 % predictive interval of the reported statistic on the reported scale
  (2.5 and 97.5 % quantiles over replicates) and whether the published value is ``inside``;
* ``width_ratio``: interval width / width of the published statistic's own 95 % CI —
  3.92·SD/√n for a mean with SD, 3.92·SE for SE, the interval for ci95,
  3.92·1.2533·SD/√n for a median with IQR (SD = IQR/η(n), Wan et al. 2014; IQR/1.349 for large
  n), the Clopper–Pearson width for a
  proportion; None when the row reports no spread;
* the interval score of Gneiting & Raftery (2007, eq. 43) at α = 0.05:
  (u − l) + (2/α)(l − x)·1{x < l} + (2/α)(x − u)·1{x > u}, on the reported scale.

``coverage`` is the fraction of scored rows inside; ``mean_interval_width`` the mean
``width_ratio`` over the scored rows that have one. Rows that cannot be simulated are listed
under ``skipped`` with the reason; nothing is dropped silently.

With a calibrated parameter set every replicate replays the table at its own posterior draw.
If the set also carries the calibration's heterogeneity SDs (``ParameterSet.heterogeneity``),
each replicate adds, as for a study the calibration has not seen, the random effects of
:mod:`oasim.calibration.bayes` at that draw's SDs: ``(η_study + η_arm + ε_row) · scale_max`` on
every score row after month 0 (proportions and rows without an instrument maximum get none),
and on a treated arm's rows with a control row ``δ_study · (value − control's value)``, the
study's shift of the treatment effect (:func:`treatment_effect_shifts`).

Replicates run in chunks; with an output folder each chunk is written atomically as
``chunk_<start>_<stop>.parquet`` and a rerun skips chunks already written (as ``oasim power``),
only with the same table, settings and oasim code (:func:`oasim.distributed.claim_resumable_dir`).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd
from scipy import special

from ..errors import FieldError
from ..parameters import ParameterSet
from ..distributed import claim_resumable_dir, run_chunks
from .arms import SCORES, ArmRow, ArmTable, control_rows, plan_studies, simulate_arm_table
from .bayes import HETEROGENEITY, instrument_bounds, iqr_sd, scored_value

ALPHA = 0.05
Z975 = 1.959963984540054
MEDIAN_SE_FACTOR = 1.2533  # sqrt(pi / 2): SE of a normal sample median / SE of the mean


def published_ci_width(row: ArmRow) -> float | None:
    """Width of the published statistic's own 95 % CI (None if the row gives no spread)."""
    if row.statistic == "proportion":
        from ..analysis.safety import clopper_pearson

        count = int(round(row.value * row.n))
        lo, hi = clopper_pearson(np.array([count]), np.array([row.n]))
        return float(hi[0] - lo[0])
    if row.spread_type == "ci95":
        return float(row.spread_high - row.spread_low)
    if row.spread_type == "se":
        return 2 * Z975 * row.spread_low
    if row.spread_type == "sd":
        sd = row.spread_low
    elif row.spread_type == "iqr":
        sd = iqr_sd(row.spread_low, row.spread_high, row.n)
    else:
        return None
    factor = MEDIAN_SE_FACTOR if row.statistic == "median" else 1.0
    return 2 * Z975 * factor * sd / math.sqrt(row.n)


def interval_score(lower: float, upper: float, x: float, alpha: float = ALPHA) -> float:
    """Gneiting & Raftery (2007) interval score of the central (1 − alpha) interval [lower, upper] at x."""
    return (upper - lower) + (2 / alpha) * max(lower - x, 0.0) + (2 / alpha) * max(x - upper, 0.0)


@dataclass(frozen=True)
class ValidationResult:
    """Per-row intervals, conditioning rows, skipped rows and the two summaries."""

    rows: list[dict]
    conditioning: list[dict]
    skipped: list[dict]
    replicates: int
    provenance: dict = field(default_factory=dict)

    @property
    def coverage(self) -> float | None:
        return float(np.mean([r["inside"] for r in self.rows])) if self.rows else None

    @property
    def mean_interval_width(self) -> float | None:
        ratios = [r["width_ratio"] for r in self.rows if r["width_ratio"] is not None]
        return float(np.mean(ratios)) if ratios else None

    def to_dict(self) -> dict:
        n_ratio = sum(r["width_ratio"] is not None for r in self.rows)
        return {"rows": self.rows, "coverage": self.coverage, "mean_interval_width": self.mean_interval_width,
                "skipped": self.skipped, "conditioning": self.conditioning,
                "counts": {"scored": len(self.rows), "with_published_ci": n_ratio,
                           "conditioning": len(self.conditioning), "skipped": len(self.skipped)},
                "provenance": self.provenance}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def summary(self) -> str:
        d = self.to_dict()
        cov = "n/a" if d["coverage"] is None else f"{d['coverage']:.3f}"
        width = "n/a" if d["mean_interval_width"] is None else f"{d['mean_interval_width']:.3f}"
        lines = [f"{len(self.rows)} scored rows, {self.replicates} replicates: coverage {cov}, mean width ratio "
                 f"{width} ({d['counts']['with_published_ci']} rows with a published CI); "
                 f"{len(self.conditioning)} conditioning rows; {len(self.skipped)} skipped"]
        if self.rows:
            lines.append(self.to_frame().to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        for s in self.skipped:
            lines.append(f"skipped row {s['row']} ({s['study']} / {s['arm']} / {s['endpoint']}): {s['reason']}")
        return "\n".join(lines)


def score_rows(table: ArmTable, simulated: pd.DataFrame, skipped: Mapping[int, str], replicates: int,
               provenance: dict | None = None) -> ValidationResult:
    """Intervals and scores from simulated statistics (index row_id, one column per replicate)."""
    rows, conditioning, skipped_out = [], [], []
    for row_id, r in enumerate(table.rows, start=1):
        head = {"row": row_id, "study": r.study, "arm": r.arm, "endpoint": r.endpoint, "month": r.month,
                "statistic": r.statistic, "value": r.value}
        if row_id in skipped:
            skipped_out.append({**head, "reason": skipped[row_id]})
            continue
        sims = simulated.loc[row_id].to_numpy(float)
        sims = sims[np.isfinite(sims)]
        if sims.size < 2:
            skipped_out.append({**head, "reason": "fewer than 2 finite simulated values"})
            continue
        lo, hi = (float(q) for q in np.quantile(sims, [ALPHA / 2, 1 - ALPHA / 2]))
        inside = bool(lo <= scored_value(r.statistic, r.value, r.n) <= hi)
        if r.month == 0:
            conditioning.append({**head, "pi_low": lo, "pi_high": hi, "inside": inside})
            continue
        ci = published_ci_width(r)
        rows.append({**head, "pi_low": lo, "pi_high": hi, "inside": inside,
                     "width_ratio": None if not ci else (hi - lo) / ci,
                     "score": interval_score(lo, hi, r.value)})
    return ValidationResult(rows, conditioning, skipped_out, replicates, provenance or {})


def _scored_follow_up(r: ArmRow) -> bool:
    """A score statistic after baseline on an instrument with a maximum: the rows a new study's
    score random effects move."""
    return r.month > 0 and r.statistic != "proportion" and r.endpoint in SCORES and r.scale_max is not None


def new_study_effects(table: ArmTable, sds: Mapping[str, float], rng: np.random.Generator
                      ) -> tuple[pd.Series, pd.Series]:
    """One draw of a new study's random effects per row (index row_id): (score effect on the
    row's scale, AE log-odds shift); 0 where a row has none.

    ``sds``: some of :data:`~oasim.calibration.bayes.HETEROGENEITY` (missing ones are 0). Score
    rows after month 0: rows of one study share η_study ~ N(0, tau_study²), rows of one arm
    η_arm ~ N(0, tau_arm²), every row has ε ~ N(0, sigma_row²); rows from a secondary source add
    an arm effect ~ N(0, tau_arm_secondary²) and a row effect ~ N(0, sigma_row_secondary²), all
    times the instrument maximum. AE proportions of one study share a log-odds shift
    ~ N(0, tau_ae_logit²).
    """
    sd = {name: float(sds.get(name, 0.0)) for name in HETEROGENEITY}
    studies = sorted({r.study for r in table.rows})
    arms = sorted({(r.study, r.arm) for r in table.rows})
    eta_study = dict(zip(studies, rng.normal(0.0, sd["tau_study"], len(studies))))
    eta_arm = dict(zip(arms, rng.normal(0.0, sd["tau_arm"], len(arms))))
    eps = rng.normal(0.0, sd["sigma_row"], len(table.rows))
    # drawn after the three above, so a set without the extra SDs keeps its stream
    eta_arm2 = dict(zip(arms, rng.normal(0.0, sd["tau_arm_secondary"], len(arms))))
    eps2 = rng.normal(0.0, sd["sigma_row_secondary"], len(table.rows))
    eta_ae = dict(zip(studies, rng.normal(0.0, sd["tau_ae_logit"], len(studies))))
    score, logit = {}, {}
    for row_id, r in enumerate(table.rows, start=1):
        i = row_id - 1
        effect = 0.0
        if _scored_follow_up(r):
            effect = eta_study[r.study] + eta_arm[(r.study, r.arm)] + eps[i]
            if r.source_kind == "secondary":
                effect += eta_arm2[(r.study, r.arm)] + eps2[i]
            effect *= r.scale_max
        score[row_id] = effect
        logit[row_id] = eta_ae[r.study] if r.statistic == "proportion" else 0.0
    return pd.Series(score, name="effect"), pd.Series(logit, name="logit_shift")


def treatment_effect_shifts(table: ArmTable, sds: Mapping[str, float], rng: np.random.Generator,
                            pairs: Mapping[int, int] | None = None) -> pd.Series:
    """One draw of a new study's treatment-effect random effect per row (index row_id): δ ~ N(0,
    tau_effect²), one per study, on the score rows after month 0 of its cell or vesicle arms that
    have a control row (``pairs``, :func:`~oasim.calibration.arms.control_rows` of the table if
    None); 0 elsewhere. The row's simulated value moves by δ·(value − control's value)."""
    tau = float(sds.get("tau_effect", 0.0))
    studies = sorted({r.study for r in table.rows})
    delta = dict(zip(studies, rng.normal(0.0, tau, len(studies))))
    pairs = control_rows(table) if pairs is None else pairs
    out = {}
    for row_id, r in enumerate(table.rows, start=1):
        out[row_id] = delta[r.study] if _scored_follow_up(r) and row_id in pairs else 0.0
    return pd.Series(out, name="delta", dtype=float)


def shift_proportions(values: pd.DataFrame, shift: pd.Series, n: pd.Series) -> pd.DataFrame:
    """Proportions (k events of n) moved by a log-odds ``shift`` per row and rounded back to a
    count of the row's n: a new study's AE ascertainment applied to a simulated arm. 0 and n
    events are taken as 0.5 and n − 0.5 before the shift (the usual continuity correction), so a
    shift can move them; rows with a shift of 0 are returned unchanged."""
    moved = values.copy()
    rows = shift.index[shift.to_numpy() != 0.0].intersection(values.index)
    if len(rows):
        nn = n.reindex(rows).to_numpy(float)[:, None]
        k = np.clip(values.loc[rows].to_numpy(float) * nn, 0.5, nn - 0.5)
        p = special.expit(special.logit(k / nn) + shift.reindex(rows).to_numpy(float)[:, None])
        moved.loc[rows] = np.round(p * nn) / nn
    return moved


def score_range(table: ArmTable) -> tuple[pd.Series, pd.Series]:
    """(low, high) per row (index row_id): the instrument's bounds of a score statistic
    (:func:`~oasim.calibration.bayes.instrument_bounds`), unbounded (±inf) for other rows."""
    low, high = {}, {}
    for row_id, r in enumerate(table.rows, start=1):
        scored = r.statistic != "proportion" and r.endpoint in SCORES and r.scale_max is not None
        low[row_id], high[row_id] = instrument_bounds(r.statistic, r.scale_max) if scored else (-np.inf, np.inf)
    return pd.Series(low, dtype=float), pd.Series(high, dtype=float)


def validate_against(table: ArmTable, parameter_set: str = "human", replicates: int = 200, seed: int = 0,
                     chunk_size: int = 25, out_dir: Path | None = None, overrides: Mapping[str, float] | None = None,
                     progress: Callable[[int, int], None] | None = None, engine=None,
                     new_study: bool = True) -> ValidationResult:
    """Replay ``table`` ``replicates`` times (resumable by chunk in ``out_dir``) and score it.

    ``engine``: where the chunks run (:class:`oasim.distributed.Engine`, local by default); each
    replicate has its own seed stream, so the result does not depend on it. ``new_study``: add a
    new study's random effects when the set carries heterogeneity SDs (:func:`new_study_effects`)."""
    if replicates < 2:
        raise FieldError("replicates", replicates, ">= 2")
    if chunk_size < 1:
        raise FieldError("chunk_size", chunk_size, ">= 1")
    pset = ParameterSet.load(parameter_set)
    random_effects = bool(new_study and pset.posterior is not None and pset.heterogeneity is not None)
    stamp_text = json.dumps({"table": table.digest(), "parameter_set": pset.name, "origin": pset.origin,
                             "seed": seed, "chunk_size": chunk_size, "overrides": dict(overrides or {}),
                             **({"new_study_effects": True} if random_effects else {})}, sort_keys=True)
    digest = hashlib.sha256(stamp_text.encode()).hexdigest()[:16]
    if out_dir is not None:
        out_dir = claim_resumable_dir(out_dir, "validate-against")  # same oasim code, or a named error
        stamp = out_dir / "validate_digest.txt"
        if stamp.exists() and stamp.read_text().strip() != digest:
            raise FieldError("out", str(out_dir), "a folder of the same table, parameter set, seed and chunk size "
                                                  "(digest differs: use a new folder)")
        stamp.write_text(digest)

    low, high = score_range(table)  # a new study's score statistics stay on their instrument
    pairs = control_rows(table)
    row_n = pd.Series({i: r.n for i, r in enumerate(table.rows, start=1)}, dtype=float)

    def compute(start: int, stop: int) -> pd.DataFrame:
        if pset.posterior is None:
            sim = simulate_arm_table(table, pset, stop - start, seed, overrides, first_replicate=start)
            return sim.values.reset_index().melt(id_vars="row_id", var_name="replicate", value_name="value")
        # a calibrated set: each replicate replays the table at its own posterior draw, so the
        # interval carries parameter uncertainty as well as the sampling of subjects
        frames = []
        for k in range(start, stop):
            drawn, other = pset.posterior_draw(np.random.default_rng(np.random.SeedSequence([seed, k, 7])))
            sim = simulate_arm_table(table, drawn, 1, seed, {**other, **dict(overrides or {})}, first_replicate=k)
            values = sim.values
            if random_effects:  # a study the calibration has not seen: its random effects at this draw's SDs
                sds = pset.heterogeneity.iloc[drawn.draw_index]
                rng = np.random.default_rng(np.random.SeedSequence([seed, k, 11]))
                effect, shift = new_study_effects(table, sds, rng)
                delta = treatment_effect_shifts(table, sds, rng, pairs)  # drawn last: other effects keep their stream
                treated = [i for i in values.index if delta.get(i, 0.0) != 0.0 and pairs[i] in values.index]
                if treated:  # δ·(m_j − m_control), on this replicate's simulated values
                    values.loc[treated] += (delta.reindex(treated).to_numpy()[:, None]
                                            * (values.loc[treated].to_numpy()
                                               - values.loc[[pairs[i] for i in treated]].to_numpy()))
                values = values.add(effect.reindex(values.index).fillna(0.0), axis=0)
                values = values.clip(low.reindex(values.index), high.reindex(values.index), axis=0)
                values = shift_proportions(values, shift, row_n)
            frames.append(values.reset_index().melt(id_vars="row_id", var_name="replicate", value_name="value"))
        return pd.concat(frames, ignore_index=True)

    long = run_chunks(compute, replicates, chunk_size, out_dir, engine, progress)
    _, skipped = plan_studies(table, pset.value("exosome_particles_per_ug"))
    wide = long.pivot(index="row_id", columns="replicate", values="value") if len(long) else pd.DataFrame()
    provenance = {"table": table.source, "table_digest": table.digest(), "parameter_set": pset.name, "seed": seed,
                  "replicates": replicates, "chunk_size": chunk_size, "run_digest": digest,
                  "new_study_effects": random_effects}
    from .. import __version__

    provenance["oasim_version"] = __version__
    return score_rows(table, wide, skipped, replicates, provenance)
