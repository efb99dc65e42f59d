"""Checked extraction of an uploaded zip (a QC lot folder) into a folder the server made.

Refused, each with :class:`UploadError` naming the entry, value and limit: archives larger than
:data:`MAX_UPLOAD_BYTES`; more than :data:`MAX_ENTRIES` entries; absolute names, ``..`` parts,
backslashes or drive letters (zip-slip); symbolic links; entries or a total that expand beyond
:data:`MAX_ENTRY_BYTES` / :data:`MAX_TOTAL_BYTES` or by more than :data:`MAX_RATIO` (zip bombs;
sizes are counted while reading, not taken from the archive's headers); files of other types
than a lot folder holds; and archives without exactly one ``lot.toml``.
"""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path, PurePosixPath

from ..errors import FieldError

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ENTRIES = 200
MAX_ENTRY_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 100 * 1024 * 1024
MAX_RATIO = 200
ALLOWED_SUFFIXES = frozenset({".toml", ".csv", ".fcs", ".xml", ".md", ".txt", ".json"})
_CHUNK = 64 * 1024


class UploadError(FieldError):
    """An uploaded archive is refused (size, entry name, type or content)."""


def _check_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if (not name or name.startswith("/") or "\\" in name or ":" in name or any(p in ("..", "") for p in path.parts)
            or "\x00" in name):
        raise UploadError("upload.entry", name, "a relative name inside the archive (no '/', '..', '\\' or drive)")
    return path


def extract_lot_zip(data: bytes, dest: Path) -> Path:
    """Extract ``data`` (a zip) into the empty folder ``dest``; return the folder holding lot.toml."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError("upload", f"{len(data)} bytes", f"at most {MAX_UPLOAD_BYTES} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise UploadError("upload", f"{len(data)} bytes", "a zip archive of a lot folder") from None
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise UploadError("upload.entries", len(entries), f"at most {MAX_ENTRIES} entries")
    dest = Path(dest)
    total = 0
    lots = []
    for info in entries:
        path = _check_name(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UploadError("upload.entry", info.filename, "a regular file (no symbolic links)")
        if info.is_dir():
            continue
        if path.suffix.lower() not in ALLOWED_SUFFIXES:
            raise UploadError("upload.entry", info.filename, f"a file of type {', '.join(sorted(ALLOWED_SUFFIXES))}")
        target = dest.joinpath(*path.parts)
        if dest.resolve() not in target.resolve().parents:
            raise UploadError("upload.entry", info.filename, "a name inside the extraction folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        with archive.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                size += len(chunk)
                total += len(chunk)
                if size > MAX_ENTRY_BYTES or size > MAX_RATIO * max(info.compress_size, 1) + _CHUNK:
                    raise UploadError("upload.entry", info.filename,
                                      f"at most {MAX_ENTRY_BYTES} bytes and {MAX_RATIO}x its compressed size")
                if total > MAX_TOTAL_BYTES:
                    raise UploadError("upload", f"> {MAX_TOTAL_BYTES} bytes expanded", f"at most {MAX_TOTAL_BYTES} bytes")
                out.write(chunk)
        if path.name == "lot.toml":
            lots.append(target.parent)
    if len(lots) != 1:
        raise UploadError("upload", f"{len(lots)} lot.toml files", "exactly one lot.toml (a zipped lot folder)")
    return lots[0]
