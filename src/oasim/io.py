"""Writing outputs safely: one atomic writer for every folder and file oasim produces.

Rules (issue 11 item 2), shared by every command:

* an output folder that exists and is not empty, or an output file that exists, is refused
  unless ``force`` is given;
* oasim never deletes what it did not create: every folder it writes holds a marker file
  (:data:`MARKER`); ``force`` onto a non-empty folder without the marker is refused too;
* a path that is a file where a folder is wanted (or a folder where a file is wanted), or a
  dangling symbolic link, is refused before any work starts (:func:`check_output_dir`);
* results are written into a hidden sibling ``.<name>.partial.<pid>.<random>`` and renamed
  into place only when complete; partial folders left by killed runs (their process is gone)
  are removed by the next run writing beside them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FieldError

MARKER = ".oasim-output"
"""Name of the marker file inside every folder oasim writes."""

_PARTIAL = re.compile(r"^\..+\.(partial|old)\.(\d+)\.[^.]+$")


@dataclass(frozen=True)
class RunOutput:
    """What a scenario runner wrote (see :mod:`oasim.scenario.loader`), handed back in memory.

    summary : what ``summary.json`` holds (a typed summary or a dict)
    tables : every output table by name (pandas DataFrames)
    provenance : seed, scenario digest, parameter set or system, oasim version
    texts : text blocks of the summary (the experiments' own summaries)
    """

    summary: Any
    tables: dict = field(default_factory=dict, repr=False)
    provenance: dict = field(default_factory=dict)
    texts: tuple[str, ...] = ()


class OutputPathError(FieldError):
    """An output path cannot be written without destroying something (or at all)."""


def _refuse(field: str, path: Path, allowed: str) -> OutputPathError:
    return OutputPathError(field, str(path), allowed)


def check_output_dir(path: str | Path, force: bool = False, field: str = "out") -> Path:
    """Check that ``path`` may receive an output folder; return it as a :class:`Path`.

    Raises
    ------
    OutputPathError
        ``path`` is a file or a dangling link; or a non-empty folder and ``force`` is false;
        or a non-empty folder oasim did not write (no :data:`MARKER`), whatever ``force``.
    """
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise _refuse(field, path, "a folder path (this is a dangling symbolic link)")
    if path.exists() and not path.is_dir():
        raise _refuse(field, path, "a folder path (this is an existing file)")
    if path.is_dir() and any(path.iterdir()):
        if not force:
            raise _refuse(field, path, "a new or empty folder; use --force to replace "
                          "an earlier oasim output folder")
        if not (path / MARKER).is_file():
            raise _refuse(field, path, f"a folder oasim wrote (it has no {MARKER} marker); "
                          "oasim does not delete folders it did not create")
    return path


def check_output_file(path: str | Path, force: bool = False, field: str = "out") -> Path:
    """Check that ``path`` may receive an output file; return it as a :class:`Path`.

    Raises
    ------
    OutputPathError
        ``path`` is a folder or a dangling link, or an existing file and ``force`` is false.
    """
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise _refuse(field, path, "a file path (this is a dangling symbolic link)")
    if path.is_dir():
        raise _refuse(field, path, "a file path (this is a folder)")
    if path.exists() and not force:
        raise _refuse(field, path, "a new file; use --force to replace it")
    return path


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_partials(parent: str | Path) -> list[Path]:
    """Remove hidden partial folders in ``parent`` left by oasim runs whose process is gone.

    Only folders named like oasim's partial folders *and* holding the :data:`MARKER` are
    removed. Returns the removed paths.
    """
    parent = Path(parent)
    removed = []
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        match = _PARTIAL.match(entry.name)
        if (match and entry.is_dir() and not entry.is_symlink() and (entry / MARKER).is_file()
                and not _process_alive(int(match.group(2)))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _sibling(target: Path, kind: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.{kind}.{os.getpid()}.", dir=target.parent))


def _mark(folder: Path) -> None:
    from . import __version__

    (folder / MARKER).write_text(f"written by oasim {__version__}; safe for oasim to replace\n",
                                 encoding="utf-8")


@contextlib.contextmanager
def atomic_output_dir(target: str | Path, force: bool = False, field: str = "out") -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``target``; on success it becomes ``target``.

    ``target`` is checked (:func:`check_output_dir`) before and again just before the
    rename. On error the temporary folder is removed and an existing ``target`` is left as
    it was; an earlier oasim folder is replaced (``force``) only after the new one is complete.
    """
    target = Path(target)
    check_output_dir(target, force, field)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_partials(target.parent)
    tmp = _sibling(target, "partial")
    try:
        _mark(tmp)
        yield tmp
        check_output_dir(target, force, field)
        if target.exists():
            old = _sibling(target, "old")
            _mark(old)
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: str | Path, text: str, force: bool = False, field: str = "out") -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename.

    An existing file is replaced only with ``force`` (see :func:`check_output_file`).
    """
    path = check_output_file(path, force, field)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        check_output_file(path, force, field)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def default_out_dir(name: str, root: str | Path = "results") -> Path:
    """A new folder ``<root>/<name>-<time>`` (suffixed -2, -3 ... if taken)."""
    from datetime import datetime

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(root) / f"{name}-{stamp}"
    k = 1
    while path.exists() or path.is_symlink():
        k += 1
        path = Path(root) / f"{name}-{stamp}-{k}"
    return path
