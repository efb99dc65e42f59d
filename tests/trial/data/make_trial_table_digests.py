"""Write ``trial_table_digests_main.json``: a SHA-256 per table of one full trial, from main.

Regenerated on purpose each time ``human_calibrated`` (the examples' parameter set) was refitted
(session 23; session 24, six-SD random effects; session 25, the table with Lamo-Espinosa 2016; session 26, within-arm sampling correlation and the plateau of relief; session 27, the treatment-effect random effect without tau_arm), each time after checking the pins pass with the
old set; first regenerated after the power speed-up had been checked equal to these pins (merge 722987e, all 9
pinned tests passing with the old set). First generated from commit 03a127e (before the power-run speed-up of issue 16, item 5), with that
commit's ``src`` first on ``PYTHONPATH``, by ``python tests/trial/data/make_trial_table_digests.py``:
the trial's records and every table of ``from_trial_run(conduct_trial(scenario)).unblind()`` (the
``oasim run`` route) for the two example trials. ``tests/trial/test_power_pinned.py`` recomputes them: the speed-up must not change
``oasim run``'s tables (values, column names and order, dtypes, row order).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[3]
OUT = Path(__file__).with_name("trial_table_digests_main.json")
EXAMPLES = ("hucmsc_exosome_trial", "parallel_msc_vs_ha_trial")


def table_digest(df: pd.DataFrame) -> str:
    """SHA-256 of the column names, dtypes and every row (pandas' row hashes, index included)."""
    digest = hashlib.sha256(json.dumps([[str(c), str(t)] for c, t in df.dtypes.items()]).encode())
    digest.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return digest.hexdigest()


def digests(example: str) -> dict[str, str]:
    from oasim.data import from_trial_run
    from oasim.scenario import Scenario
    from oasim.trial.conduct import conduct_trial

    run = conduct_trial(Scenario.from_toml(ROOT / "examples" / f"{example}.toml"))
    ds = from_trial_run(run).unblind()
    tables = {name: table_digest(df) for name, df in ds.tables.items()}
    records = {f"run.{name}": table_digest(getattr(run, name))
               for name in ("subjects", "observations", "adverse_events", "exposure")}
    return tables | {"randomisation": table_digest(ds.randomisation)} | records


def main() -> None:
    OUT.write_text(json.dumps({name: digests(name) for name in EXAMPLES}, indent=1) + "\n")


if __name__ == "__main__":
    main()
