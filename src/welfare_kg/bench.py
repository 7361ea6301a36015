"""Benchmark: this project's store (embedded Oxigraph through rdflib) against rdflib's in-memory store.

Both sides get the same files (the curated sources plus a generated national graph, one file
per synthetic source document, see :mod:`welfare_kg.generate`) and the same catalogue query
texts with the same VALUES bindings (:func:`queries.with_bindings`). A query is timed until
its answer is CSV text (:func:`queries.run_csv`). Ours builds the on-disk store (``build``),
then runs the catalogue on an in-memory copy of the files (``load-in-memory``), as
``welfare-kg queries --run`` does; rdflib's load is both, every file parsed into one
``Graph`` (its default in-memory store: no catalogue query names a graph, and validation and
export need no union made first). Each side runs in its own child process, so its peak RSS
(``ru_maxrss``) is its own. Ours runs alone, as its figures are held to absolute targets.
rdflib's side then runs as two processes side by side, one per core (``RDFLIB_LANES``), each
loading every file, then taking rdflib's tasks one at a time, longest first, as it is free
(:func:`claimed`, :func:`longest_first`): its Python is
single-threaded, and two such processes did not slow each other here, so its figures are
those of one process at a time, in less wall time (each lane still parses every file). Its
build figure is the quicker lane's.

Every capped task (each query's runs on either side, rdflib's validation and export) runs in
a forked copy of its side's process (:func:`timed_in_child`), killed when a run reaches the
cap, so a cap holds whatever the task is doing. A ``SIGALRM`` in the process itself did not:
Python handles it only between bytecodes, so Oxigraph's Rust code ran on (a 0.5 s alarm
during an ``ORDER BY`` was handled after 82 s), and rdflib's Turtle serializer, which catches
every ``Exception`` while it looks up prefixes, now and then swallowed it (3 caps of 15 at
1,000 projects; 163 s under a 60 s cap at 100,000). A capped task is recorded as such
(``null`` seconds and a note), never as a number. The copy times the work alone, not the
fork. A side's peak RSS over load and queries is the larger of its process's and of its
query copies' (each holds the loaded data plus what its query added); rdflib's validation
and export report their copy's own.

Validation, export and the "second process" are timed as what a user waits for: a fresh
``welfare-kg`` process on the already built store (ours, with its own peak RSS), against the
same work in rdflib (the second process must parse the files first). ``validate-changed`` is
``welfare-kg validate --changed`` after one project's budget changed in one file: the store
update plus the re-check; rdflib has nothing incremental to compare it with.
``second-process-server`` is the second process's query sent by a fresh ``welfare-kg query
--endpoint`` process to ``welfare-kg serve --in-memory``, started by the bench beforehand and
asked once its dataset description is ready: what a user with a running server waits for;
nothing in rdflib to compare it with.

Each row the scale issue sets a target for says what it is and whether it ``holds``, was
``missed``, or is ``not shown`` (the task capped below its target, or not measured). The
targets are for a graph of a million triples or more. rdflib's cap for a query is the
bench's cap or 20 times (the target's ratio) our slowest run of it, whichever is longer
(:func:`rdflib_caps`): a capped run, whichever parameters it had, took at least 20 times as
long as ours with the same ones, so the target can be shown at the default cap. Where rdflib
was capped, a query's ratio is a lower bound (its cap over our slowest run), and so is the
catalogue's, which counts such a query at those two figures instead of the p50s. It bounds
the runs that were capped, not rdflib's p50, which those runs leave unknown. rdflib's
second process is not run when its load alone took longer than the cap: the load is its bound.

The report also gives the wall time of each phase of the run (``phases``, summing to
``total_s`` with ``other``: process starts, clean-up) and the share of CPU time the hypervisor
stole during the run (``machine.cpu_steal_share``): on a shared virtual machine every figure
is inflated by about that share.
"""

from __future__ import annotations

import fcntl
import gc
import json
import math
import os
import platform
import re
import resource
import select
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager, nullcontext, suppress
from pathlib import Path

from . import cores, generate, queries, resources, store
from .errors import UsageError, WelfareKGError

SECOND_PROCESS_QUERY = ("cq05-active-in-year", {"year": "2010"})
SERVE_START_CAP = 600.0  # seconds serve may take to load the graph into its query workers
YEARS = ("2006", "2010", "2015", "2020")
# rdflib's side runs as this many processes side by side, one per core, each loading the data
# and then taking rdflib's tasks as it is free. Its Python is single-threaded, and on this project's
# 2-core machine two of them did not slow each other: two parses of 480,000 triples took
# 9.8-9.9 s side by side and 10.0-10.1 s one at a time; at 20,000 projects cq06 took
# 1.06-1.22 s beside cq08 and 1.07-1.21 s alone, cq08 1.85-2.00 s either way.
RDFLIB_LANES = 2
PHASE_MARK = "bench-phase\t"  # a side process's phase lines on its stderr, among whatever else is there

# The scale issue's targets, set for a graph of a million triples or more on 2 cores: seconds
# per task (a catalogue query's p50 for each query), the catalogue's speed-up over rdflib,
# and the peak memory of a full validation.
TARGET_S = {"build": 15.0, "validate": 60.0, "validate-changed": 2.0, "export-turtle": 20.0,
            "second-query-process": 1.5, "second-process-server": 1.5}
QUERY_TARGET_S = 1.0
CATALOGUE_TARGET_RATIO = 20.0
VALIDATE_TARGET_GB = 3.0


