"""Shared pieces of the trial-statistics results: input checks, hashing and printed tables.

Every public analysis function in :mod:`oasim.analysis` checks its columns with
:func:`require_columns`, fingerprints its inputs with :func:`inputs_hash` and returns a frozen
dataclass whose ``summary()`` is a :class:`ResultSummary` (printable, ``_repr_html_``) built by
:func:`make_summary`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from oasim.errors import FieldError, OasimError


class ConvergenceError(OasimError):
    """An iterative fit (REML, logistic regression, non-linear least squares) did not converge."""


def require_columns(df: pd.DataFrame, columns: Iterable[str | None], table: str = "df") -> None:
    """Raise :class:`FieldError` naming the first column of ``columns`` missing from ``df``.

    ``None`` entries (optional columns not requested) are skipped.
    """
    if not isinstance(df, pd.DataFrame):
        raise FieldError(table, type(df).__name__, "a pandas DataFrame")
    present = set(df.columns)
    for column in columns:
        if column is not None and column not in present:
            raise FieldError(f"{table}.{column}", None, f"a column of {table}; have {sorted(map(str, present))}")


def require_levels(df: pd.DataFrame, column: str, needed: Iterable[object], table: str = "df") -> None:
    """Raise :class:`FieldError` if a needed level (e.g. the control arm) is absent from ``column``."""
    levels = set(pd.unique(df[column].dropna()))
    for level in needed:
        if level not in levels:
            raise FieldError(f"{table}.{column}", level, f"one of {sorted(map(str, levels))}")


def level_text(alpha: float) -> str:
    """The two-sided confidence level ``1 - alpha`` as a label prefix: 0.05 → ``"95%"``,
    0.1 → ``"90%"``, 0.025 → ``"97.5%"`` (no rounding to whole percent)."""
    if not 0 < alpha < 1:
        raise FieldError("alpha", alpha, "0 < alpha < 1")
    return f"{100 * (1 - alpha):g}%"


def inputs_hash(df: pd.DataFrame, columns: Iterable[str | None] = (), **settings: object) -> str:
    """SHA-256 fingerprint of the analysed columns (values and order) and the analysis settings.

    Parameters
    ----------
    df : DataFrame
        Input table.
    columns : iterable of str
        Columns that enter the analysis; ``None`` entries are ignored. Empty means all columns.
    **settings
        Options of the analysis (response name, control arm, method ...); JSON-serialised with
        ``str`` as fallback.

    Returns
    -------
    str
        64 hexadecimal characters.
    """
    wanted = [c for c in columns if c is not None] or list(df.columns)
    digest = hashlib.sha256()
    digest.update(json.dumps(list(map(str, wanted))).encode())
    row_hashes = pd.util.hash_pandas_object(df[wanted], index=False).to_numpy()
    digest.update(np.ascontiguousarray(row_hashes).tobytes())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class ResultSummary:
    """A printed results table, in the spirit of :class:`statsmodels.iolib.summary.Summary`.

    ``str()`` gives fixed-width text, ``_repr_html_()`` HTML for notebooks and reports.
    """

    title: str
    info: tuple[tuple[str, str], ...]
    tables: tuple[tuple[str, pd.DataFrame], ...]
    float_format: str = "{:.4f}"

    def _formatter(self, value: object) -> str:
        return self.float_format.format(value) if isinstance(value, float) else str(value)

    def __str__(self) -> str:
        blocks = [self.title, "=" * max(len(self.title), 40)]
        blocks += [f"{key:<16} {value}" for key, value in self.info]
        for section, frame in self.tables:
            text = frame.to_string(float_format=self._formatter) if len(frame) else "(empty)"
            blocks += ["", section, "-" * max(len(section), 20), text]
        return "\n".join(blocks)

    def __repr__(self) -> str:
        return str(self)

    def as_text(self) -> str:
        """Same as ``str(summary)`` (statsmodels' ``Summary.as_text``)."""
        return str(self)

    def _repr_html_(self) -> str:
        info = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in self.info)
        parts = [f"<h4>{self.title}</h4>", f"<table>{info}</table>"]
        for section, frame in self.tables:
            parts += [f"<h5>{section}</h5>", frame.to_html(float_format=self._formatter)]
        return "\n".join(parts)


def make_summary(
    title: str,
    tables: Mapping[str, pd.DataFrame],
    info: Mapping[str, object] | None = None,
    float_format: str = "{:.4f}",
) -> ResultSummary:
    """Build a printable :class:`ResultSummary` from titled frames.

    Parameters
    ----------
    title : str
        Title line.
    tables : mapping of str to DataFrame
        Section title -> table, printed in order.
    info : mapping, optional
        Key/value facts printed first (n, method, hash ...).
    float_format : str
        ``str.format`` pattern for floats.
    """
    return ResultSummary(
        title=title,
        info=tuple((str(k), str(v)) for k, v in (info or {}).items()),
        tables=tuple((str(k), v) for k, v in tables.items()),
        float_format=float_format,
    )
