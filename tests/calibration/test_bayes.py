"""The calibration engine (design -> GP emulator -> emcee) on simulators with a known answer."""

import numpy as np
import pytest

from oasim.calibration.bayes import (HETEROGENEITY, ArmLikelihood, Emulator, Prior, Target, iqr_sd, log_likelihood,
                                     run_design, sample_posterior, standard_error)
from oasim.errors import FieldError

PRIORS = [Prior("potency", "lognormal", 0.2, 5.0, "1", "test: two decades around 1"),
          Prior("placebo_points", "uniform", 0.0, 10.0, "points", "test: bounded range")]
DOSES = np.array([0.0, 1.0, 3.0, 10.0])


def toy_arm_means(theta: np.ndarray) -> np.ndarray:
    """Arm mean change = -(placebo + 8 * potency * dose / (dose + 2)): a saturating dose-response."""
    potency, placebo = theta[:, :1], theta[:, 1:2]
    return -(placebo + 8.0 * potency * DOSES / (DOSES + 2.0))


def toy_simulator(theta, seeds):
    return toy_arm_means(theta), np.full((len(theta), len(DOSES)), 6.0)


def test_standard_errors_follow_the_reported_spread():
    assert standard_error("mean", 25, "sd", 10.0, None) == pytest.approx(2.0)
    assert standard_error("mean", 25, "se", 2.0, None) == pytest.approx(2.0)
    assert standard_error("mean", 25, "ci95", -3.92, 3.92) == pytest.approx(2.0, rel=1e-4)
    # a median of a normal sample: SE = sqrt(pi/2) * sigma / sqrt(n), sigma = IQR / eta(n) (Wan et al.
    # 2014): eta(100) = 2 * Phi^-1(74.875 / 100.25) = 2 * Phi^-1(0.746883) = 2 * 0.664712 = 1.329425
    assert standard_error("median", 100, "iqr", 0.0, 1.349) == pytest.approx(1.2533 * 1.349 / 1.329425 / 10, rel=1e-5)
    # n = 10: (7.5 - 0.125) / 10.25 = 0.719512, Phi^-1 = 0.58138, eta = 1.16276: SD 16 % above IQR / 1.349
    assert iqr_sd(0.0, 1.0, 10) == pytest.approx(1 / 1.16276, rel=1e-4)
    assert iqr_sd(0.0, 1.349, 10**7) == pytest.approx(1.0, rel=1e-4)  # the normal's IQR for large n
    with pytest.raises(FieldError, match="interquartile"):
        iqr_sd(0.0, 1.0, 1)
    assert standard_error("mean", 25, "none", None, None) is None


def test_prior_quantiles_are_the_stated_range():
    p = PRIORS[0]
    assert p.from_unit(np.array([0.025, 0.975])) == pytest.approx([0.2, 5.0], rel=1e-9)
    assert PRIORS[1].from_unit(np.array([0.0, 0.5, 1.0])) == pytest.approx([0.0, 5.0, 10.0])
    assert Prior("k", "loguniform", 1.0, 100.0, "1/d", "two decades").from_unit(np.array([0.5]))[0] == pytest.approx(10.0)
    with pytest.raises(FieldError, match="lognormal prior"):
        Prior("x", "lognormal", 0.0, 1.0, "1", "bad: zero lower bound")
    with pytest.raises(FieldError, match="reason"):
        Prior("x", "uniform", 0.0, 1.0, "1", "")


def test_proportion_likelihood_is_binomial():
    t = Target("ae", "proportion", 0.3, 10)
    ll = log_likelihood([t], np.array([[0.3], [0.5]]), np.zeros((2, 1)), np.ones(1))
    from scipy import stats
    assert ll == pytest.approx(stats.binom.logpmf(3, 10, [0.3, 0.5]))


def test_calibration_recovers_known_parameters(tmp_path):
    truth = np.array([[1.7, 3.0]])
    observed = toy_arm_means(truth)[0]
    targets = [Target(f"dose {d:g}", "mean_change", float(v), 60, se=6.0 / np.sqrt(60))
               for d, v in zip(DOSES, observed)]
    u, mean, sd = run_design(toy_simulator, PRIORS, 40, seed=3, work_dir=tmp_path)
    emulator = Emulator.fit(u, mean, sd, seed=3, restarts=0)
    assert np.nanmin(emulator.holdout_r2) > 0.95
    result = sample_posterior(emulator, PRIORS, targets, seed=4, n_steps=1000)
    summary = result.summary().set_index("parameter")
    for name, value in zip(("potency", "placebo_points"), truth[0]):
        assert summary.loc[name, "q05"] < value < summary.loc[name, "q95"]
    # the data pin both parameters far inside their priors
    assert summary.loc["potency", "q95"] - summary.loc["potency", "q05"] < 1.0
    assert (result.rhat < 1.1).all()
    assert 0.15 < result.acceptance < 0.8