def timed(function):
    """(seconds, value)."""
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def timed_in_child(function, cap: float | None, *, runs: int = 1,
                   keep=lambda value: value) -> tuple[list[tuple[float, object]], float]:
    """``function(0)`` … ``function(runs - 1)`` one after the other in a forked copy of this
    process, killed once a run has taken ``cap`` seconds: (seconds, ``keep(value)``) of each run
    that finished, fewer than ``runs`` when one was capped; and the copy's peak RSS in MB.

    The copy shares the loaded data copy-on-write, so nothing is loaded again, and SIGKILL
    stops it wherever it is, in C or Rust code or in a ``try`` that catches everything. The
    seconds are the copy's own around ``function`` (neither the fork nor ``keep`` counts); the
    cap counts from the end of the previous run. The runs share a copy because a copy's first
    run pays for its first writes to the shared pages (at 1,000 projects Oxigraph's cq10 took
    2.4 ms instead of 0.6, cq06 14 ms instead of 5.5), which the next runs do not. Only the
    seconds and ``keep(value)`` (JSON-able, small) come back, a line per run through a pipe.
    The peak RSS counts the inherited pages the copy holds, as the same work in the side's
    process would.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        _run_forked(function, runs, keep, read, write)  # never returns
    os.close(write)
    capped = True  # until the copy is seen to end
    try:
        lines, capped = _lines_within(read, cap)
    finally:
        os.close(read)
        if capped:  # or the bench itself interrupted
            os.kill(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)  # wait4: this copy's own peak RSS
    answers = [json.loads(line) for line in lines[1:]]  # the first line says the copy started
    failed = [answer["error"] for answer in answers if "error" in answer]
    if failed:
        raise UsageError(f"bench: a timed task failed: {failed[0]}")
    if not capped and len(answers) < runs:
        raise UsageError(f"bench: a timed task ended without an answer "
                         f"(exit status {os.waitstatus_to_exitcode(status)})")
    return [(answer["seconds"], answer["value"]) for answer in answers], usage.ru_maxrss / 1024


def _run_forked(function, runs: int, keep, read: int, write: int) -> None:
    """The forked copy's side of :func:`timed_in_child`: a start line, then a JSON line per run."""
    status = 1
    try:
        os.close(read)
        pipe = os.fdopen(write, "w", encoding="utf-8", buffering=1)  # each line sent as it ends
        try:
            # The loaded data out of the collector's reach: a full collection would copy every
            # page of it (twice the memory). rdflib is thus spared such collections, which would
            # now and then slow a task in one long process.
            gc.freeze()
            pipe.write("started\n")
            for n in range(runs):
                start = time.perf_counter()
                value = function(n)
                seconds = time.perf_counter() - start
                pipe.write(json.dumps({"seconds": seconds, "value": keep(value)}) + "\n")
            status = 0
        except BaseException as error:  # noqa: BLE001 - reported to the parent, whatever it is
            pipe.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\n")
    finally:
        # Never back into the caller's code; no buffers flushed twice, no exit handlers (the
        # ours side's RocksDB pool threads, idle since its build, are not in the copy).
        os._exit(status)


def _lines_within(fd: int, cap: float | None) -> tuple[list[bytes], bool]:
    """The lines read from ``fd`` until it closes, and False; or those so far and True once
    ``cap`` seconds have passed without a new line (counted from the first)."""
    lines: list[bytes] = []
    pending = b""
    deadline = None
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not select.select([fd], [], [], wait)[0]:
            return lines, True
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return lines, False
        *complete, pending = (pending + chunk).split(b"\n")
        lines += complete
        if complete and cap:
            deadline = time.monotonic() + cap


def _once_in_child(function, cap: float | None) -> tuple[float | None, object, float | None]:
    """(seconds, value, peak RSS in MB) of ``function()`` in a forked copy; all None when capped."""
    results, rss_mb = timed_in_child(lambda n: function(), cap)
    return (*results[0], rss_mb) if results else (None, None, None)


@contextmanager
def phase(phases: dict, name: str, log):
    """Record the block's wall time as ``phases[name]`` and log it."""
    start = time.perf_counter()
    yield
    phases[name] = time.perf_counter() - start
    log(f"{name}: {phases[name]:.1f} s")


def read_proc_stat() -> str | None:
    try:
        return Path("/proc/stat").read_text(encoding="ascii")
    except OSError:  # not Linux
        return None


def cpu_steal_share(before: str | None, after: str | None) -> float | None:
    """Share of CPU time the hypervisor stole between two readings of ``/proc/stat``: the
    change of the eighth number of the ``cpu`` line over that of the first eight (the ninth
    and tenth, guest time, are counted within the first two already). None when unknown."""
    if before is None or after is None:
        return None
    first, last = _cpu_times(before), _cpu_times(after)
    if len(first) < 8 or len(last) < 8:
        return None
    total = sum(last[:8]) - sum(first[:8])
    return (last[7] - first[7]) / total if total > 0 else None


def _cpu_times(text: str) -> list[int]:
    line = next((line for line in text.splitlines() if line.startswith("cpu ")), "cpu")
    return [int(value) for value in line.split()[1:]]


def parameter_sets(query: queries.CatalogueQuery, organisations: list[str]) -> list[dict[str, str]]:
    """Parameter values to cycle through: a few organisations (hubs and a small one), a few years."""
    names = {p.name for p in query.parameters}
    if not names:
        return [{}]
    if names == {"org"}:
        return [{"org": org} for org in organisations]
    if names == {"year"}:
        return [{"year": year} for year in YEARS]
    return [{}]  # defaults


