"""File helpers for lot QC: reading CSV tables with named errors (outputs: :mod:`oasim.io`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from oasim.errors import DataError


def read_csv_table(path: str | Path, required: tuple[str, ...], what: str) -> pd.DataFrame:
    """Read a CSV (``#`` starts a comment) and check it has the ``required`` columns.

    Raises
    ------
    oasim.errors.DataError
        If the file is missing, unreadable or lacks a required column.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, comment="#")
    except FileNotFoundError as exc:
        raise DataError(path, f"{what} file not found") from exc
    except Exception as exc:
        raise DataError(path, f"not a readable CSV ({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(path, f"missing column(s) {missing}; columns are {list(frame.columns)}")
    return frame
