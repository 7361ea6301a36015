"""Validate the graph: SHACL shapes (``ontology/shapes.ttl``) plus the ``queries/check-*.rq`` queries.

Plain functions: :func:`validate_store` on the pyoxigraph store (what the CLI runs),
:func:`validate_graph` on an rdflib graph, :func:`validate_files` on Turtle files,
:func:`format_report` to print the result as text, Turtle or JSON. The data passed in is
never changed.

Two engines report the same violations: ``sparql`` (the default) compiles the shapes into
SPARQL queries run where the data already is (:mod:`welfare_kg.shacl_sparql`); ``pyshacl``,
the reference implementation, runs on an rdflib copy and is kept to check the first
against (tests/test_shacl_engines.py) and for shapes the first does not support yet.

Every problem becomes one :class:`Violation`. A problem found on a blank node (a period, an
amount) is reported on the named node that holds it, with the path extended from there
(``<project> dcterms:temporal/dcat:startDate``), so reports stay readable and stable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
from oxrdflib._converter import to_ox  # the same mapping the store uses
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, SKOS
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from . import resources, shacl_sparql, store
from .errors import UsageError
from .namespaces import BASE, PREFIXES, SH, bind_prefixes
from .shacl_sparql import to_rdflib

CHECK_PREFIX = "check-"
QUERY_BASE = BASE + "queries/"
FORMATS = ("text", "turtle", "json")
ENGINES = ("sparql", "pyshacl")
DEFAULT_ENGINE = "sparql"
SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
_SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}
UNIT_CHECK_REACH = 4  # org:unitOf steps the check queries follow upwards (check-unit-depth)
_UNIT_OF = ox.NamedNode("http://www.w3.org/ns/org#unitOf")
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
    rechecked: int | None = None  # with validate_store(focus=...): how many resources were re-checked

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


def validate_store(data: ox.Store, *, focus: Iterable[str] | None = None) -> ValidationReport:
    """Run the shapes and the check queries inside ``data``, a pyoxigraph store (default graph = union).

    This is the default engine and what a full validation of the store should call. The shapes
    run as SPARQL queries (:mod:`shacl_sparql`); nothing is copied out of the store. With
    ``focus`` (IRIs of changed resources), only those are re-checked, with the resources
    linking to them or linked from them (so that a project whose lead changed type is seen),
    and the blank nodes they hold; the report then says how many resources that was.
    """
    recheck = None if focus is None else _resources_to_recheck(data, focus)
    if recheck is not None and not recheck:
        return ValidationReport(conforms=True, violations=[], report_graph=_new_report()[0], rechecked=0)
    shapes = _shapes_graph()
    report = _ReportBuilder(data)
    for result in shacl_sparql.run(data, _compiled_shapes(), recheck):
        report.add_shape_result(shapes, result)
    _run_check_queries(data, report, recheck)
    return report.finish(rechecked=None if recheck is None else len(recheck))


def validate_graph(data: Graph, *, engine: str = DEFAULT_ENGINE) -> ValidationReport:
    """Run the SHACL shapes and every check query on ``data``; ``data`` is left untouched.

    ``data`` must hold the ontology (``resources.ontology_files()``) as well as the
    instance data: class targets follow ``rdfs:subClassOf`` in the data graph.
    ``engine="pyshacl"`` runs the reference implementation instead of the SPARQL engine.
    """
    if engine == "sparql":
        return validate_store(_oxigraph_copy(data))
    if engine == "pyshacl":
        return _validate_with_pyshacl(data)
    raise UsageError(f"unknown validation engine {engine!r}; choose one of: {', '.join(ENGINES)}")


def validate_files(files: list[Path], *, with_ontology: bool = True, engine: str = DEFAULT_ENGINE) -> ValidationReport:
    """Parse Turtle files (a syntax error raises LoadError with file:line:column) and validate.

    With ``with_ontology`` (the default) the ontology and SKOS schemes are loaded too, unless
    they are already among ``files``.
    """
    files = [Path(f) for f in files]
    if with_ontology:
        given = {f.resolve() for f in files}
        files = [f for f in resources.ontology_files() if f.resolve() not in given] + files
    if engine == "sparql":
        data = ox.Store()
        store.load_files(data, files)
        return validate_store(data)
    return validate_graph(store.parse_files(files), engine=engine)


def format_report(report: ValidationReport, fmt: str) -> str:
    """Render a report as ``text`` (one line per problem), ``turtle`` or ``json``."""
    if fmt == "text":
        return _format_text(report)
    if fmt == "turtle":
        return report.report_graph.serialize(format="longturtle")
    if fmt == "json":
        data = {"conforms": report.conforms, "violations": [asdict(v) for v in report.violations]}
        if report.rechecked is not None:
            data["rechecked"] = report.rechecked
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    raise UsageError(f"unknown report format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def check_query_files() -> list[Path]:
    return [p for p in resources.query_files() if p.name.startswith(CHECK_PREFIX)]


# --------------------------------------------------------------------------- shapes


@lru_cache(maxsize=4)
def _parsed_shapes(path: str, mtime_ns: int, size: int) -> Graph:
    graph = Graph()
    graph.parse(path, format="turtle")
    return graph


def _shapes_graph() -> Graph:
    path = resources.shapes_file()
    stat = path.stat()
    return _parsed_shapes(str(path), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _compiled(shapes: Graph) -> shacl_sparql.CompiledShapes:
    return shacl_sparql.compile_shapes(shapes)


def _compiled_shapes() -> shacl_sparql.CompiledShapes:
    return _compiled(_shapes_graph())


def _oxigraph_copy(data: Graph) -> ox.Store:
    """An in-memory store with ``data``; blank nodes keep their identifiers."""
    copy = ox.Store()
    copy.bulk_extend(to_ox(triple) for triple in data)
    return copy


def _resources_to_recheck(data: ox.Store, changed: Iterable[str]) -> set[str]:
    """The changed IRIs, the named nodes one link away in either direction (rdf:type's
    classes aside), and the units up to four org:unitOf steps below a changed node, since the
    unit checks (check-unit-depth, check-unit-parent-is-organisation) look that far up."""
    recheck = set(changed)
    units_below, level = set(), [ox.NamedNode(iri) for iri in recheck]
    for _ in range(UNIT_CHECK_REACH):
        level = [quad.subject for node in level for quad in data.quads_for_pattern(None, _UNIT_OF, node)
                 if isinstance(quad.subject, ox.NamedNode)]
        units_below.update(node.value for node in level)
    nodes = _Nodes(data)
    for iri in list(recheck):
        node = ox.NamedNode(iri)
        for quad in data.quads_for_pattern(None, None, node):
            holder, _ = nodes.lift(to_rdflib(quad.subject), "")
            if isinstance(holder, URIRef):
                recheck.add(str(holder))
        for quad in data.quads_for_pattern(node, None, None):
            if isinstance(quad.object, ox.NamedNode) and quad.predicate.value != str(RDF.type):
                recheck.add(quad.object.value)
    return recheck | units_below


def _new_report() -> tuple[Graph, BNode]:
    graph = Graph()
    bind_prefixes(graph)
    graph.bind("sh", str(SH))
    graph.bind("shapes", BASE + "shapes/")
    node = BNode()
    graph.add((node, RDF.type, SH.ValidationReport))
    return graph, node


class _Nodes:
    """Labels of nodes and holders of blank nodes, read from a pyoxigraph store."""

    def __init__(self, data: ox.Store):
        self.data = data

    def lift(self, focus, path: str, depth: int = 3):
        """Report a blank node's problem on the named node holding it, extending the path."""
        while isinstance(focus, BNode) and depth > 0:
            holders = sorted({(to_rdflib(q.subject), to_rdflib(q.predicate))
                              for q in self.data.quads_for_pattern(None, None, to_ox(focus))},
                             key=lambda sp: (isinstance(sp[0], BNode), str(sp[0]), str(sp[1])))
            if not holders:
                break
            focus, predicate = holders[0]
            step = _qname(predicate)
            path = f"{step}/{path}" if path else step
            depth -= 1
        return focus, path

    def label(self, node) -> str:
        if node is None or isinstance(node, Literal):
            return ""
        for predicate in (RDFS.label, SKOS.prefLabel):
            by_lang: dict[str, str] = {}
            for quad in self.data.quads_for_pattern(to_ox(node), to_ox(predicate), None):
                label = quad.object
                if isinstance(label, ox.Literal):
                    lang = (label.language or "").lower()
                    by_lang[lang] = max(by_lang.get(lang, label.value), label.value)
            for lang in ("pl", "en"):
                if lang in by_lang:
                    return by_lang[lang]
        return ""


