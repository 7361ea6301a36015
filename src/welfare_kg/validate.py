"""Validate the graph: SHACL shapes (``ontology/shapes.ttl``) plus the ``queries/check-*.rq`` queries.

Plain functions: :func:`validate_graph` on an rdflib graph, :func:`validate_files` on Turtle
files, :func:`format_report` to print the result as text, Turtle or JSON. The graph passed in
is never changed: validation runs on a private copy.

Every problem becomes one :class:`Violation`. A problem found on a blank node (a period, an
amount) is reported on the named node that holds it, with the path extended from there
(``<project> dcterms:temporal/dcat:startDate``), so reports stay readable and stable.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
import pyshacl
from oxrdflib._converter import from_ox, to_ox  # the same mapping the store uses
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SKOS
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from . import resources, store
from .errors import UsageError
from .namespaces import BASE, PREFIXES, SH, bind_prefixes

CHECK_PREFIX = "check-"
QUERY_BASE = BASE + "queries/"
FORMATS = ("text", "turtle", "json")
SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
_SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}
_PLACEHOLDER = re.compile(r"\\\{\\[?$]\w+\\\}")  # "{?var}" once re.escape()d


@dataclass(frozen=True)
class Violation:
    """One problem: which node, which property, what is wrong, and which rule said so."""

    focus: str
    label: str
    path: str
    message: str
    message_en: str
    message_pl: str
    severity: str
    source_shape: str

    def sort_key(self) -> tuple:
        return (_SEVERITY_ORDER.get(self.severity, 9), self.focus, self.path, self.message,
                self.source_shape)


@dataclass
class ValidationReport:
    conforms: bool
    violations: list[Violation]
    report_graph: Graph = field(repr=False, compare=False, default_factory=Graph)

    def count(self, severity: str) -> int:
        return sum(1 for v in self.violations if v.severity == severity)


class _QueryCachingGraph(Graph):
    """A Graph that parses each SPARQL text once.

    pySHACL sends the same SPARQL-based constraint once per focus node; parsing, not
    evaluating, is what takes the time. Prepared queries are immutable and reusable.
    """

    def query(self, query_object, *args, **kwargs):
        if isinstance(query_object, str):
            query_object = _prepared(query_object)
        return super().query(query_object, *args, **kwargs)


@lru_cache(maxsize=512)
def _prepared(text: str) -> Query:
    return prepareQuery(text)


# --------------------------------------------------------------------------- public API


def validate_graph(data: Graph) -> ValidationReport:
    """Run the SHACL shapes and every check query on ``data``; ``data`` is left untouched.

    ``data`` must hold the ontology (``resources.ontology_files()``) as well as the
    instance data: class targets follow ``rdfs:subClassOf`` in the data graph.
    """
    work = _QueryCachingGraph()
    work.addN((s, p, o, work) for s, p, o in data.triples((None, None, None)))
    bind_prefixes(work)

    # inplace: ``work`` is already a private copy; conforms is recomputed below, with the checks.
    _conforms, results, _text = pyshacl.validate(
        work, shacl_graph=_shapes_graph(), inference="none", advanced=True,
        allow_warnings=True, inplace=True)
    report = Graph()
    bind_prefixes(report)
    report.bind("sh", str(SH))
    report.bind("shapes", BASE + "shapes/")
    report += results

    report_node = next(results.subjects(RDF.type, SH.ValidationReport), None) or BNode()
    report.set((report_node, RDF.type, SH.ValidationReport))
    # Only the report's own results: those of nested shapes (sh:node) hang below them
    # through sh:detail and are part of the outer result, not problems of their own.
    shapes = _shapes_graph()
    violations = [_violation_from_result(results, shapes, work, node, report)
                  for node in results.objects(report_node, SH.result)]
    violations += _run_check_queries(work, report, report_node)

    unique = sorted(set(violations), key=Violation.sort_key)
    conforms = not any(v.severity == "Violation" for v in unique)
    report.set((report_node, SH.conforms, Literal(conforms)))
    return ValidationReport(conforms=conforms, violations=unique, report_graph=report)


def validate_files(files: list[Path], *, with_ontology: bool = True) -> ValidationReport:
    """Parse Turtle files (a syntax error raises LoadError with file:line:column) and validate.

    With ``with_ontology`` (the default) the ontology and SKOS schemes are loaded too, unless
    they are already among ``files``.
    """
    files = [Path(f) for f in files]
    if with_ontology:
        given = {f.resolve() for f in files}
        files = [f for f in resources.ontology_files() if f.resolve() not in given] + files
    return validate_graph(store.parse_files(files))


def format_report(report: ValidationReport, fmt: str) -> str:
    """Render a report as ``text`` (one line per problem), ``turtle`` or ``json``."""
    if fmt == "text":
        return _format_text(report)
    if fmt == "turtle":
        return report.report_graph.serialize(format="longturtle")
    if fmt == "json":
        return json.dumps({"conforms": report.conforms,
                           "violations": [asdict(v) for v in report.violations]},
                          ensure_ascii=False, indent=2) + "\n"
    raise UsageError(f"unknown report format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def check_query_files() -> list[Path]:
    return [p for p in resources.query_files() if p.name.startswith(CHECK_PREFIX)]


# --------------------------------------------------------------------------- SHACL results


@lru_cache(maxsize=4)
def _parsed_shapes(path: str, mtime_ns: int, size: int) -> Graph:
    graph = Graph()
    graph.parse(path, format="turtle")
    return graph


def _shapes_graph() -> Graph:
    path = resources.shapes_file()
    stat = path.stat()
    return _parsed_shapes(str(path), stat.st_mtime_ns, stat.st_size)


def _violation_from_result(results: Graph, shapes: Graph, data: Graph, node, report: Graph) -> Violation:
    focus = results.value(node, SH.focusNode)
    path_node = results.value(node, SH.resultPath)
    path = _render_path(results, path_node) if path_node is not None else ""
    focus, path = _lift_blank_focus(data, focus, path)
    severity = SEVERITIES.get(results.value(node, SH.resultSeverity), "Violation")
    constraint = results.value(node, SH.sourceConstraint)
    shape = results.value(node, SH.sourceShape)
    source = constraint if isinstance(constraint, URIRef) else shape
    templates = [m for owner in (constraint, shape) if owner is not None
                 for m in shapes.objects(owner, SH.message)]
    messages = _tagged_messages(results.objects(node, SH.resultMessage), templates)
    for original, tagged in messages:
        if original != tagged:  # give the report graph its language tags back
            report.remove((node, SH.resultMessage, original))
            report.add((node, SH.resultMessage, tagged))
    english = sorted(str(t) for _, t in messages if t.language == "en")
    polish = sorted(str(t) for _, t in messages if t.language == "pl")
    message_en = english[0] if english else ""
    message_pl = polish[0] if polish else ""
    return _violation(data, focus, path, message_en, message_pl, severity,
                      str(source) if isinstance(source, URIRef) else "")


def _violation(data: Graph, focus, path: str, message_en: str, message_pl: str,
               severity: str, source_shape: str) -> Violation:
    return Violation(
        focus=str(focus) if focus is not None else "",
        label=_label(data, focus),
        path=path,
        message=message_en or message_pl,
        message_en=message_en,
        message_pl=message_pl,
        severity=severity,
        source_shape=source_shape,
    )


def _tagged_messages(messages, templates) -> list[tuple[Literal, Literal]]:
    """Each result message with its language tag: ``(as reported, tagged)``.

    pySHACL drops the language tag of a SPARQL-based message once it has filled in its
    ``{?var}`` placeholders; the tag is recovered from the template the text came from.
    A message matching no template is pySHACL's own, which is English.
    """
    pairs = []
    for message in messages:
        if not isinstance(message, Literal):
            message = Literal(str(message))
        lang = (message.language or _template_language(str(message), templates) or "en").lower()
        pairs.append((message, message if message.language else Literal(str(message), lang=lang)))
    return pairs


def _template_language(text: str, templates) -> str | None:
    for template in templates:
        if not isinstance(template, Literal) or not template.language:
            continue
        pattern = _PLACEHOLDER.sub(".*?", re.escape(str(template)))
        if re.fullmatch(pattern, text, flags=re.DOTALL):
            return template.language
    return None


def _lift_blank_focus(data: Graph, focus, path: str, depth: int = 3):
    """Report a blank node's problem on the named node holding it, extending the path."""
    while isinstance(focus, BNode) and depth > 0:
        holders = sorted(((s, p) for s, p in data.subject_predicates(focus)),
                         key=lambda sp: (isinstance(sp[0], BNode), str(sp[0]), str(sp[1])))
        if not holders:
            break
        focus, predicate = holders[0]
        step = _qname(predicate)
        path = f"{step}/{path}" if path else step
        depth -= 1
    return focus, path


