"""The session worker: a run returns its result, a second run is refused while one runs, cancel
terminates the worker and the next run gets a fresh one."""

from __future__ import annotations

import time

import pytest

from oasim.dashboard.jobs import BusyError, Worker

pytestmark = pytest.mark.slow  # three worker processes start (spawn + imports)
SPEC = {"design": "3+3", "target": 0.3, "truth": [0.05, 0.1, 0.2, 0.3, 0.5], "cohort_size": 3, "max_n": 30,
        "n_trials": 200, "seed": 1, "table_max_n": 6}


def wait(job, timeout_s: float = 120.0):
    deadline = time.monotonic() + timeout_s
    while job.active and time.monotonic() < deadline:
        time.sleep(0.05)
    return job


def test_run_busy_cancel_and_restart():
    worker = Worker(warm=False)
    try:
        done = wait(worker.submit("escalation", spec=SPEC))
        assert done.state == "done", done.error
        assert done.result["tables"][1]["columns"] == ["dose", "true_prob_dlt", "pct_selected", "mean_n", "mean_dlt"]
        assert done.progress == ["starting the model worker", "BOIN boundaries", "simulating 200 trials of 3+3"]

        long = worker.submit("escalation", spec={**SPEC, "n_trials": 50_000, "design": "crm"})
        with pytest.raises(BusyError, match="still in progress"):
            worker.submit("escalation", spec=SPEC)
        first_pid = worker.process.pid
        assert worker.cancel() and long.state == "cancelled"
        assert not worker.cancel()
        again = wait(worker.submit("escalation", spec=SPEC))
        assert again.state == "done" and worker.process.pid != first_pid
        assert again.result["tables"][1]["rows"] == done.result["tables"][1]["rows"]  # same seed, same answer
    finally:
        worker.stop()
    assert not worker.process.is_alive()


def test_task_errors_come_back_as_messages():
    worker = Worker(warm=False)
    try:
        failed = wait(worker.submit("escalation", spec={**SPEC, "truth": [0.05, 2.0]}))
        assert failed.state == "error" and "probability" in failed.error
    finally:
        worker.stop()