class _ReportBuilder:
    """Collects results into the sh:ValidationReport graph and into Violations."""

    def __init__(self, data: ox.Store, graph: Graph | None = None, report_node=None):
        self.nodes = _Nodes(data)
        if graph is None:
            graph, report_node = _new_report()
        self.graph, self.report_node = graph, report_node
        self.violations: list[Violation] = []

    def new_result(self, focus, severity: URIRef, source_shape, component: URIRef) -> BNode:
        result = BNode()
        for predicate, value in ((RDF.type, SH.ValidationResult), (SH.focusNode, focus),
                                 (SH.resultSeverity, severity), (SH.sourceShape, source_shape),
                                 (SH.sourceConstraintComponent, component)):
            if value is not None:
                self.graph.add((result, predicate, value))
        self.graph.add((self.report_node, SH.result, result))
        self.describe_blank(focus)
        return result

    def describe_blank(self, node) -> None:
        """Copy a blank node's triples (and those below it) into the report, as pySHACL does."""
        pending = [node]
        while pending:
            subject = pending.pop()
            if not isinstance(subject, BNode):
                continue
            for quad in self.nodes.data.quads_for_pattern(to_ox(subject), None, None):
                value = to_rdflib(quad.object)
                self.graph.add((subject, to_rdflib(quad.predicate), value))
                pending.append(value)

    def add_shape_result(self, shapes: Graph, found: shacl_sparql.ShapeResult) -> None:
        result = self.new_result(found.focus, found.severity, found.source_shape, found.component)
        optional = ((SH.value, found.value), (SH.resultPath, found.path), (SH.sourceConstraint, found.source_constraint))
        for predicate, value in optional:
            if value is not None:
                self.graph.add((result, predicate, value))
        self.describe_blank(found.value)
        if isinstance(found.path, BNode):
            self.graph += _closure(shapes, found.path)
        for message in found.messages:
            self.graph.add((result, SH.resultMessage, message))
        path = _render_path(shapes, found.path) if found.path is not None else ""
        source = found.source_constraint if isinstance(found.source_constraint, URIRef) else found.source_shape
        self.add_violation(found.focus, path, found.messages, SEVERITIES.get(found.severity, "Violation"), source)

    def add_violation(self, focus, path: str, messages, severity: str, source) -> None:
        focus, path = self.nodes.lift(focus, path)
        english = sorted(str(m) for m in messages if (m.language or "").lower() == "en")
        polish = sorted(str(m) for m in messages if (m.language or "").lower() == "pl")
        message_en = english[0] if english else ""
        message_pl = polish[0] if polish else ""
        self.violations.append(Violation(
            focus=str(focus) if focus is not None else "",
            label=self.nodes.label(focus),
            path=path,
            message=message_en or message_pl,
            message_en=message_en,
            message_pl=message_pl,
            severity=severity,
            source_shape=str(source) if isinstance(source, URIRef) else "",
        ))

    def finish(self, rechecked: int | None = None) -> ValidationReport:
        unique = sorted(set(self.violations), key=Violation.sort_key)
        conforms = not any(v.severity == "Violation" for v in unique)
        self.graph.set((self.report_node, SH.conforms, Literal(conforms)))
        return ValidationReport(conforms=conforms, violations=unique, report_graph=self.graph, rechecked=rechecked)


