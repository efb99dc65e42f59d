"""``simulate_power`` replicate tables pinned from main before the power-run speed-up.

``data/power_replicates_main.csv`` was written by ``data/make_power_replicates.py`` at commit
03a127e: the example trial, the parallel-group example, a strict safety review that stops
escalation early and a heavy-dropout variant whose ANCOVA sometimes has no data (NaN rows). The
same seeds must give the same tables, value for value (floats stored with 17 significant digits).
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.trial.data.make_power_replicates import OUT, cases, replicates

PINNED = pd.read_csv(OUT, float_precision="round_trip")  # the default C parser may be 1 ulp off


@pytest.mark.parametrize("case", sorted(cases()))
def test_replicates_equal_the_tables_pinned_from_main(case):
    data, n = cases()[case]
    expected = PINNED[PINNED["case"] == case].drop(columns="case").reset_index(drop=True)
    got = replicates(data, n)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
