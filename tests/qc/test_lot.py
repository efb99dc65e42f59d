"""Lot attributes for the simulation, dose conversion, and ISCT limits at their edges."""

from __future__ import annotations

import numpy as np
import pytest

from oasim.errors import DataError, FieldError
from oasim.qc import (
    LotAttributes,
    evaluate_identity_from_percents,
    load_lot_attributes,
    read_bca,
    read_nta,
    read_lot,
    ug_to_particles,
)

GOOD = {"CD73": 99.0, "CD90": 99.0, "CD105": 99.0, "CD34": 1.0, "CD45": 1.0, "CD14": 1.0,
        "CD19": 1.0, "HLA-DR": 1.0}


def test_lot_attributes_are_nta_over_bca(demo_lot):
    lot = load_lot_attributes(demo_lot)
    spec = read_lot(demo_lot)
    nta = read_nta(demo_lot / "nta.csv", spec.nta_dilution_factor)
    bca = read_bca(demo_lot / "bca.csv")
    assert lot.particles_per_ug == pytest.approx(nta.particles_per_ml / bca.protein_ug_per_ml)
    assert lot.lot_id == "EXO-DEMO-001" and lot.potency_relative == 1.0
    assert 30 <= lot.mode_size_nm <= 150


def test_dose_conversion_differs_by_measured_purity(demo_lot, failing_lot):
    good, poor = load_lot_attributes(demo_lot), load_lot_attributes(failing_lot)
    # synthetic truth: 2.4e12 /mL over 200 ug/mL and 1.8e12 /mL over 500 ug/mL (BCA noise ~1 %)
    assert good.particles_per_ug == pytest.approx(1.2e10, rel=0.05)
    assert poor.particles_per_ug == pytest.approx(3.6e9, rel=0.05)
    assert ug_to_particles(10.0, good) == pytest.approx(10 * good.particles_per_ug)
    assert ug_to_particles(10.0, good) > 3 * ug_to_particles(10.0, poor)


def test_ug_to_particles_arrays_and_bad_doses():
    lot = LotAttributes("L", 2e9, 100.0, 1.0)
    np.testing.assert_allclose(ug_to_particles([0, 1, 5], lot), [0, 2e9, 1e10])
    for bad in (-1.0, float("nan")):
        with pytest.raises(FieldError, match="dose_ug"):
            ug_to_particles(bad, lot)


def test_lot_toml_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="lot.toml not found"):
        read_lot(tmp_path)
    (tmp_path / "lot.toml").write_text('[lot]\nid = "X"\npotency_relative = 0\n')
    with pytest.raises(FieldError, match="lot.potency_relative"):
        read_lot(tmp_path)
    (tmp_path / "lot.toml").write_text('[lot]\nname = "X"\n')
    with pytest.raises(DataError, match="missing \\[lot\\] id"):
        read_lot(tmp_path)


def test_isct_limits_are_inclusive_at_95_and_2():
    assert evaluate_identity_from_percents(GOOD | {"CD105": 95.0, "HLA-DR": 2.0}).passed
    assert not evaluate_identity_from_percents(GOOD | {"CD105": 94.99}).passed
    assert not evaluate_identity_from_percents(GOOD | {"HLA-DR": 2.01}).passed


def test_isct_alternatives_either_marker_counts():
    alt = {k: v for k, v in GOOD.items() if k not in ("CD14", "CD19")}
    assert evaluate_identity_from_percents(alt | {"CD11b": 0.5, "CD79a": 0.5}).passed
    missing = evaluate_identity_from_percents(alt | {"CD11b": 0.5})
    assert not missing.passed
    assert [c.marker for c in missing.calls if not c.passed] == ["CD79a or CD19"]


def test_potency_scales_the_exosome_effect(failing_lot):
    from oasim.qc import scale_exosome_effect

    lot = load_lot_attributes(failing_lot)
    assert lot.potency_relative == 0.8
    assert scale_exosome_effect(0.5, lot) == pytest.approx(0.4)
    np.testing.assert_allclose(scale_exosome_effect(np.array([1.0, 2.0]), lot), [0.8, 1.6])
