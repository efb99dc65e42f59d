"""IL-1β chondrocyte assay: directions and magnitudes against the published in-vitro picture.

Directions: He 2020, Wang 2017, Zhou 2021 (IL-1β raises MMP13/ADAMTS5, lowers COL2A1/ACAN;
MSC-exosomes attenuate it). Magnitudes (research note 2.6, unverified priors): MMP13 10-100x,
ADAMTS5 2-10x, COL2A1/ACAN 0.2-0.5x at 24-48 h; exosomes recover 30-70 % of the change.
"""

from __future__ import annotations

import numpy as np
import pytest

from oasim.experiments.invitro import AssayDesign, expected_readouts, run_il1b_assay, run_toxicity
from oasim.experiments.systems import System
from oasim.experiments.wells import WellGroup

DOSES = (1e7, 1e8, 1e9, 1e10, 1e11)
GROUPS = ((WellGroup("control"), WellGroup("IL-1b", 10.0))
          + tuple(WellGroup(f"IL-1b+exo{d:.0e}", 10.0, d) for d in DOSES)
          + (WellGroup("exo only", 0.0, 1e10),))


@pytest.fixture(scope="module")
def expected():
    design = AssayDesign(GROUPS, readout_hours=(24.0, 48.0))
    frame = expected_readouts(System.load(design.system), design)
    return frame.set_index(["group", "hour", "readout"])["value"]


def test_il1b_raises_mmp13_adamts5_and_lowers_col2a1_acan(expected):
    fc = lambda gene: expected[("IL-1b", 48.0, gene)]  # noqa: E731
    assert 10.0 <= fc("MMP13") <= 100.0
    assert 2.0 <= fc("ADAMTS5") <= 10.0
    assert 0.2 <= fc("COL2A1") <= 0.5 and 0.2 <= fc("ACAN") <= 0.5
    assert fc("IL6") > 2.0 and fc("NOS2") > 2.0
    assert expected[("IL-1b", 48.0, "viability_pct")] < 95.0


@pytest.mark.parametrize("gene", ["MMP13", "ADAMTS5", "COL2A1", "ACAN"])
def test_exosomes_reverse_part_of_the_il1b_effect_growing_with_dose_and_saturating(expected, gene):
    il1b = np.log(expected[("IL-1b", 48.0, gene)])
    recovery = np.array([1.0 - np.log(expected[(f"IL-1b+exo{d:.0e}", 48.0, gene)]) / il1b for d in DOSES])
    assert np.all(np.diff(recovery) > 0)  # grows with dose
    assert recovery[-1] < 0.9  # a part, not all
    assert recovery[-1] - recovery[-2] < 0.25 * (recovery[-1] - recovery[0])  # saturates
    assert recovery[2] > 0.2  # 1e9 particles/mL already works (30-70 % prior)


def test_exosomes_without_il1b_stay_within_between_well_noise(expected):
    sd = System.load("invitro_mouse_chondrocyte").value("well_biological_sd_log2")
    for gene in ("MMP13", "ADAMTS5", "COL2A1", "ACAN", "IL6", "NOS2"):
        assert abs(np.log2(expected[("exo only", 48.0, gene)])) < sd, gene


def test_at_bench_n_exosome_alone_is_rarely_significant_while_il1b_always_is():
    design = AssayDesign((WellGroup("control"), WellGroup("IL-1b", 10.0), WellGroup("exo only", 0.0, 1e10)),
                         readout_hours=(48.0,), genes=("MMP13", "COL2A1"), reference_group="control")
    hits = {"IL-1b": 0, "exo only": 0}
    n_experiments = 30
    rng = np.random.default_rng(7)
    for _ in range(n_experiments):
        stats = run_il1b_assay(design, rng).stats
        for group in hits:
            hits[group] += int((stats[(stats.group == group) & (stats.readout == "MMP13")].p_value < 0.05).any())
    assert hits["IL-1b"] >= 0.9 * n_experiments
    assert hits["exo only"] <= 0.3 * n_experiments