def busiest_leads(dataset, count: int = 3) -> list[str]:
    text = ("SELECT ?lead (COUNT(*) AS ?n) WHERE { ?p <https://w3id.org/welfare-kg/ontology/leadOrganisation> "
            f"?lead }} GROUP BY ?lead ORDER BY DESC(?n) ?lead LIMIT {count}")
    return [str(row[0]) for row in dataset.query(text)]


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1) + 0.4999)))
    return ordered[index]


def run_side(side: str, files: list[Path], *, repeat: int, cap: float | None, validate_cap: float | None,
             organisations: list[str] | None, work_dir: Path, label: str | None = None,
             tasks: list[str] | None = None, queue: Path | None = None,
             query_caps: dict[str, float] | None = None, log=lambda message: None) -> dict:
    """Load, then run on one side the ``tasks`` (catalogue query names, and on rdflib's side
    ``validate`` and ``export``; all of them if None), or those it takes from ``queue`` (see
    :func:`claimed`) one after another, each query under its ``query_caps`` entry or else
    ``cap``; seconds, None = capped. Phases are named after ``label`` (the side): ours has
    one for its catalogue, rdflib's one per task (its lanes' progress)."""
    label = label or side
    if queue is not None:
        tasks = claimed(queue)
    elif tasks is None:
        tasks = [item.name for item in queries.catalogue()] + (["validate", "export"] if side == "rdflib" else [])
    query_caps = query_caps or {}
    figures: dict = {"side": side, "queries": {}, "phases": {}, "tasks": []}
    phases = figures["phases"]
    organisations = list(organisations) if organisations is not None else None
    if side == "ours":
        cache = work_dir / "ours-cache"
        with phase(phases, "ours: build", log):
            figures["build"], _ = timed(lambda: store.rebuild_store(cache, files=files))
        with phase(phases, "ours: load-in-memory", log):
            # The catalogue runs on an in-memory copy, as `welfare-kg queries --run` does.
            figures["load"], dataset = timed(lambda: store.open_memory_dataset(files))
        if organisations is None:
            organisations = busiest_leads(dataset) + ["https://w3id.org/welfare-kg/id/organisation/mops-gdynia"]
        figures["triples"] = len(store.oxigraph(dataset))
    else:
        from rdflib import Graph

        from .namespaces import bind_prefixes

        def load():
            data = Graph()
            for path in files:
                data.parse(path, format="nt" if path.suffix == ".nt" else "turtle")
            bind_prefixes(data)
            return data

        with phase(phases, f"{label}: load", log):
            figures["build"], dataset = timed(load)
        figures["load"] = figures["build"]
    dataset.query("ASK {}")  # rdflib imports its SPARQL engine here once, not in every forked run
    catalogue = {item.name: item for item in queries.catalogue()}
    # Its own peak RSS or a query copy's, whichever was larger (a copy holds the loaded data
    # and its query's); validation and export report their copy's apart.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    each = (lambda task: phase(phases, f"{label}: {task}", log)) if side == "rdflib" else (lambda task: nullcontext())
    with phase(phases, f"{label}: queries", log) if side == "ours" else nullcontext():
        for task in tasks:
            figures["tasks"].append(task)
            with each(task):
                peak = max(peak, _run_task(task, dataset, figures, catalogue, organisations, repeat=repeat,
                                           cap=query_caps.get(task, cap), validate_cap=validate_cap))
    figures["peak_rss_mb"] = max(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    figures["organisations"] = organisations
    return figures


def _run_task(task: str, dataset, figures: dict, catalogue: dict, organisations: list[str], *, repeat: int,
              cap: float | None, validate_cap: float | None) -> float:
    """One task of :func:`run_side`, its figures put in ``figures``; the peak RSS of a query's copy (else 0)."""
    if task == "validate":
        from .validate import validate_graph

        figures["validate"], figures["conforms"], figures["validate_rss_mb"] = _once_in_child(
            lambda: validate_graph(dataset, engine="pyshacl").conforms, validate_cap)
        return 0.0
    if task == "export":
        figures["export"], _, figures["export_rss_mb"] = _once_in_child(
            lambda: len(dataset.serialize(format="turtle", encoding="utf-8")), validate_cap)
        return 0.0
    item = catalogue[task]
    figures["queries"][task] = _query_figures(dataset, item, parameter_sets(item, organisations), repeat=repeat,
                                              cap=cap)
    return figures["queries"][task]["rss_mb"]


def claimed(queue: Path):
    """The tasks of ``queue`` (a JSON list) that no other process has taken yet, one at a
    time as this one is free: each lane takes the next task when it is done with its last,
    so no lane waits while another has several left. The count taken so far is kept beside
    the list, read and raised under an exclusive lock."""
    tasks = json.loads(queue.read_text(encoding="utf-8"))
    while True:
        with open(queue.with_suffix(".taken"), "a+", encoding="ascii") as taken:
            fcntl.flock(taken, fcntl.LOCK_EX)  # released as the file closes
            taken.seek(0)
            count = int(taken.read() or 0)
            if count >= len(tasks):
                return
            taken.seek(0)
            taken.truncate()
            taken.write(str(count + 1))
        yield tasks[count]


def _query_figures(dataset, item: queries.CatalogueQuery, params: list[dict[str, str]], *, repeat: int,
                   cap: float | None) -> dict:
    """p50, p95 and slowest of ``repeat`` runs cycling through ``params``; the first capped run ends them."""
    results, rss_mb = timed_in_child(lambda n: queries.run_csv(dataset, item, params[n % len(params)]), cap,
                                     runs=repeat, keep=lambda csv: csv.count("\n") - 1)
    runs = [seconds for seconds, _ in results]
    capped = len(results) < repeat
    return {"p50": None if capped else statistics.median(runs),
            "p95": None if capped else _percentile(runs, 0.95),
            "slowest": None if capped else max(runs),
            "runs": len(runs), "rows_first": results[0][1] if results else None, "capped": capped,
            "rss_mb": rss_mb}


def welfare_kg(arguments: list[str], work_dir: Path, cap: float | None) -> dict:
    """Run ``welfare-kg`` in a fresh process, started as the installed command starts (under
    jemalloc where it is installed): seconds (None if capped), its own peak RSS, exit code and
    the last line it printed. Output goes to files, so a full pipe never stalls it."""
    command = [sys.executable, "-m", "welfare_kg.launcher", "--cache-dir", str(work_dir / "ours-cache"),
               *arguments]
    with tempfile.TemporaryFile() as output, tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        with _group_of(subprocess.Popen(command, stdout=output, stderr=errors, start_new_session=True)) as child:
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)  # wait4: this child's own peak RSS
                if pid:
                    break
                if cap and time.perf_counter() - start > cap:
                    _kill_group(child)
                    return {"seconds": None, "rss_mb": None, "exit": None, "last_line": None}
                time.sleep(0.01)
        seconds = time.perf_counter() - start
        child.returncode = code = os.waitstatus_to_exitcode(status)
        output.seek(0)
        errors.seek(0)
        printed = output.read().decode("utf-8", "replace").strip().splitlines()
        complaint = errors.read().decode("utf-8", "replace").strip().splitlines()
    if code not in (0, 1):
        raise UsageError(f"bench: welfare-kg {arguments[0]} failed: {complaint[-1:]}")
    return {"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024, "exit": code,
            "last_line": printed[-1] if printed else None}


