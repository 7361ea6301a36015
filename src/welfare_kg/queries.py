"""The query catalogue: ``queries/*.rq`` files with grlc-style ``#+`` metadata headers.

A header is a small YAML subset::

    #+ summary: Every project with its lead, period and budget
    #+ description: One row per project and lead organisation.
    #+ tags:
    #+   - projects
    #+ defaults:
    #+   - org: organisation:mops-gdynia

Parameters are variables named ``?_NAME_TYPE`` in the query (TYPE is ``iri``,
``integer`` or ``literal``); each value is turned into a checked RDF term first and bound
in a VALUES block (see :func:`with_bindings`), never pasted into the text as given.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Literal, URIRef
from rdflib.query import Result

from . import remote, resources, results
from . import sparql_protocol as sp
from .errors import UsageError
from .namespaces import PREFIXES

PARAMETER = re.compile(r"\?_([A-Za-z][A-Za-z0-9]*)_(iri|integer|literal)\b")
INTEGER = re.compile(r"[+-]?[0-9]+")
ABSOLUTE_IRI = re.compile(r"^[a-z][a-z0-9+.-]*:[^\s<>\"{}|\\^`]+$", re.IGNORECASE)


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str
    default: str | None

    @property
    def variable(self) -> str:
        return f"_{self.name}_{self.kind}"


@dataclass(frozen=True)
class CatalogueQuery:
    name: str
    path: Path | None
    text: str
    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)

    @property
    def is_check(self) -> bool:
        return self.name.startswith("check-")


def parse_header(text: str, where: str = "query") -> dict:
    """Read the ``#+`` lines: scalars, lists of scalars, and ``defaults``, a list of ``name:
    value`` items. A line that fits none of these is a UsageError naming ``where`` and the line."""
    header: dict = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("#+"):
            continue
        item = line[2:].strip()
        if item.startswith("- ") or item == "-":
            value = item[2:].strip()
            if current is None:
                raise UsageError(f"{where}:{number}: '- {value}' is a list item before any key")
            if current in ("summary", "description"):
                raise UsageError(f"{where}:{number}: {current} is one line of text, not a list")
            if isinstance(header.get(current), str):
                raise UsageError(f"{where}:{number}: {current} has a value on its own line and list items "
                                 f"after it; give one or the other")
            if current == "defaults":
                key, sep, rest = value.partition(":")
                if not sep or not key.strip():
                    raise UsageError(f"{where}:{number}: a default is 'name: value', got '{value}'")
                header.setdefault(current, {})[key.strip()] = rest.strip()
            else:
                header.setdefault(current, []).append(value)
            continue
        key, sep, value = item.partition(":")
        if not sep:
            if item:
                raise UsageError(f"{where}:{number}: '#+ {item}' is neither 'key: value' nor '- item'")
            continue
        current = key.strip()
        if value.strip():
            if current == "defaults":
                raise UsageError(f"{where}:{number}: defaults come as '#+   - name: value' lines under "
                                 f"'#+ defaults:', got a value on its line")
            header[current] = value.strip()
    return header


def load_query(path: Path, name: str | None = None) -> CatalogueQuery:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror}") from None
    return query_from_text(utf8_text(data, str(path)), name or path.stem, path)


def utf8_text(data: bytes, where: str) -> str:
    """``data`` as text; bytes that are not UTF-8 are a UsageError naming ``where`` and the line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise UsageError(f"{where}:{line}: not UTF-8 text") from None


def query_from_text(text: str, name: str, path: Path | None = None) -> CatalogueQuery:
    header = parse_header(text, str(path) if path is not None else name)
    defaults = header.get("defaults", {})
    seen: dict[str, Parameter] = {}
    for match in PARAMETER.finditer(text):
        pname, kind = match.group(1), match.group(2)
        seen.setdefault(pname, Parameter(pname, kind, defaults.get(pname)))
    tags = header.get("tags", [])
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    return CatalogueQuery(
        name=name, path=path, text=text,
        summary=header.get("summary", ""), description=header.get("description", ""),
        tags=tuple(tags), parameters=tuple(seen.values()),
    )


def catalogue(*, include_checks: bool = False) -> list[CatalogueQuery]:
    queries = [load_query(path) for path in resources.query_files()]
    return [q for q in queries if include_checks or not q.is_check]