def test_design_resumes_from_saved_chunks(tmp_path):
    calls = []

    def counting(theta, seeds):
        calls.append(len(theta))
        return toy_simulator(theta, seeds)

    first = run_design(counting, PRIORS, 40, seed=1, work_dir=tmp_path, chunk=16)
    assert calls == [16, 16, 8]
    # a killed run leaves whole chunks only; the rerun simulates nothing again
    calls.clear()
    second = run_design(counting, PRIORS, 40, seed=1, work_dir=tmp_path, chunk=16)
    assert calls == []
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    # a different design is not mistaken for the saved one
    run_design(counting, PRIORS, 40, seed=2, work_dir=tmp_path, chunk=16)
    assert calls == [16, 16, 8]


def test_a_simulator_of_another_table_does_not_read_the_saved_design(tmp_path):
    """Chunk files carry the simulator's fingerprint: the arm-table replay of a changed table
    (or parameter set) is a new design in the same work folder, the same one resumes."""
    from oasim.calibration.arms import bundled_arm_table, read_arm_table
    from oasim.calibration.fit_arms import arm_table_simulator

    class Fingerprinted:
        def __init__(self, fingerprint):
            self.fingerprint, self.calls = fingerprint, 0

        def __call__(self, theta, seeds):
            self.calls += 1
            return toy_simulator(theta, seeds)

    run_design(Fingerprinted("table A"), PRIORS, 20, seed=1, work_dir=tmp_path, chunk=10)
    same, other = Fingerprinted("table A"), Fingerprinted("table B")
    run_design(same, PRIORS, 20, seed=1, work_dir=tmp_path, chunk=10)
    run_design(other, PRIORS, 20, seed=1, work_dir=tmp_path, chunk=10)
    assert (same.calls, other.calls) == (0, 2)
    table = read_arm_table(bundled_arm_table())
    priors = [Prior("ha_pain_relief_peak_fraction", "lognormal", 0.01, 0.3, "1", "test")]
    a = arm_table_simulator(table, priors, [2, 3])
    assert a.fingerprint == arm_table_simulator(table, priors, [2, 3]).fingerprint
    assert len({a.fingerprint, arm_table_simulator(table.with_values({2: 1.0}), priors, [2, 3]).fingerprint,
                arm_table_simulator(table, priors, [2, 3], parameter_set="human_calibrated").fingerprint,
                arm_table_simulator(table, priors, [2, 3], replicates=8).fingerprint}) == 4


