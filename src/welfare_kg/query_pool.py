"""Query workers: separate processes that open the store read-only, so a query that runs
past its time limit can be stopped by killing its process.

Oxigraph cannot cancel a running query, and a thread cannot be killed; a process can.
Each worker answers one request at a time over a pipe. When a request runs past its
limit, the pool kills that worker (SIGKILL), answers 503, and starts a replacement in the
background; the other workers keep answering meanwhile. RocksDB allows any number of
read-only opens of one store, so the workers share the built store on disk; with
``--public`` each worker loads the public TriG export into memory instead, and with
``--in-memory`` a copy of the source files (queries over a large graph run several times
faster in memory, see :func:`store.memory_copy`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import signal
import sys
import threading
import traceback
from dataclasses import dataclass

# Each worker may use this much memory (RLIMIT_DATA); a query that needs more (a huge
# ORDER BY, say) ends its worker, which is replaced, instead of the whole machine swapping.
WORKER_MEMORY = 2 * 1024 ** 3


class QueryTimeout(Exception):
    """The request ran past the time limit; its worker was killed."""


class PoolBusy(Exception):
    """No worker became free within the time limit."""


class WorkerDied(Exception):
    """The worker ended while answering (e.g. it ran out of memory)."""


@dataclass
class Worker:
    process: multiprocessing.Process
    conn: object  # multiprocessing.connection.Connection


def _context():
    return multiprocessing.get_context("spawn")  # never fork a process that runs an event loop


class QueryPool:
    def __init__(self, *, store_path: str | None, public_trig: str | None, size: int = 2, remote=None,
                 memory_files: list[str] | None = None):
        self.store_path = store_path
        self.public_trig = public_trig
        self.memory_files = memory_files  # each worker parses these into memory instead of opening the store
        self.remote = remote  # a remote.Endpoint: workers forward to it instead of opening a store
        self.size = size
        self.idle: asyncio.Queue | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.workers: list[Worker] = []
        self.lock = threading.Lock()
        self.closed = False
        self.restarts = 0

    # ----------------------------------------------------------------- lifecycle

    def _spawn(self) -> Worker:
        parent, child = _context().Pipe()
        process = _context().Process(
            target=worker_main, args=(child, self.store_path, self.public_trig, self.remote, self.memory_files),
            daemon=True, name="welfare-kg-query")
        process.start()
        child.close()
        if not parent.poll(120) or parent.recv() != "ready":
            process.kill()
            raise RuntimeError("a query worker failed to start")
        worker = Worker(process, parent)
        with self.lock:
            self.workers.append(worker)
        return worker

    async def start(self) -> None:
        """Start every worker (in parallel) and wait until each has opened the store."""
        self.loop = asyncio.get_running_loop()
        self.idle = asyncio.Queue()
        started = await asyncio.gather(*(asyncio.to_thread(self._spawn) for _ in range(self.size)))
        for worker in started:
            self.idle.put_nowait(worker)

    def close(self) -> None:
        self.closed = True
        with self.lock:
            workers, self.workers = self.workers, []
        for worker in workers:
            _stop(worker)

    def _retire(self, worker: Worker) -> None:
        """Kill a worker and start its replacement in the background."""
        with self.lock:
            if worker in self.workers:
                self.workers.remove(worker)
        _stop(worker)
        self.restarts += 1
        if self.closed:
            return

        def replace() -> None:
            try:
                fresh = self._spawn()
            except Exception:  # noqa: BLE001 - report and keep serving with fewer workers
                traceback.print_exc()
                return
            if self.closed:
                _stop(fresh)
            else:
                self.loop.call_soon_threadsafe(self.idle.put_nowait, fresh)

        threading.Thread(target=replace, daemon=True).start()

    # ----------------------------------------------------------------- requests

    async def call(self, request: dict, *, timeout: float):
        """Send one request to a free worker and return its answer within ``timeout`` seconds."""
        try:
            worker = await asyncio.wait_for(self.idle.get(), timeout)
        except TimeoutError:
            raise PoolBusy() from None
        try:
            answer = await asyncio.to_thread(_exchange, worker, request, timeout)
        except QueryTimeout:
            self._retire(worker)
            raise
        except (EOFError, OSError):
            self._retire(worker)
            raise WorkerDied() from None
        except BaseException:  # cancelled mid-answer: the pipe's state is unknown
            self._retire(worker)
            raise
        self.idle.put_nowait(worker)
        return answer


def _exchange(worker: Worker, request: dict, timeout: float):
    worker.conn.send(request)
    if not worker.conn.poll(timeout):
        raise QueryTimeout()
    return worker.conn.recv()


def _stop(worker: Worker) -> None:
    if worker.process.is_alive():
        worker.process.kill()
    worker.process.join(5)
    worker.conn.close()


# --------------------------------------------------------------------------- the worker process

def open_store(store_path: str | None, public_trig: str | None, endpoint=None, memory_files=None):
    from pathlib import Path

    import pyoxigraph as ox

    from .store import lock_store, memory_copy, open_read_only

    if memory_files is not None:
        return memory_copy([Path(name) for name in memory_files])
    if endpoint is not None:
        from .remote import RemoteOxStore

        return RemoteOxStore(endpoint)
    if public_trig is not None:
        store = ox.Store()
        store.bulk_load(path=public_trig, format=ox.RdfFormat.TRIG)
        return store
    # Never closed: the worker holds the store against removal until it ends (or is killed).
    if lock_store(Path(store_path)) is None:
        raise RuntimeError(f"{store_path}: the store was removed before this worker could open it")
    return open_read_only(Path(store_path))


def worker_main(conn, store_path: str | None, public_trig: str | None, endpoint=None, memory_files=None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (WORKER_MEMORY, WORKER_MEMORY))
    except (ValueError, OSError):
        pass
    from . import handlers  # heavy imports happen here, before "ready"

    store = open_store(store_path, public_trig, endpoint, memory_files)
    handlers.warm_up(store)
    conn.send("ready")
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer = handlers.handle(store, request)
        except Exception:  # noqa: BLE001 - the client gets a short message, the log the details
            print(f"query worker {os.getpid()}: error answering {request.get('op')}", file=sys.stderr)
            traceback.print_exc()
            answer = (500, "text/plain; charset=utf-8", b"internal error while answering the request\n", {})
        conn.send(answer)
