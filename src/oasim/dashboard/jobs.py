"""Background runs: one worker process per browser session, one run at a time, cancellable.

The web server never runs the model itself. Each session gets a worker process (started with
``spawn``, so it shares no locks or threads with the server) that imports the model and loads
the compiled solver once, then runs one task at a time from :mod:`oasim.dashboard.tasks`.
Progress messages and the result come back over a pipe. Cancelling terminates the worker
process (a run cannot be interrupted more politely from outside numba code); the next run
starts a fresh one.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from ..errors import OasimError

_CTX = multiprocessing.get_context("spawn")
_IDS = itertools.count(1)


class BusyError(OasimError):
    """A run is already in progress in this session (one run per session at a time)."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        super().__init__(f"run {job_id} is still in progress in this session: wait for it or cancel it")


def _worker_main(conn, warm: bool) -> None:  # pragma: no cover - runs in the child process
    """Worker loop: warm up the solver (if asked), then run tasks until the pipe closes."""
    from . import tasks

    try:
        if warm:
            tasks.warm_up(lambda msg: conn.send(("progress", msg)))
        conn.send(("ready", None))
    except Exception as exc:  # noqa: BLE001 - reported to the browser, worker stays usable
        conn.send(("progress", f"solver warm-up failed: {exc}"))
    while True:
        try:
            name, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result = tasks.TASKS[name](progress=lambda msg: conn.send(("progress", msg)), **kwargs)
            conn.send(("done", result))
        except OasimError as exc:
            conn.send(("error", str(exc)))
        except Exception as exc:  # noqa: BLE001 - an unexpected failure is shown, not swallowed
            conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"))


@dataclass
class Job:
    """One run: its state (running, done, error, cancelled), progress lines and result."""

    id: int
    task: str
    state: str = "running"
    progress: list[str] = field(default_factory=list)
    result: Any = None
    error: str = ""
    started_s: float = field(default_factory=time.monotonic)
    finished_s: float | None = None

    @property
    def active(self) -> bool:
        return self.state == "running"

    @property
    def elapsed_s(self) -> float:
        return (self.finished_s or time.monotonic()) - self.started_s

    def finish(self, state: str, result: Any = None, error: str = "") -> None:
        if self.active:
            self.state, self.result, self.error, self.finished_s = state, result, error, time.monotonic()


class Worker:
    """A worker process and the job it is running (at most one)."""

    def __init__(self, warm: bool = True):
        self._lock = threading.Lock()
        self.job: Job | None = None
        self.ready = False
        self.warm = warm
        self.last_used_s = time.monotonic()
        self._start()

    def _start(self) -> None:
        self._conn, child = _CTX.Pipe()
        self.process = _CTX.Process(target=_worker_main, args=(child, self.warm), daemon=True,
                                    name="oasim-dashboard-worker")
        self.process.start()
        child.close()
        self.ready = False
        self._reader = threading.Thread(target=self._read, args=(self._conn, self.process), daemon=True)
        self._reader.start()

    def _read(self, conn, process) -> None:
        while True:
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                job = self.job
                if job is not None and job.active and process is self.process:
                    job.finish("error", error="the worker process stopped unexpectedly")
                return
            job = self.job
            if kind == "ready":
                self.ready = True
            elif job is None or not job.active:
                continue
            elif kind == "progress":
                job.progress.append(str(payload))
            elif kind == "done":
                job.finish("done", result=payload)
            elif kind == "error":
                job.finish("error", error=str(payload))

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.active

    def submit(self, task: str, **kwargs) -> Job:
        """Start ``task`` (a name in :data:`oasim.dashboard.tasks.TASKS`) with plain-data arguments."""
        with self._lock:
            if self.busy:
                raise BusyError(self.job.id)
            if not self.process.is_alive():
                self._start()
            self.job = Job(next(_IDS), task)
            if not self.ready:
                self.job.progress.append("starting the model worker" + (" (loading the compiled solver)" if self.warm else ""))
            self.last_used_s = time.monotonic()
            self._conn.send((task, kwargs))
            return self.job

    def cancel(self) -> bool:
        """Stop the running job by terminating the worker; True if a job was cancelled."""
        with self._lock:
            job = self.job
            if job is None or not job.active:
                return False
            job.finish("cancelled")
            self.stop()
            self._start()
            return True

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self._conn.close()


class WorkerPool:
    """Workers by session id, at most ``max_workers`` (idle least-recently-used ones are stopped)."""

    def __init__(self, max_workers: int = 4):
        self.max_workers = max_workers
        self._workers: dict[str, Worker] = {}
        self._lock = threading.Lock()

    def get(self, session: str, warm: bool = True) -> Worker:
        """The session's worker, started if needed (``warm``: load the solver before the first task)."""
        with self._lock:
            worker = self._workers.get(session)
            if worker is not None:
                worker.last_used_s = time.monotonic()
                return worker
            if len(self._workers) >= self.max_workers:
                idle = sorted((w.last_used_s, s) for s, w in self._workers.items() if not w.busy)
                if not idle:
                    raise OasimError(f"all {self.max_workers} model workers are busy; try again when a run ends")
                self._workers.pop(idle[0][1]).stop()
            worker = self._workers[session] = Worker(warm)
            return worker

    def peek(self, session: str) -> Worker | None:
        return self._workers.get(session)

    def shutdown(self) -> None:
        with self._lock:
            for worker in self._workers.values():
                worker.stop()
            self._workers.clear()
