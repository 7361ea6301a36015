"""``welfare-kg``: a thin command line over the library functions.

Exit codes: 0 ok, 1 invalid data (validation failed), 2 usage or load error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import __version__, cores, export, queries, remote, resources, results, stats, store
from . import sparql_protocol as sp
from .errors import EXIT_INVALID, EXIT_OK, UsageError, WelfareKGError
from .namespaces import bind_prefixes


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has printed the usage line already
        return int(exit_.code or 0)
    if getattr(args, "output", None) is STANDARD_OUTPUT:
        args.output = None
    try:
        if hasattr(args, "format_suffixes"):
            args.format_asked_by = f"--format {args.format}" if args.format else f"-o {args.output}"
            args.format = chosen_format(args.format, args.output, args.format_suffixes, args.format_default,
                                        args.command, args.format_choices)
        if args.endpoint and not getattr(args, "remote", False):
            raise UsageError(f"{args.command} works on the embedded store only; --endpoint is not supported there")
        if not args.endpoint:
            for flag, value in (("--whole-store", getattr(args, "whole_store", False)),
                                ("--update-endpoint", args.update_endpoint), ("--graph", args.graph),
                                ("--user", args.user), ("--token-env", args.token_env)):
                if value:
                    raise UsageError(f"{flag} needs --endpoint")
        with stopped_by_sigterm():
            return args.handler(args)
    except WelfareKGError as error:
        print(f"welfare-kg: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. piped into head: the reader wanted no more
        sys.stderr.close()
        return EXIT_OK


@contextlib.contextmanager
def standard_output():
    """``sys.stdout`` to write to, flushed at the end; closed, or failing (a full disk), it is a
    one-line UsageError, and what could not be written is dropped rather than tried again
    (with a traceback) as Python exits."""
    if sys.stdout is None:
        raise UsageError("standard output is closed")
    try:
        yield sys.stdout
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
        raise UsageError(f"standard output: cannot write: {error.strerror or error}") from None


# The RDF format a file name's extension names.
RDF_SUFFIXES = {suffix: name for name, (suffix, _) in export.FORMATS.items()} | {
    ".json": "jsonld", ".xml": "xml", ".owl": "xml"}
# What `query` writes: answers to SELECT and ASK, graphs for CONSTRUCT and DESCRIBE; the graph
# format of each format name it takes (a graph's table is Turtle, its JSON is JSON-LD).
QUERY_GRAPH_FORMATS = ("turtle", "nt", "jsonld", "xml")
QUERY_FORMATS = (*results.FORMATS, *QUERY_GRAPH_FORMATS)
GRAPH_FORMATS = {"table": "turtle", "json": "jsonld"} | {name: name for name in QUERY_GRAPH_FORMATS}
QUERY_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".ttl": "turtle", ".nt": "nt",
                  ".jsonld": "jsonld", ".rdf": "xml", ".owl": "xml", ".xml": "xml"}
VIZ_SUFFIXES = {".html": "html", ".htm": "html", ".svg": "svg", ".png": "png"}
NETWORK_SUFFIXES = {".csv": "csv", ".json": "json", ".graphml": "graphml", ".gexf": "gexf"}
# Every extension that names a format some command writes: one that names a format the
# command at hand does not write is refused, not written in another (Turtle in x.csv).
KNOWN_SUFFIXES = RDF_SUFFIXES | QUERY_SUFFIXES | VIZ_SUFFIXES | NETWORK_SUFFIXES


def chosen_format(given: str | None, output: Path | None, suffixes: dict[str, str], default: str,
                  command: str, writes: tuple[str, ...]) -> str:
    """``--format``, else the format ``-o``'s extension names, else the default; a file named
    for one format is never silently written in another (``command`` writes ``writes``)."""
    named = suffixes.get(output.suffix.lower()) if output is not None else None
    if output is not None and named is None:
        refuse_foreign_suffix(output, command, writes)
    if given is None:
        return named or default
    if named is not None and named != given:
        raise UsageError(f"-o {output} names the {named} format, but --format is {given}: change one of them")
    return given


def refuse_foreign_suffix(output: Path, command: str, writes: tuple[str, ...]) -> None:
    """Refuse ``output`` when its extension names a format ``command`` does not write."""
    foreign = KNOWN_SUFFIXES.get(output.suffix.lower())
    if foreign is not None:
        raise UsageError(f"-o {output} names the {foreign} format, but {command} writes {', '.join(writes)}: "
                         f"give the file another extension")


def format_arguments(parser, choices: tuple[str, ...], default: str, suffixes: dict[str, str]) -> None:
    """``--format``, chosen by ``-o``'s extension when not given (see :func:`chosen_format`)."""
    parser.add_argument("--format", choices=choices, default=None,
                        help=f"default: the one -o's extension names ({', '.join(sorted(suffixes))}), else {default}")
    parser.set_defaults(format_suffixes=suffixes, format_default=default, format_choices=choices)


