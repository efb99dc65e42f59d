"""The trial's safety review and the escalation designs flag the same DLTs (one rule)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from oasim.trial.conduct import dlt_counts
from oasim.trial.escalation import dlt_from_adverse_events


def test_conduct_dlt_counts_agree_with_the_canonical_rule():
    rng = np.random.default_rng(17)
    n_ae = 400
    subjects = pd.DataFrame({"subject_id": np.arange(60)})
    ae = pd.DataFrame({"subject_id": rng.integers(0, 60, n_ae), "grade": rng.integers(1, 6, n_ae),
                       "related": rng.random(n_ae) < 0.5, "dose_day": rng.choice([0.0, 28.0], n_ae)})
    ae["onset_day"] = ae["dose_day"] + rng.choice([-1.0, 0.0, 13.5, 28.0, 28.5, 40.0], n_ae)
    for min_grade, window_days in ((3, 28.0), (2, 14.0), (4, 40.0)):
        counted = dlt_counts(subjects, ae, min_grade, window_days) > 0
        flagged = dlt_from_adverse_events(ae, subjects["subject_id"], min_grade, window_days)
        np.testing.assert_array_equal(counted.to_numpy(), flagged.to_numpy())
        assert 0 < flagged.sum() < len(subjects)
