"""Write ``power_replicates_main.csv``: replicate tables of ``simulate_power`` pinned from main.

Regenerated on purpose each time ``human_calibrated`` (the examples' parameter set) was refitted
(session 23; session 24, six-SD random effects; session 25, the table with Lamo-Espinosa 2016; session 26, within-arm sampling correlation and the plateau of relief; session 27, the treatment-effect random effect without tau_arm), each time after checking the pins pass with the
old set; first regenerated after the power speed-up had been checked equal to these pins (merge 722987e, all 9
pinned tests passing with the old set). First generated once at commit 03a127e (before the power-run speed-up of issue 16, item 5) with
``PYTHONPATH=src python tests/trial/data/make_power_replicates.py``; the test
``tests/trial/test_power_pinned.py`` recomputes the same cases and requires equal tables
(floats written with 17 significant digits, which round-trip exactly). Do not regenerate it to
make that test pass: a difference means a change altered the simulated numbers.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[3]
OUT = Path(__file__).with_name("power_replicates_main.csv")


def cases() -> dict[str, tuple[dict, int]]:
    """Case name -> (scenario dict, number of replicates)."""
    example = tomllib.loads((ROOT / "examples" / "hucmsc_exosome_trial.toml").read_text())
    parallel = tomllib.loads((ROOT / "examples" / "parallel_msc_vs_ha_trial.toml").read_text())
    stopping = tomllib.loads((ROOT / "examples" / "hucmsc_exosome_trial.toml").read_text())
    # a stricter review (grade >= 2, no DLT allowed) and more dropout: cohorts stop early
    stopping["design"]["safety_review"].update(max_dlt_per_cohort=0, dlt_min_grade=2)
    stopping["dropout"]["rate_per_year"] = 0.5
    heavy_dropout = tomllib.loads((ROOT / "examples" / "hucmsc_exosome_trial.toml").read_text())
    # most subjects gone by month 6: some arms without data (NaN rows) or no ANCOVA at all
    heavy_dropout["dropout"]["rate_per_year"] = 2.0
    return {"example": (example, 12), "parallel": (parallel, 4), "stopping": (stopping, 8),
            "heavy_dropout": (heavy_dropout, 8)}


def replicates(data: dict, n: int) -> pd.DataFrame:
    from oasim.scenario import Scenario
    from oasim.trial.power import simulate_power

    return simulate_power(Scenario.from_dict(data), n, chunk_size=4).replicates


def main() -> None:
    frames = [replicates(data, n).assign(case=name) for name, (data, n) in cases().items()]
    pd.concat(frames, ignore_index=True).to_csv(OUT, index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