def say(line: str) -> None:
    """A line of the command's report on standard output, written at once."""
    with standard_output() as out:
        out.write(line + "\n")


@contextlib.contextmanager
def stopped_by_sigterm():
    """SIGTERM (``kill``, a service manager's stop) ends a command as Ctrl-C does, so that it
    cleans up: a half-written output's temporary file goes, serve's workers stop and its
    scratch folder goes. By default SIGTERM ends the process on the spot; uvicorn, which holds
    it back while serving, sends it again once it has shut down."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _checked(convert, accept, wanted: str):
    """An argparse type: ``convert(text)`` when ``accept`` holds for it, else an error saying
    what was wanted (a check for ``<= 0`` alone would let NaN through: it fails every comparison)."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not {wanted}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"'{text}' is not {wanted}")
        return value
    return parse


# Bounded: timers and socket timeouts overflow somewhere above 1e9 s.
seconds = _checked(float, lambda value: 0 < value <= 1e6, "a positive number of seconds (1e6 at most)")
port = _checked(int, lambda value: 0 <= value <= 65535, "a port number (0 to 65535)")
hops = _checked(int, lambda value: value >= 0, "a number of steps (0 or more)")  # networkx takes -1 as 0
node_count = _checked(int, lambda value: value >= 1, "a number of nodes (1 or more)")
year = _checked(int, lambda value: 1 <= value <= 9999, "a year (1 to 9999)")


def _non_empty_path(text: str) -> Path:
    if not text:  # an unset shell variable, say; as a Path it would be the current folder
        raise ValueError(text)
    return Path(text)


folder = _checked(_non_empty_path, lambda _: True, "a folder (an empty path would be the current one)")


# ``-o -``, standard output: a value of its own, so that argparse tells it from no ``-o`` when
# it checks options that exclude each other; :func:`main` makes it None, as no ``-o`` is.
STANDARD_OUTPUT = object()


def output_file(text: str):
    """``-o``'s value: a file, or :data:`STANDARD_OUTPUT` for ``-``."""
    if not text:
        raise argparse.ArgumentTypeError("'' is no file name (- is standard output)")
    return STANDARD_OUTPUT if text == "-" else Path(text)


OUTPUT_HELP = "write to this file instead of standard output (- for standard output)"