@contextmanager
def _group_of(child: subprocess.Popen):
    """A child started in a session of its own (``start_new_session``), killed with every
    process it started should the block end with an exception: the bench interrupted (SIGTERM
    reaches the bench alone) must leave nothing running, not even a forked copy of a side."""
    try:
        yield child
    except BaseException:
        _kill_group(child)
        raise


def _kill_group(child: subprocess.Popen) -> None:
    with suppress(ProcessLookupError):  # gone already
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def second_process(side: str, data: Path, work_dir: Path, cap: float | None) -> float | None:
    """Wall time of a fresh process answering one catalogue query (ours: on the built store)."""
    name, params = SECOND_PROCESS_QUERY
    if side == "ours":
        arguments = ["query", name, "--data", str(data), "--format", "csv", "-o", os.devnull]
        arguments += [arg for key, value in params.items() for arg in ("--param", f"{key}={value}")]
        return welfare_kg(arguments, work_dir, cap)["seconds"]
    command = [sys.executable, "-m", "welfare_kg.bench", "_rdflib-query", str(data), name, json.dumps(params)]
    start = time.perf_counter()
    try:
        subprocess.run(command, check=True, timeout=cap, stdout=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - start


def second_process_server(data: Path, work_dir: Path, cap: float | None) -> tuple[float | None, str | None, dict]:
    """Wall time of a fresh ``query --endpoint`` process sending the second process's query to
    ``serve --in-memory`` on the same files, with None, and the server's start figures
    (:func:`serving`); or None, why it failed, and the figures gathered.

    ``--whole-store``: the server serves just these files, and naming their graphs (1,001 at
    100,000 projects) would make a request over its size limit. A failure is recorded, not
    raised, so that the rest of a long run is kept.
    """
    name, params = SECOND_PROCESS_QUERY
    arguments = ["query", name, "--whole-store", "--format", "csv", "-o", os.devnull]
    arguments += [arg for key, value in params.items() for arg in ("--param", f"{key}={value}")]
    started: dict = {}
    try:
        with serving(data, work_dir, cap, started) as sparql:
            return welfare_kg([*arguments, "--endpoint", sparql], work_dir, cap)["seconds"], None, started
    except UsageError as error:
        return None, str(error), started


@contextmanager
def serving(data: Path, work_dir: Path, cap: float | None, started: dict):
    """``welfare-kg serve --data DATA --in-memory`` on a free loopback port while the block runs:
    its SPARQL URL, once it answers and its dataset description is ready. Stopped afterwards,
    also on errors.

    The description is computed in the server's process after start (ready after 38-49 s at
    100,000 projects, the workers after 20-26 s); until then it competes with queries for the
    CPU, which a server already running for a while does not. ``started`` gets the seconds
    until the server answered (``answering_s``) and until /dataset did (``described_s``).
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    limit = cap or SERVE_START_CAP  # serve's time limit per query: the bench's cap, if there is one
    command = [sys.executable, "-m", "welfare_kg.launcher", "--cache-dir", str(work_dir / "ours-cache"), "serve",
               "--data", str(data), "--in-memory", "--port", str(port),
               "--timeout", f"{limit:g}", "--max-rows", str(10 ** 9)]  # never a cut answer
    with tempfile.TemporaryFile() as log:
        # A session of its own: should it not stop when asked, its query workers go with it.
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            start = time.perf_counter()
            _wait_until_answering(server, url + "/", log, limit)
            started["answering_s"] = round(time.perf_counter() - start, 2)
            _wait_until_answering(server, url + "/dataset", log, limit)
            started["described_s"] = round(time.perf_counter() - start, 2)
            yield url + "/sparql"
        finally:
            _stop(server)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_answering(server: subprocess.Popen, url: str, log, limit: float) -> None:
    """Until ``url`` answers 200: serve listens only once its workers hold the graph, and
    /dataset waits up to ``limit`` (serve's --timeout) for the description, then answers 503."""
    deadline = time.monotonic() + SERVE_START_CAP
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            complaint = log.read().decode("utf-8", "replace").strip().splitlines()
            raise UsageError(f"bench: welfare-kg serve failed: {complaint[-1:]}")
        try:
            with urllib.request.urlopen(url, timeout=limit + 5):
                return
        except OSError:  # not listening yet, or an HTTP error such as 503
            time.sleep(0.2)
    raise UsageError(f"bench: welfare-kg serve did not answer {url} within {SERVE_START_CAP:g} s")


def _stop(server: subprocess.Popen) -> None:
    server.terminate()  # serve stops its query workers on its way out
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # not reaped yet, so the group is still its own
        server.wait()


def working_copy(data: Path, folder: Path) -> Path:
    """Hard links to the given data (copies across file systems), so that editing one
    project never touches the user's files. File and folder names, and so graph IRIs, stay."""
    target = folder / data.name if data.is_dir() else folder / data.parent.name / data.name
    for path in resources.data_files(data):
        link = target / path.name if data.is_dir() else target
        link.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, link)
        except OSError:
            shutil.copyfile(path, link)
    return target


def change_one_budget(data: Path) -> None:
    """Raise the first budget value of the first file with projects tenfold (a new file, not the link)."""
    path = next(p for p in resources.data_files(data) if "-shared" not in p.name)
    text = path.read_text(encoding="utf-8")
    match = re.search(r'(<https://schema\.org/value> ")(\d+)', text)
    if match is None:
        raise UsageError(f"bench: no budget value in {path} to change")
    changed = text[:match.start(2)] + match.group(2) + "0" + text[match.end(2):]
    path.unlink()
    path.write_text(changed, encoding="utf-8")


def _rdflib_query(data: str, name: str, params: str) -> int:
    """What a user of plain rdflib waits for: parse everything, run one query."""
    from rdflib import Graph

    files = resources.source_files() + resources.data_files(Path(data))
    graph = Graph()
    for path in files:
        graph.parse(path, format="nt" if path.suffix == ".nt" else "turtle")
    item = queries.resolve(name)
    text = queries.with_bindings(item.text, queries.bindings_for(item, json.loads(params)))
    return len(list(graph.query(text)))


def _sides(runs: list[tuple[str, dict]], files: list[Path], work_dir: Path, log) -> list[dict]:
    """Run sides side by side, each ``(side, options)`` in a child process of its own, so its
    peak memory is its own; their phases are logged as they end. Figures come through files,
    so the children's stderr can be read meanwhile; the first to fail stops them all."""
    with ExitStack() as stack:
        children, outputs = [], []
        for side, options in runs:
            command = [sys.executable, "-m", "welfare_kg.bench", "_side", side, json.dumps(
                {"files": [str(f) for f in files], "work_dir": str(work_dir), **options})]
            outputs.append(stack.enter_context(tempfile.TemporaryFile()))
            children.append(stack.enter_context(_group_of(subprocess.Popen(
                command, stdout=outputs[-1], stderr=subprocess.PIPE, start_new_session=True))))
        _follow(children, [options.get("label", side) for side, options in runs], log)
        figures = []
        for output in outputs:
            output.seek(0)
            figures.append(json.loads(output.read()))
        return figures


def _follow(children: list[subprocess.Popen], names: list[str], log) -> None:
    """Read the children's stderr until each has closed it: phase lines logged, the others
    kept. A child that failed is raised at once, named, with its last other line or how it
    ended; it is watched as well as read, since a forked copy it leaves behind when killed
    from outside (by the OOM killer, say) holds its stderr open."""
    partial = [b""] * len(children)
    complaints = [""] * len(children)

    def read(index: int, fd: int) -> bool:
        """Log or keep the complete lines of what is there; False at the end of the stream."""
        chunk = os.read(fd, 1 << 16)
        *lines, partial[index] = (partial[index] + chunk).split(b"\n") if chunk else (partial[index], b"")
        for line in (line.decode("utf-8", "replace") for line in lines):
            if line.startswith(PHASE_MARK):
                log(line[len(PHASE_MARK):])
            elif line.strip():
                complaints[index] = line.strip()
        return bool(chunk)

    def check(index: int, code: int | None) -> None:
        if code in (None, 0):
            return
        fd = children[index].stderr.fileno()
        while select.select([fd], [], [], 0)[0] and read(index, fd):  # what it said before it ended
            pass
        last = partial[index].decode("utf-8", "replace").strip() or complaints[index]
        if code < 0:  # its last line, if any, was said before whatever killed it
            why = f"killed by signal {-code}" + (f" (its last line: {last})" if last else "")
        else:
            why = last or f"exit status {code}"
        raise UsageError(f"bench: the {names[index]} side failed: {why}")

    with selectors.DefaultSelector() as selector:
        for index, child in enumerate(children):
            selector.register(child.stderr, selectors.EVENT_READ, index)
        while selector.get_map():
            for key, _ in selector.select(timeout=1.0):
                if not read(key.data, key.fd):
                    selector.unregister(key.fileobj)
            for index, child in enumerate(children):
                check(index, child.poll())
    for index, child in enumerate(children):
        check(index, child.wait())


def run(*, projects: int = 2000, seed: int = 0, repeat: int = 3, cap: float = 10.0,
        validate_cap: float = 60.0, data: Path | None = None, work_dir: Path | None = None,
        log=None) -> dict:
    """Generate (unless ``data`` is given), run both sides, and return the JSON-ready report."""
    log = log or (lambda message: None)
    given = data
    start, stat = time.perf_counter(), read_proc_stat()
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="welfare-kg-bench-", dir=work_dir) as temporary:
        work = Path(temporary)
        if given is None:
            data = work / "data" / f"synthetic-{projects}-{seed}"
            with phase(phases, "generate", log):
                generate.write_folder(data, projects=projects, seed=seed)
        else:
            with phase(phases, "link the given data", log):
                data = working_copy(given, work / "data")
        options = {"repeat": repeat, "cap": cap, "validate_cap": validate_cap}
        try:
            ours, theirs = _measure(data, work, options, phases, log)
        except WelfareKGError as error:
            if given is None:
                raise
            # A complaint about the working copy names the file the user gave.
            raise type(error)(str(error).replace(str(data), str(given))) from None
    total = time.perf_counter() - start
    phases["other"] = total - sum(phases.values())  # side processes' start and end, clean-up
    return report(ours, theirs, cap=cap, validate_cap=validate_cap, projects=None if given else projects,
                  repeat=repeat, phases=phases, total=total, steal=cpu_steal_share(stat, read_proc_stat()))