def resolve(name_or_file: str, stdin_text: str | None = None) -> CatalogueQuery:
    """A catalogue name, a path to an ``.rq`` file, or ``-`` for standard input."""
    if name_or_file == "-":
        if not (stdin_text or "").strip():  # the parser would only say "expected [_]" at 1:1
            raise UsageError("stdin: no query (standard input was empty)")
        return query_from_text(stdin_text, "stdin")
    by_name = {q.name: q for q in catalogue(include_checks=True)}
    if name_or_file in by_name:
        return by_name[name_or_file]
    path = Path(name_or_file)
    if path.suffix == ".rq" or path.is_file():
        if not path.is_file():
            raise UsageError(f"{path}: no such query file")
        return load_query(path, name=str(path))  # its messages name the file as it was given
    names = ", ".join(sorted(n for n in by_name if not n.startswith("check-")))
    raise UsageError(f"unknown query '{name_or_file}'; the catalogue has: {names}")


def expand_iri(value: str, parameter: str) -> URIRef:
    """Accept ``<iri>``, an absolute IRI, or a prefixed name with a known prefix."""
    value = value.strip().removeprefix("<").removesuffix(">")
    prefix, sep, local = value.partition(":")
    if sep and prefix in PREFIXES:
        value = PREFIXES[prefix] + local
    elif "://" not in value and not value.startswith("urn:"):
        known = ", ".join(sorted(PREFIXES))
        raise UsageError(f"parameter {parameter}: '{value}' is neither an absolute IRI "
                         f"nor a prefixed name with a known prefix ({known})")
    if not ABSOLUTE_IRI.match(value):
        raise UsageError(f"parameter {parameter}: '{value}' is not a valid IRI")
    return URIRef(value)


def to_term(parameter: Parameter, value: str):
    if parameter.kind == "iri":
        return expand_iri(value, parameter.name)
    if parameter.kind == "integer":
        if not INTEGER.fullmatch(value.strip()):  # xsd:integer's form; Python's int() takes 1_000 too
            raise UsageError(f"parameter {parameter.name}: '{value}' is not an integer")
        return Literal(int(value))
    return Literal(value)


def bindings_for(query: CatalogueQuery, given: dict[str, str]) -> dict[str, object]:
    known = {p.name: p for p in query.parameters}
    unknown = sorted(set(given) - set(known))
    if unknown:
        expected = (f"expected: {', '.join(sorted(known))}" if known else
                    "it has none: a parameter is a variable named ?_NAME_TYPE in the query, e.g. ?_org_iri, "
                    "?_year_integer")
        raise UsageError(f"{query.name}: unknown parameter {', '.join(unknown)} ({expected})")
    bindings = {}
    for parameter in query.parameters:
        value = given.get(parameter.name, parameter.default)
        if value is None:
            raise UsageError(f"{query.name}: parameter {parameter.name} needs a value (--param {parameter.name}=…)")
        bindings[parameter.variable] = to_term(parameter, value)
    return bindings


def unknown_resources(dataset, query: CatalogueQuery, given: dict[str, str]) -> list[tuple[str, URIRef]]:
    """The IRI parameters the user gave (name, IRI) that nothing in the dataset names, in any
    position or as a graph: most likely a typo, which would otherwise look like an empty answer."""
    unknown = []
    for parameter in query.parameters:
        if parameter.kind == "iri" and parameter.name in given:
            iri = expand_iri(given[parameter.name], parameter.name).n3()
            named = (f"ASK {{ {{ {iri} ?p ?o }} UNION {{ ?s ?p {iri} }} UNION {{ ?s {iri} ?o }} "
                     f"UNION {{ GRAPH {iri} {{ ?s ?p ?o }} }} }}")
            if not dataset.query(named).askAnswer:
                unknown.append((parameter.name, URIRef(iri[1:-1])))
    return unknown


_WHERE_OPEN = re.compile(r"\bWHERE\s*\{|\b(?:SELECT|ASK|DESCRIBE)\b[^{]*\{", re.IGNORECASE)


