"""Benchmark: this project's store (embedded Oxigraph through rdflib) against rdflib's in-memory store.

Both sides get the same files (the curated sources plus a generated national graph, one file
per synthetic source document, see :mod:`welfare_kg.generate`) and the same catalogue query
texts with the same VALUES bindings (:func:`queries.with_bindings`). A query is timed until
its answer is CSV text (:func:`queries.run_csv`). Ours builds the on-disk store (``build``),
then runs the catalogue on an in-memory copy of the files (``load-in-memory``), as
``welfare-kg queries --run`` does; rdflib's load is both. Each side runs in its own child
process, so its peak RSS (``ru_maxrss``) is its own. rdflib's SPARQL engine, pySHACL and
rdflib's serializers are pure Python, so a per-task time cap (``SIGALRM``) stops a run that
would not finish; such a task is recorded as capped (``null`` seconds and a note), never as a
number.

Validation, export and the "second process" are timed as what a user waits for: a fresh
``welfare-kg`` process on the already built store (ours, with its own peak RSS), against the
same work in rdflib (the second process must parse the files first). ``validate-changed`` is
``welfare-kg validate --changed`` after one project's budget changed in one file: the store
update plus the re-check; rdflib has nothing incremental to compare it with.
``second-process-server`` is the second process's query sent by a fresh ``welfare-kg query
--endpoint`` process to ``welfare-kg serve --in-memory``, started by the bench beforehand:
what a user with a running server waits for; nothing in rdflib to compare it with.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from . import generate, queries, resources, store
from .errors import UsageError

SECOND_PROCESS_QUERY = ("cq05-active-in-year", {"year": "2010"})
SERVE_START_CAP = 600.0  # seconds serve may take to load the graph into its query workers
YEARS = ("2006", "2010", "2015", "2020")


class Capped(Exception):
    pass


@contextmanager
def time_cap(seconds: float | None):
    """Raise :class:`Capped` in the main thread once ``seconds`` have passed (pure-Python work only)."""
    if not seconds:
        yield
        return

    def _alarm(signum, frame):
        raise Capped()

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed(function, cap: float | None = None):
    """(seconds, value) or (None, None) when the cap was hit."""
    start = time.perf_counter()
    try:
        with time_cap(cap):
            value = function()
    except Capped:
        return None, None
    return time.perf_counter() - start, value


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


def run_side(side: str, files: list[Path], *, repeat: int, cap: float | None,
             validate_cap: float | None, organisations: list[str] | None, work_dir: Path) -> dict:
    """Load and query on one side (rdflib: validate and export too); seconds, None = capped."""
    figures: dict = {"side": side, "queries": {}}
    organisations = list(organisations) if organisations is not None else None
    if side == "ours":
        cache = work_dir / "ours-cache"
        figures["build"], _ = timed(lambda: store.build_store(cache, files=files, force=True))
        # The catalogue runs on an in-memory copy, as `welfare-kg queries --run` does.
        figures["load"], dataset = timed(lambda: store.open_memory_dataset(files))
        if organisations is None:
            organisations = busiest_leads(dataset) + ["https://w3id.org/welfare-kg/id/organisation/mops-gdynia"]
        figures["triples"] = len(store.oxigraph(dataset))
    else:
        from rdflib import Dataset

        from .namespaces import bind_prefixes

        def load():
            data = Dataset(default_union=True)
            for path in files:
                data.graph(store.named_graph_for(path)).parse(path, format="nt" if path.suffix == ".nt" else "turtle")
            bind_prefixes(data)
            return data

        figures["build"], dataset = timed(load)
        figures["load"] = figures["build"]
        figures["triples"] = sum(1 for _ in dataset.quads())
    for item in queries.catalogue():
        params = parameter_sets(item, organisations)
        runs: list[float] = []
        rows = None
        capped = False
        for n in range(repeat):
            seconds, csv = timed(lambda: queries.run_csv(dataset, item, params[n % len(params)]), cap)
            if seconds is None:
                capped = True
                break
            runs.append(seconds)
            rows = csv.count("\n") - 1 if rows is None else rows
        figures["queries"][item.name] = {
            "p50": statistics.median(runs) if runs and not capped else None,
            "p95": _percentile(runs, 0.95) if runs and not capped else None,
            "runs": len(runs), "rows_first": rows, "capped": capped}
    if side == "rdflib":
        from .validate import validate_graph

        union = _rdflib_union(dataset)
        figures["validate"], figures["conforms"] = timed(
            lambda: validate_graph(union, engine="pyshacl").conforms, validate_cap)
        figures["export"], _ = timed(lambda: len(union.serialize(format="turtle", encoding="utf-8")), validate_cap)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["organisations"] = organisations
    return figures


def _rdflib_union(dataset):
    from rdflib import Graph

    graph = Graph()
    for s, p, o, _ in dataset.quads():
        graph.add((s, p, o))
    return graph


def welfare_kg(arguments: list[str], work_dir: Path, cap: float | None) -> dict:
    """Run ``welfare-kg`` in a fresh process: seconds (None if capped), its own peak RSS, exit
    code and the last line it printed. Output goes to files, so a full pipe never stalls it."""
    command = [sys.executable, "-m", "welfare_kg.cli", "--cache-dir", str(work_dir / "ours-cache"), *arguments]
    with tempfile.TemporaryFile() as output, tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=output, stderr=errors)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)  # wait4: this child's own peak RSS
            if pid:
                break
            if cap and time.perf_counter() - start > cap:
                child.kill()
                child.wait()
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


def second_process_server(data: Path, work_dir: Path, cap: float | None) -> tuple[float | None, str | None]:
    """Wall time of a fresh ``query --endpoint`` process sending the second process's query to
    ``serve --in-memory`` on the same files, and None; or None and why it failed.

    ``--whole-store``: the server serves just these files, and naming their graphs (1,001 at
    100,000 projects) would make a request over its size limit. A failure is recorded, not
    raised, so that the rest of a long run is kept.
    """
    name, params = SECOND_PROCESS_QUERY
    arguments = ["query", name, "--whole-store", "--format", "csv", "-o", os.devnull]
    arguments += [arg for key, value in params.items() for arg in ("--param", f"{key}={value}")]
    try:
        with serving(data, work_dir, cap) as sparql:
            return welfare_kg([*arguments, "--endpoint", sparql], work_dir, cap)["seconds"], None
    except UsageError as error:
        return None, str(error)


@contextmanager
def serving(data: Path, work_dir: Path, cap: float | None):
    """``welfare-kg serve --data DATA --in-memory`` on a free loopback port while the block runs:
    its SPARQL URL, once it answers. Stopped afterwards, also on errors."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    limit = cap or SERVE_START_CAP  # serve's time limit per query: the bench's cap, if there is one
    command = [sys.executable, "-m", "welfare_kg.cli", "--cache-dir", str(work_dir / "ours-cache"), "serve",
               "--data", str(data), "--in-memory", "--port", str(port),
               "--timeout", f"{limit:g}", "--max-rows", str(10 ** 9)]  # never a cut answer
    with tempfile.TemporaryFile() as log:
        # A session of its own: should it not stop when asked, its query workers go with it.
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        try:
            _wait_until_answering(server, url, log)
            yield url + "/sparql"
        finally:
            _stop(server)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_answering(server: subprocess.Popen, url: str, log) -> None:
    """Until the page at ``url`` answers: serve listens only once its workers hold the graph."""
    deadline = time.monotonic() + SERVE_START_CAP
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            complaint = log.read().decode("utf-8", "replace").strip().splitlines()
            raise UsageError(f"bench: welfare-kg serve failed: {complaint[-1:]}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise UsageError(f"bench: welfare-kg serve did not answer within {SERVE_START_CAP:g} s")


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


def _child(side: str, files: list[Path], options: dict, work_dir: Path) -> dict:
    """Run one side in a child process, so its peak memory is its own."""
    command = [sys.executable, "-m", "welfare_kg.bench", "_side", side, json.dumps(
        {"files": [str(f) for f in files], "work_dir": str(work_dir), **options})]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise UsageError(f"bench: the {side} side failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout)


def run(*, projects: int = 2000, seed: int = 0, repeat: int = 3, cap: float = 10.0,
        validate_cap: float = 60.0, data: Path | None = None, work_dir: Path | None = None,
        log=None) -> dict:
    """Generate (unless ``data`` is given), run both sides, and return the JSON-ready report."""
    log = log or (lambda message: None)
    given = data is not None
    with tempfile.TemporaryDirectory(prefix="welfare-kg-bench-", dir=work_dir) as temporary:
        work = Path(temporary)
        if data is None:
            data = work / "data" / f"synthetic-{projects}-{seed}"
            seconds, _ = timed(lambda: generate.write_folder(data, projects=projects, seed=seed))
            log(f"generated {data.name}/ in {seconds:.1f} s")
        else:
            data = working_copy(data, work / "data")
        files = resources.source_files() + resources.data_files(data)
        options = {"repeat": repeat, "cap": cap, "validate_cap": validate_cap}
        log("ours: build and queries …")
        ours = _child("ours", files, options, work)
        log("ours: second query process, validation, export, one project changed …")
        ours["second"] = second_process("ours", data, work, cap)
        log("ours: the same query by a fresh process from serve --in-memory …")
        ours["second_server"], ours["second_server_failure"] = second_process_server(data, work, cap)
        ours["validate"] = welfare_kg(["validate", "--data", str(data)], work, validate_cap)
        ours["export"] = welfare_kg(["export", "--data", str(data), "-o", str(work / "export.ttl")], work,
                                    validate_cap)
        change_one_budget(data)
        ours["changed"] = welfare_kg(["validate", "--changed", "--data", str(data)], work, validate_cap)
        log("rdflib: load, queries, validation, export …")
        options["organisations"] = ours["organisations"]
        theirs = _child("rdflib", files, options, work)
        theirs["second"] = second_process("rdflib", data, work, cap)
    return report(ours, theirs, cap=cap, validate_cap=validate_cap, projects=None if given else projects,
                  repeat=repeat)


def _row(task: str, ours: float | None, theirs: float | None, note: str | None = None, **extra) -> dict:
    row = {"task": task, "ours_s": _round(ours), "rdflib_s": _round(theirs),
           "ratio": round(theirs / ours, 1) if ours and theirs else None}
    row.update(extra)
    if note:
        row["note"] = note
    return row


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def report(ours: dict, theirs: dict, *, cap, validate_cap, projects, repeat) -> dict:
    def capped(seconds, side: str, limit) -> str | None:
        return f"{side} > {limit:g} s (capped)" if seconds is None else None

    rows = [_row("build", ours["build"], theirs["build"]),
            _row("load-in-memory", ours["load"], theirs["load"])]
    total_ours = total_theirs = 0.0
    complete_ours = complete_theirs = True
    for name, figures in ours["queries"].items():
        other = theirs["queries"][name]
        note = (f"ours > {cap:g} s (capped)" if figures["capped"] else
                f"rdflib > {cap:g} s (capped)" if other["capped"] else None)
        rows.append(_row(name, figures["p50"], other["p50"], note,
                         ours_p95_s=_round(figures["p95"]), rdflib_p95_s=_round(other["p95"])))
        complete_ours = complete_ours and figures["p50"] is not None
        complete_theirs = complete_theirs and other["p50"] is not None
        total_ours += figures["p50"] or 0.0
        total_theirs += other["p50"] or 0.0
    rows.append(_row("catalogue", total_ours if complete_ours else None, total_theirs if complete_theirs else None,
                     None if complete_ours and complete_theirs else "sum of p50s; capped when any query was"))
    validate, export_, changed = ours["validate"], ours["export"], ours["changed"]
    rows.append(_row("validate", validate["seconds"], theirs["validate"],
                     capped(validate["seconds"], "ours", validate_cap) or
                     capped(theirs["validate"], "rdflib", validate_cap),
                     ours_peak_rss_mb=_round(validate["rss_mb"])))
    rows.append(_row("validate-changed", changed["seconds"], None,
                     "after one project's budget changed: store update and re-check; nothing to compare in rdflib",
                     ours_peak_rss_mb=_round(changed["rss_mb"]), compared=False,
                     summary=changed["last_line"]))
    rows.append(_row("export-turtle", export_["seconds"], theirs["export"],
                     capped(export_["seconds"], "ours", validate_cap) or
                     capped(theirs["export"], "rdflib", validate_cap),
                     ours_peak_rss_mb=_round(export_["rss_mb"])))
    rows.append(_row("second-query-process", ours["second"], theirs["second"],
                     capped(ours["second"], "ours", cap) or capped(theirs["second"], "rdflib", cap)))
    rows.append(_row("second-process-server", ours["second_server"], None,
                     ours["second_server_failure"] or capped(ours["second_server"], "ours", cap) or
                     "the same query by a fresh `welfare-kg query --endpoint` process (CSV) from "
                     "`welfare-kg serve --in-memory`, already running; nothing to compare in rdflib",
                     compared=False))
    return {
        "triples": ours["triples"],
        "rows": rows,
        "projects": projects,
        "repeat": repeat,
        "peak_rss_mb": {"ours": round(ours["peak_rss_mb"]), "rdflib": round(theirs["peak_rss_mb"])},
        "conforms": {"ours": validate["exit"] == 0 if validate["exit"] is not None else None,
                     "rdflib": theirs["conforms"]},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
    }


def format_table(result: dict) -> str:
    def cell(value) -> str:
        return "capped" if value is None else f"{value:.4f}" if value < 10 else f"{value:.1f}"

    projects = "given data" if result["projects"] is None else f"{result['projects']} projects"
    lines = [f"{result['triples']} triples, {projects}, "
             f"{result['machine']['cpus']} CPUs ({result['machine']['platform']})",
             f"{'task':28s} {'ours s':>10s} {'rdflib s':>10s} {'ratio':>8s}"]
    for row in result["rows"]:
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.1f}x"
        theirs = cell(row["rdflib_s"]) if row.get("compared", True) else "-"
        notes = [f"ours peak RSS {row['ours_peak_rss_mb']:.0f} MB"] if row.get("ours_peak_rss_mb") else []
        notes += [row["note"]] if row.get("note") else []
        lines.append(f"{row['task']:28s} {cell(row['ours_s']):>10s} {theirs:>10s} {ratio:>8s}"
                     + (f"  {'; '.join(notes)}" if notes else ""))
    rss = result["peak_rss_mb"]
    lines.append(f"{'peak RSS (MB), load+queries':28s} {rss['ours']:>10d} {rss['rdflib']:>10d}")
    return "\n".join(lines) + "\n"


def _main(argv: list[str]) -> int:
    command = argv[0]
    if command == "_side":
        side, options = argv[1], json.loads(argv[2])
        files = [Path(f) for f in options["files"]]
        figures = run_side(side, files, repeat=options["repeat"], cap=options["cap"],
                           validate_cap=options["validate_cap"], organisations=options.get("organisations"),
                           work_dir=Path(options["work_dir"]))
        json.dump(figures, sys.stdout)
        return 0
    if command == "_rdflib-query":
        _rdflib_query(argv[1], argv[2], argv[3])
        return 0
    raise SystemExit(f"unknown bench command {command}")


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