def _measure(data: Path, work: Path, options: dict, phases: dict[str, float], log) -> tuple[dict, dict]:
    """Both sides' figures on the files of ``data`` plus the curated sources, in ``work``."""
    cap, validate_cap = options["cap"], options["validate_cap"]
    files = resources.source_files() + resources.data_files(data)
    [ours] = _sides([("ours", options)], files, work, log)
    phases.update(ours.pop("phases"))
    with phase(phases, "ours: second query process", log):
        ours["second"] = second_process("ours", data, work, cap)
    with phase(phases, "ours: serve --in-memory start and one query", log):
        ours["second_server"], ours["second_server_failure"], ours["server_start"] = second_process_server(
            data, work, cap)
    with phase(phases, "ours: validate", log):
        ours["validate"] = welfare_kg(["validate", "--data", str(data)], work, validate_cap)
    with phase(phases, "ours: export", log):
        ours["export"] = welfare_kg(["export", "--data", str(data), "-o", str(work / "export.ttl")], work,
                                    validate_cap)
    with phase(phases, "ours: one project changed, validate --changed", log):
        change_one_budget(data)
        ours["changed"] = welfare_kg(["validate", "--changed", "--data", str(data)], work, validate_cap)
    query_caps = rdflib_caps(ours["queries"], cap)
    order = longest_first({**query_caps, "validate": validate_cap, "export": validate_cap})
    queue = work / "rdflib-tasks.json"
    queue.write_text(json.dumps(order), encoding="utf-8")
    count = min(RDFLIB_LANES, cores.usable(), len(order))
    runs = [("rdflib", {**options, "organisations": ours["organisations"], "label": f"rdflib {number}",
                        "queue": str(queue), "query_caps": query_caps}) for number in range(1, count + 1)]
    side_by_side = f"{count} processes side by side" if count > 1 else "one process"
    with phase(phases, f"rdflib: load, queries, validate, export ({side_by_side})", log):
        theirs = merge_lanes(_sides(runs, files, work, log), query_caps)
    # A fresh process parses every file first: once that took longer than the cap, the load
    # is the second process's lower bound, and running it would only show the cap.
    theirs["second_bound"] = theirs["load"] if theirs["load"] >= cap else None
    theirs["second"] = None
    if theirs["second_bound"] is None:
        with phase(phases, "rdflib: second query process", log):
            theirs["second"] = second_process("rdflib", data, work, cap)
    return ours, theirs


