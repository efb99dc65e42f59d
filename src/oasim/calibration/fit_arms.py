"""Calibration to an arm table: priors from a file, targets from the table's rows, the
arm-table replay (:func:`oasim.calibration.arms.simulate_arm_table`) as the simulator, and a
leave-one-study-out predictive check on the fitted emulators.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import FieldError
from .arms import SCORES, ArmTable, control_rows, skip_reason
from .bayes import (HETEROGENEITY, Emulator, Prior, Target, anchored_predictive_draws, predictive_draws,
                    predictive_variance_parts, sample_posterior, scored_value, standard_error)


def calibration_sets(parameter_set: str = "human") -> dict:
    """The parameter sets a calibrated parameter may live in: model, observation model, products."""
    from ..endpoints.parameters import load_observation_parameters
    from ..parameters import ParameterSet
    from ..trial.design import product_parameters

    return {"model": ParameterSet.load(parameter_set), "observation": load_observation_parameters(),
            "products": product_parameters()}


def _read_priors_file(path: str | Path | None) -> tuple[dict, str]:
    if path is None:
        text = resources.files("oasim.calibration").joinpath("priors_human.toml").read_text("utf-8")
        origin = "oasim/calibration/priors_human.toml"
    else:
        path = Path(path)
        if not path.is_file():
            raise FieldError("priors", str(path), "an existing TOML file")
        text, origin = path.read_text("utf-8"), str(path)
    try:
        return tomllib.loads(text), origin
    except tomllib.TOMLDecodeError as exc:
        raise FieldError("priors", origin, f"valid TOML ({exc})") from exc


def load_priors(path: str | Path | None = None, parameter_set: str = "human") -> list[Prior]:
    """Priors of the calibrated parameters.

    The file (``calibration/priors_human.toml`` by default) lists ``parameters = [names]``; each
    name's prior is the ``prior`` of its own entry in the model set, the observation model or
    the product factors, so a range is written once, next to the value and its source.
    """
    data, origin = _read_priors_file(path)
    names = data.get("parameters")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise FieldError("parameters", names, "a non-empty list of parameter names", origin)
    if len(set(names)) != len(names):
        raise FieldError("parameters", names, "unique names", origin)
    if len(names) > 12:
        raise FieldError("parameters", len(names), "at most 12 calibrated parameters (identifiability from arm data)",
                         origin)
    sets = calibration_sets(parameter_set)
    priors = []
    for name in names:
        owner = next((s for s in sets.values() if name in s), None)
        if owner is None:
            raise FieldError(f"parameters.{name}", name, "a parameter of the model, observation or product sets",
                             origin)
        entry = owner[name]
        if entry.prior is None:
            raise FieldError(f"parameters.{name}", name, f"a parameter with a prior in {owner.origin}", origin)
        priors.append(Prior(name, entry.prior.dist, entry.prior.low, entry.prior.high, entry.unit, entry.prior.why))
    return priors


def load_heterogeneity(path: str | Path | None = None) -> list[Prior]:
    """Priors of the random-effect SDs (``[heterogeneity]`` of the priors file: any of
    :data:`~oasim.calibration.bayes.HETEROGENEITY`, in that order; the ones left out are 0);
    empty when the file has no such table."""
    data, origin = _read_priors_file(path)
    table = data.get("heterogeneity")
    if table is None:
        return []
    if not isinstance(table, dict) or not table or not set(table) <= set(HETEROGENEITY):
        raise FieldError("heterogeneity", sorted(table) if isinstance(table, dict) else table,
                         f"a table of SDs named among {list(HETEROGENEITY)}", origin)
    priors = []
    for name in (n for n in HETEROGENEITY if n in table):
        e = table[name]
        if not isinstance(e, dict) or not {"dist", "low", "high", "why"} <= set(e):
            raise FieldError(f"heterogeneity.{name}", e, "{ dist, low, high, why }", origin)
        if e["low"] < 0:
            raise FieldError(f"heterogeneity.{name}.low", e["low"], ">= 0 (a standard deviation)", origin)
        unit = {"tau_ae_logit": "log-odds", "tau_effect": "fraction of the model's effect"}.get(
            name, "fraction of scale maximum")
        priors.append(Prior(name, e["dist"], float(e["low"]), float(e["high"]), unit, e["why"]))
    return priors


@dataclass(frozen=True)
class ArmTargets:
    """The scoreable rows of a table as calibration targets (``row_ids`` align with ``targets``)."""

    targets: list[Target]
    row_ids: list[int]
    studies: list[str]
    skipped: dict[int, str]


def _label(r) -> str:
    return f"{r.study} | {r.arm} | {r.endpoint} | m{r.month:g}"


def targets_from_table(table: ArmTable) -> ArmTargets:
    """Targets of the table's scoreable rows; a treated arm's score row names its control arm's
    matching row (:func:`~oasim.calibration.arms.control_rows`) for the treatment-effect random effect."""
    targets, ids, studies, skipped = [], [], [], {}
    controls = control_rows(table)
    for i, r in enumerate(table.rows, start=1):
        reason = skip_reason(r)
        if reason is None and r.month == 0:
            reason = "month 0: conditions the arm's baseline, not scored"
        if reason is not None:
            skipped[i] = reason
            continue
        se = None if r.statistic == "proportion" else standard_error(
            r.statistic, r.n, r.spread_type, r.spread_low, r.spread_high)
        # scores get the study/arm random effects on their instrument's scale; proportions and
        # physical measures (no scale_max) are independent rows
        scale = r.scale_max if r.statistic != "proportion" and r.endpoint in SCORES else None
        control = _label(table.rows[controls[i] - 1]) if i in controls and scale is not None else ""
        targets.append(Target(_label(r), r.statistic, r.value, r.n, se, r.study, r.arm, scale,
                              r.source_kind == "secondary", control))
        ids.append(i)
        studies.append(r.study)
    return ArmTargets(targets, ids, studies, skipped)


def arm_table_simulator(table: ArmTable, priors: Sequence[Prior], row_ids: Sequence[int],
                        parameter_set: str = "human", replicates: int = 4) -> "ArmTableSimulator":
    """A :data:`~oasim.calibration.bayes.Simulator` replaying ``table`` at each parameter vector.

    Returns per target row the mean of the simulated statistic over ``replicates`` whole-trial
    replicates, and ``sd`` = the replicate SD × √n (a between-subject scale, as the likelihood
    divides by √n for rows without a reported spread).
    """
    return ArmTableSimulator(table, tuple(p.name for p in priors), tuple(row_ids), parameter_set, replicates)


@dataclass(frozen=True)
class ArmTableSimulator:
    """The arm-table replay as a picklable simulator (:func:`arm_table_simulator`), so design
    chunks can run on Dask workers."""

    table: ArmTable
    names: tuple[str, ...]
    row_ids: tuple[int, ...]
    parameter_set: str = "human"
    replicates: int = 4

    @property
    def fingerprint(self) -> str:
        """What this simulator computes (names a design's chunk files: a changed table, parameter
        list, parameter set, replicate count, oasim version or any file of the installed package
        is a new design; a table changed only in its likelihood-only column control_arm is not)."""
        from .. import __version__
        from ..provenance import source_digest

        return f"{self.table.simulation_digest()}|{','.join(self.names)}|{self.row_ids}|{self.parameter_set}|" \
               f"{self.replicates}|{__version__}|{source_digest()}"

    def __call__(self, theta: np.ndarray, seeds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from .arms import simulate_arm_table

        n = np.array([self.table.rows[i - 1].n for i in self.row_ids], float)
        means, sds = [], []
        for values, seed in zip(theta, seeds):
            sim = simulate_arm_table(self.table, self.parameter_set, self.replicates, int(seed % (2**31)),
                                     overrides=dict(zip(self.names, map(float, values))))
            v = sim.values.reindex(list(self.row_ids)).to_numpy(float)
            means.append(v.mean(axis=1))
            sds.append(v.std(axis=1, ddof=1) * np.sqrt(n) if self.replicates > 1
                       else np.full(len(self.row_ids), np.nan))
        return np.array(means), np.array(sds)


def sampling_correlation(table: ArmTable, priors: Sequence[Prior], row_ids: Sequence[int],
                         parameter_set: str = "human", replicates: int = 100, seed: int = 0) -> np.ndarray:
    """(m, m) correlation of the statistics of rows ``row_ids`` across replicate trials of the
    model: ``table`` replayed ``replicates`` times at the priors' medians. Only pairs of score rows
    (VAS, WOMAC, ...) of one arm of one study, the same patients, are kept; every other pair is 0.
    A row whose statistic does not vary across replicates (e.g. a median always at the floor) or
    that a replicate could not simulate is left uncorrelated; replicates with a missing value in an
    arm are dropped for that arm, so each arm's block is a sample correlation matrix (positive
    semi-definite)."""
    from .arms import simulate_arm_table

    if replicates < 3:
        raise FieldError("replicates", replicates, ">= 3 to estimate a correlation")
    medians = {p.name: float(p.from_unit(np.array([0.5]))[0]) for p in priors}
    sim = simulate_arm_table(table, parameter_set, replicates, seed, overrides=medians)
    values = sim.values.reindex(list(row_ids)).to_numpy(float)  # (m, R)
    rows = [table.rows[i - 1] for i in row_ids]
    corr = np.eye(len(rows))
    arms: dict[tuple[str, str], list[int]] = {}
    for j, r in enumerate(rows):
        if r.statistic != "proportion" and r.endpoint in SCORES:
            arms.setdefault((r.study, r.arm), []).append(j)
    for cols in arms.values():
        if len(cols) < 2:
            continue
        v = values[cols]
        v = v[:, np.all(np.isfinite(v), axis=0)]
        if v.shape[1] < 3:
            continue
        varies = v.std(axis=1) > 0
        idx = np.array(cols)[varies]
        if len(idx) >= 2:
            corr[np.ix_(idx, idx)] = np.corrcoef(v[varies])
    return corr


def predictive_interval(emulator: Emulator, chain_u: np.ndarray, targets: Sequence[Target], columns: Sequence[int],
                        seed: int, n_draws: int = 1000, heterogeneity: Sequence[Prior] = (),
                        sampling_corr: np.ndarray | None = None, anchored_draws: int = 4000) -> pd.DataFrame:
    """95 % predictive interval of each target column's statistic in a new study (posterior
    parameters, the new study's random effects when ``heterogeneity`` is given, and the arm's
    sampling error), its coverage of the published value, its width over the trial's own CI, and
    the variance parts of that width (:func:`~oasim.calibration.bayes.predictive_variance_parts`).

    Treated rows with a control row also get the interval *given their study's control arms*
    (``anchored_*`` columns, NaN on other rows; ``anchor_ess``: the effective sample size of the
    ``anchored_draws`` posterior draws reweighted by those arms' rows: a control arm with many rows
    concentrates the weights on few draws, so more draws are used than for the plain interval;
    :func:`~oasim.calibration.bayes.anchored_predictive_draws`, with ``sampling_corr`` the
    correlation of one arm's rows, None for independent rows)."""
    from scipy.stats import binomtest

    sim = predictive_draws(emulator, chain_u, targets, heterogeneity, seed, n_draws)
    parts = predictive_variance_parts(emulator, chain_u, targets, heterogeneity, seed, n_draws)
    anchored, ess = anchored_predictive_draws(emulator, chain_u, targets, heterogeneity, seed + 1, anchored_draws,
                                              sampling_corr)
    rows = []
    for j in columns:
        t = targets[j]
        if t.statistic == "proportion":
            ci = binomtest(round(t.value * t.n), t.n).proportion_ci(0.95, method="exact")
            own = ci.high - ci.low
        else:
            se = t.se if t.se is not None else emulator.sd_mean[j] / np.sqrt(t.n)
            own = 2 * 1.959963984540054 * se
        lo, hi = np.percentile(sim[:, j], [2.5, 97.5])
        inside = bool(lo <= scored_value(t.statistic, t.value, t.n) <= hi)
        # interval score (Gneiting & Raftery 2007, eq. 43) at alpha = 0.05
        score = (hi - lo) + 40.0 * max(lo - t.value, 0.0) + 40.0 * max(t.value - hi, 0.0)
        row = {"target": t.label, "value": t.value, "pi_low": lo, "pi_high": hi, "inside": inside,
               "width_ratio": (hi - lo) / own if own > 0 else np.nan, "score": score} | parts.iloc[j].to_dict()
        a_lo = a_hi = a_inside = a_ratio = a_ess = np.nan
        if not np.isnan(anchored[0, j]):
            a_lo, a_hi = np.percentile(anchored[:, j], [2.5, 97.5])
            a_inside = bool(a_lo <= t.value <= a_hi)
            a_ratio = (a_hi - a_lo) / own if own > 0 else np.nan
            a_ess = ess[t.study]
        rows.append(row | {"anchored_pi_low": a_lo, "anchored_pi_high": a_hi, "anchored_inside": a_inside,
                           "anchored_width_ratio": a_ratio, "anchor_ess": a_ess})
    return pd.DataFrame(rows)


def leave_one_study_out(emulator: Emulator, priors: Sequence[Prior], arm_targets: ArmTargets, seed: int,
                        mcmc_steps: int = 1500, heterogeneity: Sequence[Prior] = (), engine=None,
                        sampling_corr: np.ndarray | None = None) -> pd.DataFrame:
    """Refit the posterior without each study in turn and predict that study's rows as a new study.

    The emulators were trained on simulator runs of the whole table, which use no published
    value; only the likelihood changes, so each refit costs an MCMC run, not a design. Each row
    carries its refit's diagnostics (``mcmc_steps``, worst split R-hat, smallest ESS, longest
    integrated autocorrelation in steps), so a refit that did not converge can be seen.
    ``engine`` (:class:`oasim.distributed.Engine`, this process by default) runs the refits, e.g.
    one per worker of a local Dask cluster; each has its own seeds, so the table does not depend
    on it.
    """
    from ..distributed import Engine

    targets = arm_targets.targets
    items = []
    for k, study in enumerate(dict.fromkeys(arm_targets.studies)):
        held = [j for j, s in enumerate(arm_targets.studies) if s == study]
        kept = [j for j, s in enumerate(arm_targets.studies) if s != study]
        if kept:
            items.append((held, kept, seed + k, seed + 1000 + k))
    frames = {}
    shared = (emulator, tuple(priors), tuple(targets), mcmc_steps, tuple(heterogeneity), sampling_corr)
    for i, table in (engine or Engine()).imap(_held_out_study, items, shared=shared):
        held = items[i][0]
        table.insert(0, "study", targets[held[0]].study)
        table.insert(1, "row_id", [arm_targets.row_ids[j] for j in held])
        frames[i] = table
    return pd.concat([frames[i] for i in sorted(frames)], ignore_index=True) if frames else pd.DataFrame()


def _held_out_study(emulator: Emulator, priors: Sequence[Prior], targets: Sequence[Target], mcmc_steps: int,
                    heterogeneity: Sequence[Prior], sampling_corr: np.ndarray | None, held: list[int],
                    kept: list[int], seed_fit: int, seed_predict: int) -> pd.DataFrame:
    """One study of :func:`leave_one_study_out`: the posterior without its rows, and their predictions."""
    sub = _SubEmulator(emulator, kept)
    corr = None if sampling_corr is None else sampling_corr[np.ix_(kept, kept)]
    result = sample_posterior(sub, priors, [targets[j] for j in kept], seed_fit, n_steps=mcmc_steps,
                              heterogeneity=heterogeneity, sampling_corr=corr)
    table = predictive_interval(emulator, result.chain_u, targets, held, seed_predict, heterogeneity=heterogeneity,
                                sampling_corr=sampling_corr)
    table["mcmc_steps"] = mcmc_steps
    table["rhat_max"] = float(np.max(result.rhat))
    table["ess_min"] = float(np.min(result.ess))
    table["autocorr_max_steps"] = float(np.max(result.autocorr_steps))
    return table


class _SubEmulator(Emulator):
    """The emulators of a subset of targets (same GPs, no refit)."""

    def __init__(self, full: Emulator, columns: Sequence[int]):
        self.models = [full.models[j] for j in columns]
        self.sd_mean = full.sd_mean[list(columns)]
        self.holdout_r2 = full.holdout_r2[list(columns)]
        self._fast_cache = [full._fast[j] for j in columns]