def test_design_chunks_are_named_by_the_package_source_too(tmp_path, monkeypatch):
    """Edited code under the same version string is a new design: the source digest covers every
    file of a package tree (not its __pycache__), and the arm replay's fingerprint carries it."""
    from oasim import provenance
    from oasim.calibration.arms import bundled_arm_table, read_arm_table
    from oasim.calibration.fit_arms import arm_table_simulator

    tree = tmp_path / "pkg"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.py").write_text("x = 1\n")
    (tree / "sub" / "data.csv").write_text("1,2\n")
    first = provenance.source_digest(tree)
    (tree / "__pycache__").mkdir()
    (tree / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled")
    provenance._source_digest.cache_clear()
    assert provenance.source_digest(tree) == first
    (tree / "sub" / "data.csv").write_text("1,3\n")
    provenance._source_digest.cache_clear()
    assert provenance.source_digest(tree) != first
    table = read_arm_table(bundled_arm_table())
    priors = [Prior("ha_pain_relief_peak_fraction", "lognormal", 0.01, 0.3, "1", "test")]
    before = arm_table_simulator(table, priors, [2, 3]).fingerprint
    monkeypatch.setattr(provenance, "source_digest", lambda root=None: "edited")
    assert arm_table_simulator(table, priors, [2, 3]).fingerprint != before


def test_calibrate_writes_whole_outputs_and_cleans_its_work_folder(tmp_path):
    import json

    import pandas as pd

    from oasim.calibration.report import CalibrationSettings, calibrate

    truth = np.array([[0.8, 5.0]])
    targets = [Target(f"dose {d:g}", "mean_change", float(v), 40, se=1.0)
               for d, v in zip(DOSES, toy_arm_means(truth)[0])]
    out = tmp_path / "cal"
    settings = CalibrationSettings(design_points=32, mcmc_steps=400, seed=2, chunk=8, gp_restarts=0)

    def failing(theta, seeds):
        raise KeyboardInterrupt  # a user interrupting the first design chunk

    with pytest.raises(KeyboardInterrupt):
        calibrate(failing, PRIORS, targets, out, settings)
    assert not out.exists()  # no half-written posterior
    result = calibrate(toy_simulator, PRIORS, targets, out, settings, provenance={"table": "toy"})
    assert sorted(p.name for p in out.iterdir() if p.name != ".oasim-output") == [
        "design.parquet", "diagnostics.json", "posterior.parquet", "posterior_predictive.csv",
        "posterior_summary.csv", "provenance.json", "report.html"]
    assert not (tmp_path / ".cal.calibrate-work").exists()
    draws = pd.read_parquet(out / "posterior.parquet")
    assert list(draws.columns) == ["potency", "placebo_points"]
    assert len(draws) == len(result.draws)
    diag = json.loads((out / "diagnostics.json").read_text())
    assert set(diag["rhat"]) == {"potency", "placebo_points"}
    predictive = pd.read_csv(out / "posterior_predictive.csv")
    assert predictive["inside"].all()  # fitted, noise-free targets
    assert "Posterior summary" in (out / "report.html").read_text()
    # the saved design (with the simulated SDs) replaces the simulator: same emulators, same chain
    from oasim.calibration.report import read_design
    from oasim.errors import FieldError

    design = read_design(out / "design.parquet", PRIORS, targets, {"table": "toy"})
    assert design[2].shape == (32, 4) and np.all(design[2] == 6.0)
    again = calibrate(failing, PRIORS, targets, tmp_path / "again", settings, design=design)
    assert np.array_equal(again.chain_u, result.chain_u)
    with pytest.raises(FieldError, match="table"):
        read_design(out / "design.parquet", PRIORS, targets, {"table": "another"})
    with pytest.raises(FieldError, match="placebo_points"):
        read_design(out / "design.parquet", PRIORS[::-1], targets, {"table": "toy"})
    with pytest.raises(FieldError, match="missing"):
        read_design(out / "design.parquet", PRIORS, targets[:3] + [Target("dose 99", "mean_change", 1.0, 40, 1.0)],
                    {"table": "toy"})
    # a design written before provenance had simulation_digest: its table_digest stands in (tables
    # could not yet carry control_arm, the only column the two digests differ by)
    (out / "provenance.json").write_text(json.dumps({"table_digest": "abc"}))
    read_design(out / "design.parquet", PRIORS, targets, {"simulation_digest": "abc"})
    with pytest.raises(FieldError, match="simulation_digest"):
        read_design(out / "design.parquet", PRIORS, targets, {"simulation_digest": "abd"})
    (out / "provenance.json").write_text(json.dumps({"table_digest": "abc", "simulation_digest": "xyz"}))
    with pytest.raises(FieldError, match="simulation_digest"):
        read_design(out / "design.parquet", PRIORS, targets, {"simulation_digest": "abc"})


def test_the_closed_form_emulator_equals_sklearn_predict():
    u, mean, sd = run_design(toy_simulator, PRIORS, 30, seed=5)
    emulator = Emulator.fit(u, mean, sd, seed=5, restarts=0)
    x = np.random.default_rng(0).random((7, 2))
    m, v = emulator.predict(x)
    for j, gp in enumerate(emulator.models):
        ref_m, ref_sd = gp.predict(x, return_std=True)
        noise = gp.kernel_.k2.noise_level * float(np.ravel(gp._y_train_std)[0]) ** 2
        np.testing.assert_allclose(m[:, j], ref_m, rtol=1e-7, atol=1e-9)
        # sklearn's variance includes the white-noise term; the latent one does not
        np.testing.assert_allclose(v[:, j] + noise, ref_sd ** 2, rtol=1e-5, atol=1e-9)


def test_likelihood_is_the_sum_of_normal_and_binomial_terms():
    from scipy import stats

    targets = [Target("a", "mean", 1.0, 25, se=2.0), Target("b", "proportion", 0.2, 10), Target("c", "mean", 0.0, 16)]
    pred = np.array([[1.5, 0.25, 1.0]])
    var = np.array([[0.25, 0.0, 0.0]])
    expected = (stats.norm.logpdf(1.0, 1.5, np.sqrt(4.0 + 0.25)) + stats.binom.logpmf(2, 10, 0.25)
                + stats.norm.logpdf(0.0, 1.0, 8.0 / 4.0))  # no spread reported: simulated SD 8 / sqrt(16)
    assert log_likelihood(targets, pred, var, np.array([0.0, 0.0, 8.0]))[0] == pytest.approx(expected)


def test_random_effects_make_each_study_one_multivariate_normal():
    """The MBMA likelihood equals scipy's multivariate normal with the covariance written out:
    sampling + emulator variance on the diagonal, τ_study²·s sᵀ within a study, τ_arm²·s sᵀ
    within an arm, σ_row²·s² on the diagonal; proportions stay binomial and outside the blocks."""
    from scipy import stats

    targets = [Target("A a m1", "mean", 40.0, 10, 4.0, "A", "a", 100.0),
               Target("A a m3", "mean", 35.0, 10, 4.0, "A", "a", 100.0),
               Target("A b m3", "mean", 1000.0, 10, 90.0, "A", "b", 2400.0),
               Target("B x m3", "mean_change", -20.0, 50, 2.0, "B", "x", 100.0),
               Target("B x ae", "proportion", 0.3, 20, None, "B", "x", None)]
    pred = np.array([[45.0, 30.0, 900.0, -15.0, 0.25], [38.0, 36.0, 1100.0, -21.0, 0.35]])
    var = np.array([[1.0, 2.0, 100.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    tau = np.array([[0.05, 0.03, 0.02], [0.10, 0.0, 0.01]])
    got = log_likelihood(targets, pred, var, np.zeros(5), tau)
    s = np.array([100.0, 100.0, 2400.0])
    same_arm = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], float)
    for k in range(2):
        ts, ta, sr = tau[k]
        cov_a = (np.diag(np.array([4.0, 4.0, 90.0]) ** 2 + var[k, :3] + (sr * s) ** 2)
                 + ts ** 2 * np.outer(s, s) + ta ** 2 * np.outer(s, s) * same_arm)
        expected = stats.multivariate_normal.logpdf([40.0, 35.0, 1000.0], pred[k, :3], cov_a)
        expected += stats.norm.logpdf(-20.0, pred[k, 3], np.sqrt(4.0 + var[k, 3] + (ts ** 2 + ta ** 2 + sr ** 2) * 1e4))
        expected += stats.binom.logpmf(6, 20, pred[k, 4])
        assert got[k] == pytest.approx(expected, rel=1e-10)
    # without random effects the rows are independent normals again
    no_re = log_likelihood(targets, pred, var, np.zeros(5))
    assert no_re == pytest.approx(log_likelihood(targets, pred, var, np.zeros(5), np.zeros((2, 3))))
    indep = sum(stats.norm.logpdf(t.value, pred[0, j], np.sqrt(t.se ** 2 + var[0, j])) for j, t in enumerate(targets[:4]))
    assert no_re[0] == pytest.approx(indep + stats.binom.logpmf(6, 20, 0.25))


def test_secondary_source_sds_add_only_to_secondary_rows():
    """Rows flagged secondary get τ_arm,secondary² within their arm and σ_row,secondary² on the
    diagonal on top of the shared structure; primary rows' covariance does not change."""
    from scipy import stats

    targets = [Target("A a m1", "mean", 40.0, 10, 4.0, "A", "a", 100.0, True),
               Target("A a m3", "mean", 35.0, 10, 4.0, "A", "a", 100.0, True),
               Target("A b m3", "mean", 30.0, 10, 4.0, "A", "b", 100.0, False),
               Target("B x m3", "mean_change", -20.0, 50, 2.0, "B", "x", 100.0, False)]
    pred = np.array([[45.0, 30.0, 33.0, -15.0]])
    var = np.zeros((1, 4))
    tau = np.array([[0.05, 0.03, 0.02, 0.10, 0.04, 0.0]])
    got = log_likelihood(targets, pred, var, np.zeros(4), tau)[0]
    s = np.full(3, 100.0)
    sec = np.array([1.0, 1.0, 0.0])
    same_arm = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], float)
    cov = (np.diag(16.0 + (0.02 ** 2 + 0.04 ** 2 * sec) * s ** 2) + 0.05 ** 2 * np.outer(s, s)
           + (0.03 ** 2 + 0.10 ** 2 * np.outer(sec, sec)) * np.outer(s, s) * same_arm)
    expected = stats.multivariate_normal.logpdf([40.0, 35.0, 30.0], pred[0, :3], cov)
    expected += stats.norm.logpdf(-20.0, -15.0, np.sqrt(4.0 + (0.05 ** 2 + 0.03 ** 2 + 0.02 ** 2) * 1e4))
    assert got == pytest.approx(expected, rel=1e-10)
    # the extra SDs leave an all-primary likelihood alone
    primary = [Target(t.label, t.statistic, t.value, t.n, t.se, t.study, t.arm, t.scale) for t in targets]
    assert log_likelihood(primary, pred, var, np.zeros(4), tau)[0] == pytest.approx(
        log_likelihood(primary, pred, var, np.zeros(4), tau[:, :3])[0], rel=1e-12)