def rdflib_caps(ours_queries: dict[str, dict], cap: float) -> dict[str, float]:
    """Each query's cap on rdflib's side: the bench's cap, or the catalogue target's ratio
    times our slowest run of it where that is longer (rounded up to 0.1 s). The run rdflib is
    capped on had parameters we answered at least that many times faster, whichever they
    were, so the query still shows the ratio, and the catalogue's target can show as held."""
    return {name: max(cap, math.ceil(CATALOGUE_TARGET_RATIO * (figures["slowest"] or 0.0) * 10) / 10)
            for name, figures in ours_queries.items()}


def longest_first(task_seconds: dict[str, float]) -> list[str]:
    """The order rdflib's lanes take their tasks in: the longest first (a task's seconds are its
    cap, which bounds it), so that the last ones, taken as lanes free up, are short."""
    return sorted(task_seconds, key=lambda name: (-task_seconds[name], name))


def merge_lanes(figures: list[dict], query_caps: dict[str, float]) -> dict:
    """rdflib's figures from its lanes: each task's from the lane that ran it; the load, the
    quickest lane's (each parsed every file: the figure least in ours' favour); the peak RSS,
    the largest (a lane is one user's process); each lane's tasks and phases as they were."""
    merged = {"build": min(lane["build"] for lane in figures), "query_caps": query_caps,
              "peak_rss_mb": max(lane["peak_rss_mb"] for lane in figures),
              "queries": {name: result for lane in figures for name, result in lane["queries"].items()},
              "lanes": [{"tasks": lane["tasks"], "phases": lane["phases"]} for lane in figures]}
    merged["load"] = merged["build"]
    for key in ("validate", "conforms", "validate_rss_mb", "export", "export_rss_mb"):
        merged[key] = next(lane[key] for lane in figures if key in lane)
    return merged


