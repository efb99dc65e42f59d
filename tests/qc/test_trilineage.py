"""Trilineage pass rule: fold over control and one-sided Welch t-test."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats

from oasim.errors import DataError
from oasim.qc.trilineage import evaluate_trilineage


def _table(osteo_induced):
    rows = []
    for lineage, stain, induced, control in (
        ("osteogenic", "Alizarin Red", osteo_induced, [0.10, 0.12, 0.11]),
        ("adipogenic", "Oil Red O", [0.60, 0.66, 0.58], [0.09, 0.10, 0.08]),
        ("chondrogenic", "Alcian Blue", [0.50, 0.45, 0.48], [0.10, 0.12, 0.11]),
    ):
        rows += [(lineage, stain, "induced", v) for v in induced]
        rows += [(lineage, stain, "control", v) for v in control]
    return pd.DataFrame(rows, columns=["lineage", "stain", "condition", "value"])


def test_clear_differentiation_passes_with_hand_checked_numbers():
    r = evaluate_trilineage(_table([0.80, 0.90, 0.85]))
    row = r.table.set_index("lineage").loc["osteogenic"]
    assert row.fold_over_control == pytest.approx(0.85 / 0.11)
    # Welch t = (0.85 - 0.11) / sqrt(0.0025/3 + 0.0001/3); df by Welch-Satterthwaite
    t = 0.74 / ((0.0025 + 0.0001) / 3) ** 0.5
    df = ((0.0026 / 3) ** 2) / ((0.0025 / 3) ** 2 / 2 + (0.0001 / 3) ** 2 / 2)
    assert row.p_value_one_sided == pytest.approx(stats.t.sf(t, df), rel=1e-6)
    assert r.passed


def test_weak_osteogenesis_fails_on_fold():
    # 1.8x control: significant but below the 2x rule
    r = evaluate_trilineage(_table([0.19, 0.20, 0.205]))
    assert not r.lineages_passed["osteogenic"] and not r.passed
    assert r.lineages_passed["adipogenic"]


def test_noisy_large_fold_fails_on_p_value():
    r = evaluate_trilineage(_table([0.05, 1.6, 0.02]))   # mean 0.557 (5x), huge spread
    row = r.table.set_index("lineage").loc["osteogenic"]
    assert row.fold_over_control > 2 and row.p_value_one_sided > 0.05 and not row.passed


def test_missing_lineage_fails_and_bad_rows_raise():
    frame = _table([0.8, 0.9, 0.85])
    r = evaluate_trilineage(frame[frame.lineage != "adipogenic"])
    assert not r.passed and r.lineages_passed == {"osteogenic": True, "adipogenic": False,
                                                  "chondrogenic": True}
    with pytest.raises(DataError, match="unknown lineage"):
        evaluate_trilineage(frame.replace({"osteogenic": "myogenic"}))
    with pytest.raises(DataError, match="need >= 2 induced"):
        evaluate_trilineage(frame.iloc[1:].iloc[[0, 2, 3, 4]])
