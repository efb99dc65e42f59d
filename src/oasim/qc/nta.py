"""Nanoparticle tracking analysis (NTA): size distribution → exosome size statistics.

Input is a CSV export with one row per size bin: ``size_nm`` (bin centre) and
``concentration_particles_per_ml`` (particles per mL of the *measured*, i.e. diluted, sample
in that bin). NanoSight's column names ``Bin centre (nm)`` and ``Concentration (particles /
ml)`` are accepted too. Bins may have any widths: bin edges are the midpoints between
neighbouring centres, the outer edges lie half a neighbouring width beyond the end centres,
and particles are taken as uniform within a bin. So D10/D50/D90 are read off the linearly
interpolated cumulative distribution, and the share in 30-150 nm counts partial bins
pro rata.

Not done here: averaging replicate videos (export the averaged distribution), or
instrument-specific detection-limit corrections.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from oasim.errors import DataError
from oasim.qc.criteria import EXOSOME_SIZE_MAX_NM, EXOSOME_SIZE_MIN_NM
from oasim.qc.files import read_csv_table

_SIZE_NAMES = ("size_nm", "bin centre (nm)", "bin center (nm)", "size (nm)")
_CONC_NAMES = (
    "concentration_particles_per_ml",
    "concentration (particles / ml)",
    "concentration (particles/ml)",
)


@dataclass(frozen=True, eq=False)
class NtaResult:
    """Size statistics of one NTA distribution.

    Attributes
    ----------
    mode_size_nm, mean_size_nm, d10_nm, d50_nm, d90_nm : float
        Mode (centre of the most populated bin), number-weighted mean, and 10/50/90 %
        points of the cumulative number distribution [nm].
    percent_in_30_150_nm : float
        Share of particles between 30 and 150 nm [%].
    particles_per_ml : float
        Total concentration of the undiluted sample [particles/mL].
    dilution_factor : float
        Factor the measured concentrations were multiplied by.
    distribution : pandas.DataFrame
        ``size_nm``, ``concentration_particles_per_ml`` (undiluted) per bin.
    """

    mode_size_nm: float
    mean_size_nm: float
    d10_nm: float
    d50_nm: float
    d90_nm: float
    percent_in_30_150_nm: float
    particles_per_ml: float
    dilution_factor: float = 1.0
    distribution: pd.DataFrame = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One-row table of the statistics."""
        keys = [k for k in self.__dataclass_fields__ if k != "distribution"]
        return pd.DataFrame([{k: getattr(self, k) for k in keys}])

    def summary(self) -> str:
        """Plain-text statistics."""
        return (
            f"NTA: mode {self.mode_size_nm:.1f} nm, mean {self.mean_size_nm:.1f} nm, "
            f"D10/D50/D90 {self.d10_nm:.1f}/{self.d50_nm:.1f}/{self.d90_nm:.1f} nm, "
            f"{self.percent_in_30_150_nm:.1f}% in 30-150 nm, "
            f"{self.particles_per_ml:.3g} particles/mL"
        )


def _bin_edges(size_nm: np.ndarray) -> np.ndarray:
    if size_nm.size == 1:
        return np.array([size_nm[0] * 0.5, size_nm[0] * 1.5])
    mid = 0.5 * (size_nm[1:] + size_nm[:-1])
    first = size_nm[0] - (mid[0] - size_nm[0])
    last = size_nm[-1] + (size_nm[-1] - mid[-1])
    return np.concatenate([[max(first, 0.0)], mid, [last]])