def _row(task: str, ours: float | None, theirs: float | None, note: str | None = None, **extra) -> dict:
    row = {"task": task, "ours_s": _round(ours), "rdflib_s": _round(theirs),
           "ratio": round(theirs / ours, 1) if ours and theirs else None}
    row.update(extra)
    if note:
        row["note"] = note
    return row


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _target(limit: float, seconds: float | None, cap: float | None, *, rss_mb: float | None = None,
            rss_limit_gb: float | None = None) -> dict:
    """A row's target of at most ``limit`` seconds (and ``rss_limit_gb`` of peak memory) and
    whether the task met it: capped (``seconds`` None) at a ``cap`` not below the limit, it
    missed; capped below it, or not run (``cap`` None), it is not shown."""
    text = f"≤ {limit:g} s" + (f", ≤ {rss_limit_gb:g} GB" if rss_limit_gb else "")
    if seconds is None:
        verdict = "missed" if cap is not None and cap >= limit else "not shown"
    else:
        within_memory = not rss_limit_gb or (rss_mb or 0) * 2 ** 20 <= rss_limit_gb * 1e9
        verdict = "holds" if seconds <= limit and within_memory else "missed"
    return {"target": text, "verdict": verdict}


def _catalogue_target(total_ours: float | None, total_theirs: float | None, bound_theirs: float,
                      bound_ours: float) -> dict:
    """The catalogue's speed-up target. With rdflib capped somewhere, the bound counts each
    capped query at its cap (a lower bound of the run capped) against our slowest run of it,
    and each other query at both p50s: the target shows as held only if that bound reaches it."""
    target = {"target": f"≥ {CATALOGUE_TARGET_RATIO:g}x"}
    if not total_ours:
        return {**target, "verdict": "not shown"}
    if total_theirs is not None:
        return {**target, "verdict": "holds" if total_theirs / total_ours >= CATALOGUE_TARGET_RATIO else "missed"}
    at_least = _at_least(bound_theirs, bound_ours)
    return {**target, "ratio_at_least": at_least,
            "verdict": "holds" if at_least >= CATALOGUE_TARGET_RATIO else "not shown"}


def _at_least(theirs: float, ours: float) -> float:
    """A lower bound of a ratio, rounded down to 0.1."""
    return _down(theirs / ours)


def _down(bound: float) -> float:
    """A lower bound rounded down to 0.1, so that it never claims more than was shown; the
    tolerance keeps a cap of exactly 20 times a run (27.2 / 1.36) from printing as 19.9."""
    return math.floor(bound * 10 + 1e-9) / 10