def test_ae_random_effect_integrates_the_binomials_of_a_study():
    """A study's AE rows share η ~ N(0, τ²) on the log-odds: the Gauss–Hermite value equals
    scipy's adaptive quadrature of the same integral; τ = 0 is the plain binomial; another
    study's rows get their own η (the log likelihood adds over studies)."""
    from scipy import integrate, special, stats

    targets = [Target("A 1", "proportion", 0.5, 8, None, "A", "c"), Target("A 2", "proportion", 0.88, 17, None, "A", "m"),
               Target("B 1", "proportion", 0.573, 220, None, "B", "s")]
    p = np.array([[0.3, 0.6, 0.35]])
    var = np.zeros((1, 3))
    k = np.array([4, 15, 126])

    def study(cols, tau):
        def f(eta):
            q = special.expit(special.logit(p[0, cols]) + eta)
            return np.prod(stats.binom.pmf(k[cols], [8, 17, 220][cols[0]:cols[-1] + 1], q)) * stats.norm.pdf(eta, 0, tau)
        return np.log(integrate.quad(f, -12 * tau, 12 * tau, epsabs=0, epsrel=1e-11, limit=200)[0])

    for tau_ae in (0.3, 1.0, 2.0):
        tau = np.zeros((1, 6))
        tau[0, 5] = tau_ae
        got = log_likelihood(targets, p, var, np.zeros(3), tau)[0]
        assert got == pytest.approx(study([0, 1], tau_ae) + study([2], tau_ae), rel=1e-8)
    plain = stats.binom.logpmf(k, [8, 17, 220], p[0]).sum()
    assert log_likelihood(targets, p, var, np.zeros(3), np.zeros((1, 6)))[0] == pytest.approx(plain, rel=1e-12)


