"""A product lot: its folder layout, its ``lot.toml``, and the attributes the simulation uses.

Lot folder layout (file names are the defaults; ``lot.toml`` may rename them)::

    LOT_FOLDER/
      lot.toml          lot id, potency, flow panel (marker -> file, channel, control),
                        NTA dilution, MISEV items documented elsewhere
      flow/             FCS 3.0/3.1 files: stained tubes and isotype/FMO controls
        gates.xml       optional GatingML 2.0 (with [flow] gating = "gatingml")
      trilineage.csv    stain quantification, induced vs control   (oasim.qc.trilineage)
      nta.csv           size_nm, concentration_particles_per_ml     (oasim.qc.nta)
      bca.csv           BCA standards and exosome sample            (oasim.qc.protein)
      western.csv       Western densitometry per protein and lane   (oasim.qc.protein)

The lot attributes carried into the simulation are particles per µg (NTA particles/mL over
BCA protein µg/mL), the NTA mode size, and the relative potency.

Potency
-------
``potency_relative`` is the lot's potency relative to the reference lot in a bioassay named
in ``potency_assay`` (e.g. ratio of EC50s, reference/lot, for suppression of IL-1β-induced
MMP-13 in chondrocytes; 1.0 = as potent as the reference, 0.5 = half as potent). The model
multiplies the exosome effect parameter (effect per particle) by it, so a dose of a lot acts
like ``potency_relative`` times that many reference particles. It is entered, not computed.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oasim.errors import DataError, FieldError
from oasim.qc.flow import GATING_METHODS, MarkerSpec


@dataclass(frozen=True)
class LotSpec:
    """The parsed ``lot.toml`` of a lot folder.

    Attributes
    ----------
    folder : pathlib.Path
    lot_id : str
    product : str
    potency_relative : float
        Relative potency vs the reference lot (see module docstring) [dimensionless].
    potency_assay : str
    markers : tuple of MarkerSpec
    gating : str
    control_percentile : float
    nta_dilution_factor : float
    files : dict
        Names of ``trilineage``, ``nta``, ``bca``, ``western`` files and the ``flow`` folder.
    misev : dict
        MISEV items documented outside this folder: {item key: evidence text}; an empty or
        ``false`` value means lacking.
    info : dict
        Any other ``[lot]`` keys (donor, passage, dates ...), shown in the report.
    """

    folder: Path
    lot_id: str
    product: str
    potency_relative: float
    potency_assay: str
    markers: tuple[MarkerSpec, ...]
    gating: str
    control_percentile: float
    nta_dilution_factor: float
    files: dict
    misev: dict
    info: dict

    def path(self, key: str) -> Path:
        """Absolute path of one of the lot's files (``"nta"``, ``"flow"`` ...)."""
        return self.folder / self.files[key]


_DEFAULT_FILES = {
    "flow": "flow",
    "trilineage": "trilineage.csv",
    "nta": "nta.csv",
    "bca": "bca.csv",
    "western": "western.csv",
}


def read_lot(folder: str | Path) -> LotSpec:
    """Parse ``FOLDER/lot.toml``.

    Raises
    ------
    oasim.errors.DataError
        If the folder or ``lot.toml`` is missing, not valid TOML, or lacks ``[lot] id``, or a
        marker entry lacks ``file``, ``channel`` or ``control``.
    oasim.errors.FieldError
        If ``potency_relative`` is not > 0 or the gating method is unknown.
    """
    folder = Path(folder)
    path = folder / "lot.toml"
    if not path.is_file():
        raise DataError(path, "lot.toml not found (a lot folder needs one)")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataError(path, f"not valid TOML ({exc})") from exc
    source = str(path)
    lot = dict(_table(doc, "lot", source))
    if "id" not in lot:
        raise DataError(path, "missing [lot] id")
    lot_id = lot.pop("id")
    if not isinstance(lot_id, str) or not LOT_ID_PATTERN.fullmatch(lot_id):
        raise FieldError("lot.id", lot_id, "a string of letters, digits, '_', '.' and '-' that starts with a letter "
                         "or digit (it names the output folder results/qc/<id>)", source=source)
    potency = _number(lot, "potency_relative", 1.0, "lot.potency_relative", POTENCY_MAX, source, lower_open=0.0)
    lot.pop("potency_relative", None)
    flow = _table(doc, "flow", source)
    gating = flow.get("gating", "control_p99")
    if not isinstance(gating, str) or gating not in GATING_METHODS:
        raise FieldError("flow.gating", gating, f"one of {GATING_METHODS}", source=source)
    markers = []
    for marker, entry in _table(flow, "markers", source, "flow.markers").items():
        if not isinstance(entry, dict):
            raise FieldError(f"flow.markers.{marker}", entry, "a table {file, channel, control}", source=source)
        missing = [k for k in ("file", "channel", "control") if k not in entry]
        if missing:
            raise DataError(path, f"[flow.markers.{marker}] lacks {missing}")
        for key in ("file", "channel", "control"):
            if not isinstance(entry[key], str):
                raise FieldError(f"flow.markers.{marker}.{key}", entry[key], "a string", source=source)
        markers.append(MarkerSpec(marker, entry["file"], entry["channel"], entry["control"]))
    files = _table(doc, "files", source)
    for key, value in files.items():
        if not isinstance(value, str):
            raise FieldError(f"files.{key}", value, "a file name relative to the lot folder", source=source)
    return LotSpec(
        folder=folder,
        lot_id=lot_id,
        product=str(lot.pop("product", "exosome")),
        potency_relative=potency,
        potency_assay=str(lot.pop("potency_assay", "not stated")),
        markers=tuple(markers),
        gating=gating,
        control_percentile=_number(flow, "control_percentile", 99.0, "flow.control_percentile", 100.0, source,
                                   lower_open=0.0),
        nta_dilution_factor=_number(_table(doc, "nta", source), "dilution_factor", 1.0, "nta.dilution_factor",
                                    DILUTION_MAX, source, lower_open=0.0),
        files=_DEFAULT_FILES | files,
        misev=dict(_table(doc, "misev", source)),
        info=lot,
    )


