"""Every preclinical set supplies the model's parameters, and every number carries a source."""

from __future__ import annotations

import re

import pytest

from oasim.experiments.systems import System
from oasim.parameters import bibliography_keys

SETS = ("invitro_mouse_chondrocyte", "invitro_human_chondrocyte", "explant_bovine", "mouse_dmm", "mouse_collagenase")


@pytest.mark.parametrize("name", SETS)
def test_set_validates_and_cites_every_entry(name):
    system = System.load(name)  # validate_for_model inside
    keys = bibliography_keys()
    for p in [*system.parameters, *system.readouts.values()]:
        if p.source_kind == "read":
            assert p.source in keys, (name, p.name)
        else:
            assert len(p.source.split(":", 1)[1].strip()) > 10, (name, p.name)
        if p.source_kind in ("derived", "calibrated"):
            assert set(re.findall(r"[A-Za-z][A-Za-z0-9]+", p.source)) & keys, (name, p.name)


@pytest.mark.parametrize("name", SETS[:3])
def test_culture_systems_have_no_circulation_and_no_synovium(name):
    s = System.load(name)
    assert s.value("monocyte_recruitment_scale") == 0.0 and s.value("k_fls_activation_per_day") == 0.0
    assert s.value("il1b_exogenous_pM") == 0.0  # set per group by the experiment


def test_hooks_are_neutral_in_the_human_set():
    s = System.load("human")
    assert s.value("il1b_exogenous_pM") == 0.0 and s.value("monocyte_recruitment_scale") == 1.0
    assert s.value("osm_il1_synergy_gain") == 0.0 and s.value("mmp13_activator_rel") == 0.0
    assert s.value("exosome_il1_signal_blockade") == 0.0
