"""Calibration to arm tables: targets from rows, priors file, the real replay as simulator."""

import numpy as np
import pandas as pd
import pytest

from oasim.calibration.arms import arm_table_from_records
from oasim.calibration.bayes import Emulator, Prior, run_design, sample_posterior
from oasim.calibration.fit_arms import (arm_table_simulator, leave_one_study_out, load_priors,
                                        predictive_interval, targets_from_table)
from oasim.errors import FieldError


def _row(study, arm, product, month, value, **kw):
    base = dict(study=study, arm=arm, product=product, cell_source="none", dose="", dose_unit="none",
                injection_days="0", co_injection="none", n=40, kl_grades="2-3", endpoint="vas_pain",
                scale_max=100, statistic="mean_change", month=month, value=value, spread_type="sd",
                spread_low=20, spread_high="")
    base.update(kw)
    return base


TABLE = arm_table_from_records([
    _row("A", "saline", "saline", 0, 55, statistic="mean"),
    _row("A", "saline", "saline", 3, -12),
    _row("A", "HA", "hyaluronic_acid", 0, 55, statistic="mean"),
    _row("A", "HA", "hyaluronic_acid", 3, -16),
    _row("B", "HA", "hyaluronic_acid", 2, -15, spread_type="se", spread_low=3),
    _row("B", "HA", "hyaluronic_acid", 2, 0.3, endpoint="ae_any", statistic="proportion", spread_type="none",
         spread_low="", scale_max=""),
])


def test_targets_carry_the_rows_spread_and_skip_baselines():
    t = targets_from_table(TABLE)
    assert t.row_ids == [2, 4, 5, 6]
    assert set(t.skipped) == {1, 3} and all("month 0" in r for r in t.skipped.values())
    assert t.targets[0].se == pytest.approx(20 / np.sqrt(40))
    assert t.targets[2].se == pytest.approx(3.0)
    assert t.targets[3].statistic == "proportion" and t.targets[3].se is None
    assert t.studies == ["A", "A", "B", "B"]


def test_the_bundled_priors_are_few_and_reasoned(tmp_path):
    priors = load_priors()
    assert 1 <= len(priors) <= 12
    assert all(len(p.reason) > 20 for p in priors)
    names = {p.name for p in priors}
    assert {"msc_potency_bone_marrow_rel", "flare_pain_gain", "pain_drive_exponent"} <= names
    bad = tmp_path / "p.toml"
    bad.write_text('parameters = ["no_such_parameter"]\n')
    with pytest.raises(FieldError, match="no_such_parameter"):
        load_priors(bad)
    bad.write_text('parameters = ["il1b_mw_kda"]\n')  # a real parameter without a prior
    with pytest.raises(FieldError, match="with a prior"):
        load_priors(bad)
    bad.write_text("parameters = [%s]\n" % ", ".join(f'"p{i}"' for i in range(13)))
    with pytest.raises(FieldError, match="at most 12"):
        load_priors(bad)


def test_ha_relief_moves_the_simulated_ha_arm_and_not_saline():
    """The replay as a calibration simulator: the HA factor changes HA rows only."""
    priors = [Prior("ha_pain_relief_peak_fraction", "lognormal", 0.01, 0.3, "1", "test range")]
    t = targets_from_table(TABLE)
    sim = arm_table_simulator(TABLE, priors, t.row_ids, replicates=2)
    mean, sd = sim(np.array([[0.01], [0.3]]), np.array([5, 5]))
    saline, ha_a = mean[:, 0], mean[:, 1]
    assert saline[0] == pytest.approx(saline[1])  # same seed, no HA: identical
    assert ha_a[1] < ha_a[0] - 3  # more relief = a larger fall of VAS
    assert np.all(np.isfinite(sd[:, :3]))


