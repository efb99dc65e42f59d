"""The version lives in one place (pyproject.toml) and CHANGELOG.md's latest release says it:
``oasim.__version__``, ``[project] version`` and the first ``## [X.Y.Z] - YYYY-MM-DD`` heading
agree, and the changelog keeps the Keep-a-Changelog shape the docs page includes."""

from __future__ import annotations

import re
import tomllib
from datetime import date

import oasim

from .conftest import REPO

RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", re.M)


def _changelog() -> str:
    return (REPO / "CHANGELOG.md").read_text("utf-8")


def test_version_matches_latest_release_heading():
    releases = RELEASE.findall(_changelog())
    assert releases, "CHANGELOG.md has no '## [X.Y.Z] - YYYY-MM-DD' release heading"
    latest, _ = releases[0]
    declared = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    assert declared == latest, f"pyproject.toml says {declared}, CHANGELOG.md's latest release {latest}"
    assert oasim.__version__ == latest, (
        f"oasim.__version__ is {oasim.__version__} (installed metadata), CHANGELOG.md says {latest}: reinstall")


def test_release_headings_descend_and_unreleased_comes_first():
    text = _changelog()
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[0] == "[Unreleased]"
    releases = RELEASE.findall(text)
    versions = [tuple(int(x) for x in v.split(".")) for v, _ in releases]
    assert versions == sorted(versions, reverse=True) and len(set(versions)) == len(versions)
    dates = [date.fromisoformat(d) for _, d in releases]
    assert dates == sorted(dates, reverse=True)
    for section in re.findall(r"^### (.+)$", text, re.M):
        assert section.split(":")[0] in ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"), section