def _closure(graph: Graph, node) -> Graph:
    """``node``'s triples and those of the blank nodes below it (a property path's structure)."""
    closure = Graph()
    pending = [node]
    while pending:
        subject = pending.pop()
        for _, predicate, value in graph.triples((subject, None, None)):
            closure.add((subject, predicate, value))
            if isinstance(value, BNode):
                pending.append(value)
    return closure


# --------------------------------------------------------------------------- the reference engine


def _validate_with_pyshacl(data: Graph) -> ValidationReport:
    import pyshacl  # only the reference engine needs it, and it takes a second to import

    work = _QueryCachingGraph()
    work.addN((s, p, o, work) for s, p, o in data.triples((None, None, None)))
    bind_prefixes(work)
    # inplace: ``work`` is already a private copy; conforms is recomputed below, with the checks.
    _conforms, results, _text = pyshacl.validate(
        work, shacl_graph=_shapes_graph(), inference="none", advanced=True,
        allow_warnings=True, inplace=True)
    graph, _ = _new_report()
    graph.remove((None, RDF.type, SH.ValidationReport))
    graph += results
    report_node = next(results.subjects(RDF.type, SH.ValidationReport), None) or BNode()
    graph.set((report_node, RDF.type, SH.ValidationReport))
    copy = _oxigraph_copy(data)
    report = _ReportBuilder(copy, graph, report_node)
    # Only the report's own results: those of nested shapes (sh:node) hang below them
    # through sh:detail and are part of the outer result, not problems of their own.
    for node in results.objects(report_node, SH.result):
        _add_pyshacl_result(report, results, node)
    _run_check_queries(copy, report, None)
    return report.finish()