def test_common_random_numbers_give_every_design_point_the_same_subjects():
    seen = []

    def recording(theta, seeds):
        seen.extend(int(s) for s in seeds)
        return toy_simulator(theta, seeds)

    run_design(recording, PRIORS, 20, seed=7, chunk=8)
    assert len(seen) == 20 and len(set(seen)) == 1
    seen.clear()
    run_design(recording, PRIORS, 20, seed=7, chunk=8, common_random_numbers=False)
    assert len(set(seen)) == 20


def test_a_study_the_model_cannot_follow_inflates_tau_not_the_parameters():
    """Two clean studies pin the truth; a third sits 15 points off on every row. Without random
    effects the parameters are pulled away from the truth; with them the truth stays inside the
    90 % interval and the between-study SD absorbs the offset."""
    truth = np.array([[1.7, 3.0]])
    clean = toy_arm_means(truth)[0]
    targets = []
    for study, offset in (("S1", 0.0), ("S2", 0.0), ("S3", 15.0)):
        targets += [Target(f"{study} dose {d:g}", "mean_change", float(v + offset), 60, 6.0 / np.sqrt(60), study,
                           f"dose {d:g}", 100.0) for d, v in zip(DOSES, clean)]

    from oasim.calibration.fit_arms import _SubEmulator

    u, mean, sd = run_design(toy_simulator, PRIORS, 40, seed=3)
    # the three studies ran the same four arms: one emulator per dose, used for each study
    emulator = _SubEmulator(Emulator.fit(u, mean, sd, seed=3, restarts=0), list(range(4)) * 3)
    tau_priors = [Prior(n, "uniform", 0.0, 0.3, "fraction of scale maximum", "test: flat on the SD")
                  for n in ("tau_study", "tau_arm", "sigma_row")]
    fixed = sample_posterior(emulator, PRIORS, targets, seed=4, n_steps=600).summary().set_index("parameter")
    assert not fixed.loc["placebo_points", "q05"] < 3.0 < fixed.loc["placebo_points", "q95"]
    result = sample_posterior(emulator, PRIORS, targets, seed=4, n_steps=1200, heterogeneity=tau_priors)
    summary = result.summary().set_index("parameter")
    for name, value in zip(("potency", "placebo_points"), truth[0]):
        assert summary.loc[name, "q05"] < value < summary.loc[name, "q95"]
    assert summary.loc["tau_study", "median"] > 0.04  # the 15-point offset is 0.15 of the scale
    assert list(result.tau_draws.columns) == ["tau_study", "tau_arm", "sigma_row"]
    assert list(result.draws.columns) == ["potency", "placebo_points"]


