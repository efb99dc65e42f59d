"""Real data standing in for a stage: an in-vitro assay CSV, a toxicity (viability) CSV, a
mouse OARSI CSV, an ADaM folder. A missing or malformed file is a :class:`StageDataError` naming the field, the
file and what the file must hold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import OasimError
from ..experiments import bench
from .scenario import StageDataError

INVITRO_COLUMNS = ("il1b_ng_per_ml", "exosome_per_ml", "readout", "value")
TOXICITY_COLUMNS = ("concentration_per_ml", "viability_pct")
MOUSE_COLUMNS = ("dose_particles", "week", "oarsi")


def _read_csv(path: Path, field: str, columns: tuple[str, ...], numeric: tuple[str, ...]) -> pd.DataFrame:
    need = f"a CSV file with columns {list(columns)}"
    if not path.is_file():
        raise StageDataError(field, str(path), f"{need} (file not found)")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise StageDataError(field, str(path), f"{need} ({type(exc).__name__}: {exc})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StageDataError(field, str(path), f"{need}; missing {missing}, found {list(frame.columns)}")
    for c in numeric:
        values = pd.to_numeric(frame[c], errors="coerce")
        bad = frame.index[values.isna() | ~np.isfinite(values) | (values < 0)]
        if len(bad):
            row = int(bad[0])
            raise StageDataError(field, str(path), f"{need}; column {c} must hold finite numbers >= 0, "
                                                   f"row {row + 2} has {frame[c].iloc[row]!r}")
        frame[c] = values.astype(float)
    return frame


def read_invitro_csv(path: Path, field: str, readout: str, hour: float) -> pd.DataFrame:
    """Wells of an IL-1β assay: il1b_ng_per_ml, exosome_per_ml, readout, value (fold change vs
    the unstimulated control, linear), optional hour — one row per well. Keeps ``readout`` (at
    ``hour`` when the file has hours); needs IL-1β-alone and treated wells."""
    frame = _read_csv(path, field, INVITRO_COLUMNS, ("il1b_ng_per_ml", "exosome_per_ml", "value"))
    if (frame["value"] <= 0).any():
        raise StageDataError(field, str(path), "fold changes > 0 in column value")
    frame = frame[frame["readout"] == readout]
    if "hour" in frame.columns:
        frame = frame[pd.to_numeric(frame["hour"], errors="coerce") == hour]
    if frame.empty:
        raise StageDataError(field, str(path), f"wells of readout {readout}" + (f" at hour {hour:g}" if "hour" in
                                                                                 frame.columns else ""))
    stimulated = frame[(frame["il1b_ng_per_ml"] > 0) & (frame["exosome_per_ml"] == 0)]
    treated = frame[(frame["il1b_ng_per_ml"] > 0) & (frame["exosome_per_ml"] > 0)]
    if stimulated.empty or treated.empty:
        raise StageDataError(field, str(path),
                             "wells with IL-1β alone (exosome_per_ml = 0) and with IL-1β + exosomes")
    return frame


def read_mouse_csv(path: Path, field: str) -> pd.DataFrame:
    """OARSI scores of mice: dose_particles (0 = vehicle), week, oarsi (0-6) — one row per mouse;
    needs vehicle and treated mice, >= 2 each, at the last week."""
    frame = _read_csv(path, field, MOUSE_COLUMNS, MOUSE_COLUMNS)
    if (frame["oarsi"] > 6).any():
        raise StageDataError(field, str(path), "OARSI scores from 0 to 6 in column oarsi")
    last = frame[frame["week"] == frame["week"].max()]
    counts = last.groupby("dose_particles").size()
    if 0.0 not in counts.index or len(counts) < 2 or (counts < 2).any():
        raise StageDataError(field, str(path), "vehicle (dose_particles = 0) and treated mice, >= 2 per dose at the "
                                               f"last week; found mice per dose {counts.to_dict()}")
    return frame[list(MOUSE_COLUMNS)]


def read_toxicity_csv(path: Path, field: str) -> pd.DataFrame:
    """Viability wells: concentration_per_ml (0 = vehicle), viability_pct — one row per well."""
    frame = _read_csv(path, field, TOXICITY_COLUMNS, TOXICITY_COLUMNS)
    counts = frame.groupby("concentration_per_ml").size()
    if 0.0 not in counts.index or len(counts) < 2 or (counts < 2).any():
        raise StageDataError(field, str(path), "vehicle wells (concentration_per_ml = 0) and >= 1 concentration, "
                                               f">= 2 wells each; found wells per concentration {counts.to_dict()}")
    return frame[list(TOXICITY_COLUMNS)]


def toxicity_summary(table: pd.DataFrame, threshold_pct: float, alpha: float = 0.05):
    """(Dunnett table, highest non-toxic concentration, IC50) of viability wells.

    The rule of :func:`oasim.experiments.run_toxicity`, applied to measured wells: viability is
    rescaled to the vehicle mean = 100%; a concentration is non-toxic when its mean is at least
    ``threshold_pct`` and not significantly below vehicle (Dunnett p ≥ ``alpha``), and every lower
    one is too. IC50: log-linear interpolation where the mean crosses 50%.
    """
    conc = sorted(table["concentration_per_ml"].unique())
    groups = {f"{c:.3g}": table.loc[table["concentration_per_ml"] == c, "viability_pct"].to_numpy(float) for c in conc}
    scale = 100.0 / np.mean(groups[f"{0.0:.3g}"])
    groups = {k: v * scale for k, v in groups.items()}
    stats = bench.compare_groups(groups, f"{0.0:.3g}", "dunnett")
    p = dict(zip(stats["group"], stats["p_value"]))
    highest = None
    means = [float(np.mean(groups[f"{c:.3g}"])) for c in conc]
    for c, m in zip(conc[1:], means[1:]):
        if m < threshold_pct or (p.get(f"{c:.3g}", 1.0) < alpha and m < 100.0):
            break
        highest = float(c)
    ic50 = None
    below = [k for k, m in enumerate(means) if m < 50.0]
    if below and below[0] > 0:
        k = below[0]
        x0, x1 = np.log10(max(conc[k - 1], conc[1] / 10)), np.log10(conc[k])
        ic50 = float(10 ** (x0 + (means[k - 1] - 50.0) / (means[k - 1] - means[k]) * (x1 - x0)))
    return stats, highest, ic50


def read_adam_folder(folder: Path, field: str) -> dict[str, pd.DataFrame]:
    """The ADaM datasets of ``folder`` (see :func:`oasim.adam.read_adam_dir`); needs ADSL and a BDS dataset."""
    from ..adam import read_adam_dir

    if not Path(folder).is_dir():
        raise StageDataError(field, str(folder), "a folder of ADaM datasets (ADSL plus a BDS dataset such as ADQS)")
    try:
        tables = read_adam_dir(folder)
    except OasimError as exc:
        raise StageDataError(field, str(folder), f"readable ADaM datasets ({exc})") from None
    if "ADSL" not in tables:
        raise StageDataError(field, str(folder), f"an ADSL dataset; found {sorted(tables)}")
    return tables
