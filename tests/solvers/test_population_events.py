"""The vectorised dose events of a population equal the per-subject construction."""

from __future__ import annotations

import numpy as np

from oasim.population import Population
from oasim.protocol import Dose, dose_events
from oasim.simulation import population_dose_events

DOSES = (Dose("msc", 5e7, "cells", 28.0), Dose("exosome", 30.0, "ug", 0.0), Dose("exosome", 3e11, "particles", 0.0),
         Dose("msc", 2e7, "cells", 28.0))


def _reference(model, pop, doses):
    p = pop.parameters
    return dose_events(doses, model.state_index, p["exosome_particles_per_ug"], p["msc_fast_fraction"],
                       p["msc_persistent_fraction"])


def test_shared_dose_lists_give_the_per_subject_arrays(model, human):
    pop = Population.sample(human, 50, np.random.default_rng(2))
    for doses in ([DOSES] * 50, [()] * 50, [DOSES[:1]] * 50):
        fast = population_dose_events(model, pop, doses)
        ref = _reference(model, pop, doses)
        for a, b in zip(fast, ref):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_different_dose_lists_take_the_general_path(model, human):
    pop = Population.sample(human, 3, np.random.default_rng(3))
    doses = [DOSES, DOSES[:2], ()]
    for a, b in zip(population_dose_events(model, pop, doses), _reference(model, pop, doses)):
        np.testing.assert_array_equal(a, b)