def test_heterogeneity_priors_may_be_any_subset_but_only_known_names(tmp_path):
    """A priors file may calibrate some of the seven SDs (the others are 0), in HETEROGENEITY's
    order whatever the file's; an unknown name is a named error."""
    from oasim.calibration.bayes import HETEROGENEITY
    from oasim.calibration.fit_arms import load_heterogeneity
    from oasim.errors import FieldError

    path = tmp_path / "p.toml"
    entry = '{ dist = "uniform", low = 0.0, high = 1.0, why = "test prior" }'
    path.write_text(f'parameters = ["flare_pain_gain"]\n[heterogeneity]\ntau_ae_logit = {entry}\ntau_study = {entry}\n')
    assert [p.name for p in load_heterogeneity(path)] == ["tau_study", "tau_ae_logit"]
    # the shipped file: all seven but tau_arm (left out since tau_effect came in; priors_human.toml says why)
    assert [p.name for p in load_heterogeneity()] == [n for n in HETEROGENEITY if n != "tau_arm"]
    path.write_text(f'parameters = ["flare_pain_gain"]\n[heterogeneity]\ntau_bogus = {entry}\n')
    with pytest.raises(FieldError, match="heterogeneity"):
        load_heterogeneity(path)


def test_rows_of_one_arm_share_correlated_sampling_errors():
    """With a sampling correlation the study block's covariance gains ρ·se_j·se_k for rows of one
    arm (same patients) and nothing for rows of different arms, whatever the matrix says there;
    the result equals scipy's multivariate normal with the covariance written out."""
    from scipy import stats

    from oasim.errors import FieldError

    targets = [Target("A a m1", "mean", 40.0, 10, 4.0, "A", "a", 100.0),
               Target("A a m3", "mean", 35.0, 10, 5.0, "A", "a", 100.0),
               Target("A b m3", "mean", 30.0, 10, 3.0, "A", "b", 100.0),
               Target("B x m3", "mean_change", -20.0, 50, 2.0, "B", "x", 100.0)]
    pred = np.array([[45.0, 30.0, 33.0, -15.0], [41.0, 36.0, 29.0, -19.0]])
    var = np.array([[1.0, 2.0, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0]])
    tau = np.array([[0.05, 0.03, 0.02], [0.01, 0.0, 0.0]])
    corr = np.eye(4)
    corr[0, 1] = corr[1, 0] = 0.7
    corr[1, 2] = corr[2, 1] = 0.4  # different arms: not used
    got = log_likelihood(targets, pred, var, np.zeros(4), tau, sampling_corr=corr)
    s = np.full(3, 100.0)
    same_arm = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], float)
    se = np.array([4.0, 5.0, 3.0])
    for k in range(2):
        ts, ta, sr = tau[k]
        sampling = np.diag(se ** 2)
        sampling[0, 1] = sampling[1, 0] = 0.7 * 4.0 * 5.0
        cov = (sampling + np.diag(var[k, :3] + (sr * s) ** 2) + ts ** 2 * np.outer(s, s)
               + ta ** 2 * np.outer(s, s) * same_arm)
        expected = stats.multivariate_normal.logpdf([40.0, 35.0, 30.0], pred[k, :3], cov)
        expected += stats.norm.logpdf(-20.0, pred[k, 3], np.sqrt(4.0 + var[k, 3] + (ts ** 2 + ta ** 2 + sr ** 2) * 1e4))
        assert got[k] == pytest.approx(expected, rel=1e-10)
    # a coherent shift of both rows of arm a is likelier with the correlation than without
    shifted = np.array([[32.0, 27.0, 30.0, -20.0]])  # both rows 8 points under the published values
    assert log_likelihood(targets, shifted, np.zeros((1, 4)), np.zeros(4), sampling_corr=corr)[0] > \
        log_likelihood(targets, shifted, np.zeros((1, 4)), np.zeros(4))[0]
    for bad in (np.eye(3), corr * 2, np.triu(corr)):  # wrong shape, diagonal 2, not symmetric
        with pytest.raises(FieldError, match="sampling_corr"):
            log_likelihood(targets, pred, var, np.zeros(4), tau, sampling_corr=bad)
    not_psd = np.eye(4)
    not_psd[0, 1] = not_psd[1, 0] = not_psd[0, 2] = not_psd[2, 0] = 0.9
    not_psd[1, 2] = not_psd[2, 1] = -0.9
    with pytest.raises(FieldError, match="semi-definite"):
        log_likelihood(targets, pred, var, np.zeros(4), tau, sampling_corr=not_psd)


