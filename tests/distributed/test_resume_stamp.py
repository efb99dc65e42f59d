"""Resumable --out folders resume only with the code that wrote them (one stamp for power, design,
simulate and validate-against): same code reuses every chunk, other code or a folder without a
stamp is a named error (field ``out``) that leaves every file in place."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import oasim
import oasim.provenance
from oasim.calibration import validate as validate_module
from oasim.calibration.arms import read_arm_table
from oasim.distributed import RESUME_STAMP, claim_resumable_dir
from oasim.errors import FieldError
from oasim.parameters import ParameterSet
from oasim.protocol import Dose
from oasim.trial import power as power_module
from oasim.trial.design_sweep import parse_vary, run_design
from oasim.trial.power import simulate_power
from tests.trial.test_trial_run import small_scenario

SMALL_ARMS = Path(__file__).parents[1] / "calibration" / "data" / "small_arms.csv"
OTHER_DIGEST = "0123456789abcdef"  # a source digest no real tree has (16 hex digits, as source_digest)


def listing(folder: Path) -> dict:
    """Every file under ``folder``: relative path -> (size, mtime in ns, SHA-256 of the bytes)."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns,
                                               hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def other_code(monkeypatch):
    monkeypatch.setattr(oasim.provenance, "source_digest", lambda root=None: OTHER_DIGEST)


def assert_refused_for_other_code(info, folder: Path):
    err = info.value
    assert err.field == "out" and err.value == str(folder)
    here = oasim.provenance._source_digest(str(Path(oasim.provenance.__file__).parent))
    # the message says who wrote the folder and who is running, and what to do
    assert f"written by oasim {oasim.__version__} source {here}" in str(err)
    assert f"this is oasim {oasim.__version__} source {OTHER_DIGEST}" in str(err)
    assert "use a new folder" in str(err)


@pytest.fixture
def counted(monkeypatch):
    """Wrap a module-level function and count its calls: ``counted(module, name) -> list``."""

    def wrap(module, name):
        calls = []
        real = getattr(module, name)

        def spy(*args, **kwargs):
            calls.append(args[1:3])
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
        return calls

    return wrap


# --- the shared helper ------------------------------------------------------------------------

def test_the_stamp_records_version_source_kind_and_settings(tmp_path):
    claim_resumable_dir(tmp_path / "a", "demo", {"seed": 1, "t": (0.0, 1.0)})
    stamp = json.loads((tmp_path / "a" / RESUME_STAMP).read_text())
    assert stamp == {"oasim_version": oasim.__version__, "source_digest": oasim.provenance.source_digest(),
                     "kind": "demo", "settings": {"seed": 1, "t": [0.0, 1.0]}}
    # same code, kind and settings (a tuple reads back as a list): accepted, stamp unchanged
    before = listing(tmp_path / "a")
    assert claim_resumable_dir(tmp_path / "a", "demo", {"seed": 1, "t": (0.0, 1.0)}) == tmp_path / "a"
    assert listing(tmp_path / "a") == before


def test_other_kind_settings_damaged_stamp_or_a_file_are_named_errors(tmp_path):
    folder = tmp_path / "a"
    claim_resumable_dir(folder, "demo", {"seed": 1, "kl": 2})
    (folder / "chunk_0000000_0000001.parquet").write_bytes(b"x")
    before = listing(folder)
    with pytest.raises(FieldError, match="'demo' chunks, this is 'power'"):
        claim_resumable_dir(folder, "power")
    with pytest.raises(FieldError, match=r"settings \(seed differ") as info:
        claim_resumable_dir(folder, "demo", {"seed": 2, "kl": 2})
    assert info.value.field == "out" and info.value.value == str(folder)
    assert listing(folder) == before
    (folder / RESUME_STAMP).write_text("{not json")
    with pytest.raises(FieldError, match=f"readable {RESUME_STAMP}"):
        claim_resumable_dir(folder, "demo", {"seed": 1, "kl": 2})
    (tmp_path / "f").write_text("")
    with pytest.raises(FieldError, match="existing file"):
        claim_resumable_dir(tmp_path / "f", "demo")


