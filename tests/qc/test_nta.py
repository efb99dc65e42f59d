"""NTA statistics against hand-computed distributions, and malformed exports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oasim.errors import DataError
from oasim.qc import read_nta, size_statistics


def _write(path, sizes, conc, names=("size_nm", "concentration_particles_per_ml")):
    pd.DataFrame({names[0]: sizes, names[1]: conc}).to_csv(path, index=False)
    return path


def test_statistics_match_hand_computation(tmp_path):
    # Bins 50/100/150/200 nm (edges 25,75,125,175,225), counts 1:2:1:0 of 4e8/mL measured at
    # 1:100.  CDF at upper edges 0.25, 0.75, 1, 1.
    #   mean = (50*1 + 100*2 + 150*1) / 4 = 100;  mode = 100
    #   D10 = 25 + 0.10/0.25*50 = 45;  D50 = 75 + 0.25/0.5*50 = 100;  D90 = 125 + 0.15/0.25*50 = 155
    #   30-150 nm: bin1 45/50 + bin2 all + bin3 25/50  -> (0.9 + 2 + 0.5)/4 = 85 %
    #   particles/mL = 4e8 * 100 = 4e10
    path = _write(tmp_path / "nta.csv", [50, 100, 150, 200], [1e8, 2e8, 1e8, 0])
    r = read_nta(path, dilution_factor=100)
    assert (r.mode_size_nm, r.mean_size_nm) == (100.0, 100.0)
    assert (r.d10_nm, r.d50_nm, r.d90_nm) == pytest.approx((45.0, 100.0, 155.0))
    assert r.percent_in_30_150_nm == pytest.approx(85.0)
    assert r.particles_per_ml == pytest.approx(4e10)
    assert r.distribution.concentration_particles_per_ml.sum() == pytest.approx(4e10)


def test_skewed_distribution_hand_computed():
    # Bins 20/40/60/80/200 nm; edges 10,30,50,70,140,260; counts 1,1,6,1,1 (n=10)
    #   mean = (20+40+360+80+200)/10 = 70; mode 60
    #   CDF at edges: 0.1, 0.2, 0.8, 0.9, 1.0 -> D10 = 30 exactly, D50 = 50 + 0.3/0.6*20 = 60,
    #   D90 = 140 (edge where CDF reaches 0.9)
    #   30-150 nm: bin1 0, bin2 all, bin3 all, bin4 all, bin5 (150-140)/120 -> (1+6+1+1/12)/10
    r = size_statistics(np.array([20, 40, 60, 80, 200.0]), np.array([1, 1, 6, 1, 1.0]))
    assert r.mean_size_nm == pytest.approx(70.0) and r.mode_size_nm == 60.0
    assert (r.d10_nm, r.d50_nm, r.d90_nm) == pytest.approx((30.0, 60.0, 140.0))
    assert r.percent_in_30_150_nm == pytest.approx(100 * (8 + 1 / 12) / 10)


def test_nanosight_column_names_are_accepted(tmp_path):
    names = ("Bin centre (nm)", "Concentration (particles / ml)")
    r = read_nta(_write(tmp_path / "ns.csv", [50, 100], [1, 3], names))
    assert r.mode_size_nm == 100.0 and r.particles_per_ml == 4.0


def test_negative_size_is_a_named_error(tmp_path):
    path = _write(tmp_path / "bad.csv", [-5, 50, 100], [1, 1, 1])
    with pytest.raises(DataError, match=r"bad\.csv: sizes must be > 0 nm; found \[-5") as info:
        read_nta(path)
    assert info.value.path == str(path)


@pytest.mark.parametrize(
    ("sizes", "conc", "problem"),
    [([50, 40], [1, 1], "strictly increasing"),
     ([50, 60], [1, -1], "concentrations must be >= 0"),
     ([50, 60], [0, 0], "total concentration is zero")],
)
def test_other_malformed_exports(tmp_path, sizes, conc, problem):
    with pytest.raises(DataError, match=problem):
        read_nta(_write(tmp_path / "x.csv", sizes, conc))


def test_missing_column_and_missing_file(tmp_path):
    path = tmp_path / "cols.csv"
    pd.DataFrame({"size_nm": [50], "counts": [1]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="missing column 'concentration_particles_per_ml'"):
        read_nta(path)
    with pytest.raises(DataError, match="NTA file not found"):
        read_nta(tmp_path / "absent.csv")