LOT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
POTENCY_MAX = 100.0  # assumed: a lot 100x as potent as its reference lot is a data-entry error
DILUTION_MAX = 1e9  # assumed: NTA samples are diluted far less (typically 1e2-1e4-fold); larger is a typo


def _table(doc: dict, key: str, source: str, field: str | None = None) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise FieldError(field or key, value, f"a table ([{field or key}])", source=source)
    return value


def _number(table: dict, key: str, default: float, field: str, upper: float, source: str,
            lower_open: float) -> float:
    """A finite number in (lower_open, upper] from ``table[key]`` (``default`` if absent)."""
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lower_open < value <= upper:
        raise FieldError(field, value, f"a number in ({lower_open:g}, {upper:g}]", source=source)
    return float(value)


@dataclass(frozen=True)
class LotAttributes:
    """What the simulation needs to know about a product lot.

    Parameters
    ----------
    lot_id : str
    particles_per_ug : float
        NTA particles per µg BCA protein [particles/µg]; converts µg-protein doses.
    mode_size_nm : float
        NTA mode size [nm].
    potency_relative : float
        Potency relative to the reference lot; scales the exosome effect parameter.
    """

    lot_id: str
    particles_per_ug: float
    mode_size_nm: float
    potency_relative: float


def load_lot_attributes(lot_folder: str | Path) -> LotAttributes:
    """Read a lot folder's ``lot.toml``, NTA and BCA files into :class:`LotAttributes`.

    Examples
    --------
    >>> lot = load_lot_attributes("examples/lot_demo")          # doctest: +SKIP
    >>> ug_to_particles(10.0, lot)                               # doctest: +SKIP
    """
    from oasim.qc.nta import read_nta
    from oasim.qc.protein import read_bca

    spec = read_lot(lot_folder)
    nta = read_nta(spec.path("nta"), spec.nta_dilution_factor)
    bca = read_bca(spec.path("bca"))
    return LotAttributes(
        lot_id=spec.lot_id,
        particles_per_ug=nta.particles_per_ml / bca.protein_ug_per_ml,
        mode_size_nm=nta.mode_size_nm,
        potency_relative=spec.potency_relative,
    )


def scale_exosome_effect(effect, lot: LotAttributes):
    """Scale an exosome effect parameter (effect per reference particle) by lot potency.

    Parameters
    ----------
    effect : float or array_like
        The model's exosome effect parameter for the reference lot (any unit).
    lot : LotAttributes

    Returns
    -------
    float or numpy.ndarray
        ``effect * lot.potency_relative``, same unit.

    Examples
    --------
    >>> scale_exosome_effect(0.2, LotAttributes("L1", 1.2e10, 110.0, 0.8))
    0.16000000000000003
    """
    scaled = np.asarray(effect, dtype=float) * lot.potency_relative
    return float(scaled) if scaled.ndim == 0 else scaled


def ug_to_particles(dose_ug, lot: LotAttributes):
    """Convert a µg-protein exosome dose to particles with the lot's measured purity.

    Parameters
    ----------
    dose_ug : float or array_like
        Dose as BCA protein [µg], ≥ 0.
    lot : LotAttributes

    Returns
    -------
    float or numpy.ndarray
        Dose in particles.

    Raises
    ------
    oasim.errors.FieldError
        If any dose is negative or not finite.

    Examples
    --------
    >>> ug_to_particles(10.0, LotAttributes("L1", 1.2e10, 110.0, 1.0))
    120000000000.0
    """
    dose = np.asarray(dose_ug, dtype=float)
    if not np.all(np.isfinite(dose)) or np.any(dose < 0):
        raise FieldError("dose_ug", dose_ug, "finite values >= 0")
    particles = dose * lot.particles_per_ug
    return float(particles) if particles.ndim == 0 else particles