def _label(data: Graph, node) -> str:
    if node is None or isinstance(node, Literal):
        return ""
    for predicate in (RDFS.label, SKOS.prefLabel):
        by_lang = {(label.language or "").lower(): str(label)
                   for label in sorted(data.objects(node, predicate)) if isinstance(label, Literal)}
        for lang in ("pl", "en"):
            if lang in by_lang:
                return by_lang[lang]
    return ""


def _qname(term) -> str:
    text = str(term)
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda item: -len(item[1])):
        local = text[len(namespace):]
        if text.startswith(namespace) and local and re.fullmatch(r"[\w.-]*\w", local):
            return f"{prefix}:{local}"
    return f"<{text}>"


def _render_path(graph: Graph, node) -> str:
    """A SHACL property path in SPARQL syntax with the project's prefixes."""
    if isinstance(node, URIRef):
        return _qname(node)
    inverse = graph.value(node, SH.inversePath)
    if inverse is not None:
        return "^" + _render_path(graph, inverse)
    alternatives = graph.value(node, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(_render_path(graph, n) for n in Collection(graph, alternatives)) + ")"
    for predicate, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"),
                              (SH.zeroOrOnePath, "?")):
        inner = graph.value(node, predicate)
        if inner is not None:
            return _render_path(graph, inner) + suffix
    if graph.value(node, RDF.first) is not None:
        return "/".join(_render_path(graph, n) for n in Collection(graph, node))
    return ""