def test_leave_one_study_out_predicts_each_held_out_study(tmp_path):
    """On an emulated toy problem: held-out rows get intervals from the other studies' fit."""
    priors = [Prior("shift", "uniform", -10.0, 10.0, "points", "toy")]
    t = targets_from_table(TABLE)
    truth = 3.0
    values = np.array([-12.0, -16.0, -15.0, 0.3])

    def simulator(theta, seeds):
        m = np.column_stack([values[:3] + theta[:, 0:1] - truth, np.full(len(theta), 0.3)])
        return m, np.full_like(m, 20.0)

    u, mean, sd = run_design(simulator, priors, 24, seed=1)
    emulator = Emulator.fit(u, mean, sd, seed=1, restarts=0)
    table = leave_one_study_out(emulator, priors, t, seed=2, mcmc_steps=400)
    assert list(table["study"]) == ["A", "A", "B", "B"]
    assert table["inside"].all()
    assert (table["width_ratio"] > 0.9).all()  # a prediction is never sharper than the trial itself
    # each refit's diagnostics travel with its rows (one chain set per held-out study)
    assert (table["mcmc_steps"] == 400).all() and (table["ess_min"] > 0).all()
    assert table.groupby("study")["rhat_max"].nunique().eq(1).all() and (table["rhat_max"] < 1.2).all()
    full = sample_posterior(emulator, priors, t.targets, seed=3, n_steps=400)
    pi = predictive_interval(emulator, full.chain_u, t.targets, [0, 1, 2, 3], seed=4)
    assert (pi["score"] >= pi["pi_high"] - pi["pi_low"] - 1e-12).all()


def test_leave_one_study_out_also_predicts_treated_rows_given_their_control_arm():
    """Three two-arm studies whose saline arms differ by ±8 points (between-study heterogeneity):
    each held-out MSC row also gets an interval given its own saline arm, narrower than the
    new-study one and still covering; saline rows have none; the report's per-study table and
    summary carry the anchored numbers."""
    from oasim.calibration.report import anchored_summary, width_by_study

    msc = dict(cell_source="umbilical_cord", dose="10000000", dose_unit="cells")
    offsets = {"A": 0.0, "B": 8.0, "C": -8.0}
    table = arm_table_from_records([
        r for study, off in offsets.items() for r in (
            _row(study, "saline", "saline", 3, -12 + off),
            _row(study, "msc", "msc", 3, -20 + off, **msc),
            _row(study, "saline", "saline", 6, -10 + off),
            _row(study, "msc", "msc", 6, -19 + off, **msc))])
    t = targets_from_table(table)
    assert [bool(x.control) for x in t.targets] == [False, True] * 6
    priors = [Prior("effect", "uniform", 0.0, 20.0, "points", "toy")]

    base = np.array([-12.0, -12.0, -10.0, -10.0])  # saline m3, msc m3, saline m6, msc m6 before the effect

    def simulator(theta, seeds):  # the toy: the effect subtracts from the MSC rows of every study
        one = base + np.outer(theta[:, 0], [0.0, -1.0, 0.0, -1.0])
        m = np.tile(one, (1, 3))
        return m, np.full_like(m, 20.0)

    u, mean, sd = run_design(simulator, priors, 24, seed=1)
    emulator = Emulator.fit(u, mean, sd, seed=1, restarts=0)
    tau = [Prior(n, "uniform", 0.0, 0.3, "fraction of scale maximum", "toy") for n in ("tau_study", "sigma_row")]
    loso = leave_one_study_out(emulator, priors, t, seed=2, mcmc_steps=400, heterogeneity=tau)
    treated = loso["target"].str.contains("msc")
    assert loso.loc[~treated, "anchored_width_ratio"].isna().all()
    assert loso.loc[treated, "anchored_width_ratio"].notna().all()
    assert loso.loc[treated, "anchored_inside"].astype(bool).all()
    assert (loso.loc[treated, "anchored_width_ratio"] < loso.loc[treated, "width_ratio"]).all()
    assert (loso.loc[treated, "anchor_ess"] > 50).all()
    summary = anchored_summary(loso)
    assert summary["rows"] == 6 and summary["studies"] == 3 and summary["coverage"] == 1.0
    assert summary["mean_width_ratio"] < summary["unanchored_mean_width_ratio"]
    by_study = width_by_study(loso).set_index("study")
    assert list(by_study["anchored_rows"]) == [2, 2, 2]
    # the report's leave-one-study-out section states both numbers for the same rows
    from jinja2 import Environment, PackageLoader, StrictUndefined

    from oasim.calibration.report import held_out_summary

    env = Environment(loader=PackageLoader("oasim.calibration", "templates"), undefined=StrictUndefined)
    html = env.get_template("_leave_one_study_out.html.j2").render(loso=held_out_summary(loso) | {
        "rhat_max": None, "rows": loso.round(3).to_dict(orient="records"),
        "by_study": by_study.reset_index().round(3).to_dict(orient="records"), "anchored": summary})
    assert "the 6 treated follow-up rows of\n3 studies are 100.0 % inside" in html
    assert f"{summary['mean_width_ratio']:.2f} ×" in html and f"{summary['unanchored_mean_width_ratio']:.2f} ×" in html


