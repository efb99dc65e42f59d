"""Measurements of the therapy biology against the clinical anchors (issue 13 note).

``python -m oasim.endpoints.checks [--n N] [--seed S]`` prints

* the dose × month table: mean difference in WOMAC pain (0-20), treated − untreated twin, in KL
  2-3 subjects (exosome 3e11 and 1e13 particles, MSC 1e7 and 1e8 cells; 1, 3, 6, 12 months);
* the saline (placebo) arm: WOMAC pain, VAS change and their SDs at 3 and 6 months in subjects
  screened on VAS ≥ 40 mm, beside Previtali 2020 (WOMAC pain −3.3, VAS −13.4 mm) and the DF-HA
  placebo arm change SD (about 20/100);
* MRI thickness change over 12 months of the untreated (saline) subjects beside FORWARD
  (−0.01 mm/y, SD 27 µm/y; Hochberg 2019);
* the median baseline pain drive of untreated KL 2-3 subjects (``pain_drive_reference_rel``)
  and the thickness-index change the MRI ratio is calibrated against.
"""

from __future__ import annotations

import argparse

import numpy as np

from ..model import KneeModel
from ..parameters import ParameterSet
from ..population import Population
from ..protocol import Dose
from ..readouts import thickness_mm
from ..simulation import simulate
from .clinical import observe_clinical, sample_baseline_symptoms
from .imaging import observe_imaging_and_biomarkers
from .parameters import load_observation_parameters

MONTH_DAYS = 30.4375
DOSES = {"exosome 3e11 particles": Dose("exosome", 3e11, "particles", 0.0),
         "exosome 1e13 particles": Dose("exosome", 1e13, "particles", 0.0),
         "MSC 1e7 cells": Dose("msc", 1e7, "cells", 0.0),
         "MSC 3e7 cells": Dose("msc", 3e7, "cells", 0.0),
         "MSC 1e8 cells": Dose("msc", 1e8, "cells", 0.0)}


def kl23_population(n: int, seed: int, parameter_set: ParameterSet) -> Population:
    pop = Population.sample(parameter_set, 3 * n, np.random.default_rng(seed))
    keep = np.flatnonzero(pop.covariates["kl_grade"].isin([2, 3]).to_numpy())[:n]
    return pop.subset(keep)


def main(argv=None) -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--n", type=int, default=344)
    args.add_argument("--seed", type=int, default=13)
    a = args.parse_args(argv)
    human, obs, model = ParameterSet.load("human"), load_observation_parameters(), KneeModel()
    pop = kl23_population(a.n, a.seed, human)
    n = pop.n_subjects
    months = np.array([0, 1, 3, 6, 12])
    t = months * MONTH_DAYS
    untreated = simulate(pop, t, model=model).solution
    print(f"untreated KL 2-3 subjects: n = {n}; median baseline pain_drive_rel "
          f"{np.median(untreated['pain_drive_rel'][:, 0]):.2f}")
    rng = np.random.default_rng(a.seed)
    base = sample_baseline_symptoms(n, rng, obs)
    thick = thickness_mm(untreated, pop.parameters)

    def womac(sol, seed):
        return observe_clinical(base, sol["pain_drive_rel"], thickness_mm(sol, pop.parameters), t,
                                np.random.default_rng(seed), obs)["WOMAC_PAIN"]

    # twins share the baseline draws and the noise stream, so noise cancels in the mean difference
    ref = womac(untreated, 1)
    print(f"baseline WOMAC pain mean {ref[:, 0].mean():.2f}")
    print("\nWOMAC pain (0-20), treated - untreated twin, mean")
    print(f"{'dose':24}" + "".join(f"{m:>8} mo" for m in months[1:]))
    for label, dose in DOSES.items():
        treated = simulate(pop, t, [[dose]] * n, model=model).solution
        diff = (womac(treated, 1) - ref).mean(axis=0)
        print(f"{label:24}" + "".join(f"{d:11.2f}" for d in diff[1:]))

    # saline arm: screened on VAS >= 40 mm (as in the trial scenarios)
    screened = base.vas_pain_mm >= 40.0
    scores = observe_clinical(base, untreated["pain_drive_rel"], thick, t, np.random.default_rng(2), obs)
    print(f"\nsaline arm (untreated model, one injection; VAS >= 40 mm at screening: n = {screened.sum()})")
    anchors = {"WOMAC_PAIN": "DF-HA placebo -17.1 (SD 20.4) at 3 mo; Gel-200 PBS -21.8 at 12 wk; "
                             "Previtali2020 -3.3/20 = -16.5 to 6 mo",
               "VAS_PAIN": "Previtali2020 -13.4 mm to 6 mo; Saltzman2017 -12.1 mm at 3 mo; change SD 25-33 mm"}
    for code, upper in (("WOMAC_PAIN", 20), ("VAS_PAIN", 100)):
        print(f"  {code} (change on 0-100)   [{anchors[code]}]")
        for m in (3, 6, 12):
            k = list(months).index(m)
            change = (scores[code][screened, k] - scores[code][screened, 0]) * 100.0 / upper
            print(f"    month {m:2}: change {change.mean():6.1f}  SD {change.std(ddof=1):5.1f}")
    mri = observe_imaging_and_biomarkers(untreated, pop.parameters, np.random.default_rng(3), obs)["MRI_THICK_MM"]
    change = mri[:, -1] - mri[:, 0]
    index_change = thick[:, -1] - thick[:, 0]
    print(f"\nMRI thickness change at 12 months: {change.mean():.4f} mm, SD {change.std(ddof=1):.4f} mm "
          f"[FORWARD -0.010 mm/y, SD 0.027]; model thickness-index change {index_change.mean():.4f} mm")


if __name__ == "__main__":
    main()