def test_treatment_effect_random_effect_scales_the_models_effect():
    """One δ per study multiplies the model's effect m_j − m_control of every treated row, so
    the covariance gains τ_effect²·Δ Δᵀ over the study's treated rows (control rows and rows
    without a control get 0), written out and checked against scipy; the new-study variance of a
    treated row gains τ_effect²·Δ²."""
    from scipy import stats

    targets = [Target("A c m3", "mean", 50.0, 10, 4.0, "A", "c", 100.0),
               Target("A lo m3", "mean", 40.0, 10, 4.0, "A", "lo", 100.0, control="A c m3"),
               Target("A hi m3", "mean", 30.0, 10, 4.0, "A", "hi", 100.0, control="A c m3"),
               Target("B x m3", "mean", 35.0, 10, 4.0, "B", "x", 100.0)]  # single arm: no control
    pred = np.array([[52.0, 45.0, 20.0, 30.0], [48.0, 41.0, 33.0, 36.0]])
    var = np.zeros((2, 4))
    tau = np.zeros((2, len(HETEROGENEITY)))
    tau[:, HETEROGENEITY.index("tau_study")] = [0.05, 0.02]
    tau[:, HETEROGENEITY.index("tau_arm")] = [0.02, 0.04]
    tau[:, HETEROGENEITY.index("tau_effect")] = [0.5, 0.2]
    got = log_likelihood(targets, pred, var, np.zeros(4), tau)
    for k in range(2):
        ts, ta, te = tau[k, 0], tau[k, 1], tau[k, HETEROGENEITY.index("tau_effect")]
        delta = np.array([0.0, pred[k, 1] - pred[k, 0], pred[k, 2] - pred[k, 0]])
        cov = 16.0 * np.eye(3) + (ts ** 2 * np.ones((3, 3)) + ta ** 2 * np.eye(3)) * 1e4 + te ** 2 * np.outer(delta, delta)
        expected = stats.multivariate_normal.logpdf([50.0, 40.0, 30.0], pred[k, :3], cov)
        expected += stats.norm.logpdf(35.0, pred[k, 3], np.sqrt(16.0 + (ts ** 2 + ta ** 2) * 1e4))
        assert got[k] == pytest.approx(expected, rel=1e-10)
    # τ_effect = 0 is the likelihood without the term
    tau0 = tau.copy()
    tau0[:, HETEROGENEITY.index("tau_effect")] = 0.0
    plain = [Target(t.label, t.statistic, t.value, t.n, t.se, t.study, t.arm, t.scale) for t in targets]
    assert log_likelihood(targets, pred, var, np.zeros(4), tau0) == pytest.approx(
        log_likelihood(plain, pred, var, np.zeros(4), tau0), rel=1e-12)
    extra = ArmLikelihood(targets, np.zeros(4)).new_study_variance(tau, pred)
    base = ArmLikelihood(targets, np.zeros(4)).new_study_variance(tau)
    np.testing.assert_allclose(extra[:, [0, 3]], base[:, [0, 3]])
    np.testing.assert_allclose(extra[:, 1] - base[:, 1], tau[:, -1] ** 2 * (pred[:, 1] - pred[:, 0]) ** 2)
    with pytest.raises(FieldError, match="control"):
        ArmLikelihood([targets[0], Target("B y", "mean", 1.0, 10, 1.0, "B", "y", 100.0, control="A c m3")], np.zeros(2))


class _LinearEmulator:
    """A stand-in emulator: m_j(u) = a_j + b_j·u_0, no emulator variance."""

    def __init__(self, a, b):
        self.a, self.b = np.asarray(a, float), np.asarray(b, float)
        self.sd_mean = np.full(len(a), 20.0)

    def predict(self, u):
        u = np.atleast_2d(u)
        return self.a + self.b * u[:, :1], np.zeros((len(u), len(self.a)))


def _anchored_setup(u_theta):
    """One study: a control row C and a treated row T paired with it (scale 100, SE 2 and 3);
    τ_study 0.05, σ_row 0.02, τ_effect 0.5 fixed by a chain that sits at prior-quantile 0.5."""
    from oasim.calibration.bayes import anchored_predictive_draws  # noqa: F401  (imported by the tests)

    targets = [Target("C m6", "mean", 40.0, 30, 2.0, "S", "ctrl", 100.0),
               Target("T m6", "mean", 30.0, 30, 3.0, "S", "cell", 100.0, control="C m6")]
    heterogeneity = [Prior(n, "uniform", 0.0, 2 * v, "fraction of scale maximum", "test")
                     for n, v in (("tau_study", 0.05), ("sigma_row", 0.02), ("tau_effect", 0.5))]
    chain = np.empty((len(u_theta), 3 + 1))
    chain[:, 0] = u_theta
    chain[:, 1:] = 0.5
    return targets, heterogeneity, chain[:, None, :]


