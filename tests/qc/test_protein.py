"""BCA protein, particles per µg, and Western blot marker calls."""

from __future__ import annotations

import pandas as pd
import pytest

from oasim.errors import DataError
from oasim.qc import read_bca, read_western
from oasim.qc.criteria import purity_band


def test_bca_exact_standard_curve(tmp_path):
    # A = 0.1 + 0.001 * protein; sample wells 0.30, 0.32, 0.28 -> mean 0.30 -> 200 ug/mL x 5
    rows = [("standard", "BSA", c, 0.1 + 0.001 * c, 1) for c in (0, 250, 500, 1000, 2000)]
    rows += [("sample", "exo", None, a, 5) for a in (0.30, 0.32, 0.28)]
    path = tmp_path / "bca.csv"
    pd.DataFrame(rows, columns=["kind", "name", "protein_ug_per_ml", "absorbance_562nm",
                                "dilution_factor"]).to_csv(path, index=False)
    r = read_bca(path)
    assert r.protein_ug_per_ml == pytest.approx(1000.0)
    assert r.slope_per_ug_per_ml == pytest.approx(0.001) and r.r_squared == pytest.approx(1.0)


def test_bca_without_standards_is_a_named_error(tmp_path):
    path = tmp_path / "bca.csv"
    pd.DataFrame({"kind": ["sample"], "name": ["exo"], "protein_ug_per_ml": [None],
                  "absorbance_562nm": [0.3]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"bca\.csv: need numeric standards"):
        read_bca(path)


@pytest.mark.parametrize(("ratio", "band"), [(4e10, "high purity"), (1.2e10, "low purity"),
                                             (1e9, "impure"), (1.7e9, "between bands")])
def test_purity_bands(ratio, band):
    assert purity_band(ratio) == band


def _western(tmp_path, calnexin_exo, calnexin_lysate=30000):
    rows = []
    for protein, exo, lys in (("CD9", 40000, 8000), ("CD63", 36000, 5000),
                              ("TSG101", 20000, 12000), ("calnexin", calnexin_exo, calnexin_lysate)):
        rows += [(protein, "exosome", exo), (protein, "cell_lysate", lys), (protein, "blank", 1000)]
    path = tmp_path / "western.csv"
    pd.DataFrame(rows, columns=["protein", "lane", "intensity"]).to_csv(path, index=False)
    return read_western(path)


def test_western_calls_positive_markers_and_absent_calnexin(tmp_path):
    r = _western(tmp_path, calnexin_exo=1500)
    assert r.passed
    t = r.table.set_index("protein")
    assert t.loc["CD9", "exosome_signal_to_background"] == pytest.approx(40.0)
    assert not t.loc["calnexin", "detected"]


def test_calnexin_in_exosomes_fails_and_so_does_a_dead_antibody(tmp_path):
    assert not _western(tmp_path, calnexin_exo=3500).passed   # 3.5x blank: ER contamination
    dead = _western(tmp_path, calnexin_exo=1000, calnexin_lysate=1200)   # lysate control fails
    assert not dead.passed
    assert "antibody control fails" in dead.table.set_index("protein").loc["calnexin", "note"]


def test_western_unknown_lane_is_a_named_error(tmp_path):
    path = tmp_path / "w.csv"
    pd.DataFrame({"protein": ["CD9"], "lane": ["supernatant"], "intensity": [1]}).to_csv(path)
    with pytest.raises(DataError, match="unknown lane"):
        read_western(path)
