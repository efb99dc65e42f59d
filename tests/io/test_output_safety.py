"""Output safety (issue 11 item 2): refuse, never destroy, fail before work, clean up partials."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oasim.cli import app
from oasim.errors import FieldError, OasimError
from oasim.io import (MARKER, OutputPathError, atomic_output_dir, atomic_write_text, check_output_dir,
                      clean_partials)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _write(folder: Path, text: str) -> None:
    with atomic_output_dir(folder, force=True) as tmp:
        (tmp / "result.txt").write_text(text)


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    return int(proc.stdout)


def _parent_pid() -> int:
    return os.getppid()


def test_writer_is_a_named_field_error():
    assert issubclass(OutputPathError, FieldError) and issubclass(OutputPathError, OasimError)


def test_new_folder_is_written_with_marker_and_no_leftovers(tmp_path):
    _write(tmp_path / "out", "one")
    assert (tmp_path / "out" / "result.txt").read_text() == "one"
    assert (tmp_path / "out" / MARKER).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_non_empty_folder_needs_force_and_is_kept(tmp_path):
    _write(tmp_path / "out", "one")
    with pytest.raises(OutputPathError, match="--force"):
        with atomic_output_dir(tmp_path / "out") as tmp:
            (tmp / "result.txt").write_text("two")
    assert (tmp_path / "out" / "result.txt").read_text() == "one"
    _write(tmp_path / "out", "two")  # force onto an oasim folder replaces it
    assert (tmp_path / "out" / "result.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_empty_existing_folder_is_accepted_without_force(tmp_path):
    (tmp_path / "out").mkdir()
    with atomic_output_dir(tmp_path / "out") as tmp:
        (tmp / "x").write_text("x")
    assert (tmp_path / "out" / "x").exists()


def test_force_never_deletes_a_folder_oasim_did_not_write(tmp_path):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("precious")
    with pytest.raises(OutputPathError, match="did not create") as info:
        check_output_dir(mine, force=True)
    assert info.value.field == "out" and info.value.value == str(mine)
    with pytest.raises(OutputPathError):
        _write(mine, "overwrite")
    assert (mine / "chapter1.tex").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


def test_file_and_dangling_link_are_refused_as_folders(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep")
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere")
    for path in (a_file, link):
        with pytest.raises(OutputPathError, match="a folder path"):
            check_output_dir(path, force=True)
    assert a_file.read_text() == "keep" and link.is_symlink() and not (tmp_path / "nowhere").exists()


def test_failure_inside_the_block_leaves_the_old_output(tmp_path):
    _write(tmp_path / "out", "one")
    with pytest.raises(RuntimeError):
        with atomic_output_dir(tmp_path / "out", force=True) as tmp:
            (tmp / "result.txt").write_text("half")
            raise RuntimeError("killed")
    assert (tmp_path / "out" / "result.txt").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_partials_of_dead_runs_are_cleaned_by_the_next_run(tmp_path):
    dead, alive = _dead_pid(), _parent_pid()
    stale = tmp_path / f".out.partial.{dead}.abc123"
    running = tmp_path / f".out.partial.{alive}.def456"
    foreign = tmp_path / f".notes.partial.{dead}.xyz"  # looks like ours but has no marker
    for folder in (stale, running, foreign):
        folder.mkdir()
        (folder / "half.parquet").write_text("")
    (stale / MARKER).write_text("")
    (running / MARKER).write_text("")
    _write(tmp_path / "other", "new run beside them")
    assert not stale.exists()
    assert running.exists() and foreign.exists()
    assert clean_partials(tmp_path) == []


def test_files_need_force_and_are_refused_when_folders(tmp_path):
    path = atomic_write_text(tmp_path / "knee.xml", "<sbml/>")
    with pytest.raises(OutputPathError, match="--force"):
        atomic_write_text(path, "<other/>")
    assert path.read_text() == "<sbml/>"
    atomic_write_text(path, "<other/>", force=True)
    assert path.read_text() == "<other/>"
    with pytest.raises(OutputPathError, match="a file path"):
        atomic_write_text(tmp_path, "x", force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["knee.xml"]


def test_run_out_onto_a_file_or_dangling_link_fails_before_simulating(tmp_path, monkeypatch):
    import oasim.trial.run as run_module

    def must_not_run(*args, **kwargs):
        raise AssertionError("simulation started")

    monkeypatch.setattr(run_module, "run_scenario", must_not_run)
    a_file = tmp_path / "results.txt"
    a_file.write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    for out in (a_file, link):
        for extra in ([], ["--force"]):
            result = CliRunner().invoke(app, ["run", str(EXAMPLES / "hucmsc_exosome_trial.toml"),
                                              "--out", str(out), *extra])
            assert result.exit_code == 2, result.output
            assert "a folder path" in result.output
    assert a_file.read_text() == "keep"


def test_run_force_onto_a_foreign_folder_refuses(tmp_path, monkeypatch):
    import oasim.trial.run as run_module

    monkeypatch.setattr(run_module, "run_scenario", lambda *a, **k: pytest.fail("simulation started"))
    out = tmp_path / "data"
    out.mkdir()
    (out / "raw.csv").write_text("1,2")
    result = CliRunner().invoke(app, ["run", str(EXAMPLES / "hucmsc_exosome_trial.toml"), "--out", str(out),
                                      "--force"])
    assert result.exit_code == 2 and "did not create" in result.output
    assert (out / "raw.csv").read_text() == "1,2"


def test_export_sbml_refuses_an_existing_file_without_force(tmp_path):
    out = tmp_path / "knee.xml"
    out.write_text("mine")
    result = CliRunner().invoke(app, ["export-sbml", "--out", str(out)])
    assert result.exit_code == 2 and "--force" in result.output
    assert out.read_text() == "mine"


def test_qc_refuses_a_non_empty_folder_and_a_foreign_one(tmp_path):
    out = tmp_path / "release"
    out.mkdir()
    (out / "notes.md").write_text("mine")
    for extra, message in (([], "--force"), (["--force"], "did not create")):
        result = CliRunner().invoke(app, ["qc", str(EXAMPLES / "lot_demo"), "--out", str(out), *extra])
        assert result.exit_code == 2 and message in result.output, result.output
    assert (out / "notes.md").read_text() == "mine"
