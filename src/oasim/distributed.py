"""Map work over replicates locally or on a Dask cluster, with resumable chunk files.

Every command that repeats independent work (``oasim power``, ``oasim design``; ``explain`` and
``validate-against`` may do the same) splits its replicates into chunks, computes each chunk with
a pure function of ``(chunk start, chunk stop)`` and writes it as a Parquet file. Randomness
must come from per-replicate seed streams (``numpy.random.SeedSequence(seed, spawn_key=(k,))``),
never from per-worker state, so the result is the same whatever the engine or worker count.

Usage::

    from oasim.distributed import Engine, run_chunks

    engine = Engine.from_options(workers=2)            # or scheduler="tcp://127.0.0.1:8786"
    frame = run_chunks(partial(my_chunk, scenario), n_items=1000, chunk_size=10,
                       out_dir=Path("out"), engine=engine, progress=callback)

``my_chunk(start, stop) -> pandas.DataFrame`` must be a module-level function (or a
``functools.partial`` of one) so that it can be sent to Dask workers. ``out_dir`` makes the run
resumable: a chunk whose file exists is read back, not recomputed; files are written atomically
by the calling process as chunks complete, so a killed run loses only the chunks in flight.
A command claims its folder first with :func:`claim_resumable_dir`, so that chunks are reused
only by the code (oasim version and source digest) and settings that wrote them.

Dask (``pip install oasim[dask]``) is imported only when ``workers`` or ``scheduler`` is given.
A local cluster uses worker processes with one thread each and ``NUMBA_NUM_THREADS=1`` (numba's
own thread pool would otherwise oversubscribe the cores) on the loopback interface. Its HTTP
server (dashboard) listens on a free loopback port unless ``dashboard_address`` asks for one:
Dask's ``dashboard_address=None`` still tries port 8787 and warns "Port 8787 is already in use"
when two clusters run at once (e.g. a test during ``oasim calibrate --workers``).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pandas as pd

from .errors import FieldError

Progress = Callable[[int, int], None]
# A local cluster's dashboard: the loopback interface, port 0 = a free port chosen by the OS (":0"
# alone would listen on every interface: Dask maps an empty host to 0.0.0.0).
LOOPBACK_ANY_PORT = "127.0.0.1:0"


@dataclass(frozen=True)
class Engine:
    """Where chunks run: in this process (default), a local Dask cluster or an existing one.

    Parameters
    ----------
    workers : start a local Dask cluster with this many worker processes (>= 1)
    scheduler : address of a running Dask scheduler, ``tcp://HOST:PORT``
    max_in_flight : chunks submitted but not yet collected, per worker (bounds memory)
    dashboard_address : where a local cluster's dashboard listens, e.g. ``"127.0.0.1:8787"``;
        default: a free port on the loopback interface
    """

    workers: int | None = None
    scheduler: str | None = None
    max_in_flight: int = 2
    dashboard_address: str | None = None

    def __post_init__(self):
        if self.workers is not None and self.scheduler is not None:
            raise FieldError("workers/scheduler", (self.workers, self.scheduler), "one of the two, not both")
        if self.workers is not None and not 1 <= self.workers <= 256:
            raise FieldError("workers", self.workers, "1..256")
        if self.scheduler is not None and not str(self.scheduler).startswith(("tcp://", "inproc://")):
            raise FieldError("scheduler", self.scheduler, "an address tcp://HOST:PORT")
        if self.max_in_flight < 1:
            raise FieldError("max_in_flight", self.max_in_flight, ">= 1")
        if self.dashboard_address is not None and not isinstance(self.dashboard_address, str):
            raise FieldError("dashboard_address", self.dashboard_address, "an address HOST:PORT, or None")

    @classmethod
    def from_options(cls, workers: int | None = None, scheduler: str | None = None) -> "Engine":
        return cls(workers=workers, scheduler=scheduler)

    @property
    def is_local(self) -> bool:
        return self.workers is None and self.scheduler is None

    def imap(self, fn: Callable, items: Iterable, shared: tuple = ()) -> Iterator[tuple[int, object]]:
        """Yield ``(index, fn(*shared, *item))`` as they complete (in order when local).

        ``shared``: leading arguments common to every item (e.g. a fitted emulator of tens of
        MB), sent to each Dask worker once rather than with every task."""
        items = list(items)
        if self.is_local:
            for i, item in enumerate(items):
                yield i, fn(*shared, *item)
            return
        yield from self._dask_imap(fn, items, tuple(shared))

    def _dask_imap(self, fn, items, shared=()):
        try:
            from dask.distributed import Client, LocalCluster, as_completed
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise FieldError("workers/scheduler", self.workers or self.scheduler,
                             "needs Dask: pip install 'oasim[dask]'") from exc
        cluster = None
        if self.workers is not None:
            cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=self.dashboard_address or LOOPBACK_ANY_PORT,
                                   env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
            client = Client(cluster)
        else:
            client = Client(self.scheduler)
        try:
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
            common = client.scatter(list(shared), broadcast=True) if shared else []  # one future per argument
            limit = self.max_in_flight * n_workers
            pending = iter(enumerate(items))
            index = {}

            def submit(i, item):
                fut = client.submit(fn, *common, *item, key=f"oasim-chunk-{os.getpid()}-{id(fn)}-{i}", pure=False)
                index[fut.key] = i
                return fut

            first = [submit(i, item) for i, item in _take(pending, limit)]
            queue = as_completed(first)
            for fut in queue:
                i = index.pop(fut.key)
                result = fut.result()
                fut.release()
                for j, item in _take(pending, 1):
                    queue.add(submit(j, item))
                yield i, result
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _take(it, n):
    out = []
    for _ in range(n):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` via a temporary file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


RESUME_STAMP = "resume_stamp.json"
"""Name of the stamp inside every resumable folder: which oasim (version and source digest) wrote
its chunks, the kind of run and its settings (see :func:`claim_resumable_dir`)."""


def code_identity() -> dict:
    """``{"oasim_version", "source_digest"}`` of the running code (:func:`oasim.provenance.source_digest`)."""
    from . import __version__, provenance

    return {"oasim_version": __version__, "source_digest": provenance.source_digest()}


def _leftover_stamp_tmp(path: Path) -> bool:
    """A temporary file of an interrupted stamp write (:func:`oasim.io.atomic_write_text`)."""
    return path.name.startswith(f".{RESUME_STAMP}.") and path.name.endswith(".tmp")


def claim_resumable_dir(out_dir: str | Path, kind: str, settings: dict | None = None, field: str = "out") -> Path:
    """Make ``out_dir`` ready to receive (or resume) the chunks of a ``kind`` run; return it.

    One rule for every resumable folder (``oasim power``, ``design``, ``simulate``,
    ``validate-against --out``): the folder holds :data:`RESUME_STAMP`, a JSON stamp written
    atomically when the folder is first used, with the oasim version and source digest that
    write its chunks (:func:`code_identity`), ``kind`` and ``settings`` (JSON values that must
    match for chunks to be reused; ``None``: none checked here). A rerun resumes only with the
    same code, kind and settings; otherwise a :class:`~oasim.errors.FieldError` names ``field``
    and the folder and says what differs. A non-empty folder without a stamp (written before
    oasim stamped its resumable folders, or not by oasim) is refused too. Nothing is deleted.
    """
    from .io import atomic_write_text

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FieldError(field, str(out_dir), "a folder path (this is an existing file)")
    out_dir.mkdir(parents=True, exist_ok=True)
    if settings is not None:
        settings = json.loads(json.dumps(settings))  # as read back from the stamp (tuples become lists)
    here = {**code_identity(), "kind": kind, **({"settings": settings} if settings is not None else {})}
    path = out_dir / RESUME_STAMP
    if not path.exists():
        others = sorted(p.name for p in out_dir.iterdir() if not _leftover_stamp_tmp(p))
        if others:
            raise FieldError(field, str(out_dir), f"a new or empty folder, or one this oasim stamped ({RESUME_STAMP}); "
                             f"this folder is not empty ({len(others)} entries, e.g. {others[0]}) and has no stamp: "
                             "it was written before oasim recorded which code wrote a resumable folder, or not by "
                             "oasim, so its chunks cannot be trusted to come from this code: use a new folder "
                             "(nothing was deleted)")
        atomic_write_text(path, json.dumps(here, indent=2, sort_keys=True) + "\n", force=True, field=field)
        return out_dir
    try:
        there = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(there, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise FieldError(field, str(out_dir), f"a folder with a readable {RESUME_STAMP} ({exc}): use a new "
                         "folder (nothing was deleted)") from None
    if (there.get("oasim_version"), there.get("source_digest")) != (here["oasim_version"], here["source_digest"]):
        raise FieldError(field, str(out_dir), f"a folder written by this code: it was written by oasim "
                         f"{there.get('oasim_version')} source {there.get('source_digest')}, this is oasim "
                         f"{here['oasim_version']} source {here['source_digest']}: use a new folder "
                         "(nothing was deleted)")
    if there.get("kind") != kind:
        raise FieldError(field, str(out_dir), f"a folder of the same kind of run: it holds '{there.get('kind')}' "
                         f"chunks, this is '{kind}': use a new folder (nothing was deleted)")
    if settings is not None and there.get("settings") != here["settings"]:
        old = there.get("settings") or {}
        differ = sorted(k for k in set(old) | set(settings) if old.get(k) != settings.get(k))
        raise FieldError(field, str(out_dir), f"a folder of the same settings ({', '.join(differ)} differ: "
                         "use a new folder; nothing was deleted)")
    return out_dir


def chunk_bounds(n_items: int, chunk_size: int) -> list[tuple[int, int]]:
    if n_items < 1:
        raise FieldError("n_items", n_items, ">= 1")
    if chunk_size < 1:
        raise FieldError("chunk_size", chunk_size, ">= 1")
    return [(a, min(n_items, a + chunk_size)) for a in range(0, n_items, chunk_size)]


def chunk_path(out_dir: Path, start: int, stop: int, prefix: str = "chunk") -> Path:
    return Path(out_dir) / f"{prefix}_{start:07d}_{stop:07d}.parquet"


def _read_chunk(path: Path) -> pd.DataFrame:
    """A chunk written by an earlier run; a damaged one is a DataError naming it (never deleted here)."""
    from .errors import DataError

    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for truncated or foreign files
        raise DataError(path, f"not a readable chunk ({type(exc).__name__}: {exc}); delete it to "
                              "recompute those replicates") from None


def run_chunks(fn: Callable[[int, int], pd.DataFrame], n_items: int, chunk_size: int,
               out_dir: Path | None = None, engine: Engine | None = None,
               progress: Progress | None = None, prefix: str = "chunk") -> pd.DataFrame:
    """Compute ``fn(start, stop)`` for every chunk of ``range(n_items)`` and concatenate in order.

    With ``out_dir``, completed chunks are written there (atomically) and reused on a rerun.
    ``progress(done_items, n_items)`` is called as chunks finish, on any engine.
    """
    engine = engine or Engine()
    bounds = chunk_bounds(n_items, chunk_size)
    frames: list[pd.DataFrame | None] = [None] * len(bounds)
    todo = []
    done = 0
    for i, (a, b) in enumerate(bounds):
        path = chunk_path(out_dir, a, b, prefix) if out_dir is not None else None
        if path is not None and path.exists():
            frames[i] = _read_chunk(path)
            done += b - a
        else:
            todo.append(i)
    if progress is not None:
        progress(done, n_items)
    for j, frame in engine.imap(fn, [bounds[i] for i in todo]):
        i = todo[j]
        a, b = bounds[i]
        if out_dir is not None:
            write_parquet_atomic(frame, chunk_path(out_dir, a, b, prefix))
        frames[i] = frame
        done += b - a
        if progress is not None:
            progress(done, n_items)
    return pd.concat(frames, ignore_index=True)
