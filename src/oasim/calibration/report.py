"""Write a calibration: posterior draws, summary, diagnostics and an HTML report, atomically."""

from __future__ import annotations

import base64
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .bayes import (CalibrationResult, Emulator, Prior, Simulator, Target, predictive_draws, run_design,
                    sample_posterior)


@dataclass(frozen=True)
class CalibrationSettings:
    design_points: int = 160
    mcmc_steps: int = 3000
    seed: int = 1
    chunk: int = 8
    gp_restarts: int = 2


def calibrate(simulator: Simulator, priors: Sequence[Prior], targets: Sequence[Target], out: Path,
              settings: CalibrationSettings = CalibrationSettings(), provenance: dict | None = None,
              progress: Callable[[int, int], None] | None = None, force: bool = False,
              extra: Callable[[Emulator, CalibrationResult, Path], None] | None = None,
              heterogeneity: Sequence[Prior] = (), say: Callable[[str], None] = lambda message: None,
              engine=None, sampling_corr: np.ndarray | None = None,
              design: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> CalibrationResult:
    """Design → emulator → MCMC → files in ``out`` (written whole or not at all).

    Finished design chunks are kept in a hidden ``.<out>.calibrate-work`` folder beside ``out``
    so that an interrupted calibration resumes where it stopped; it is removed on success.
    ``engine`` (:class:`oasim.distributed.Engine`) runs the design chunks (this process by default).
    ``sampling_corr``: correlation of the sampling errors of rows of one arm
    (:func:`oasim.calibration.fit_arms.sampling_correlation`), None for independent rows; written
    to ``sampling_correlation.csv``.
    ``design``: (u, mean, sd) of an earlier run of the same simulator (:func:`read_design`), used
    instead of running the design: a change of likelihood, priors' heterogeneity or MCMC length
    then costs the emulator fits and the sampling only.
    """
    from ..io import atomic_output_dir, check_output_dir

    out = check_output_dir(out, force)  # refuse before hours of simulation, not after
    work = out.parent / f".{out.name}.calibrate-work"
    if design is None:
        u, mean, sd = run_design(simulator, priors, settings.design_points, settings.seed, work, settings.chunk,
                                 progress, engine=engine)
    else:
        u, mean, sd = design
        work.mkdir(parents=True, exist_ok=True)  # the emulators of an interrupted run are kept there
    emulator = _fitted_emulator(u, mean, sd, settings, work, say)
    r2 = np.asarray(emulator.holdout_r2, float)
    r2_text = f"{np.median(r2[np.isfinite(r2)]):.3f}" if np.isfinite(r2).any() else "n/a (fewer than 3 points held out)"
    say(f"sampling the posterior ({settings.mcmc_steps} steps); emulator hold-out R² median {r2_text}")
    result = sample_posterior(emulator, priors, targets, settings.seed + 1, n_steps=settings.mcmc_steps,
                              heterogeneity=heterogeneity, sampling_corr=sampling_corr)
    result.design_points = int(np.sum(np.all(np.isfinite(mean), axis=1)))
    with atomic_output_dir(out, force) as tmp:
        result.draws.to_parquet(tmp / "posterior.parquet", index=False)
        if result.tau_draws is not None:  # not model parameters: kept apart from the parameter-set draws
            result.tau_draws.to_parquet(tmp / "heterogeneity.parquet", index=False)
        result.summary().to_csv(tmp / "posterior_summary.csv", index=False)
        # design inputs, emulated means and the simulated between-subject SDs ("sd | <target>"):
        # everything the emulators and the likelihood need, without re-running the simulator
        pd.DataFrame(np.column_stack([u, mean, sd]), columns=[f"u_{p.name}" for p in priors]
                     + [t.label for t in targets] + [f"sd | {t.label}" for t in targets]).to_parquet(
            tmp / "design.parquet", index=False)
        predictive = posterior_predictive(emulator, result)
        predictive.to_csv(tmp / "posterior_predictive.csv", index=False)
        (tmp / "diagnostics.json").write_text(json.dumps(diagnostics(result), indent=2))
        if sampling_corr is not None:
            labels = [t.label for t in targets]
            pd.DataFrame(sampling_corr, index=labels, columns=labels).to_csv(tmp / "sampling_correlation.csv")
        (tmp / "provenance.json").write_text(json.dumps(provenance or {}, indent=2, default=str))
        if extra is not None:  # e.g. the leave-one-study-out check, written inside the same atomic folder
            extra(emulator, result, tmp)
        (tmp / "report.html").write_text(html_report(result, predictive, mean, tmp), "utf-8")
    shutil.rmtree(work, ignore_errors=True)
    return result


def read_design(path: str | Path, priors: Sequence[Prior], targets: Sequence[Target],
                expected: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, mean, sd) from the ``design.parquet`` of an earlier ``oasim calibrate`` output folder,
    checked against this run: the same parameters in the same order, the same targets, and, from
    the folder's ``provenance.json``, the same values of ``expected`` (e.g. the table's simulation
    digest, parameter set and replicates). A design written before the simulated SDs were kept is refused."""
    from ..errors import FieldError

    path = Path(path)
    if not path.is_file():
        raise FieldError("--design", str(path), "the design.parquet of an earlier oasim calibrate output")
    frame = pd.read_parquet(path)
    u_cols = [f"u_{p.name}" for p in priors]
    labels = [t.label for t in targets]
    sd_cols = [f"sd | {label}" for label in labels]
    have_u = [c for c in frame.columns if c.startswith("u_")]
    if have_u != u_cols:
        raise FieldError("--design", str(path), f"design parameters {[c[2:] for c in have_u]}; this run calibrates "
                                                f"{[p.name for p in priors]}")
    missing = [c for c in labels + sd_cols if c not in frame.columns]
    if missing:
        raise FieldError("--design", str(path), f"columns for every target and its simulated SD; missing "
                                                f"{missing[:3]}{' ...' if len(missing) > 3 else ''} ({len(missing)})")
    provenance_path = path.parent / "provenance.json"
    if not provenance_path.is_file():
        raise FieldError("--design", str(path), "a design with its provenance.json beside it")
    provenance = json.loads(provenance_path.read_text())
    if "simulation_digest" not in provenance and "table_digest" in provenance:
        # written before tables could carry control_arm: the two digests were then the same
        provenance["simulation_digest"] = provenance["table_digest"]
    for key, value in expected.items():
        if provenance.get(key) != value:
            raise FieldError(f"--design ({key})", provenance.get(key), f"{value!r}, as in this run")
    return (frame[u_cols].to_numpy(float), frame[labels].to_numpy(float), frame[sd_cols].to_numpy(float))


def _fitted_emulator(u: np.ndarray, mean: np.ndarray, sd: np.ndarray, settings: CalibrationSettings, work: Path,
                     say: Callable[[str], None]) -> Emulator:
    """Fit the emulators, or load the ones a killed run of the same design already fitted (kept
    in the work folder, written to a temporary name and renamed, so never half-written)."""
    import hashlib
    import os
    import pickle

    key = hashlib.sha256(np.ascontiguousarray(np.column_stack([u, mean, sd])).tobytes()
                         + repr((settings.seed, settings.gp_restarts)).encode()).hexdigest()[:12]
    path = work / f"emulator_{key}.pickle"
    if path.exists():
        say("emulators loaded from the interrupted run")
        with path.open("rb") as f:
            return pickle.load(f)  # written by this function in this work folder, not user input
    say(f"fitting {mean.shape[1]} emulators on {len(u)} design points")
    emulator = Emulator.fit(u, mean, sd, settings.seed, restarts=settings.gp_restarts)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump(emulator, f)
    os.replace(tmp, path)
    return emulator


WIDTH_PARTS = ("var_parameters", "var_emulator", "var_new_study", "var_sampling")


def width_by_study(loso: pd.DataFrame) -> pd.DataFrame:
    """Per held-out study: rows, coverage, mean and median width ratio, the mean floor ratio (the
    width ratio a model with exactly known parameters would still have given the fitted τ), and
    the mean share of each variance part of the interval (score rows; proportions have none).
    A table written before the parts existed gives the first five columns only."""
    g = loso.groupby("study", sort=False)
    out = pd.DataFrame({"rows": g.size(), "coverage": g["inside"].mean(),
                        "mean_width_ratio": g["width_ratio"].mean(), "median_width_ratio": g["width_ratio"].median()})
    if all(c in loso for c in WIDTH_PARTS + ("floor_width_ratio",)):
        total = loso[list(WIDTH_PARTS)].sum(axis=1)
        shares = loso[list(WIDTH_PARTS)].div(total, axis=0).rename(columns=lambda c: "share_" + c[4:])
        out["mean_floor_width_ratio"] = g["floor_width_ratio"].mean()
        out = out.join(shares.groupby(loso["study"]).mean())
    if "anchored_inside" in loso:
        anchored = loso[loso["anchored_width_ratio"].notna()]
        ga = anchored.groupby("study", sort=False)
        out["anchored_rows"] = ga.size().reindex(out.index).fillna(0).astype(int)
        out["anchored_coverage"] = ga["anchored_inside"].mean().reindex(out.index)
        out["anchored_mean_width_ratio"] = ga["anchored_width_ratio"].mean().reindex(out.index)
        out["unanchored_mean_width_ratio_same_rows"] = ga["width_ratio"].mean().reindex(out.index)
        out["anchor_ess"] = ga["anchor_ess"].first().reindex(out.index)
    return out.reset_index()


def held_out_summary(loso: pd.DataFrame) -> dict:
    """Coverage and mean and median width ratio of a leave-one-study-out table's rows."""
    return {"coverage": float(loso["inside"].mean()),
            "mean_width_ratio": float(loso["width_ratio"].mean()),
            "median_width_ratio": float(loso["width_ratio"].median())}


