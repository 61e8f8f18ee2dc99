"""CPU-bound work off the event loop: feed parsing and page extraction.

Fetching is I/O and runs concurrently on the event loop; parsing a feed and extracting
an article are CPU work, and a weekly run has thousands of them. They go to a pool of
worker processes, one per core (processes, not threads: lxml and trafilatura crash when
several threads extract at once, trafilatura#840, and the GIL would serialise them
anyway). A small run (the demo, the tests) stays in one thread in this process: starting
workers costs more than it saves.

A worker that dies (a page that crashes lxml, say) breaks the pool: it is restarted and
the job is tried once more; a job that breaks two pools is reported as failed, and the
run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import importlib
import io
import multiprocessing
import multiprocessing.forkserver
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable, Set
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

if TYPE_CHECKING:
    from digest.config import Performance

__all__ = [
    "Aside",
    "WorkerCrashed",
    "Workers",
    "aside",
    "cores",
    "kept",
    "map_cpu",
    "pooled",
    "ready",
    "rest",
    "trim",
]

T = TypeVar("T")
# imported once in the fork server: the modules the workers run, and for page workers
# the disclosure rules compiled too (`digest.preload`)
_PRELOAD = ["digest.pages", "digest.feeds"]
PAGES_PRELOAD = ["digest.preload"]


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Workers:
    """`async with Workers(settings, jobs) as w: await w.run(fn, *args)`.

    Jobs start in one thread of this process; worker processes are started only when
    `jobs` (the most there may be) reaches `min_pool_jobs` and work actually queues up
    (a second job arrives while one runs): a warm run whose feeds all answer 304 parses
    nothing and starts nothing. `eager`: with worker processes, every job goes to them,
    none to the thread (the caller knows there is work for them: this process then never
    loads what the jobs load, a page's extraction code say, ~10 MB kept to the end).
    """

    def __init__(
        self,
        settings: Performance,
        jobs: int,
        preload: list[str] = _PRELOAD,
        eager: bool = False,
    ) -> None:
        wanted = settings.workers or cores()
        self.processes = wanted if wanted > 1 and jobs >= settings.min_pool_jobs else 0
        self.restarts = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cpu")
        # jobs go to the pool from this thread: a submit may start a worker process, which
        # waits for the fork server (still preloading, on a run's first pages): never the
        # event loop, whose fetches go on meanwhile
        self._submitter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="submit")
        self._pool: ProcessPoolExecutor | None = None
        self._in_thread = 0
        self._preload = preload
        self.eager = eager

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a worker; raises `WorkerCrashed` when it kills two workers."""
        if self._pool is None and (not self.processes or (not self.eager and self._in_thread < 1)):
            return await self._run_in_thread(fn, *args)
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            pool = self._pool or self._start()
            try:
                job = await loop.run_in_executor(self._submitter, partial(pool.submit, fn, *args))
                return await asyncio.wrap_future(job)
            except BrokenProcessPool:
                if attempt:
                    raise WorkerCrashed("the extraction worker crashed on it twice") from None
                self._restart(pool)
        raise AssertionError("unreachable")

    def map(self, fn: Callable[[Any], T], items: list[Any]) -> list[T]:
        """`[fn(x) for x in items]`, over the worker processes if they run already (a
        round's, idle until the next: one job per item, so both cores share a few
        items), else here: no pool is started for it. A pool that breaks on it is
        restarted (for the next round) and the items are done here."""
        pool = self._pool
        if pool is None or len(items) < 2:
            return [fn(item) for item in items]
        try:
            return list(pool.map(fn, items))
        except BrokenProcessPool:
            self._restart(pool)
            return [fn(item) for item in items]

    @property
    def pids(self) -> frozenset[int]:
        """The worker processes running now (none before the first job that needs them)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return frozenset(processes)

    async def _run_in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        self._in_thread += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)
        finally:
            self._in_thread -= 1

    def _start(self) -> ProcessPoolExecutor:
        self._pool = ProcessPoolExecutor(self.processes, mp_context=_context(self._preload))
        return self._pool

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        if self._pool is broken:  # the first job to notice restarts it, once
            self.restarts += 1
            broken.shutdown(wait=False, cancel_futures=True)
            self._start()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """No more jobs: the thread and the worker processes end (a `Workers` may serve
        several event loops, one after the other, and be closed after the last)."""
        self._thread.shutdown(wait=True, cancel_futures=True)
        self._submitter.shutdown(wait=True, cancel_futures=True)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def map_cpu(fn: Callable[[Any], T], items: list[Any], settings: Performance) -> list[T]:
    """`[fn(x) for x in items]`, over worker processes when there are enough items."""
    processes = settings.workers or cores()
    if processes < 2 or len(items) < settings.min_pool_jobs:
        return [fn(item) for item in items]
    with ProcessPoolExecutor(processes, mp_context=_context()) as pool:
        return list(pool.map(fn, items, chunksize=max(1, len(items) // (4 * processes))))


def aside(settings: Performance, jobs: int) -> Aside | None:
    """A fresh process for one large job that runs while this process does other work,
    or None when the work is small (`jobs` under `min_pool_jobs`) or workers are off:
    then do it here."""
    return Aside() if pooled(settings, jobs) else None


def pooled(settings: Performance, jobs: int) -> bool:
    """Whether `jobs` jobs are many enough for worker processes (and workers are on)."""
    return (settings.workers or cores()) >= 2 and jobs >= settings.min_pool_jobs


class Aside:
    """`with Aside() as a: job = a.submit(fn, *args); ...; job.result()`: `fn(*args)` in
    a new interpreter of its own, which imports only what the jobs need (not the fork
    server's preloaded modules), runs the jobs submitted one after the other, and ends
    with the `with` block: its memory goes with it. A later job finds what earlier ones
    kept in that process (a grouping's reading of the words, say) and the modules they
    imported. A job that kills its process raises `WorkerCrashed` (the next job starts a
    new one)."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aside")
        self._server: _Server | None = None

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Run `fn(*args, **kwargs)` there; the arguments must not change until it ends
        (they are pickled as they are sent)."""
        return self._thread.submit(self._run, fn, args, kwargs)

    def preload(self, *modules: str) -> None:
        """Start the process now, importing `modules` there while this one works."""
        self._server = self._server or _Server()  # here: `discard` can end it at once
        self.submit(_imported, modules)

    def discard(self) -> None:
        """End the process now, whatever it runs (its imports, say), and drop the jobs
        not run yet: nobody wants their results. Closed already: nothing happens."""
        server = self._server
        if server is not None:
            with contextlib.suppress(OSError):
                server.process.kill()  # a job it ran raises WorkerCrashed, unread
        self.__exit__(None, None, None)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        server = self._server = self._server or _Server()
        try:
            return server.run(fn, args, kwargs)
        except WorkerCrashed:
            self._server = None
            raise

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)
        if self._server is not None:
            self._server.close()
            self._server = None


def kept(key: str, value: T) -> T:
    """`value` as sent to an `Aside`'s process by jobs with the same `key`: the first
    job's copy stays there, and a later job that sends it again gets that copy, with
    what the first computed on it (a grouping's reading of the words, say); only the
    key is sent again (a week's items: ~6 MB not pickled, sent and read again while the
    run waits for that job). Only for arguments of `Aside.submit`."""
    return cast(T, _Kept(key, value))


class _Kept:
    def __init__(self, key: str, value: object) -> None:
        self.key, self.value = key, value

    def __reduce__(self) -> tuple[Callable[[str, object], object], tuple[str, object]]:
        return (_kept, (self.key, self.value))


_KEPT: dict[str, object] = {}  # in an Aside's process: what `kept` keeps there


def _kept(key: str, value: object) -> object:
    return _KEPT.setdefault(key, value)


class _Sending(pickle.Pickler):
    """A job as pickled for a process that holds the `kept` values of `held` keys: those
    go as their key alone (`_Receiving` finds them there); `fresh` collects the keys of
    the others, sent whole."""

    def __init__(self, file: io.BytesIO, held: Set[str]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.held, self.fresh = held, set[str]()

    def persistent_id(self, obj: object) -> str | None:
        if not isinstance(obj, _Kept):
            return None
        if obj.key in self.held:
            return obj.key
        self.fresh.add(obj.key)
        return None


class _Receiving(pickle.Unpickler):
    """A job as `_Sending` pickled it: a key alone stands for the value kept there."""

    def persistent_load(self, pid: Any) -> object:
        return _KEPT[pid]


def _imported(names: tuple[str, ...]) -> None:
    for name in names:
        importlib.import_module(name)


class _Server:
    """The process of an `Aside`: jobs pickled, then written to its stdin in one write,
    each result read back from its stdout, its length first.

    Pickled whole first (a week's feed texts: a few MB, for a moment), not straight into
    the pipe: that writes each 64 kB frame apart, and after each write this thread waits
    for the GIL, up to the switch interval (5 ms) while this process's other threads run
    Python (the places ranked while the widest grouping is sent): the job took ~0.5 s to
    arrive. One write waits for the GIL once. A `kept` value it holds goes as its key."""

    def __init__(self) -> None:
        package = str(Path(__file__).resolve().parents[1])
        env = os.environ | {
            "PYTHONPATH": os.pathsep.join(filter(None, [package, os.environ.get("PYTHONPATH")]))
        }
        command = [sys.executable, "-c", "from digest.workers import serve; serve()"]
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed by `close`)
        self.held: set[str] = set()  # the keys of the `kept` values it holds
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors, env=env
        )

    def run(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        job = io.BytesIO()
        sending = _Sending(job, self.held)
        sending.dump((fn, args, kwargs))
        with contextlib.suppress(BrokenPipeError):  # died: see below
            stdin.write(job.getbuffer())
            stdin.flush()
        del job
        size = stdout.read(8)
        if len(size) < 8:
            code = self.process.wait()
            self.errors.seek(0)
            last = self.errors.read().decode("utf-8", "replace").strip().splitlines()[-1:]
            self.close()
            raise WorkerCrashed(f"the worker process ended with {code}: {''.join(last)}")
        result: T = pickle.loads(stdout.read(int.from_bytes(size, "big")))
        self.held |= sending.fresh  # it ran the job: it holds them now
        return result

    def close(self) -> None:
        """No more jobs: the process ends, at once. It is between jobs (every job sent
        has its result read, or it died): at most giving the last job's memory back
        (`serve`: a full collection and a trim, ~0.1 s in a process holding a week's
        reading of the words), which nobody waits for now, so it is killed rather than
        waited for; its memory goes with it."""
        with contextlib.suppress(BrokenPipeError, OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        with contextlib.suppress(OSError):
            self.process.kill()  # a no-op when it has ended
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.errors.close()


def trim() -> None:
    """Give the heap's free memory back to the system (glibc only; elsewhere a no-op):
    after a stage that built and dropped many objects, before worker processes start."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def rest() -> None:
    """Stop the workers' fork server, while no pool runs: its memory (the modules it
    preloads, the rules it compiled) goes with it while another process groups the week,
    when a run's memory peaks. The next pool, or `ready`, starts it again."""
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    with contextlib.suppress(Exception):  # a Python without it: the server stays up
        server._stop()  # type: ignore[union-attr]


def ready() -> None:
    """Start the fork server now (it preloads for a second or so in its own process), so
    that the next pool does not wait for it."""
    if _context(PAGES_PRELOAD).get_start_method() == "forkserver":
        with contextlib.suppress(Exception):
            multiprocessing.forkserver.ensure_running()


def serve() -> None:
    """The other end of `Aside.submit`: pickled jobs on stdin, one after the other until
    it closes; each result on stdout, its length first. The heap's free memory is given
    back after each job (the process may wait for the next). At the end of its stdin
    the process ends at once, without the interpreter's teardown (`os._exit`), which
    would free what the jobs kept object by object (a week's reading of the words: a
    few tenths of a second); the system takes its memory back whole. Nothing is left to
    flush: each result was flushed as it was written. (`_Server.close` does not wait
    even for that: it kills the process once the last result is read.)"""
    while True:
        try:
            fn, args, kwargs = _Receiving(sys.stdin.buffer).load()
        except EOFError:
            sys.stderr.flush()
            os._exit(0)
        data = pickle.dumps(fn(*args, **kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        sys.stdout.buffer.write(len(data).to_bytes(8, "big") + data)
        sys.stdout.buffer.flush()
        del fn, args, kwargs, data
        gc.collect()  # the job's cycles too, before the heap is trimmed
        trim()


def _context(preload: list[str] = _PRELOAD) -> multiprocessing.context.BaseContext:
    """A fork server (workers start clean, with digest's modules imported once), unless
    the main program is not a file a new process can import (`python -` or a REPL)."""
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    if main is None or not Path(main).is_file():
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload)  # for the next start of the server
    return context


class WorkerCrashed(Exception):
    """A job that killed its worker process twice."""
