"""Uploaded lot archives: zip-slip, links, bombs, counts, types and layout are refused."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest

from oasim.dashboard import uploads
from oasim.dashboard.uploads import UploadError, extract_lot_zip

LOT = Path(__file__).resolve().parents[2] / "examples" / "lot_demo"


def zipped(entries: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def lot_zip(prefix: str = "lot_demo/") -> bytes:
    return zipped({prefix + str(p.relative_to(LOT)): p.read_bytes() for p in sorted(LOT.rglob("*")) if p.is_file()})


def test_the_demo_lot_extracts(tmp_path):
    folder = extract_lot_zip(lot_zip(), tmp_path)
    assert folder == tmp_path / "lot_demo"
    assert sorted(p.name for p in (folder / "flow").iterdir()) == sorted(p.name for p in (LOT / "flow").iterdir())
    assert (folder / "nta.csv").read_bytes() == (LOT / "nta.csv").read_bytes()


@pytest.mark.parametrize("name", ["../evil.csv", "/abs/evil.csv", "a/../../evil.csv", "c:evil.csv", "a\\..\\evil.csv"])
def test_zip_slip_names_are_refused(tmp_path, name):
    with pytest.raises(UploadError, match="relative name"):
        extract_lot_zip(zipped({"lot.toml": b"", name: b"x"}), tmp_path / "x")
    assert not (tmp_path / "evil.csv").exists()


def test_links_types_and_layout_are_refused(tmp_path):
    with pytest.raises(UploadError, match="symbolic links"):
        extract_lot_zip(zipped({"lot.toml": b""}, links=("flow/link.fcs",)), tmp_path / "a")
    with pytest.raises(UploadError, match="a file of type"):
        extract_lot_zip(zipped({"lot.toml": b"", "run.py": b"import os"}), tmp_path / "b")
    with pytest.raises(UploadError, match="exactly one lot.toml"):
        extract_lot_zip(zipped({"nta.csv": b"1"}), tmp_path / "c")
    with pytest.raises(UploadError, match="zip archive"):
        extract_lot_zip(b"not a zip", tmp_path / "d")


def test_bombs_and_counts_are_refused(tmp_path, monkeypatch):
    with pytest.raises(UploadError, match="compressed size"):
        extract_lot_zip(zipped({"lot.toml": b"", "nta.csv": b"0" * (5 * 1024 * 1024)}), tmp_path / "a")
    monkeypatch.setattr(uploads, "MAX_ENTRIES", 3)
    with pytest.raises(UploadError, match="at most 3 entries"):
        extract_lot_zip(zipped({f"{k}.csv": b"1" for k in range(4)}), tmp_path / "b")
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(UploadError, match="at most 10 bytes"):
        extract_lot_zip(lot_zip(), tmp_path / "c")
