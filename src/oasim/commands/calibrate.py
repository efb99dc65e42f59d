"""``oasim calibrate``: Bayesian calibration of population-level parameters to published arms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import FieldError, OasimError


def register(app: typer.Typer) -> None:
    @app.command("calibrate")
    def calibrate_cmd(
        tables: Optional[List[Path]] = typer.Argument(None, help="arm table CSV(s); default: the bundled curated table"),
        out: Path = typer.Option(Path("results/calibration"), "--out", help="output folder (written whole or not at all)"),
        seed: int = typer.Option(1, "--seed"),
        priors: Optional[Path] = typer.Option(None, "--priors", help="priors TOML (default: oasim/calibration/priors_human.toml)"),
        parameter_set: str = typer.Option("human", "--parameter-set"),
        design_points: int = typer.Option(96, "--design-points", min=8, max=5000,
                                          help="simulator runs for the emulators (resumable in chunks)"),
        replicates: int = typer.Option(4, "--replicates", min=1, max=200, help="whole-table replicates per design point"),
        mcmc_steps: int = typer.Option(3000, "--mcmc-steps", min=200, max=200_000),
        gp_restarts: int = typer.Option(1, "--gp-restarts", min=0, max=20,
                                        help="extra random starts of each emulator's hyperparameter fit"),
        loso: bool = typer.Option(True, "--loso/--no-loso", help="leave-one-study-out predictive check"),
        random_effects: bool = typer.Option(True, "--random-effects/--no-random-effects",
                                            help="between-study/arm random effects of the priors file's [heterogeneity]"),
        force: bool = typer.Option(False, "--force", help="replace an earlier oasim output folder"),
        workers: Optional[int] = typer.Option(None, "--workers", min=1, max=256,
                                              help="run the design chunks and the leave-one-study-out refits on a "
                                                   "local Dask cluster of this many processes (same result)"),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="or on a running Dask scheduler tcp://HOST:PORT"),
        correlation_replicates: int = typer.Option(
            100, "--correlation-replicates", min=0, max=2000,
            help="replicate trials at the priors' medians from which the sampling correlation of the rows of "
                 "one arm (same patients) is estimated; 0: rows independent (100 give each correlation an "
                 "SE of at most 0.1)"),
        design: Optional[Path] = typer.Option(
            None, "--design", help="design.parquet of an earlier oasim calibrate output on the same table, "
                                   "parameters, parameter set, replicates and oasim version: reuse its simulator "
                                   "runs (only the emulators and the sampling run again)"),
        as_json: bool = typer.Option(False, "--json"),
    ):
        """Fit the parameters of the priors file to published arm statistics (GP emulators of the
        arm-table replay + emcee); write posterior draws, diagnostics, predictive checks and a report."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

        from .. import __version__
        from ..calibration.arms import arm_table_from_records, bundled_arm_table, read_arm_table
        from ..calibration.fit_arms import (arm_table_simulator, leave_one_study_out, load_heterogeneity,
                                            load_priors, sampling_correlation, targets_from_table)
        from ..calibration.report import (CalibrationSettings, anchored_summary, calibrate, held_out_summary,
                                          read_design)
        from ..distributed import Engine
        from ..io import check_output_dir

        try:
            engine = Engine.from_options(workers=workers, scheduler=scheduler)
            paths = list(tables or [bundled_arm_table()])
            parts = [read_arm_table(p) for p in paths]
            table = parts[0] if len(parts) == 1 else arm_table_from_records(
                [r.model_dump() | {"injection_days": ";".join(f"{d:g}" for d in r.injection_days),
                                   "kl_grades": f"{min(r.kl_grades)}-{max(r.kl_grades)}"}
                 for part in parts for r in part.rows], " + ".join(map(str, paths)))
            prior_list = load_priors(priors)
            tau_priors = load_heterogeneity(priors) if random_effects else []
            arm_targets = targets_from_table(table)
            if not arm_targets.targets:
                raise OasimError(f"{table.source}: no scoreable rows ({len(arm_targets.skipped)} skipped)")
            simulator = arm_table_simulator(table, prior_list, arm_targets.row_ids, parameter_set, replicates)
            settings = CalibrationSettings(design_points=design_points, mcmc_steps=mcmc_steps, seed=seed,
                                           gp_restarts=gp_restarts)

            def extra(emulator, result, folder):
                import pandas as pd

                pd.DataFrame([{"row_id": k, "reason": v} for k, v in arm_targets.skipped.items()]).to_csv(
                    folder / "skipped_rows.csv", index=False)
                # the posterior as a parameter set: --parameter-set <out>/parameter_set.toml
                sds = 'heterogeneity = "heterogeneity.parquet"\n' if result.tau_draws is not None else ""
                (folder / "parameter_set.toml").write_text(
                    f'name = "{parameter_set}_calibrated"\nbase = "{parameter_set}"\nposterior = "posterior.parquet"\n'
                    f'{sds}description = "{parameter_set} set plus posterior draws of oasim calibrate (seed {seed})"\n')
                if loso:
                    typer.echo("predictive checks (leave one study out)", err=True)
                    held_out = leave_one_study_out(emulator, prior_list, arm_targets, seed + 7, mcmc_steps=mcmc_steps,
                                                   heterogeneity=tau_priors, engine=engine, sampling_corr=corr)
                    held_out.to_csv(folder / "leave_one_study_out.csv", index=False)
                    if not held_out.empty:
                        plain = held_out_summary(held_out)
                        typer.echo(f"leave one study out: {plain['coverage']:.3f} of {len(held_out)} rows inside, "
                                   f"width {plain['mean_width_ratio']:.2f}x mean / {plain['median_width_ratio']:.2f}x "
                                   "median of the trials' CI", err=True)
                        anchored = anchored_summary(held_out)
                        if anchored:
                            typer.echo(f"  treated rows given their study's control arms ({anchored['rows']} rows): "
                                       f"{anchored['coverage']:.3f} inside, width {anchored['mean_width_ratio']:.2f}x "
                                       f"mean / {anchored['median_width_ratio']:.2f}x median (as a new study: "
                                       f"{anchored['unanchored_mean_width_ratio']:.2f}x / "
                                       f"{anchored['unanchored_median_width_ratio']:.2f}x)", err=True)

            reused = None
            if design is not None:
                reused = read_design(design, prior_list, arm_targets.targets,
                                     {"simulation_digest": table.simulation_digest(), "parameter_set": parameter_set,
                                      "replicates": replicates, "oasim_version": __version__})
                design_points = len(reused[0])
            check_output_dir(out, force)  # refuse before the replicate trials, not after
            corr = None
            if correlation_replicates:
                if correlation_replicates < 3:
                    raise FieldError("--correlation-replicates", correlation_replicates, "0, or >= 3")
                typer.echo(f"sampling correlation of the rows of each arm ({correlation_replicates} replicate "
                           "trials at the priors' medians)", err=True)
                corr = sampling_correlation(table, prior_list, arm_targets.row_ids, parameter_set,
                                            correlation_replicates, seed + 11)
            provenance = {"tables": [str(p) for p in paths], "table_digest": table.digest(),
                          "simulation_digest": table.simulation_digest(), "seed": seed,
                          "design_from": None if design is None else str(design),
                          "parameter_set": parameter_set, "design_points": design_points, "replicates": replicates,
                          "correlation_replicates": correlation_replicates,
                          "random_effects": [p.__dict__ for p in tau_priors],
                          "oasim_version": __version__, "priors": [p.__dict__ for p in prior_list]}
            with Progress(BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                          transient=True) as bar:
                task = bar.add_task("design runs", total=design_points)

                result = calibrate(simulator, prior_list, arm_targets.targets, out, settings, provenance,
                                   lambda done, total: bar.update(task, completed=done), force, extra, tau_priors,
                                   lambda message: bar.console.print(message, style="dim"), engine, corr, reused)
        except OasimError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        summary = result.summary()
        if as_json:
            typer.echo(json.dumps({"out": str(out), "posterior": summary.to_dict(orient="records"),
                                   "acceptance_fraction": result.acceptance, "targets": len(arm_targets.targets),
                                   "skipped": len(arm_targets.skipped)}, indent=2, default=float))
        else:
            typer.echo(summary.to_string(index=False))
            typer.echo(f"written to {out}")