def _add_pyshacl_result(report: _ReportBuilder, results: Graph, node) -> None:
    path_node = results.value(node, SH.resultPath)
    path = _render_path(results, path_node) if path_node is not None else ""
    constraint = results.value(node, SH.sourceConstraint)
    shape = results.value(node, SH.sourceShape)
    templates = [m for owner in (constraint, shape) if owner is not None
                 for m in _shapes_graph().objects(owner, SH.message)]
    messages = _tagged_messages(results.objects(node, SH.resultMessage), templates)
    for original, tagged in messages:
        if original != tagged:  # give the report graph its language tags back
            report.graph.remove((node, SH.resultMessage, original))
            report.graph.add((node, SH.resultMessage, tagged))
    report.add_violation(results.value(node, SH.focusNode), path, [tagged for _, tagged in messages],
                         SEVERITIES.get(results.value(node, SH.resultSeverity), "Violation"),
                         constraint if isinstance(constraint, URIRef) else shape)


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


def _run_check_queries(data: ox.Store, report: _ReportBuilder, focus: set[str] | None) -> None:
    """Run every ``queries/check-*.rq`` in the store; each row is one problem.

    A row binds ``?focus`` and ``?message`` (English), optionally ``?message_pl``, ``?path``
    (an IRI, or a text such as ``"dcterms:temporal/dcat:startDate"``) and ``?value``.
    With ``focus``, each query runs once per focus node (:func:`shacl_sparql.focus_nodes`),
    substituted for ``?focus``: index lookups instead of a scan of the whole graph.
    """
    nodes = None if focus is None else shacl_sparql.focus_nodes(data, focus)
    for query_path in check_query_files():
        source = URIRef(QUERY_BASE + query_path.stem)
        text = query_path.read_text(encoding="utf-8")
        try:
            if nodes is None:
                answers = [data.query(text, use_default_graph_as_union=True)]
            else:
                answers = [shacl_sparql.query_with(data, text, "focus", node) for node in nodes]
        except SyntaxError as error:
            raise UsageError(f"{query_path}: invalid SPARQL: {error}") from None
        for solutions in answers:
            names = [variable.value for variable in solutions.variables]
            for solution in solutions:
                values = {name: to_rdflib(solution[name]) for name in names if solution[name] is not None}
                _add_check_result(report, source, values)


def _add_check_result(report: _ReportBuilder, source: URIRef, values: dict) -> None:
    focus = values.get("focus")
    path_term = values.get("path")
    messages = [Literal(str(values[name]), lang=lang) for name, lang in (("message", "en"), ("message_pl", "pl"))
                if values.get(name)]
    result = report.new_result(focus, SH.Violation, source, SH.SPARQLConstraintComponent)
    if isinstance(path_term, URIRef):
        report.graph.add((result, SH.resultPath, path_term))
    if values.get("value") is not None:
        report.graph.add((result, SH.value, values["value"]))
        report.describe_blank(values["value"])
    for message in messages:
        report.graph.add((result, SH.resultMessage, message))
    path = _qname(path_term) if isinstance(path_term, URIRef) else str(path_term or "")
    report.add_violation(focus, path, messages, "Violation", source)


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
    summary = (f"{errors} violation{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}:"
               f" the graph {verdict}")
    if report.rechecked is not None:
        summary += f" as far as the {report.rechecked} re-checked resource{'s' * (report.rechecked != 1)} go"
    lines.append(summary + ".")
    return "\n".join(lines) + "\n"
