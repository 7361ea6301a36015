"""Benchmark: this project's store (embedded Oxigraph through rdflib) against rdflib's in-memory store.

Both sides get the same files (the curated sources plus one generated synthetic graph, see
:mod:`welfare_kg.generate`) and the same catalogue query texts with the same VALUES bindings
(:func:`queries.with_bindings`). Each side runs in its own child process, so its peak RSS
(``ru_maxrss``) is its own. rdflib's SPARQL engine, pySHACL and the export are pure Python,
so a per-task time cap (``SIGALRM``) stops a run that would not finish; such a task is
recorded as capped (``null`` seconds and a note), never as a number.

The "second process" task is what a user waits for: a fresh ``welfare-kg query`` process on an
already built store (ours), against a fresh process that must parse the files first (rdflib).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from . import export, generate, queries, resources, store
from .errors import UsageError

SECOND_PROCESS_QUERY = ("cq05-active-in-year", {"year": "2010"})
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
    """Load, query, validate and export on one side; figures in seconds (None = capped)."""
    from .validate import validate_graph

    figures: dict = {"side": side, "queries": {}}
    organisations = list(organisations) if organisations is not None else None
    if side == "ours":
        cache = work_dir / "ours-cache"
        figures["build"], _ = timed(lambda: store.build_store(cache, files=files, force=True))
        dataset = store.open_dataset(cache, files=files)
        target = dataset
        if organisations is None:
            organisations = busiest_leads(dataset) + ["https://w3id.org/welfare-kg/id/organisation/mops-gdynia"]
    else:
        from rdflib import Dataset

        from .namespaces import bind_prefixes

        def load():
            data = Dataset(default_union=True)
            for path in files:
                data.graph(store.named_graph_for(path)).parse(path, format="turtle")
            bind_prefixes(data)
            return data

        figures["build"], dataset = timed(load)
        target = dataset
    figures["triples"] = len(store.oxigraph(target)) if side == "ours" else sum(1 for _ in target.quads())
    for item in queries.catalogue():
        params = parameter_sets(item, organisations)
        runs: list[float] = []
        rows = None
        capped = False
        for n in range(repeat * len(params) if repeat > 0 else 0):
            text = queries.with_bindings(item.text, queries.bindings_for(item, params[n % len(params)]))
            seconds, count = timed(lambda: len(list(target.query(text))), cap)
            if seconds is None:
                capped = True
                break
            runs.append(seconds)
            rows = count if rows is None else rows
        figures["queries"][item.name] = {
            "p50": statistics.median(runs) if runs and not capped else None,
            "p95": _percentile(runs, 0.95) if runs and not capped else None,
            "runs": len(runs), "rows_first": rows, "capped": capped}

    def union():
        return store.union_graph(target) if side == "ours" else _rdflib_union(target)

    def validate():
        return validate_graph(union()).conforms

    figures["validate"], figures["conforms"] = timed(validate, validate_cap)

    def export_turtle():
        graphs = export.named_graphs(store.oxigraph(target)) if side == "ours" else _rdflib_named(target)
        return len(export.serialize(graphs, "turtle"))

    figures["export"], figures["export_bytes"] = timed(export_turtle, validate_cap)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["organisations"] = organisations
    return figures


def _rdflib_union(dataset):
    from rdflib import Graph

    graph = Graph()
    for s, p, o, _ in dataset.quads():
        graph.add((s, p, o))
    return graph


def _rdflib_named(dataset):
    from rdflib import Graph, URIRef

    graphs = {}
    for context in dataset.contexts():
        if str(context.identifier).startswith("urn:x-rdflib:default"):
            continue
        graph = Graph()
        for triple in context:
            graph.add(triple)
        graphs[URIRef(str(context.identifier))] = graph
    return dict(sorted(graphs.items()))


def second_process(side: str, files: list[Path], data: Path, work_dir: Path, cap: float | None) -> float | None:
    """Wall time of a fresh process answering one catalogue query (ours: on the built store)."""
    name, params = SECOND_PROCESS_QUERY
    if side == "ours":
        command = [sys.executable, "-m", "welfare_kg.cli", "--cache-dir", str(work_dir / "ours-cache"),
                   "query", name, "--data", str(data), "--format", "csv", "-o", os.devnull]
        command += [arg for key, value in params.items() for arg in ("--param", f"{key}={value}")]
    else:
        command = [sys.executable, "-m", "welfare_kg.bench", "_rdflib-query", str(data), name,
                   json.dumps(params)]
    start = time.perf_counter()
    try:
        subprocess.run(command, check=True, timeout=cap, stdout=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - start


def _rdflib_query(data: str, name: str, params: str) -> int:
    """What a user of plain rdflib waits for: parse everything, run one query."""
    from rdflib import Graph

    files = resources.source_files() + [Path(data)]
    graph = Graph()
    for path in files:
        graph.parse(path, format="turtle")
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


def run(*, projects: int = 2000, seed: int = 0, repeat: int = 5, cap: float = 60.0,
        validate_cap: float = 600.0, data: Path | None = None, work_dir: Path | None = None,
        log=None) -> dict:
    """Generate (unless ``data`` is given), run both sides, and return the JSON-ready report."""
    log = log or (lambda message: None)
    given = data is not None
    with tempfile.TemporaryDirectory(prefix="welfare-kg-bench-", dir=work_dir) as temporary:
        work = Path(temporary)
        if data is None:
            data = work / f"synthetic-{projects}-{seed}.nt"
            seconds, _ = timed(lambda: generate.write_file(data, projects=projects, seed=seed))
            log(f"generated {data.name} in {seconds:.1f} s")
        files = resources.source_files() + [data]
        options = {"repeat": repeat, "cap": cap, "validate_cap": validate_cap}
        log("ours: build, queries, validation, export …")
        ours = _child("ours", files, options, work)
        options["organisations"] = ours["organisations"]
        ours_second = second_process("ours", files, data, work, cap)
        log("rdflib: load, queries, validation, export …")
        theirs = _child("rdflib", files, options, work)
        theirs_second = second_process("rdflib", files, data, work, cap)
    return report(ours, theirs, ours_second, theirs_second, cap=cap, validate_cap=validate_cap,
                  projects=None if given else projects, repeat=repeat)


def _row(task: str, ours: float | None, theirs: float | None, note: str | None = None, **extra) -> dict:
    row = {"task": task, "ours_s": _round(ours), "rdflib_s": _round(theirs),
           "ratio": round(theirs / ours, 1) if ours and theirs else None}
    row.update(extra)
    if note:
        row["note"] = note
    return row


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def report(ours: dict, theirs: dict, ours_second, theirs_second, *, cap, validate_cap, projects, repeat) -> dict:
    def capped(side: dict, key: str, limit) -> str | None:
        return f"{side['side']} > {limit:g} s (capped)" if side.get(key) is None else None

    rows = [_row("build", ours["build"], theirs["build"])]
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
    rows.append(_row("validate", ours["validate"], theirs["validate"],
                     capped(ours, "validate", validate_cap) or capped(theirs, "validate", validate_cap)))
    rows.append(_row("export-turtle", ours["export"], theirs["export"],
                     capped(ours, "export", validate_cap) or capped(theirs, "export", validate_cap)))
    rows.append(_row("second-query-process", ours_second, theirs_second,
                     None if theirs_second else f"rdflib > {cap:g} s (capped)"))
    return {
        "triples": ours["triples"],
        "rows": rows,
        "projects": projects,
        "repeat": repeat,
        "peak_rss_mb": {"ours": round(ours["peak_rss_mb"]), "rdflib": round(theirs["peak_rss_mb"])},
        "conforms": {"ours": ours["conforms"], "rdflib": theirs["conforms"]},
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
        lines.append(f"{row['task']:28s} {cell(row['ours_s']):>10s} {cell(row['rdflib_s']):>10s} {ratio:>8s}"
                     + (f"  {row['note']}" if row.get("note") else ""))
    rss = result["peak_rss_mb"]
    lines.append(f"{'peak RSS (MB)':28s} {rss['ours']:>10d} {rss['rdflib']:>10d}")
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