def test_anchored_draws_are_the_conditional_normal_given_the_control_arm():
    """One parameter vector: the treated row given the control row is N(m_T + c/C_aa·(y_C − m_C),
    C_tt − c²/C_aa), c = τ_study²·100², written out by hand; rows without a pair stay NaN."""
    from oasim.calibration.bayes import anchored_predictive_draws

    targets, heterogeneity, chain = _anchored_setup(np.full(4000, 0.5))
    emulator = _LinearEmulator([50.0, 35.0], [0.0, 0.0])  # m_C = 50, m_T = 35: Δ = −15
    draws, ess = anchored_predictive_draws(emulator, chain, targets, heterogeneity, seed=3, n_draws=4000)
    c = 0.05 ** 2 * 100 ** 2
    c_aa = c + 0.02 ** 2 * 100 ** 2 + 2.0 ** 2
    c_tt = c + 0.02 ** 2 * 100 ** 2 + 3.0 ** 2 + 0.5 ** 2 * 15.0 ** 2
    mean = 35.0 + c / c_aa * (40.0 - 50.0)
    var = c_tt - c ** 2 / c_aa
    assert np.isnan(draws[:, 0]).all()
    assert abs(draws[:, 1].mean() - mean) < 4 * np.sqrt(var / 4000)
    assert draws[:, 1].var() == pytest.approx(var, rel=0.08)
    assert ess == {"S": pytest.approx(4000.0)}
    # the unconditioned new-study variance is larger by c²/C_aa
    assert var < c_tt


def test_anchored_draws_reweight_the_posterior_by_the_control_arms_likelihood():
    """Two parameter vectors, half the draws each, predicting the control at 40 (= observed) and
    at 60: the draws are reweighted by N(40; m_C, C_aa), so the treated row's mean is the weighted
    mixture of the two conditional means, and the ESS is (Σw)²/Σw²."""
    from scipy import stats

    from oasim.calibration.bayes import anchored_predictive_draws

    targets, heterogeneity, chain = _anchored_setup(np.repeat([0.0, 1.0], 3000))
    emulator = _LinearEmulator([40.0, 30.0], [20.0, 20.0])  # u = 0: m = (40, 30); u = 1: (60, 50)
    draws, ess = anchored_predictive_draws(emulator, chain, targets, heterogeneity, seed=5, n_draws=6000)
    c = 0.05 ** 2 * 100 ** 2
    c_aa = c + 0.02 ** 2 * 100 ** 2 + 2.0 ** 2
    w = stats.norm.pdf(40.0, [40.0, 60.0], np.sqrt(c_aa))
    means = np.array([30.0, 50.0]) + c / c_aa * (40.0 - np.array([40.0, 60.0]))
    expected = (w * means).sum() / w.sum()
    c_tt = c + 0.02 ** 2 * 100 ** 2 + 3.0 ** 2 + 0.5 ** 2 * 10.0 ** 2
    sd = np.sqrt(c_tt - c ** 2 / c_aa + (w * (means - expected) ** 2).sum() / w.sum())
    assert abs(draws[:, 1].mean() - expected) < 4 * sd / np.sqrt(6000)
    weights = np.repeat(w, 3000)
    assert ess["S"] == pytest.approx(weights.sum() ** 2 / (weights ** 2).sum(), rel=1e-9)


def test_a_row_without_any_spread_is_a_named_error_not_a_nan_likelihood():
    """A row without a published spread takes the simulated one; a one-replicate design has none
    (NaN), which would make the likelihood NaN everywhere: refused, naming the row."""
    from oasim.calibration.bayes import CalibrationError

    targets = [Target("A saline m3", "mean_change", -12.0, 40, None, "A", "saline", 100.0),
               Target("A HA m3", "mean_change", -16.0, 40, 2.0, "A", "HA", 100.0)]
    ArmLikelihood(targets, np.array([20.0, np.nan]))  # the row with an SE does not need the simulated SD
    with pytest.raises(CalibrationError, match="A saline m3.*--replicates"):
        ArmLikelihood(targets, np.array([np.nan, 20.0]))