def test_bench_result_reports_mean_sd_and_dunnett_p_against_il1b():
    design = AssayDesign(GROUPS[:4], readout_hours=(24.0, 72.0), n_wells=4)
    result = run_il1b_assay(design, np.random.default_rng(3))
    assert design.reference == "IL-1b"
    table = result.group_table()
    assert set(table.n) == {4} and table["sd"].gt(0).all()
    stats = result.stats
    assert set(stats.test) == {"dunnett"} and stats.p_value.between(0, 1).all()
    assert "IL-1b" not in set(stats.group)
    assert "p = " in result.summary() and "MMP13 at 72 h" in result.summary()


def test_coculture_with_macrophages_strengthens_the_exosome_effect():
    """Marrero-Berrios 2024: MSC effects on chondrocytes largely macrophage-dependent."""
    groups = (WellGroup("control"), WellGroup("IL-1b", 10.0), WellGroup("IL-1b+exo", 10.0, 1e10),
              WellGroup("cc control", macrophages=True), WellGroup("cc IL-1b", 10.0, macrophages=True),
              WellGroup("cc IL-1b+exo", 10.0, 1e10, macrophages=True))
    e = expected_readouts(System.load("invitro_mouse_chondrocyte"), AssayDesign(groups, readout_hours=(48.0,)))
    e = e[e.readout == "MMP13"].set_index("group")["value"]
    mono = 1.0 - np.log(e["IL-1b+exo"]) / np.log(e["IL-1b"])
    co = 1.0 - np.log(e["cc IL-1b+exo"]) / np.log(e["cc IL-1b"])
    assert co > mono > 0


def test_toxicity_finds_none_within_clinical_range_concentrations():
    """NCT05060107 doses 3-5e11 particles in 15 mL SF: up to 3.3e10 particles/mL in the joint."""
    result = run_toxicity([1e8, 1e9, 1e10, 3.3e10, 1e11, 1e12, 1e13], np.random.default_rng(5))
    assert result.highest_non_toxic_per_ml >= 3.3e10
    assert result.ic50_per_ml is not None and result.ic50_per_ml > 1e11
    assert "highest non-toxic concentration" in result.summary()


def test_dunnett_p_values_repeat_exactly_for_the_same_data():
    """scipy's Dunnett p integrates a multivariate t by quasi-Monte Carlo; unseeded, repeated
    calls on the same data differed in the third digit."""
    from oasim.experiments.bench import compare_groups

    rng = np.random.default_rng(1)
    values = {g: rng.normal(mu, 1.0, 6) for g, mu in (("control", 0.0), ("low", 1.0), ("high", 2.0))}
    first, again = compare_groups(values, "control"), compare_groups(values, "control")
    assert first["p_value"].tolist() == again["p_value"].tolist()
    assert first["p_value"].between(0, 1).all() and first.loc[first.group == "high", "p_value"].item() < 0.01


def test_a_group_without_spread_gives_welch_p_without_warnings_and_none_is_undefined():
    """Two mice with the same score in one group: Welch's t is still defined (the other group's
    variance), equals statsmodels' unequal-variance t-test and raises no "precision loss"
    warning; with no spread in any group the p-value is NaN and the test says why."""
    import warnings

    from statsmodels.stats.weightstats import ttest_ind

    from oasim.experiments.bench import compare_groups

    values = {"vehicle": np.array([2.5, 2.0]), "exo": np.array([1.0, 1.0])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = compare_groups(values, "vehicle").iloc[0]
    reference_p = ttest_ind(values["exo"], values["vehicle"], usevar="unequal")[1]
    assert row["test"] == "welch_t" and row["p_value"] == pytest.approx(reference_p, rel=1e-10)
    flat = {"vehicle": np.array([2.0, 2.0]), "low": np.array([1.0, 1.0]), "high": np.array([0.5, 0.5])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dunnett = compare_groups(flat, "vehicle")
        tukey = compare_groups(flat, "vehicle", "tukey")
    assert dunnett["p_value"].isna().all() and dunnett["anova_p"].isna().all() and len(dunnett) == 2
    assert (dunnett["test"] == "undefined: no within-group variance").all()
    assert dunnett["mean_difference"].tolist() == [-1.0, -1.5]
    assert len(tukey) == 3 and tukey["p_value"].isna().all()
    with pytest.raises(ValueError, match="allowed"):
        compare_groups(flat, "vehicle", "bonferroni")
