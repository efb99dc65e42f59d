"""oasim.distributed: the same replicates on every engine, resumable chunk files, named errors."""

from __future__ import annotations

import operator
import os
import signal
import subprocess
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oasim.distributed import Engine, chunk_bounds, run_chunks
from oasim.errors import FieldError, OasimError
from oasim.trial.power import simulate_power
from tests.trial.test_trial_run import EXAMPLE, small_scenario

REPO = Path(__file__).resolve().parents[2]


def _draws(seed: int, start: int, stop: int) -> pd.DataFrame:
    """A chunk of replicates, each from its own seed stream."""
    rows = []
    for k in range(start, stop):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(k,)))
        rows.append({"replicate": k, "x": rng.normal(), "pid": os.getpid()})
    return pd.DataFrame(rows)


def test_chunks_come_back_in_order_and_resume(tmp_path):
    calls = []

    def fn(a, b):
        calls.append((a, b))
        return _draws(7, a, b)

    first = run_chunks(fn, 10, 3, tmp_path)
    assert list(first["replicate"]) == list(range(10))
    assert calls == [(0, 3), (3, 6), (6, 9), (9, 10)]
    (tmp_path / "chunk_0000003_0000006.parquet").unlink()
    calls.clear()
    again = run_chunks(fn, 10, 3, tmp_path)
    assert calls == [(3, 6)]
    pd.testing.assert_frame_equal(first, again)


@pytest.mark.parametrize("kwargs", [dict(workers=0), dict(workers=2, scheduler="tcp://127.0.0.1:1"),
                                    dict(scheduler="127.0.0.1:8786"), dict(workers=1, dashboard_address=8787)])
def test_bad_engine_options_are_named_errors(kwargs):
    with pytest.raises(FieldError) as info:
        Engine(**kwargs)
    assert isinstance(info.value, OasimError)
    with pytest.raises(FieldError):
        chunk_bounds(10, 0)


def test_dask_one_and_two_workers_equal_local():
    fn = partial(_draws, 11)
    local = run_chunks(fn, 12, 2)
    seen = []
    one = run_chunks(fn, 12, 2, engine=Engine(workers=1))
    two = run_chunks(fn, 12, 2, engine=Engine(workers=2), progress=lambda d, n: seen.append(d))
    for other in (one, two):
        pd.testing.assert_frame_equal(local.drop(columns="pid"), other.drop(columns="pid"))
    assert two["pid"].nunique() == 2 and os.getpid() not in set(two["pid"])
    assert seen[0] == 0 and seen[-1] == 12 and seen == sorted(seen)


@pytest.mark.slow
def test_power_on_two_dask_workers_equals_local():
    sc = small_scenario()
    local = simulate_power(sc, 4, chunk_size=2).replicates
    dask2 = simulate_power(sc, 4, chunk_size=1, engine=Engine(workers=2)).replicates
    pd.testing.assert_frame_equal(local, dask2)


@pytest.mark.slow
def test_power_resumed_after_kill_equals_uninterrupted_run(tmp_path):
    scenario = EXAMPLE
    env = dict(os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + str(REPO))
    # enough trials that a kill right after the second chunk leaves some undone (a trial takes
    # ~20 ms: with 6 trials all of them had finished by the kill, 6 of 6 chunks)
    n_trials = 60
    cmd = [sys.executable, "-m", "oasim.cli", "power", str(scenario), "--trials", str(n_trials), "--chunk-size", "1",
           "--json"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(cmd + ["--out", str(killed)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while len(list(killed.glob("chunk_*.parquet"))) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = len(list(killed.glob("chunk_*.parquet")))
    assert 2 <= n_before < n_trials, n_before
    resumed = subprocess.run(cmd + ["--out", str(killed)], env=env, capture_output=True, text=True, check=True)
    whole = subprocess.run(cmd + ["--out", str(tmp_path / "whole")], env=env, capture_output=True, text=True,
                           check=True)
    assert resumed.stdout == whole.stdout
    a = pd.concat(pd.read_parquet(p) for p in sorted(killed.glob("chunk_*.parquet")))
    b = pd.concat(pd.read_parquet(p) for p in sorted((tmp_path / "whole").glob("chunk_*.parquet")))
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_two_local_clusters_at_once_do_not_fight_over_the_dashboard_port():
    """Two local clusters alive together (a test during a calibration) used to warn 'Port 8787 is
    already in use': dashboard_address=None still binds the scheduler's HTTP server to 8787."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # a builtin task: the workers need not import this test module (and oasim.trial with it)
        a = Engine(workers=1).imap(operator.mul, [(1, 1), (2, 2)])
        b = Engine(workers=1).imap(operator.mul, [(3, 3), (4, 4)])
        first = [next(a), next(b)]  # both clusters are up now
        rest = [*a, *b]
    assert sorted(first + rest) == [(0, 1), (0, 9), (1, 4), (1, 16)]
    in_use = [str(w.message) for w in caught if "already in use" in str(w.message)]
    assert not in_use, in_use