def size_statistics(
    size_nm: np.ndarray, concentration: np.ndarray, dilution_factor: float = 1.0
) -> NtaResult:
    """Compute NTA statistics from bin centres and per-bin concentrations.

    Parameters
    ----------
    size_nm : array_like
        Bin centres, strictly increasing, > 0 [nm].
    concentration : array_like
        Particles per mL of the measured sample in each bin, ≥ 0 [particles/mL].
    dilution_factor : float, default 1
        Measured sample = original / ``dilution_factor``.

    Returns
    -------
    NtaResult

    Examples
    --------
    >>> r = size_statistics(np.array([50., 100., 150., 200.]), np.array([1., 2., 1., 0.]))
    >>> r.mode_size_nm, r.mean_size_nm, r.d10_nm, r.d50_nm, r.d90_nm, r.percent_in_30_150_nm
    (100.0, 100.0, 45.0, 100.0, 155.0, 85.0)
    """
    size_nm = np.asarray(size_nm, dtype=float)
    conc = np.asarray(concentration, dtype=float) * dilution_factor
    total = conc.sum()
    edges = _bin_edges(size_nm)
    cdf = np.concatenate([[0.0], np.cumsum(conc) / total])

    def quantile(q: float) -> float:
        # first edge where the cumulative share reaches q, interpolated inside its bin
        i = int(np.searchsorted(cdf, q, side="left"))
        i = min(max(i, 1), len(cdf) - 1)
        lo, hi = cdf[i - 1], cdf[i]
        frac = 0.0 if hi == lo else (q - lo) / (hi - lo)
        return float(edges[i - 1] + frac * (edges[i] - edges[i - 1]))

    overlap = np.clip(
        np.minimum(edges[1:], EXOSOME_SIZE_MAX_NM) - np.maximum(edges[:-1], EXOSOME_SIZE_MIN_NM),
        0.0,
        None,
    )
    in_range = float(np.sum(conc * overlap / np.diff(edges)) / total)
    return NtaResult(
        mode_size_nm=float(size_nm[int(np.argmax(conc))]),
        mean_size_nm=float(np.sum(size_nm * conc) / total),
        d10_nm=quantile(0.10),
        d50_nm=quantile(0.50),
        d90_nm=quantile(0.90),
        percent_in_30_150_nm=100.0 * in_range,
        particles_per_ml=float(total),
        dilution_factor=float(dilution_factor),
        distribution=pd.DataFrame({"size_nm": size_nm, "concentration_particles_per_ml": conc}),
    )


def _column(frame: pd.DataFrame, names: tuple[str, ...], path: Path) -> pd.Series:
    lookup = {str(c).strip().lower(): c for c in frame.columns}
    for name in names:
        if name in lookup:
            return pd.to_numeric(frame[lookup[name]], errors="coerce")
    raise DataError(path, f"missing column {names[0]!r}; columns are {list(frame.columns)}")


def read_nta(path: str | Path, dilution_factor: float = 1.0) -> NtaResult:
    """Read an NTA size-distribution CSV and compute its statistics.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV with ``size_nm`` and ``concentration_particles_per_ml`` columns.
    dilution_factor : float, default 1
        Dilution of the measured sample; concentrations are multiplied by it.

    Returns
    -------
    NtaResult

    Raises
    ------
    oasim.errors.DataError
        Missing file or column, non-numeric, negative or non-increasing sizes, negative
        concentrations, or no particles at all.
    """
    path = Path(path)
    frame = read_csv_table(path, (), "NTA")
    size = _column(frame, _SIZE_NAMES, path).to_numpy()
    conc = _column(frame, _CONC_NAMES, path).to_numpy()
    if size.size == 0:
        raise DataError(path, "no size bins")
    if np.isnan(size).any() or np.isnan(conc).any():
        raise DataError(path, "non-numeric or empty size/concentration values")
    if (size <= 0).any():
        raise DataError(path, f"sizes must be > 0 nm; found {size[size <= 0][:3].tolist()}")
    if (np.diff(size) <= 0).any():
        raise DataError(path, "sizes must be strictly increasing")
    if (conc < 0).any():
        raise DataError(path, "concentrations must be >= 0")
    if conc.sum() <= 0:
        raise DataError(path, "total concentration is zero")
    if not dilution_factor > 0:
        raise DataError(path, f"dilution factor must be > 0, got {dilution_factor}")
    return size_statistics(size, conc, dilution_factor)