def report(ours: dict, theirs: dict, *, cap, validate_cap, projects, repeat, phases: dict[str, float],
           total: float, steal: float | None) -> dict:
    def capped(seconds, side: str, limit) -> str | None:
        return f"{side} > {limit:g} s (capped)" if seconds is None else None

    rows = [_row("build", ours["build"], theirs["build"], **_target(TARGET_S["build"], ours["build"], None)),
            _row("load-in-memory", ours["load"], theirs["load"])]
    total_ours = total_theirs = bound_theirs = bound_ours = 0.0
    complete_ours = complete_theirs = True
    for name, figures in ours["queries"].items():
        other, their_cap = theirs["queries"][name], theirs["query_caps"][name]
        note = (f"ours > {cap:g} s (capped)" if figures["capped"] else
                f"rdflib > {their_cap:g} s (capped)" if other["capped"] else None)
        bounded = other["capped"] and figures["p50"] is not None
        extra = {"ratio_at_least": _at_least(their_cap, figures["slowest"])} if bounded else {}
        rows.append(_row(name, figures["p50"], other["p50"], note,
                         ours_p95_s=_round(figures["p95"]), rdflib_p95_s=_round(other["p95"]),
                         **_target(QUERY_TARGET_S, figures["p50"], cap), **extra))
        complete_ours = complete_ours and figures["p50"] is not None
        complete_theirs = complete_theirs and other["p50"] is not None
        total_ours += figures["p50"] or 0.0
        total_theirs += other["p50"] or 0.0
        bound_theirs += their_cap if other["capped"] else other["p50"]
        bound_ours += (figures["slowest"] if other["capped"] else figures["p50"]) or 0.0
    total_ours = total_ours if complete_ours else None
    total_theirs = total_theirs if complete_theirs else None
    rows.append(_row("catalogue", total_ours, total_theirs,
                     None if complete_ours and complete_theirs else
                     "sum of p50s; capped when any query was "
                     "(the bound sets each query rdflib was capped on at its cap against our slowest run of it)",
                     **_catalogue_target(total_ours, total_theirs, bound_theirs, bound_ours)))
    validate, export_, changed = ours["validate"], ours["export"], ours["changed"]
    rows.append(_row("validate", validate["seconds"], theirs["validate"],
                     capped(validate["seconds"], "ours", validate_cap) or
                     capped(theirs["validate"], "rdflib", validate_cap),
                     ours_peak_rss_mb=_round(validate["rss_mb"]),
                     rdflib_peak_rss_mb=_round(theirs["validate_rss_mb"]),
                     **_target(TARGET_S["validate"], validate["seconds"], validate_cap,
                               rss_mb=validate["rss_mb"], rss_limit_gb=VALIDATE_TARGET_GB)))
    rows.append(_row("validate-changed", changed["seconds"], None,
                     "after one project's budget changed: store update and re-check; nothing to compare in rdflib",
                     ours_peak_rss_mb=_round(changed["rss_mb"]), compared=False,
                     summary=changed["last_line"],
                     **_target(TARGET_S["validate-changed"], changed["seconds"], validate_cap)))
    rows.append(_row("export-turtle", export_["seconds"], theirs["export"],
                     capped(export_["seconds"], "ours", validate_cap) or
                     capped(theirs["export"], "rdflib", validate_cap),
                     ours_peak_rss_mb=_round(export_["rss_mb"]),
                     rdflib_peak_rss_mb=_round(theirs["export_rss_mb"]),
                     **_target(TARGET_S["export-turtle"], export_["seconds"], validate_cap)))
    bound = theirs["second_bound"]  # None when rdflib's second process was run
    rows.append(_row("second-query-process", ours["second"], theirs["second"],
                     capped(ours["second"], "ours", cap) or
                     (capped(theirs["second"], "rdflib", cap) if bound is None else
                      f"rdflib > {_down(bound):.1f} s (not run: a fresh process parses every file "
                      "first, and its load alone took that long above)"),
                     **({"ratio_at_least": _at_least(bound, ours["second"])} if bound and ours["second"] else {}),
                     **_target(TARGET_S["second-query-process"], ours["second"], cap)))
    started = ours["server_start"]
    rows.append(_row("second-process-server", ours["second_server"], None,
                     ours["second_server_failure"] or capped(ours["second_server"], "ours", cap) or
                     "the same query by a fresh `welfare-kg query --endpoint` process (CSV) from "
                     f"`welfare-kg serve --in-memory`, already running (answering {started['answering_s']:g} s "
                     f"after start, its description ready after {started['described_s']:g} s); "
                     "nothing to compare in rdflib",
                     compared=False, **{f"server_{key}": value for key, value in started.items()},
                     **_target(TARGET_S["second-process-server"], ours["second_server"],
                               None if ours["second_server_failure"] else cap)))
    return {
        "triples": ours["triples"],
        "rows": rows,
        "projects": projects,
        "repeat": repeat,
        "peak_rss_mb": {"ours": round(ours["peak_rss_mb"]), "rdflib": round(theirs["peak_rss_mb"])},
        "rdflib_lanes": theirs["lanes"],
        "conforms": {"ours": validate["exit"] == 0 if validate["exit"] is not None else None,
                     "rdflib": theirs["conforms"]},
        "total_s": round(total, 1),
        "phases": {name: round(seconds, 2) for name, seconds in phases.items()},
        "machine": {"cpus": cores.usable(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "cpu_steal_share": None if steal is None else round(steal, 4)},
    }


def format_table(result: dict) -> str:
    def cell(value) -> str:
        return "capped" if value is None else f"{value:.4f}" if value < 10 else f"{value:.1f}"

    projects = "given data" if result["projects"] is None else f"{result['projects']} projects"
    machine = result["machine"]
    steal = "not known" if machine["cpu_steal_share"] is None else f"{machine['cpu_steal_share']:.1%}"
    lanes = len(result["rdflib_lanes"])
    lines = [f"{result['triples']} triples, {projects}, {machine['cpus']} CPUs ({machine['platform']}), "
             f"CPU steal during the run {steal}; rdflib's side as "
             + (f"{lanes} processes side by side" if lanes > 1 else "one process"),
             f"{'task':28s} {'ours s':>10s} {'rdflib s':>10s} {'ratio':>8s}  target"]
    for row in result["rows"]:
        ratio = (f"{row['ratio']:.1f}x" if row["ratio"] is not None else
                 f">{row['ratio_at_least']:.1f}x" if "ratio_at_least" in row else "")
        theirs = cell(row["rdflib_s"]) if row.get("compared", True) else "-"
        target = f"{row['target']}: {row['verdict']}" if "target" in row else ""
        notes = [f"{side} peak RSS {row[f'{side}_peak_rss_mb']:.0f} MB"
                 for side in ("ours", "rdflib") if row.get(f"{side}_peak_rss_mb")]
        notes += [row["note"]] if row.get("note") else []
        line = f"{row['task']:28s} {cell(row['ours_s']):>10s} {theirs:>10s} {ratio:>8s}  {target:22s}"
        lines.append((line + (f"  {'; '.join(notes)}" if notes else "")).rstrip())
    rss = result["peak_rss_mb"]
    lines.append(f"{'peak RSS (MB), load+queries':28s} {rss['ours']:>10d} {rss['rdflib']:>10d}")
    verdicts = [row["verdict"] for row in result["rows"] if "verdict" in row]
    lines.append(f"targets (set for a million triples or more on 2 cores): {verdicts.count('holds')} hold, "
                 f"{verdicts.count('missed')} missed, {verdicts.count('not shown')} not shown")
    lines.append(f"bench wall time {result['total_s']:.1f} s")
    return "\n".join(lines) + "\n"


def _main(argv: list[str]) -> int:
    command = argv[0]
    if command == "_side":
        side, options = argv[1], json.loads(argv[2])
        files = [Path(f) for f in options["files"]]
        try:
            figures = run_side(side, files, repeat=options["repeat"], cap=options["cap"],
                               validate_cap=options["validate_cap"], organisations=options.get("organisations"),
                               work_dir=Path(options["work_dir"]), label=options.get("label"),
                               tasks=options.get("tasks"), queue=Path(options["queue"]) if "queue" in options else None,
                               query_caps=options.get("query_caps"),
                               log=lambda message: print(PHASE_MARK + message, file=sys.stderr, flush=True))
        except WelfareKGError as error:  # its message is the last line the bench reads
            print(error, file=sys.stderr)
            return error.exit_code
        json.dump(figures, sys.stdout)
        sys.stdout.flush()
        # Without the interpreter's clean-up: freeing rdflib's graph object by object takes
        # 3.4 s for 480,000 triples, so about 17 s at 100,000 projects, for nothing.
        os._exit(0)
    if command == "_rdflib-query":
        _rdflib_query(argv[1], argv[2], argv[3])
        return 0
    raise SystemExit(f"unknown bench command {command}")


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