class OneLineErrors(argparse.ArgumentParser):
    """argparse, with a usage error on one line: the usage block is what --help is for."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrors(
        prog="welfare-kg",
        description="Knowledge graph of Polish social-welfare institutions, their partners, methods and funding.")
    parser.add_argument("--version", action="version", version=f"welfare-kg {__version__}")
    parser.add_argument("--cache-dir", type=folder, default=None,
                        help="where the built store lives (default: $XDG_CACHE_HOME/welfare-kg)")
    add_remote_arguments(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = sub.add_parser("build", help="rebuild the store from ontology/ and graph/ (other commands do it "
                                         "by themselves when a source changed)")
    add_data_argument(build)
    build.set_defaults(handler=cmd_build)

    validate = sub.add_parser("validate", help="check the graph against the SHACL shapes and check-*.rq queries")
    validate.add_argument("--format", choices=("text", "turtle", "json"), default="text")
    add_data_argument(validate)
    validate.add_argument("--changed", action="store_true",
                          help="re-check only the resources changed since the last validation, and what links "
                               "to them or from them (everything when there was none)")
    validate.add_argument("--engine", choices=("sparql", "pyshacl"), default="sparql",
                          help="sparql: shapes run as queries in the store (default); pyshacl: the reference "
                               "implementation, slow on large graphs")
    validate.set_defaults(handler=cmd_validate)

    listing = sub.add_parser("queries", help="list the query catalogue, or run all of it")
    listing.add_argument("--run", action="store_true", help="run every catalogue query with its defaults")
    listing.add_argument("-o", "--output-dir", type=folder,
                         help="with --run: write each result as SPARQL CSV into this folder")
    add_data_argument(listing)
    add_remote_arguments(listing)
    add_whole_store_argument(listing)
    listing.set_defaults(remote=True, handler=cmd_queries)

    query = sub.add_parser("query", help="run one query: a catalogue name, an .rq file, or - for stdin")
    query.add_argument("query", metavar="NAME|FILE|-")
    query.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="bind a parameter (IRI, prefixed name or literal); repeatable")
    format_arguments(query, QUERY_FORMATS, "table", QUERY_SUFFIXES)
    query.add_argument("-o", "--output", type=output_file, help=OUTPUT_HELP)
    add_data_argument(query)
    add_remote_arguments(query)
    add_whole_store_argument(query)
    query.set_defaults(remote=True, handler=cmd_query)

    exporter = sub.add_parser("export", help="write the ontology plus the graph as RDF")
    format_arguments(exporter, tuple(export.FORMATS), "turtle", RDF_SUFFIXES)
    exporter.add_argument("--public", action="store_true", help="leave out everything marked as personal data")
    exporter.add_argument("-o", "--output", type=output_file, help=OUTPUT_HELP)
    add_data_argument(exporter)
    add_remote_arguments(exporter)
    exporter.set_defaults(remote=True, handler=cmd_export)

    viz = sub.add_parser("viz", help="draw a view as an interactive offline HTML page, or as SVG/PNG")
    add_view_arguments(viz)
    format_arguments(viz, ("html", "svg", "png"), "html", VIZ_SUFFIXES)
    viz.add_argument("-o", "--output", type=Path, help="file to write (default: VIEW.FORMAT here)")
    viz.add_argument("--max-nodes", type=node_count, default=None,
                     help="refuse to draw more nodes than this (default: see README, 'Large graphs')")
    add_data_argument(viz)
    add_remote_arguments(viz)
    viz.set_defaults(remote=True, handler=cmd_viz)

    analysis = sub.add_parser("network", help="degree, betweenness and communities of a view's nodes")
    add_view_arguments(analysis)
    format_arguments(analysis, ("table", "csv", "json", "graphml", "gexf"), "table", NETWORK_SUFFIXES)
    analysis.add_argument("-o", "--output", type=output_file, help=OUTPUT_HELP)
    add_data_argument(analysis)
    add_remote_arguments(analysis)
    analysis.set_defaults(remote=True, handler=cmd_network)

    serve = sub.add_parser("serve", help="SPARQL 1.1 endpoint, dereferenceable IRIs and a query page")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    serve.add_argument("--port", type=port, default=8000, help="TCP port (default 8000; 0: any free one)")
    serve.add_argument("--public", action="store_true",
                       help="serve only what a public export contains (always so for a non-loopback --host)")
    serve.add_argument("--timeout", type=seconds, default=5.0, help="seconds a query may run (default 5)")
    serve.add_argument("--max-rows", type=int, default=10_000, help="result-size cap (default 10000)")
    serve.add_argument("--in-memory", action="store_true",
                       help="each query worker holds a copy of the graph in memory (about 400 MB per million "
                            "triples): queries over a large graph run several times faster")
    add_data_argument(serve)
    add_remote_arguments(serve)
    serve.set_defaults(remote=True, handler=cmd_serve)

    description = sub.add_parser("dcat", help="DCAT-AP 3 dataset description with VoID statistics")
    format_arguments(description, tuple(sp.RDF_FORMATS), "turtle",
                     {suffix: name for suffix, name in RDF_SUFFIXES.items() if name in sp.RDF_FORMATS})
    description.add_argument("-o", "--output", type=output_file, help=OUTPUT_HELP)
    add_remote_arguments(description)
    description.set_defaults(remote=True, handler=cmd_dcat)

    documentation = sub.add_parser("docs", help="HTML documentation of the ontology and the SKOS schemes")
    documentation.add_argument("-o", "--output-dir", type=Path, default=Path("dist/docs"))
    documentation.set_defaults(handler=cmd_docs)

    statistics = sub.add_parser("stats", help="triples, entities per class, projects per institution")
    statistics.add_argument("--format", choices=("text", "json"), default="text")
    add_data_argument(statistics)
    add_remote_arguments(statistics)
    statistics.set_defaults(remote=True, handler=cmd_stats)

    generator = sub.add_parser("generate", help="write a synthetic national graph (N-Triples) for scale tests")
    generator.add_argument("--projects", type=int, required=True, metavar="N", help="number of projects")
    generator.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same bytes")
    generated = generator.add_mutually_exclusive_group()
    generated.add_argument("-o", "--output", type=output_file, help=OUTPUT_HELP)
    generated.add_argument("--output-dir", type=Path, metavar="DIR",
                           help="write one file per synthetic source document into this folder (replaced)")
    generator.set_defaults(handler=cmd_generate)

    push = sub.add_parser("push", help="load ontology/ and graph/ into a remote SPARQL store (needs --endpoint)")
    push.add_argument("--method", choices=("update", "gsp"), default="update",
                      help="SPARQL Update (DROP, then INSERT in chunks; default) or Graph Store Protocol (PUT)")
    push.add_argument("--gsp-endpoint", metavar="URL",
                      help="with --method gsp: the Graph Store Protocol URL (Oxigraph: .../store)")
    add_data_argument(push)
    add_remote_arguments(push)
    push.set_defaults(remote=True, handler=cmd_push)

    bench = sub.add_parser("bench", help="benchmark our store against rdflib's in-memory store on generated data")
    bench.add_argument("--projects", type=int, default=2000, metavar="N", help="projects to generate (default 2000)")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--repeat", type=int, default=3,
                       help="runs of each query, cycling through its parameter values (default 3)")
    bench.add_argument("--cap", type=seconds, default=10.0,
                       help="seconds one query run may take before it is recorded as capped (default 10; "
                            "rdflib's runs get 20 times our slowest run where that is longer)")
    bench.add_argument("--validate-cap", type=seconds, default=60.0,
                       help="seconds validation or export may take before being capped (default 60, "
                            "the validation target)")
    bench.add_argument("--data", type=Path, metavar="PATH",
                       help="benchmark this file or folder (e.g. from 'generate --output-dir') instead of generating")
    bench.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    bench.set_defaults(handler=cmd_bench)
    return parser


def add_remote_arguments(parser: argparse.ArgumentParser, default=argparse.SUPPRESS) -> None:
    """--endpoint and friends, before the command or after it (SUPPRESS keeps the global value)."""
    parser.add_argument("--endpoint", metavar="URL", default=default,
                        help="use this SPARQL 1.1 query endpoint instead of the embedded store (see README, "
                             "'Remote SPARQL stores')")
    parser.add_argument("--update-endpoint", metavar="URL", default=default,
                        help="SPARQL Update endpoint for push (default: --endpoint)")
    parser.add_argument("--graph", metavar="IRI", default=default,
                        help="keep everything in this one named graph instead of one graph per source file")
    parser.add_argument("--remote-timeout", type=seconds, metavar="SECONDS",
                        default=60.0 if default is None else default,
                        help="client-side time limit of each request to the endpoint (default 60)")
    parser.add_argument("--user", metavar="NAME", default=default,
                        help=f"log in to the endpoint as NAME (HTTP Basic or Digest, as the server asks), with "
                             f"the password in the environment variable {remote.PASSWORD_VARIABLE}")
    parser.add_argument("--token-env", metavar="VAR", default=default,
                        help="send the token in the environment variable VAR as 'Authorization: Bearer' "
                             "(QLever, GraphDB)")


def add_whole_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--whole-store", action="store_true",
                        help="with --endpoint: query the endpoint's own default dataset instead of naming the "
                             "graphs of the sources (for an endpoint that serves just this graph, such as "
                             "'welfare-kg serve --data PATH': naming a national graph's 1,000 files makes "
                             "a request too big for it)")


def open_graph(args, files: list[Path] | None = None):
    """The dataset every command reads: the embedded store (of ``files``, by default the
    sources plus --data), or the remote one with --endpoint."""
    files = data_files(args) if files is None else files
    if args.endpoint is None:
        return store.open_dataset(args.cache_dir, files=files)
    return remote.open_dataset(remote_endpoint(args, files))


def remote_endpoint(args, files: list[Path] | None = None) -> remote.Endpoint:
    if args.graph is not None and not queries.ABSOLUTE_IRI.match(args.graph):
        raise UsageError(f"--graph: '{args.graph}' is not an absolute IRI")
    whole_store = getattr(args, "whole_store", False)
    if whole_store and args.graph is not None:
        raise UsageError("--whole-store and --graph exclude each other")
    return remote.endpoint_for(args.endpoint, files=files, graph=args.graph,
                               update_url=args.update_endpoint or args.endpoint,
                               gsp_url=getattr(args, "gsp_endpoint", None), timeout=args.remote_timeout,
                               credentials=remote_credentials(args), whole_store=whole_store)


def remote_credentials(args) -> remote.Credentials | None:
    """--user's password or --token-env's token, both from the environment: ps shows command lines."""
    if args.user is not None and args.token_env is not None:
        raise UsageError("--user and --token-env exclude each other")
    if args.user is not None:
        password = os.environ.get(remote.PASSWORD_VARIABLE)
        if not password:
            raise UsageError(f"--user {args.user}: set the password in the environment variable "
                             f"{remote.PASSWORD_VARIABLE}")
        return remote.Credentials(user=args.user, password=password)
    if args.token_env is not None:
        token = os.environ.get(args.token_env)
        if not token:
            raise UsageError(f"--token-env {args.token_env}: no token in that environment variable")
        return remote.Credentials(token=token)
    return None


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, metavar="PATH",
                        help="use a store built from the curated sources plus this Turtle/N-Triples file or "
                             "folder of them (e.g. from 'generate'); it replaces the store cached in --cache-dir")


def data_files(args) -> list[Path] | None:
    """The curated sources plus ``--data`` (a file, or a folder's ``*.nt``/``*.ttl``), or None without it."""
    data = getattr(args, "data", None)
    if data is None:
        return None
    if not data.exists():
        raise UsageError(f"{data}: no such file or folder")
    found = resources.data_files(data)
    if not found:
        raise UsageError(f"{data}: no .nt or .ttl files in this folder")
    return resources.source_files() + found


def add_view_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("view", nargs="?", default="overview", help="a view in viz/ (default: overview)")
    parser.add_argument("--lang", choices=("pl", "en"), default="pl", help="language of labels")
    parser.add_argument("--focus", metavar="ENTITY", help="IRI, prefixed name or label to centre on")
    parser.add_argument("--hops", type=hops, help="with --focus: how many steps around it (default 1)")
    parser.add_argument("--types", metavar="CLASS,...", help="keep only nodes of these classes (e.g. Project,Concept)")
    parser.add_argument("--year", type=year, help="keep projects active that year and what hangs off them")


def view_graph(args):
    from . import views

    if args.hops is not None and args.focus is None:
        raise UsageError("--hops counts steps around --focus; give --focus too")
    dataset = open_graph(args)
    view = views.load_view(args.view)
    types = [t.strip().rsplit(":", 1)[-1] for t in args.types.split(",") if t.strip()] if args.types else None
    graph = views.build(dataset, view, lang=args.lang, focus=args.focus, hops=1 if args.hops is None else args.hops,
                        types=types, year=args.year)
    if graph.number_of_nodes() == 0:  # a blank picture or report should not look like a fault
        filters = " ".join(f"{flag} {value}" for flag, value in (("--year", args.year), ("--types", args.types))
                           if value is not None)
        print(f"welfare-kg: note: nothing to show: {filters or 'the view'} leaves no node", file=sys.stderr)
    return view, graph


def emit(text: str | bytes, output: Path | None) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    if output is None:
        with standard_output() as out:
            out.buffer.write(data)
    else:
        export.write_atomic(output, data)


def cmd_build(args) -> int:
    files = data_files(args)
    path, replaced = store.rebuild_store(args.cache_dir, files=files)
    say(f"store: {path} ({store.quad_count(path)} quads)")
    if not replaced:
        print(f"welfare-kg: kept the store at {path} as it was: another process is reading it (it holds "
              "the same sources); build again once that process has ended to replace it", file=sys.stderr)
    return EXIT_OK


def cmd_validate(args) -> int:
    from .validate import format_report, validate_graph, validate_store

    files = data_files(args)
    store_dir = store.build_store(args.cache_dir, files=files)
    dataset = store.open_dataset(args.cache_dir, files=files)
    if args.engine == "pyshacl":
        if args.changed:
            raise UsageError("--changed needs the sparql engine")
        report = validate_graph(store.union_graph(dataset), engine="pyshacl")
    else:
        focus = store.pending_changes(store_dir) if args.changed else None
        if args.changed and focus is None:
            print("welfare-kg: no earlier validation of this store to compare with; validating everything",
                  file=sys.stderr)
        # A full run visits everything: an in-memory copy answers several times faster.
        data = store.oxigraph(dataset) if focus is not None else store.memory_copy(files)
        report = validate_store(data, focus=focus)
    store.mark_validated(store_dir, still_failing={v.focus for v in report.violations if "://" in v.focus})
    with standard_output() as out:
        out.write(format_report(report, args.format))
    return EXIT_OK if report.conforms else EXIT_INVALID


def cmd_queries(args) -> int:
    catalogue = queries.catalogue()
    if args.output_dir and not args.run:
        raise UsageError("-o/--output-dir needs --run (the listing goes to standard output)")
    if not args.run:
        for item in catalogue:
            params = ", ".join(f"{p.name}={p.default}" for p in item.parameters)
            say(f"{item.name:28s} {item.summary}" + (f"  [{params}]" if params else ""))
        return EXIT_OK
    # The catalogue visits the whole graph again and again: an in-memory copy answers it
    # several times faster than the on-disk store, after a load of ~11 s per 2.5 M triples.
    files = data_files(args)
    dataset = open_graph(args, files) if args.endpoint else store.open_memory_dataset(files)
    # One query per core at a time: Oxigraph (and a remote store's client) leave the GIL.
    with ThreadPoolExecutor(max_workers=cores.usable()) as pool:
        answers = pool.map(lambda item: queries.run_csv(dataset, item), catalogue)
        for item, text in zip(catalogue, answers):
            _report_answer(args, item, text)
    return EXIT_OK


def _report_answer(args, item: queries.CatalogueQuery, text: str) -> None:
    count = len(text.splitlines()) - 1
    if args.output_dir:
        target = args.output_dir / f"{item.name}.csv"
        export.write_atomic(target, text.encode("utf-8"))
        say(f"{item.name:28s} {count:4d} rows  -> {target}")
    else:
        say(f"{item.name:28s} {count:4d} rows")


def parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--param expects NAME=VALUE, got '{pair}'")
        if name.strip() in params:
            raise UsageError(f"--param {name.strip()} is given twice; a query takes one value per parameter")
        params[name.strip()] = value
    return params


def labels_resolved(dataset, item: queries.CatalogueQuery, params: dict[str, str]) -> dict[str, str]:
    """The parameters, an IRI parameter given as a label ('MVO Proxima', as viz --focus takes
    it) replaced by the one resource it names; IRIs and prefixed names as they are."""
    from .views import resolve_entity

    resolved = dict(params)
    for parameter in item.parameters:
        value = params.get(parameter.name)
        if parameter.kind == "iri" and value is not None and (":" not in value or " " in value.strip()):
            resolved[parameter.name] = resolve_entity(dataset, value.strip(), option=f"--param {parameter.name}")
    return resolved


def cmd_query(args) -> int:
    stdin_text = read_stdin() if args.query == "-" else None
    item = queries.resolve(args.query, stdin_text)
    kind = sp.classify(item.text)
    if kind == "UPDATE":
        raise UsageError(f"{item.name}: is a SPARQL Update ({sp.update_keyword(item.text)}); welfare-kg runs "
                         f"queries and never changes the store: edit the files under graph/ instead")
    graph_format = GRAPH_FORMATS.get(args.format)
    if kind in ("CONSTRUCT", "DESCRIBE") and graph_format is None:
        raise UsageError(f"{item.name}: a {kind} answer is a graph, written as {', '.join(QUERY_GRAPH_FORMATS)}; "
                         f"{args.format_asked_by} asks for {args.format}, which is for SELECT and ASK answers")
    if kind in ("SELECT", "ASK") and args.format not in results.FORMATS:
        raise UsageError(f"{item.name}: a {kind} answer is written as {', '.join(results.FORMATS)}; "
                         f"{args.format_asked_by} asks for {args.format}, which is for CONSTRUCT and DESCRIBE answers")
    dataset = open_graph(args)
    params = labels_resolved(dataset, item, parse_params(args.param))
    for name, iri in queries.unknown_resources(dataset, item, params):
        print(f"welfare-kg: note: parameter {name}: <{iri}> is in no triple of the graph, so nothing can "
              f"match it (a typo?)", file=sys.stderr)
    # Answers straight from the store's own results: an rdflib term per value takes most of the time.
    if remote.is_remote(dataset) and kind == "SELECT" and args.format in results.ANSWER_FORMATS:
        emit(queries.run_remote_select(dataset, item, params, args.format), args.output)
        return EXIT_OK
    if not remote.is_remote(dataset) and kind in ("SELECT", "ASK") and args.format == "csv":
        emit(queries.run_csv(dataset, item, params), args.output)
        return EXIT_OK
    result = queries.run(dataset, item, params)
    if result.type == "CONSTRUCT" and graph_format == "turtle":
        bind_prefixes(result.graph)  # wkg:, org:, … rather than ns1:, ns2:
        emit(result.graph.serialize(format="longturtle", encoding="utf-8"), args.output)
    elif result.type == "CONSTRUCT":
        emit(export.serialize({"answer": result.graph}, graph_format), args.output)
    else:
        emit(results.format_result(result, args.format, dataset.namespace_manager), args.output)
    return EXIT_OK


def read_stdin() -> str:
    """Standard input as text; closed or not UTF-8, a one-line UsageError."""
    if sys.stdin is None:
        raise UsageError("stdin: standard input is closed")
    if not hasattr(sys.stdin, "buffer"):  # a text stream put in its place (tests, embedding programs)
        return sys.stdin.read()
    return queries.utf8_text(sys.stdin.buffer.read(), "stdin")


def cmd_export(args) -> int:
    files = data_files(args)
    if args.endpoint is None:
        # Parsing the files into memory again is faster than reading the on-disk store back.
        graphs = export.load_named_graphs(store.memory_copy, resources.source_files() if files is None else files)
    else:
        graphs = remote.named_graphs_of(open_graph(args, files))
    data = export.serialize(graphs, args.format, public=args.public)
    emit(data, args.output)
    if args.output:
        print(f"wrote {args.output} ({len(data)} bytes, {args.format}{', public' if args.public else ''})",
              file=sys.stderr)
    return EXIT_OK


def cmd_viz(args) -> int:
    from . import page

    if args.output == Path("-"):
        raise UsageError("viz writes a file (HTML, SVG or PNG), not standard output: give -o FILE")
    view, graph = view_graph(args)
    page.check_size(graph, args.max_nodes)
    output = args.output or Path(f"{view.name}.{args.format}")
    page.write(graph, view, output, fmt=args.format, lang=args.lang)
    say(f"wrote {output} ({graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges)")
    return EXIT_OK


def cmd_network(args) -> int:
    from . import network

    _, graph = view_graph(args)
    emit(network.report(graph, args.format), args.output)
    return EXIT_OK


def cmd_serve(args) -> int:
    from . import server

    files = data_files(args)
    if args.in_memory and args.endpoint:
        raise UsageError("--in-memory copies the embedded store; it does not apply with --endpoint")
    endpoint = remote_endpoint(args, files) if args.endpoint else None
    server.run(cache_dir=args.cache_dir, files=files, host=args.host, port=args.port, public=args.public,
               timeout=args.timeout, max_rows=args.max_rows, endpoint=endpoint, in_memory=args.in_memory)
    return EXIT_OK


def cmd_dcat(args) -> int:
    from . import dcat

    dataset = open_graph(args)
    if args.endpoint is None:
        turtle = dcat.cached_description(store.store_path(args.cache_dir), dataset)
    else:
        turtle = dcat.description(dataset)
    emit(dcat.in_format(turtle, args.format), args.output)
    return EXIT_OK


def cmd_docs(args) -> int:
    from . import docs

    index = docs.generate(args.output_dir)
    say(f"wrote {index}")
    return EXIT_OK


def cmd_stats(args) -> int:
    figures = stats.compute(open_graph(args))
    if args.format == "json":
        emit(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", None)
    else:
        emit(stats.format_text(figures), None)
    return EXIT_OK


def cmd_push(args) -> int:
    if not args.endpoint:
        raise UsageError("push needs --endpoint URL (the store's SPARQL query endpoint)")
    if args.method == "gsp" and not args.gsp_endpoint:
        raise UsageError("--method gsp needs --gsp-endpoint URL (the store's Graph Store Protocol endpoint)")
    files = data_files(args) or resources.source_files()
    remote.push(remote_endpoint(args, files), files, method=args.method)
    return EXIT_OK


def cmd_generate(args) -> int:
    from . import generate

    if not 0 <= args.projects <= generate.MAX_PROJECTS:
        raise UsageError(f"--projects must be from 0 to {generate.MAX_PROJECTS}")
    if args.output is not None and RDF_SUFFIXES.get(args.output.suffix.lower()) not in ("nt", "turtle"):
        refuse_foreign_suffix(args.output, "generate", ("N-Triples (.nt)",))  # N-Triples is Turtle too
    if args.output_dir is not None:
        count, files = generate.write_folder(args.output_dir, projects=args.projects, seed=args.seed)
        print(f"wrote {args.output_dir}/ ({files} files, {count} triples, {args.projects} projects, "
              f"seed {args.seed})", file=sys.stderr)
    elif args.output is not None:
        count = generate.write_file(args.output, projects=args.projects, seed=args.seed)
        print(f"wrote {args.output} ({count} triples, {args.projects} projects, seed {args.seed})", file=sys.stderr)
    else:
        with standard_output() as out:
            generate.generate(out, projects=args.projects, seed=args.seed)
    return EXIT_OK


def cmd_bench(args) -> int:
    from . import bench, generate

    if not 1 <= args.projects <= generate.MAX_PROJECTS or args.repeat < 1:
        raise UsageError(f"--projects must be from 1 to {generate.MAX_PROJECTS}, and --repeat at least 1")
    if args.data is not None:
        data_files(args)  # the same checks as every --data
    if args.json:
        export.check_writable(args.json)  # not found out only after the whole run
    result = bench.run(projects=args.projects, seed=args.seed, repeat=args.repeat, cap=args.cap,
                       validate_cap=args.validate_cap, data=args.data,
                       log=lambda message: print(message, file=sys.stderr))
    with standard_output() as out:
        out.write(bench.format_table(result))
    if args.json:
        export.write_atomic(args.json, (json.dumps(result, indent=2) + "\n").encode("utf-8"))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
