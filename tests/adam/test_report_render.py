"""The analysis report renders in headless Chromium: every numbered table and figure is in the
DOM, and the screenshot is not blank (slow: starts a browser)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from oasim.adam import AnalysisSpec, analyse_adam, read_adam_dir
from oasim.adam.report import write_outputs

PILOT = Path(__file__).parent / "data" / "cdiscpilot"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("no headless Chromium on PATH (apt-get install -y chromium)")


@pytest.mark.slow
def test_pilot_report_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    result = analyse_adam(read_adam_dir(PILOT), AnalysisSpec(
        paramcd="ACTOT", visits=("Week 8", "Week 16", "Week 24"), population="EFFFL", where=(("ANL01FL", "Y"),),
        covariates=("SITEGR1",), trend="TRTPN"))
    out = write_outputs(result, tmp_path / "out", str(PILOT))
    url = (out / "report.html").resolve().as_uri()
    browser = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*browser, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    n_tables = dom.count('class="tbl"')
    n_figures = dom.count("<figure")
    assert n_tables >= 8 and n_figures >= 3, (n_tables, n_figures)
    assert "Forest plot" in dom and "Overview of treatment-emergent adverse events" in dom
    png = tmp_path / "report.png"
    subprocess.run([*browser, "--window-size=1200,4000", f"--screenshot={png}", url], capture_output=True,
                   timeout=120, check=True)
    pixels = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert pixels.shape == (4000, 1200) and pixels.std() > 10  # text, tables and figures, not a blank page