def with_bindings(text: str, bindings: dict[str, object]) -> str:
    """Bind parameters with a VALUES block opening the query's outer WHERE group.

    Oxigraph substitutes only projected variables (SEP-0007), and parameters such as
    ``?_year_integer`` live in filters; a VALUES row at the top of the group binds them
    for every pattern and filter in it. Values are rdflib terms written in N-Triples
    syntax, so no user text reaches the query unescaped.
    """
    if not bindings:
        return text
    match = _WHERE_OPEN.search(sp.mask(text))  # not a '{' or a WHERE in an IRI, a string or a comment
    if match is None:
        raise UsageError("cannot bind parameters: the query has no WHERE group")
    names = " ".join(f"?{name}" for name in bindings)
    values = " ".join(term.n3() for term in bindings.values())
    # On the line of the brace, so that the parser's line numbers are those of the file.
    return f"{text[:match.end()]} VALUES ({names}) {{ ({values}) }}{text[match.end():]}"


def run(dataset, query: CatalogueQuery, params: dict[str, str] | None = None) -> Result:
    """Run a catalogue query against the store; SPARQL errors become one-line UsageErrors."""
    text = with_bindings(query.text, bindings_for(query, params or {}))
    with _query_errors(query, text):
        if sp.declares_dataset(text) and isinstance(getattr(dataset.store, "_inner", None), ox.Store):
            # The Dataset asks oxrdflib for the union of all graphs, which in Oxigraph overrides
            # FROM; any other query graph lets the query's own FROM clauses make its dataset.
            result = dataset.store.query(text, dict(dataset.namespaces()), {}, "from the query")
        else:
            result = dataset.query(text)
        if result.type == "SELECT":
            result.bindings  # rows are made as they are read: an error in making them is named here too
        return result


def run_csv(dataset, query: CatalogueQuery, params: dict[str, str] | None = None) -> str:
    """A SELECT or ASK query's answer as SPARQL CSV, as ``format_result(run(…), "csv")`` gives it.

    On an Oxigraph store the rows go straight from Oxigraph to CSV: making rdflib terms of
    every value took 8 of the 9 s of a 100,000-row answer. Oxigraph's CSV is byte-identical
    to rdflib's (tests/test_catalogue.py holds them to it), except where an IRI holds a comma:
    Oxigraph leaves it unquoted, and such an answer goes through rdflib. A remote store's SELECT answers
    go straight from its JSON to CSV (:func:`run_remote_select`).
    """
    if remote.is_remote(dataset) and sp.classify(query.text) == "SELECT":
        return run_remote_select(dataset, query, params, "csv")
    inner = getattr(dataset.store, "_inner", None)  # what oxrdflib wraps
    if not isinstance(inner, ox.Store):
        return results.format_result(run(dataset, query, params), "csv", dataset.namespace_manager)
    text = with_bindings(query.text, bindings_for(query, params or {}))
    prefixes = {prefix: str(namespace) for prefix, namespace in dataset.namespaces()}  # as rdflib passes them
    with _query_errors(query, text):
        answer = inner.query(text, use_default_graph_as_union=not sp.declares_dataset(text), prefixes=prefixes)
        if isinstance(answer, ox.QueryBoolean):
            return results.format_ask(bool(answer), "csv")
        if not isinstance(answer, ox.QuerySolutions):
            raise UsageError(f"{query.name}: a CONSTRUCT or DESCRIBE answer has no CSV form")
        written = answer.serialize(format=ox.QueryResultsFormat.CSV).decode("utf-8")
    if sp.csv_is_sound(written, len(answer.variables)):
        return written
    return results.format_result(run(dataset, query, params), "csv", dataset.namespace_manager)


def run_remote_select(dataset, query: CatalogueQuery, params: dict[str, str] | None, fmt: str) -> str:
    """A SELECT on a remote store in csv, tsv or json, as ``format_result(run(…), fmt)`` gives
    it, without an rdflib term per value (:func:`remote.select_text`)."""
    text = with_bindings(query.text, bindings_for(query, params or {}))
    with _query_errors(query, text):
        return remote.select_text(dataset, text, fmt)


@contextmanager
def _query_errors(query: CatalogueQuery, text: str):
    """SPARQL syntax and evaluation errors (of ``text``, the query as run) as one-line
    UsageErrors naming the query."""
    try:
        yield
    except SyntaxError as error:
        where = f" at line {error.lineno}, column {error.offset}" if error.lineno else ""
        raise UsageError(f"{query.name}: invalid SPARQL{where}: {sp.syntax_message(error, text)}") from None
    except (ValueError, OSError, RuntimeError) as error:
        raise UsageError(f"{query.name}: query failed: {error}") from None