# --------------------------------------------------------------------------- check queries


def _run_check_queries(data: Graph, report: Graph, report_node) -> list[Violation]:
    """Run every ``queries/check-*.rq``; each row is one problem.

    A row binds ``?focus`` and ``?message`` (English), optionally ``?message_pl``, ``?path``
    (an IRI, or a text such as ``"dcterms:temporal/dcat:startDate"``) and ``?value``.
    The queries run in Oxigraph, the engine behind the CLI's query catalogue, on a copy
    of ``data`` whose blank nodes keep their identifiers.
    """
    engine = ox.Store()
    engine.extend(to_ox(triple) for triple in data)
    violations = []
    for query_path in check_query_files():
        source = URIRef(QUERY_BASE + query_path.stem)
        try:
            solutions = engine.query(query_path.read_text(encoding="utf-8"))
        except SyntaxError as error:
            raise UsageError(f"{query_path}: invalid SPARQL: {error}") from None
        names = [variable.value for variable in solutions.variables]
        for solution in solutions:
            values = {name: from_ox(solution[name]) for name in names}
            violations.append(_check_result(data, report, report_node, source, values))
    return violations


def _check_result(data: Graph, report: Graph, report_node, source: URIRef, values: dict) -> Violation:
    focus = values.get("focus")
    path_term = values.get("path")
    message_en = str(values.get("message") or "")
    message_pl = str(values.get("message_pl") or "")
    result = BNode()
    report.add((report_node, SH.result, result))
    report.add((result, RDF.type, SH.ValidationResult))
    report.add((result, SH.resultSeverity, SH.Violation))
    report.add((result, SH.sourceShape, source))
    report.add((result, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
    if focus is not None:
        report.add((result, SH.focusNode, focus))
    if isinstance(path_term, URIRef):
        report.add((result, SH.resultPath, path_term))
    if values.get("value") is not None:
        report.add((result, SH.value, values["value"]))
    if message_en:
        report.add((result, SH.resultMessage, Literal(message_en, lang="en")))
    if message_pl:
        report.add((result, SH.resultMessage, Literal(message_pl, lang="pl")))
    path = _qname(path_term) if isinstance(path_term, URIRef) else str(path_term or "")
    focus, path = _lift_blank_focus(data, focus, path)
    return _violation(data, focus, path, message_en, message_pl, "Violation", str(source))


# --------------------------------------------------------------------------- text output


def _format_text(report: ValidationReport) -> str:
    lines = []
    for v in report.violations:
        head = f"{v.label} <{v.focus}>" if v.label else f"<{v.focus}>"
        if v.path:
            head += f" {v.path}"
        line = f"{head}: {v.message}"
        if v.severity != "Violation":
            line += f" [{v.severity.lower()}]"
        lines.append(line)
    errors, warnings = report.count("Violation"), report.count("Warning")
    verdict = "conforms" if report.conforms else "does not conform"
    lines.append(f"{errors} violation{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}:"
                 f" the graph {verdict}.")
    return "\n".join(lines) + "\n"
