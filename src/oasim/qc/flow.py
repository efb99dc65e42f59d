"""Flow cytometry of an MSC lot: read FCS files, compensate, gate, % positive per marker.

Files are read with flowkit (which parses with flowio); nothing here parses FCS bytes. A
spillover matrix found in the file (``$SPILLOVER`` or ``SPILL``) is applied with flowkit's
:class:`flowkit.Matrix`. Each marker is gated either

* ``"control_p99"`` (default): positive = above the given percentile (99th) of the same
  channel in the marker's isotype/FMO control, or
* ``"gatingml"``: by the GatingML 2.0 gate whose id is the marker name (e.g. ``CD73``) in
  ``flow/gates.xml``; % positive is relative to the gate's parent (e.g. a scatter gate).

Not done here: automatic scatter/doublet gating (put such gates in the GatingML file),
spectral unmixing, transforms (thresholds work on compensated linear values).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from oasim.errors import DataError
from oasim.extras import require
from oasim.qc.criteria import CONTROL_PERCENTILE

GATING_METHODS = ("control_p99", "gatingml")


@dataclass(frozen=True, eq=False)
class FcsData:
    """The events of one FCS file, compensated when the file carries a spillover matrix.

    Parameters
    ----------
    path : pathlib.Path
        File read.
    version : str
        FCS version from the header, e.g. ``"3.1"``.
    event_count : int
        Number of events ($TOT).
    channels : tuple of str
        $PnN channel names, in file order.
    labels : tuple of str
        $PnS stain labels (``""`` where absent).
    events : numpy.ndarray
        (event_count, n_channels) float array; compensated where ``compensated``.
    spillover : str or None
        The spillover keyword text, if any.
    """

    path: Path
    version: str
    event_count: int
    channels: tuple[str, ...]
    labels: tuple[str, ...]
    events: np.ndarray = field(repr=False)
    spillover: str | None = field(default=None, repr=False)
    sample: object = field(default=None, repr=False)

    @property
    def compensated(self) -> bool:
        """True when a spillover matrix from the file was applied."""
        return self.spillover is not None

    def channel(self, name: str) -> np.ndarray:
        """Events of one channel by $PnN name.

        Raises
        ------
        oasim.errors.DataError
            If the file has no such channel.
        """
        if name not in self.channels:
            raise DataError(
                self.path, f"channel {name!r} not found; channels are {', '.join(self.channels)}"
            )
        return self.events[:, self.channels.index(name)]


def read_fcs(path: str | Path, compensate: bool = True) -> FcsData:
    """Read an FCS 3.0/3.1 file with flowkit and apply its spillover matrix.

    Parameters
    ----------
    path : str or pathlib.Path
        The FCS file.
    compensate : bool, default True
        Apply the file's spillover matrix when one is present.

    Returns
    -------
    FcsData

    Raises
    ------
    oasim.errors.DataError
        If the file is missing, truncated or otherwise unreadable, its spillover matrix
        names channels the file lacks, or an event value is non-finite or outside the channel's
        range (see :func:`_check_event_values`).
    """
    fk = require("flowkit", "reading FCS files")  # imported here: flowkit takes ~1 s to import

    path = Path(path)
    if not path.is_file():
        raise DataError(path, "FCS file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sample = fk.Sample(str(path))
    except Exception as exc:  # flowio/flowkit raise several types for broken files
        raise DataError(path, f"not a readable FCS file ({type(exc).__name__}: {exc})") from exc
    meta = sample.get_metadata()
    _check_event_values(path, sample, meta)
    spill = meta.get("spillover") or meta.get("spill")
    if spill and compensate:
        try:
            parts = spill.split(",")
            detectors = [p.strip() for p in parts[1 : 1 + int(parts[0])]]
            sample.apply_compensation(fk.Matrix(spill, detectors))
        except Exception as exc:
            raise DataError(path, f"spillover matrix cannot be applied ({exc})") from exc
        events = sample.get_events(source="comp")
    else:
        spill = None
        events = sample.get_events(source="raw")
    return FcsData(
        path=path,
        version=str(sample.version),
        event_count=int(sample.event_count),
        channels=tuple(sample.pnn_labels),
        labels=tuple(label or "" for label in sample.pns_labels),
        events=np.asarray(events, dtype=float),
        spillover=spill,
        sample=sample,
    )


def _check_event_values(path: Path, sample, meta: dict) -> None:
    """Every raw event value must be finite and within ``[-$PnR, $PnR]`` of its channel.

    ``$PnR`` is the channel's range (the detector's maximum); negative values down to ``-$PnR``
    are accepted because baseline-subtracted float data (e.g. FACSDiva) go below zero.
    """
    raw = np.asarray(sample.get_events(source="raw"), dtype=float)
    for j, name in enumerate(sample.pnn_labels):
        column = raw[:, j]
        bad = ~np.isfinite(column)
        if bad.any():
            raise DataError(path, f"channel {name!r}: {int(bad.sum())} of {column.size} event values are "
                                  f"not finite (NaN or infinite); allowed finite values")
        try:
            limit = float(meta.get(f"p{j + 1}r", "inf"))
        except ValueError:
            raise DataError(path, f"channel {name!r}: $P{j + 1}R = {meta.get(f'p{j + 1}r')!r} is not a number") from None
        out = np.abs(column) > limit
        if out.any():
            raise DataError(path, f"channel {name!r}: {int(out.sum())} of {column.size} event values outside "
                                  f"[-{limit:g}, {limit:g}] (its $P{j + 1}R range), e.g. {column[out][0]:g}")


@dataclass(frozen=True)
class MarkerSpec:
    """Where one marker was measured.

    Parameters
    ----------
    marker : str
        CD name, e.g. ``"CD105"`` or ``"HLA-DR"``.
    file : str
        Stained-sample FCS file, relative to the lot's ``flow/`` folder.
    channel : str
        $PnN of the detector carrying the marker's fluorochrome.
    control : str
        Isotype or FMO control FCS file for the same channel.
    """

    marker: str
    file: str
    channel: str
    control: str


@dataclass(frozen=True, eq=False)
class MarkerMeasurement:
    """% positive for one marker, with the events kept for plotting.

    ``threshold`` is the gate's lower edge on the marker channel [compensated intensity]
    (``nan`` for GatingML gates that are not a single lower edge).
    """

    spec: MarkerSpec
    percent_positive: float
    threshold: float
    n_events: int
    method: str
    stained: np.ndarray = field(repr=False)
    control: np.ndarray = field(repr=False)


def positive_percent(stained: np.ndarray, threshold: float) -> float:
    """Percent of events strictly above ``threshold``.

    Examples
    --------
    >>> positive_percent(np.array([1.0, 2.0, 3.0, 4.0]), 2.0)
    50.0
    """
    return float(100.0 * np.mean(np.asarray(stained) > threshold))


def _gatingml_percent(fcs: FcsData, gates_path: Path, gate_id: str) -> tuple[float, float]:
    fk = require("flowkit", "Gating-ML gates")

    try:
        strategy = fk.parse_gating_xml(str(gates_path))
    except Exception as exc:
        raise DataError(gates_path, f"not a readable GatingML 2.0 file ({exc})") from exc
    if gate_id not in {name for name, _ in strategy.get_gate_ids()}:
        raise DataError(gates_path, f"no gate with id {gate_id!r}")
    try:
        result = strategy.gate_sample(fcs.sample)
    except Exception as exc:
        raise DataError(fcs.path, f"GatingML gate {gate_id!r} cannot be applied ({exc})") from exc
    gate = strategy.get_gate(gate_id)
    lows = [d.min for d in getattr(gate, "dimensions", []) if getattr(d, "min", None) is not None]
    threshold = float(lows[0]) if len(lows) == 1 else float("nan")
    return float(result.get_gate_relative_percent(gate_id)), threshold


def measure_markers(
    flow_dir: str | Path,
    specs: Sequence[MarkerSpec],
    gating: str = "control_p99",
    control_percentile: float = CONTROL_PERCENTILE.value,
) -> tuple[MarkerMeasurement, ...]:
    """Gate every marker of a lot and return its % positive.

    Parameters
    ----------
    flow_dir : str or pathlib.Path
        The lot's ``flow/`` folder holding the FCS files (and ``gates.xml`` for GatingML).
    specs : sequence of MarkerSpec
        One entry per marker.
    gating : {"control_p99", "gatingml"}
        Gating method (see module docstring).
    control_percentile : float
        Control percentile that sets the threshold [%], used by ``"control_p99"``.

    Returns
    -------
    tuple of MarkerMeasurement

    Raises
    ------
    oasim.errors.DataError
        On unreadable files, missing channels or a missing gate.
    """
    if gating not in GATING_METHODS:
        raise DataError(flow_dir, f"gating {gating!r} unknown; allowed {GATING_METHODS}")
    flow_dir = Path(flow_dir)
    cache: dict[str, FcsData] = {}

    def load(name: str) -> FcsData:
        if name not in cache:
            cache[name] = read_fcs(flow_dir / name)
        return cache[name]

    measurements = []
    for spec in specs:
        stained_fcs = load(spec.file)
        stained = stained_fcs.channel(spec.channel)
        control = load(spec.control).channel(spec.channel)
        if gating == "gatingml":
            percent, threshold = _gatingml_percent(stained_fcs, flow_dir / "gates.xml", spec.marker)
        else:
            threshold = float(np.percentile(control, control_percentile))
            percent = positive_percent(stained, threshold)
        measurements.append(
            MarkerMeasurement(
                spec=spec,
                percent_positive=percent,
                threshold=threshold,
                n_events=int(stained.size),
                method=gating,
                stained=stained,
                control=control,
            )
        )
    return tuple(measurements)