@pytest.mark.slow
def test_design_and_leave_one_study_out_give_the_same_numbers_on_dask_workers(tmp_path):
    """The real arm-table replay's design chunks and the held-out refits on a 2-process local Dask
    cluster equal the in-process run exactly (each chunk and refit is seeded by itself)."""
    from oasim.distributed import Engine

    priors = [Prior("ha_pain_relief_peak_fraction", "lognormal", 0.01, 0.3, "1", "test range")]
    t = targets_from_table(TABLE)
    sim = arm_table_simulator(TABLE, priors, t.row_ids, replicates=2)
    engine = Engine(workers=2)
    local = run_design(sim, priors, 6, seed=4, chunk=2)
    dask = run_design(sim, priors, 6, seed=4, work_dir=tmp_path / "work", chunk=2, engine=engine)
    for a, b in zip(local, dask):
        np.testing.assert_array_equal(a, b)
    class MustNotRun:  # the same simulator (fingerprint), whose chunks are all on disk
        fingerprint = sim.fingerprint

        def __call__(self, theta, seeds):
            raise AssertionError("a chunk on disk was recomputed")

    resumed = run_design(MustNotRun(), priors, 6, seed=4, work_dir=tmp_path / "work", chunk=2, engine=engine)
    np.testing.assert_array_equal(resumed[1], local[1])
    emulator = Emulator.fit(*local, seed=1, restarts=0)
    one = leave_one_study_out(emulator, priors, t, seed=2, mcmc_steps=300)
    two = leave_one_study_out(emulator, priors, t, seed=2, mcmc_steps=300, engine=engine)
    pd.testing.assert_frame_equal(one, two)


def test_width_parts_add_up_to_the_predictive_variance():
    """The variance parts of a held-out row's interval add up, by the law of total variance, to
    the variance of the predictive draws (a toy whose draws never reach the instrument's bounds),
    and the floor ratio is what a model with known parameters would get given τ."""
    from oasim.calibration.bayes import predictive_draws, predictive_variance_parts
    from oasim.calibration.fit_arms import load_heterogeneity

    priors = [Prior("shift", "uniform", -10.0, 10.0, "points", "toy")]
    t = targets_from_table(TABLE)

    def simulator(theta, seeds):
        m = np.column_stack([np.array([-12.0, -16.0, -15.0]) + theta[:, 0:1] - 3.0, np.full(len(theta), 0.3)])
        return m, np.full_like(m, 20.0)

    u, mean, sd = run_design(simulator, priors, 24, seed=1)
    emulator = Emulator.fit(u, mean, sd, seed=1, restarts=0)
    tau = [p for p in load_heterogeneity() if p.name in ("tau_study", "tau_arm", "sigma_row")]
    post = sample_posterior(emulator, priors, t.targets, seed=3, n_steps=600, heterogeneity=tau)
    n = 20000
    parts = predictive_variance_parts(emulator, post.chain_u, t.targets, tau, seed=5, n_draws=n)
    sim = predictive_draws(emulator, post.chain_u, t.targets, tau, seed=5, n_draws=n)
    total = parts[["var_parameters", "var_emulator", "var_new_study", "var_sampling"]].sum(axis=1)
    for j in range(3):
        assert sim[:, j].var() == pytest.approx(total[j], rel=0.05)
    assert parts.loc[0, "var_sampling"] == pytest.approx((20 / np.sqrt(40)) ** 2)
    assert parts.loc[0, "var_new_study"] > 0
    assert parts.loc[0, "floor_width_ratio"] == pytest.approx(
        np.sqrt(1 + parts.loc[0, "var_new_study"] / parts.loc[0, "var_sampling"]))
    assert parts.iloc[3].isna().all()  # the AE proportion: binomial, not split
    pi = predictive_interval(emulator, post.chain_u, t.targets, [0, 1, 2, 3], seed=5, heterogeneity=tau)
    same = predictive_variance_parts(emulator, post.chain_u, t.targets, tau, seed=5)  # pi's draws
    assert pi.loc[0, "floor_width_ratio"] == same.loc[0, "floor_width_ratio"]
    assert pi.loc[0, "var_parameters"] == same.loc[0, "var_parameters"]