def anchored_summary(loso: pd.DataFrame) -> dict | None:
    """Coverage and width of the treated rows predicted given their study's control arms (the
    anchors), next to the same rows' unanchored numbers; None for a table without them."""
    if "anchored_inside" not in loso:
        return None
    rows = loso[loso["anchored_width_ratio"].notna()]
    if rows.empty:
        return None
    anchored = held_out_summary(rows.assign(inside=rows["anchored_inside"].astype(bool),
                                            width_ratio=rows["anchored_width_ratio"]))
    unanchored = {f"unanchored_{k}": v for k, v in held_out_summary(rows).items()}
    return {"rows": int(len(rows)), "studies": int(rows["study"].nunique()), **anchored,
            "anchor_ess_min": float(rows["anchor_ess"].min()), **unanchored}


def diagnostics(result: CalibrationResult) -> dict:
    names = [p.name for p in result.all_priors]
    return {
        "sampler": "emcee affine-invariant ensemble on Gaussian-process emulators",
        "acceptance_fraction": result.acceptance,
        "autocorrelation_steps": dict(zip(names, map(float, result.autocorr_steps))),
        "ess": dict(zip(names, map(float, result.ess))),
        "rhat": dict(zip(names, map(float, result.rhat))),
        "emulator_holdout_r2": dict(zip([t.label for t in result.targets], map(float, result.emulator_r2))),
        "design_points": result.design_points,
        "random_effects": [p.name for p in result.heterogeneity],
        "chain_shape_steps_walkers_parameters": list(result.chain_u.shape),
    }


