"""File helpers for lot QC: reading CSV tables with named errors, writing outputs atomically."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
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


@contextlib.contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target``.

    The folder is renamed into place only after the ``with`` block finishes without error,
    so ``target`` never holds half-written results. On error the temporary folder is
    removed and an existing ``target`` is left untouched.
    """
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rename(target, old / target.name)
    os.rename(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
