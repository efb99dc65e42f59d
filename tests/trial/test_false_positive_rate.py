"""With no treatment effect, active vs placebo is 'significant' in about alpha of trials."""

from __future__ import annotations

import numpy as np
import pytest

from oasim.trial.analyse import analyse
from tests.trial.test_analyse import hand_built_dataset


@pytest.mark.slow
def test_zero_effect_false_positive_rate_near_alpha():
    """200 trials with zero effect; the ANCOVA's rejection rate at alpha 0.05 lies in the
    99 % binomial interval around 0.05 (2/200 .. 19/200)."""
    p = []
    for seed in range(200):
        res = analyse(hand_built_dataset(effect=0.0, n_per_arm=20, seed=seed), "WOMAC_TOTAL", 2, fit_mmrm=False)
        p.append(float(res.ancova["WOMAC_TOTAL"].differences["p_value"].iloc[0]))
    rate = np.mean(np.array(p) < 0.05)
    assert 2 / 200 <= rate <= 19 / 200


@pytest.mark.slow
def test_zero_effect_simulated_trials_false_positive_rate(tmp_path):
    """The full simulator with a product of no potency (Emax 0): ~5 % significant over 200 trials."""
    from tests.trial.test_trial_run import small_scenario
    from oasim.trial.conduct import conduct_trial
    from oasim.data import from_trial_run
    import oasim.trial.conduct as conduct

    hits = 0
    for seed in range(200):
        sc = small_scenario(seed=seed, **{"model.parameter_set": "human"})
        run = conduct_trial(sc.model_copy(update={"design": sc.design.model_copy(update={
            "cohorts": tuple(c.model_copy(update={"dose": 1e-6}) for c in sc.design.cohorts)})}))
        ds = from_trial_run(run).unblind()
        res = analyse(ds, "WOMAC_TOTAL", 3, fit_mmrm=False)
        d = res.ancova["WOMAC_TOTAL"].differences
        hits += int((d["p_value"] < 0.05 / len(d)).any())
    assert 1 / 200 <= hits / 200 <= 19 / 200
