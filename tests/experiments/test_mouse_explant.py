"""Mouse OA models and cartilage explants against their anchors.

DMM: Glasson 2007 (mild-moderate OA at 4 weeks, moderate-severe at 8 weeks; OARSI week values
from research note 2.6, unverified: about 1.5-2.5 at 4 weeks, 3-4 at 8 weeks). Exosomes protect
(Wang 2017, Zhu 2017, Cosenza 2017). Explant: Proctor 2014 day 14 with IL-1 + OSM + activator:
about 87 % aggrecan and about 10 % collagen released, about 0.03 % collagen without activator;
Kar 2016: IL-1 damage reversible when stopped within about 6 days.
"""

from __future__ import annotations

import numpy as np
import pytest

from oasim.experiments import (ExplantDesign, ExplantGroup, MouseDesign, MouseGroup, reversibility_window,
                               run_explant, run_mouse_oa)
from oasim.protocol import Dose

WEEKLY = tuple(Dose("exosome", 1e9, "particles", float(d)) for d in (7, 14, 21, 28, 35, 42, 49))


@pytest.fixture(scope="module")
def dmm():
    design = MouseDesign((MouseGroup("sham", sham=True), MouseGroup("vehicle"), MouseGroup("exo", WEEKLY)),
                         weeks=(2.0, 4.0, 6.0, 8.0, 12.0), n_per_group=40)
    return run_mouse_oa(design, np.random.default_rng(11))


def _expected(result, group, readout="oarsi"):
    e = result.expected
    return e[(e.group == group) & (e.readout == readout)].set_index("week")["value"]


def test_untreated_dmm_oarsi_rises_monotonically_mild_at_4_and_moderate_severe_at_8_weeks(dmm):
    oarsi = _expected(dmm, "vehicle")
    assert np.all(np.diff(oarsi.to_numpy()) > 0)
    # the research note's (recalled, unverified) week ranges, no wider: model 0.64, 2.02, 3.40
    assert 0.5 <= oarsi[2.0] <= 1.0
    assert 1.5 <= oarsi[4.0] <= 2.5   # mild-moderate
    assert 3.0 <= oarsi[8.0] <= 4.0   # moderate-severe
    assert _expected(dmm, "sham").max() < 0.5


def test_exosome_treated_dmm_scores_lower_than_vehicle_at_8_weeks(dmm):
    assert _expected(dmm, "exo")[8.0] < _expected(dmm, "vehicle")[8.0] - 1.0
    stats = dmm.stats
    p = stats[(stats.week == 8.0) & (stats.readout == "oarsi") & (stats.group == "exo")].p_value.iloc[0]
    assert p < 0.05
    assert _expected(dmm, "exo", "m1_m2_ratio")[8.0] < _expected(dmm, "vehicle", "m1_m2_ratio")[8.0]  # Zhang 2020
    scores = dmm.mice[dmm.mice.readout == "oarsi"].value
    assert scores.between(0, 6).all() and np.allclose(scores * 2, np.round(scores * 2))


def test_collagenase_model_has_early_synovitis_that_exceeds_dmm():
    groups = (MouseGroup("vehicle"),)
    col = run_mouse_oa(MouseDesign(groups, "mouse_collagenase", (1.0, 4.0), 10), np.random.default_rng(2))
    dmm = run_mouse_oa(MouseDesign(groups, "mouse_dmm", (1.0, 4.0), 10), np.random.default_rng(2))
    assert _expected(col, "vehicle", "synovitis")[1.0] > _expected(dmm, "vehicle", "synovitis")[1.0]


@pytest.fixture(scope="module")
def explant():
    groups = (ExplantGroup("control"), ExplantGroup("IL-1+OSM", 1.0, 10.0),
              ExplantGroup("IL-1+OSM+activator", 1.0, 10.0, activator=True))
    return run_explant(ExplantDesign(groups, days=(0.0, 7.0, 14.0, 28.0)), np.random.default_rng(4))


def test_explant_day14_release_within_5_points_of_proctor(explant):
    e = explant.expected.set_index(["group", "day"])
    # deterministic expected values (model 87.79 and 10.76): the matrix turnover scale is calibrated
    # to Proctor's 87 %, so 1 point; collagen is not calibrated, Proctor's "about 10 %" is read to
    # about 1 point (assumed: reading precision of the published value)
    assert abs(e.loc[("IL-1+OSM+activator", 14.0), "gag_released_pct"] - 87.0) <= 1.0
    assert abs(e.loc[("IL-1+OSM+activator", 14.0), "collagen_released_pct"] - 10.0) <= 1.0
    assert e.loc[("IL-1+OSM", 14.0), "collagen_released_pct"] < 0.5  # needs the activator
    assert e.loc[("control", 14.0), "gag_released_pct"] < 20.0
    assert e.loc[("IL-1+OSM+activator", 28.0), "collagen_released_pct"] > e.loc[("IL-1+OSM+activator", 14.0), "collagen_released_pct"]


def test_il1_damage_is_reversible_within_about_six_days():
    window, table = reversibility_window([2.0, 4.0, 6.0, 8.0, 10.0, 14.0])
    assert window is not None and 4.0 <= window <= 8.0
    assert not table.restored.iloc[-1]