def test_a_folder_without_stamp_is_refused_unless_empty(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    claim_resumable_dir(empty, "demo")  # an empty folder is as good as a new one
    assert (empty / RESUME_STAMP).is_file()
    old = tmp_path / "old"
    old.mkdir()
    (old / "chunk_0000000_0000002.parquet").write_bytes(b"x")
    before = listing(old)
    with pytest.raises(FieldError, match="not empty .* has no stamp") as info:
        claim_resumable_dir(old, "demo")
    assert info.value.field == "out" and "use a new folder" in str(info.value)
    assert listing(old) == before


# --- oasim power ------------------------------------------------------------------------------

def test_power_resumes_with_the_same_code_and_refuses_other_code(tmp_path, monkeypatch, counted):
    calls = counted(power_module, "replicate_chunk")
    sc = small_scenario()
    first = simulate_power(sc, 4, chunk_size=2, out_dir=tmp_path)
    assert calls == [(0, 2), (2, 4)]
    assert (tmp_path / RESUME_STAMP).is_file() and (tmp_path / "scenario_digest.txt").is_file()
    calls.clear()
    again = simulate_power(sc, 4, chunk_size=2, out_dir=tmp_path)
    assert calls == []  # every chunk read back, none recomputed
    assert again.replicates.equals(first.replicates)
    before = listing(tmp_path)
    other_code(monkeypatch)
    with pytest.raises(FieldError) as info:
        simulate_power(sc, 4, chunk_size=2, out_dir=tmp_path)
    assert_refused_for_other_code(info, tmp_path)
    assert calls == [] and listing(tmp_path) == before


def test_power_still_refuses_another_scenario_and_an_unstamped_folder(tmp_path, counted):
    calls = counted(power_module, "replicate_chunk")
    simulate_power(small_scenario(), 2, chunk_size=2, out_dir=tmp_path / "a")
    before = listing(tmp_path / "a")
    with pytest.raises(FieldError, match="same scenario") as info:
        simulate_power(small_scenario(seed=99), 2, chunk_size=2, out_dir=tmp_path / "a")
    assert info.value.field == "out"
    assert listing(tmp_path / "a") == before
    # a folder from before the stamp: its chunks and scenario_digest.txt, no resume_stamp.json
    (tmp_path / "a" / RESUME_STAMP).unlink()
    before = listing(tmp_path / "a")
    calls.clear()
    with pytest.raises(FieldError, match="no stamp"):
        simulate_power(small_scenario(), 2, chunk_size=2, out_dir=tmp_path / "a")
    assert calls == [] and listing(tmp_path / "a") == before


# --- oasim design -----------------------------------------------------------------------------

def test_design_sweep_resumes_with_the_same_code_and_refuses_other_code(tmp_path, monkeypatch, counted):
    calls = counted(power_module, "replicate_chunk")
    grid = parse_vary(["n_active=6"])
    first = run_design(small_scenario(), grid, 2, out_dir=tmp_path, chunk_size=2)
    assert len(calls) == 2  # the design point and its null variant
    assert {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob(RESUME_STAMP)} == {
        RESUME_STAMP, f"point_000_design/{RESUME_STAMP}", f"point_000_null/{RESUME_STAMP}"}
    calls.clear()
    again = run_design(small_scenario(), grid, 2, out_dir=tmp_path, chunk_size=2)
    assert calls == []
    assert again.table.equals(first.table)
    before = listing(tmp_path)
    other_code(monkeypatch)
    with pytest.raises(FieldError) as info:
        run_design(small_scenario(), grid, 2, out_dir=tmp_path, chunk_size=2)
    assert_refused_for_other_code(info, tmp_path)  # the folder the user gave, not a point's
    assert calls == [] and listing(tmp_path) == before


# --- oasim simulate --out ---------------------------------------------------------------------

def _stream(out, **kw):
    from oasim.streaming import stream_population

    args = dict(seed=3, chunk_subjects=3)
    args.update(kw)
    return stream_population(ParameterSet.load("human"), 6, np.array([0.0, 30.0, 90.0]),
                             [Dose("exosome", 3e11, "particles", 0.0)], out, **args)


def test_simulate_out_resumes_with_the_same_code_and_settings_only(tmp_path, monkeypatch, counted):
    import oasim.streaming

    calls = counted(oasim.streaming, "chunk_frame")
    first = _stream(tmp_path)
    assert len(calls) == 2
    calls.clear()
    again = _stream(tmp_path)
    assert calls == []
    assert again.mean == first.mean and again.sd == first.sd
    before = listing(tmp_path)
    with pytest.raises(FieldError, match=r"seed differ"):
        _stream(tmp_path, seed=4)  # before the stamp, parts of seed 3 and 4 were mixed silently
    with pytest.raises(FieldError, match=r"chunk_subjects differ"):
        _stream(tmp_path, chunk_subjects=2)
    other_code(monkeypatch)
    with pytest.raises(FieldError) as info:
        _stream(tmp_path)
    assert_refused_for_other_code(info, tmp_path)
    assert calls == [] and listing(tmp_path) == before


# --- oasim validate-against --out -------------------------------------------------------------

def test_validate_against_resumes_with_the_same_code_and_refuses_other_code(tmp_path, monkeypatch, counted):
    calls = counted(validate_module, "simulate_arm_table")
    table = read_arm_table(SMALL_ARMS)
    first = validate_module.validate_against(table, replicates=4, seed=2, chunk_size=2, out_dir=tmp_path)
    assert len(calls) == 2
    calls.clear()
    again = validate_module.validate_against(table, replicates=4, seed=2, chunk_size=2, out_dir=tmp_path)
    assert calls == [] and again.rows == first.rows
    before = listing(tmp_path)
    with pytest.raises(FieldError, match="digest differs"):
        validate_module.validate_against(table, replicates=4, seed=3, chunk_size=2, out_dir=tmp_path)
    other_code(monkeypatch)
    with pytest.raises(FieldError) as info:
        validate_module.validate_against(table, replicates=4, seed=2, chunk_size=2, out_dir=tmp_path)
    assert_refused_for_other_code(info, tmp_path)
    assert calls == [] and listing(tmp_path) == before


def test_cli_refusal_is_exit_code_2_with_the_message(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from oasim.cli import app

    args = ["simulate", "--subjects", "4", "--years", "0.25", "--visits-per-year", "4", "--seed", "3",
            "--dose", "exosome:3e11:particles@0", "--chunk-subjects", "2", "--json", "--out", str(tmp_path)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    before = listing(tmp_path)
    other_code(monkeypatch)
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2
    assert f"this is oasim {oasim.__version__} source {OTHER_DIGEST}: use a new folder" in refused.output
    assert listing(tmp_path) == before
