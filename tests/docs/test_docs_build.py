"""The documentation site builds with ``mkdocs build --strict`` (every warning is an error),
from a clean checkout and without network: theme fonts are off and nothing is fetched.
The tutorial pages are rendered from the outputs of this test session's tutorial runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from .conftest import REPO


def test_mkdocs_build_strict(tutorial_runs, tmp_path):
    site = tmp_path / "site"
    env = dict(os.environ, OASIM_TUTORIAL_OUTPUT_DIR=str(tutorial_runs["dir"]), NO_MKDOCS_2_WARNING="1",
               DISABLE_MKDOCS_2_WARNING="true",
               PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-6000:]
    print(f"mkdocs build --strict: {seconds:.1f} s")
    for page in ("index.html", "getting-started/index.html", "model/equations/index.html",
                 "model/parameters/human/index.html", "model/references/index.html", "api/oasim/index.html",
                 "tutorials/analyse_adam_data/index.html", "statistics/arm-table/index.html",
                 "guides/program/index.html", "api/program/index.html", "versioning/index.html"):
        assert (site / page).is_file(), page
    equations = (site / "model/equations/index.html").read_text("utf-8")
    assert equations.count('<math display="block">') >= 31
    api = (site / "api/oasim/index.html").read_text("utf-8")
    assert "oasim.api.simulate" in api and "oasim.api.run" in api
    tutorial = (site / "tutorials/analyse_adam_data/index.html").read_text("utf-8")
    assert "dose-response test p = 0.245" in tutorial
    program = (site / "guides/program/index.html").read_text("utf-8")
    assert "from:translation.human_doses_particles" in program and "provenance trail" in program
    versioning = (site / "versioning/index.html").read_text("utf-8")
    assert "Version policy" in versioning and "[Unreleased]" in versioning
    fetched = [line for line in (site / "index.html").read_text("utf-8").splitlines()
               if "fonts.googleapis" in line or "fonts.gstatic" in line]
    assert not fetched