def posterior_predictive(emulator: Emulator, result: CalibrationResult, n: int = 1000) -> pd.DataFrame:
    """Per target: the published value and its 95 % CI, and the 95 % predictive interval of the
    statistic in a new study with the arm's design (posterior parameters through the emulators,
    a new study's random effects at the posterior τ, and the arm's sampling error)."""
    sim = predictive_draws(emulator, result.chain_u, result.targets, result.heterogeneity, 1, n)
    rows = []
    for j, t in enumerate(result.targets):
        if t.statistic == "proportion":
            half = 1.96 * np.sqrt(t.value * (1 - t.value) / t.n)
        else:
            se = t.se if t.se is not None else emulator.sd_mean[j] / np.sqrt(t.n)
            half = 1.96 * se
        lo, hi = np.percentile(sim[:, j], [2.5, 97.5])
        rows.append({"target": t.label, "statistic": t.statistic, "n": t.n, "value": t.value,
                     "value_ci_low": t.value - half, "value_ci_high": t.value + half,
                     "predicted_median": float(np.median(sim[:, j])), "pi_low": lo, "pi_high": hi,
                     "inside": bool(lo <= t.value <= hi)})
    return pd.DataFrame(rows)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def html_report(result: CalibrationResult, predictive: pd.DataFrame, design_mean: np.ndarray,
                folder: Path | None = None) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from jinja2 import Environment, PackageLoader, select_autoescape

    priors = result.all_priors
    d = len(priors)
    both = result.draws if result.tau_draws is None else pd.concat([result.draws, result.tau_draws], axis=1)
    fig, axes = plt.subplots(1, d, figsize=(3.2 * d, 2.6), squeeze=False)
    for ax, p in zip(axes[0], priors):
        lo, hi = p.from_unit(np.array([0.005, 0.995]))
        grid = np.linspace(lo, hi, 300)
        ax.plot(grid, p.frozen.pdf(grid), color="0.5", label="prior")
        ax.hist(both[p.name], bins=40, density=True, alpha=0.6, color="C0", label="posterior")
        ax.set_title(p.name, fontsize=8)
        ax.set_xlabel(p.unit, fontsize=8)
    axes[0][0].legend(fontsize=7)
    prior_posterior = _png(fig)

    fig, ax = plt.subplots(figsize=(7, 0.35 * len(predictive) + 1.2))
    y = np.arange(len(predictive))
    prior_lo, prior_hi = np.nanpercentile(design_mean, [2.5, 97.5], axis=0)
    ax.hlines(y + 0.2, prior_lo, prior_hi, color="0.75", lw=3, label="prior predictive (design runs)")
    ax.hlines(y, predictive["pi_low"], predictive["pi_high"], color="C0", lw=3, label="posterior predictive 95 %")
    ax.errorbar(predictive["value"], y - 0.2, xerr=[predictive["value"] - predictive["value_ci_low"],
                                                    predictive["value_ci_high"] - predictive["value"]],
                fmt="o", color="k", ms=3, label="published value, 95 % CI")
    ax.set_yticks(y, predictive["target"], fontsize=7)
    ax.legend(fontsize=7, loc="best")
    predictive_png = _png(fig)

    fig, axes = plt.subplots(d, 1, figsize=(7, 1.1 * d), squeeze=False, sharex=True)
    for i, p in enumerate(priors):
        axes[i][0].plot(result.chain_u[:, :, i], lw=0.3, alpha=0.5)
        axes[i][0].set_ylabel(p.name, fontsize=6, rotation=0, ha="right")
    axes[-1][0].set_xlabel("step after burn-in (prior-quantile scale)")
    traces = _png(fig)

    loso = None
    if folder is not None and (folder / "leave_one_study_out.csv").exists():
        table = pd.read_csv(folder / "leave_one_study_out.csv")
        loso = held_out_summary(table) | {
                "rhat_max": float(table["rhat_max"].max()) if "rhat_max" in table else None,
                "rows": table.round(3).to_dict(orient="records"),
                "by_study": width_by_study(table).round(3).to_dict(orient="records"),
                "anchored": anchored_summary(table)}
    env = Environment(loader=PackageLoader("oasim.calibration", "templates"), autoescape=select_autoescape())
    return env.get_template("calibration_report.html.j2").render(
        summary=result.summary().round(4).to_dict(orient="records"), diag=diagnostics(result),
        predictive=predictive.round(3).to_dict(orient="records"), coverage=float(predictive["inside"].mean()),
        priors=priors, loso=loso, prior_posterior=prior_posterior, predictive_png=predictive_png, traces=traces)