def test_rows_of_one_arm_are_correlated_across_replicate_trials():
    """The replayed statistics of one arm at two visits (the same simulated patients) are
    positively correlated across replicate trials; rows of other arms and AE proportions are left
    uncorrelated; the matrix is a correlation matrix."""
    from oasim.calibration.fit_arms import sampling_correlation

    table = arm_table_from_records([
        _row("A", "saline", "saline", 0, 55, statistic="mean"),
        _row("A", "saline", "saline", 3, -12),
        _row("A", "saline", "saline", 6, -10),
        _row("A", "HA", "hyaluronic_acid", 0, 55, statistic="mean"),
        _row("A", "HA", "hyaluronic_acid", 3, -16),
        _row("A", "HA", "hyaluronic_acid", 3, 0.3, endpoint="ae_any", statistic="proportion", spread_type="none",
             spread_low="", scale_max=""),
    ])
    priors = [Prior("ha_pain_relief_peak_fraction", "lognormal", 0.01, 0.3, "1", "test range")]
    t = targets_from_table(table)
    assert t.row_ids == [2, 3, 5, 6]
    corr = sampling_correlation(table, priors, t.row_ids, replicates=40, seed=2)
    assert corr[0, 1] > 0.3  # VAS change at months 3 and 6 of the same 40 patients
    assert corr[0, 2] == 0 and corr[1, 2] == 0 and (corr[3, :3] == 0).all()
    assert np.allclose(corr, corr.T) and np.allclose(np.diag(corr), 1) and np.linalg.eigvalsh(corr).min() > -1e-10
    with pytest.raises(FieldError, match="replicates"):
        sampling_correlation(table, priors, t.row_ids, replicates=2)


def test_calibrate_cli_refuses_bad_input_before_any_simulation(tmp_path):
    """An output folder oasim did not write, a missing or mismatched --design, or too few
    correlation replicates end in a named error (exit 2) before a replicate trial runs, and
    nothing is written."""
    from typer.testing import CliRunner

    from oasim.cli import app

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    runner = CliRunner()
    result = runner.invoke(app, ["calibrate", "--out", str(foreign)])
    assert result.exit_code == 2 and "force" in result.output
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    result = runner.invoke(app, ["calibrate", "--out", str(tmp_path / "a"), "--design", str(tmp_path / "none.parquet")])
    assert result.exit_code == 2 and "--design" in result.output and not (tmp_path / "a").exists()
    old = tmp_path / "old"
    old.mkdir()
    pd.DataFrame({"u_shift": [0.5], "x": [1.0]}).to_parquet(old / "design.parquet")
    result = runner.invoke(app, ["calibrate", "--out", str(tmp_path / "b"), "--design", str(old / "design.parquet")])
    assert result.exit_code == 2 and "design parameters ['shift']" in result.output
    result = runner.invoke(app, ["calibrate", "--out", str(tmp_path / "c"), "--correlation-replicates", "2"])
    assert result.exit_code == 2 and "correlation-replicates" in result.output
    assert not any((tmp_path / n).exists() for n in ("b", "c"))
