"""SHACL shapes run as SPARQL SELECT queries inside Oxigraph, without copying the graph.

:func:`compile_shapes` turns a shapes graph into queries; :func:`run` evaluates them on a
pyoxigraph store and yields one :class:`ShapeResult` per validation result, as pySHACL
would report it: one per focus node and failing value for value constraints (``sh:class``,
``sh:datatype`` …), one per focus node for counts (``sh:minCount``, ``sh:hasValue``,
qualified counts), one per repeated language for ``sh:uniqueLang``, one per distinct row of
a SPARQL-based constraint. A property shape used by two node shapes is checked once for
each, as pySHACL does.

Only the SHACL features the project's shapes use are covered; any other raises
:class:`UnsupportedShape`, so that no rule is silently left unchecked.

With ``focus`` (IRIs), only those nodes and the blank nodes they hold (:func:`focus_nodes`)
are checked, one node at a time: each query gets the node as a substitution for ``?this``, so
Oxigraph starts from it with index lookups. A restriction inside the query text (VALUES)
does not help: Oxigraph does not start its joins there, and scans every triple of the
checked predicate (14.5 s to re-check one project of 20k, as long as a full run).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count

import pyoxigraph as ox
from oxrdflib._converter import from_ox
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS, XSD

from . import cores
from .errors import UsageError
from .namespaces import SH

_XSD_STRING = str(XSD.string)
# Class tests name a class; run() replaces the marker with the class and its subclasses in the
# store, found once: testing rdf:type against that list is ten times faster than a path per node.
_SUBCLASSES = "@@subclasses {iri} {separator}@@"
_SUBCLASSES_MARKER = re.compile(r"@@subclasses <([^>]*)> (, | )@@")

# Constraints that test each value node on its own: predicate -> constraint component.
_VALUE_COMPONENTS = {
    SH["class"]: SH.ClassConstraintComponent,
    SH.datatype: SH.DatatypeConstraintComponent,
    SH.nodeKind: SH.NodeKindConstraintComponent,
    SH.languageIn: SH.LanguageInConstraintComponent,
    SH["in"]: SH.InConstraintComponent,
    SH.pattern: SH.PatternConstraintComponent,
    SH.minInclusive: SH.MinInclusiveConstraintComponent,
    SH.maxInclusive: SH.MaxInclusiveConstraintComponent,
    SH.minExclusive: SH.MinExclusiveConstraintComponent,
    SH.maxExclusive: SH.MaxExclusiveConstraintComponent,
    SH.node: SH.NodeConstraintComponent,
    SH["or"]: SH.OrConstraintComponent,
}
_COMPARISONS = {SH.minInclusive: ">=", SH.maxInclusive: "<=", SH.minExclusive: ">", SH.maxExclusive: "<"}
_NODE_KINDS = {
    SH.IRI: "isIRI({v})", SH.Literal: "isLiteral({v})", SH.BlankNode: "isBlank({v})",
    SH.BlankNodeOrIRI: "!isLiteral({v})", SH.BlankNodeOrLiteral: "!isIRI({v})", SH.IRIOrLiteral: "!isBlank({v})",
}
# rdflib (hence pySHACL) rejects ill-formed literals of these types; Oxigraph's casts do the same.
_CHECKED_BY_CAST = {XSD.integer, XSD.decimal, XSD.boolean, XSD.date}
_LEXICAL_PATTERNS = {XSD.hexBinary: "^([0-9a-fA-F]{2})*$"}
# Said about a shape, or read together with another parameter, but not a constraint of its own.
_NOT_CONSTRAINTS = {
    RDF.type, RDFS.label, RDFS.comment, SH.name, SH.description, SH.message, SH.severity, SH.path,
    SH.order, SH.group, SH.flags, SH.qualifiedMinCount, SH.qualifiedMaxCount,
}
_TARGETS = {SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode, SH.target}
_GENERIC_MESSAGES = {  # pySHACL's wording, for node shapes that give no sh:message
    SH.NodeKindConstraintComponent: "Value is not of Node Kind {}",
    SH.ClassConstraintComponent: "Value does not have class {}",
    SH.DatatypeConstraintComponent: "Value is not Literal with datatype {}",
}


class UnsupportedShape(UsageError):
    """The shapes use a SHACL feature this engine does not check."""


@dataclass(frozen=True)
class ShapeResult:
    """One validation result, with rdflib terms (blank nodes keep the store's identifiers)."""

    focus: object
    value: object | None
    path: object | None  # a SHACL path node of the shapes graph, or the IRI a SPARQL row bound
    severity: URIRef
    source_shape: object
    component: URIRef
    source_constraint: URIRef | None
    messages: tuple[Literal, ...]


@dataclass(frozen=True)
class _Rule:
    """What every result of one check shares: who reports it, how severe, with which words."""

    shape: object
    severity: URIRef
    messages: tuple[Literal, ...]
    path: object | None = None

    def result(self, focus, component, value=None, *, path=None, constraint=None, messages=None) -> ShapeResult:
        return ShapeResult(focus=focus, value=value, path=self.path if path is None else path,
                           severity=self.severity, source_shape=self.shape, component=component,
                           source_constraint=constraint, messages=self.messages if messages is None else messages)


class _Check:
    """A query over the focus nodes ``?this`` of one node shape, and how its rows become results."""

    def query(self, focus: str) -> str:
        raise NotImplementedError

    def results(self, rows) -> Iterator[ShapeResult]:
        raise NotImplementedError


@dataclass(frozen=True)
class NodeShapeChecks:
    shape: object
    targets: str  # a group pattern binding ?this to every target, possibly more than once
    checks: tuple[_Check, ...]


@dataclass(frozen=True)
class CompiledShapes:
    prologue: str  # PREFIX lines from sh:declare, for SPARQL-based targets and constraints
    node_shapes: tuple[NodeShapeChecks, ...]


# --------------------------------------------------------------------------- running


def run(store: ox.Store, shapes: CompiledShapes, focus: Iterable[str] | None = None) -> Iterator[ShapeResult]:
    """Every result of every targeted node shape; with ``focus``, only those nodes' results."""
    expand = _SubclassExpander(store)
    if focus is None:
        jobs = [(check, expand(shapes.prologue + check.query(
                    f"{{ SELECT DISTINCT ?this WHERE {{ {node_shape.targets} }} }}")))
                for node_shape in shapes.node_shapes for check in node_shape.checks]
        # pyoxigraph lets go of the GIL while it evaluates, so queries run side by side;
        # map() keeps the order of the checks, and so the report stays the same.
        pool = ThreadPoolExecutor(max_workers=query_threads())
        try:
            for results in pool.map(lambda job: list(job[0].results(
                    store.query(job[1], use_default_graph_as_union=True))), jobs):
                yield from results
        finally:
            pool.shutdown(cancel_futures=True)
        return
    nodes = focus_nodes(store, focus)
    for node_shape in shapes.node_shapes:
        is_target = expand(f"{shapes.prologue}ASK {{ {node_shape.targets} }}")
        targeted = [node for node in nodes if query_with(store, is_target, "this", node)]
        for check in node_shape.checks:
            # ?this is substituted, so the focus pattern is empty: the node is known to be a target.
            query = expand(shapes.prologue + check.query("{ }"))
            for node in targeted:
                yield from check.results(query_with(store, query, "this", node))


def query_threads() -> int:
    """How many whole-graph queries to run at once: one per core, at most eight."""
    return max(1, min(8, cores.usable()))


def query_with(store: ox.Store, query: str, variable: str, node):
    """Run ``query`` on the store's union graph with ``node`` substituted for ``variable``."""
    return store.query(query, use_default_graph_as_union=True, substitutions={ox.Variable(variable): node})


def focus_nodes(store: ox.Store, iris: Iterable[str]) -> list:
    """The given IRIs and the blank nodes they hold, two levels deep (a period, an amount and its parts)."""
    named = [ox.NamedNode(iri) for iri in sorted(set(iris))]
    nodes, level = list(named), named
    for _ in range(2):
        level = sorted({quad.object for holder in level for quad in store.quads_for_pattern(holder, None, None)
                        if isinstance(quad.object, ox.BlankNode)} - set(nodes), key=str)
        nodes += level
    return nodes


class _SubclassExpander:
    """Replaces the class markers of a query with the class and its subclasses in the store, found once."""

    def __init__(self, store: ox.Store):
        self.store = store
        self.subclasses: dict[str, list[str]] = {}

    def __call__(self, query: str) -> str:
        return _SUBCLASSES_MARKER.sub(self._subclasses, query)

    def _subclasses(self, marker: re.Match) -> str:
        iri, separator = marker.groups()
        if iri not in self.subclasses:
            found = self.store.query(f"SELECT DISTINCT ?c WHERE {{ ?c <{RDFS.subClassOf}>* <{iri}> }}",
                                     use_default_graph_as_union=True)
            self.subclasses[iri] = sorted({f"<{row['c'].value}>" for row in found} | {f"<{iri}>"})
        return separator.join(self.subclasses[iri])


def _rows(rows) -> Iterator[dict]:
    names = [variable.value for variable in rows.variables]
    for row in rows:
        yield {name: to_rdflib(row[name]) for name in names if row[name] is not None}


def to_rdflib(term):
    """An Oxigraph term as rdflib parses it: a plain string literal has no explicit xsd:string."""
    if isinstance(term, ox.Literal) and term.datatype.value == _XSD_STRING and not term.language:
        return Literal(term.value)
    return from_ox(term)


# --------------------------------------------------------------------------- compiling


def compile_shapes(shapes: Graph) -> CompiledShapes:
    """Compile every targeted node shape; raise UnsupportedShape for anything not covered."""
    for shape in set(shapes.subjects(SH.path, None)):
        if any(shapes.value(shape, target) is not None for target in _TARGETS):
            raise UnsupportedShape(f"{shape}: targets on a property shape are not supported")
    targeted = sorted({s for t in _TARGETS for s in shapes.subjects(t, None)}, key=str)
    compiler = _Compiler(shapes)
    return CompiledShapes(prologue=_prologue(shapes),
                          node_shapes=tuple(compiler.node_shape(shape) for shape in targeted))


def _prologue(shapes: Graph) -> str:
    declarations = {(str(shapes.value(d, SH.prefix)), str(shapes.value(d, SH.namespace)))
                    for d in shapes.objects(None, SH.declare)}
    return "".join(f"PREFIX {prefix}: <{namespace}>\n" for prefix, namespace in sorted(declarations))


class _Compiler:
    def __init__(self, shapes: Graph):
        self.shapes = shapes
        self.fresh = count()

    def variable(self) -> str:
        return f"?_v{next(self.fresh)}"

    def severity(self, shape) -> URIRef:
        return self.shapes.value(shape, SH.severity) or SH.Violation

    def messages(self, shape) -> tuple[Literal, ...]:
        return tuple(sorted((m for m in self.shapes.objects(shape, SH.message) if isinstance(m, Literal)), key=str))

    # ---- node shapes with targets

    def node_shape(self, shape) -> NodeShapeChecks:
        checks: list[_Check] = []
        tests = []
        for predicate, value in sorted(self.shapes.predicate_objects(shape)):
            if predicate in _VALUE_COMPONENTS:
                tests.append((_VALUE_COMPONENTS[predicate], value, self.value_test(shape, predicate, value, "?this")))
            elif predicate == SH.property:
                checks += self.property_shape(value)
            elif predicate == SH.sparql:
                checks.append(self.sparql_constraint(shape, value))
            elif predicate not in _NOT_CONSTRAINTS | _TARGETS:
                raise UnsupportedShape(f"{shape}: {predicate} is not supported")
        if tests:
            checks.append(_FocusCheck(_Rule(shape, self.severity(shape), self.messages(shape)),
                                      tuple(tests), self.shapes))
        return NodeShapeChecks(shape=shape, targets=self.targets(shape), checks=tuple(checks))

    def targets(self, shape) -> str:
        patterns = []
        for predicate, value in sorted(self.shapes.predicate_objects(shape)):
            if predicate == SH.targetClass:
                classes = _SUBCLASSES.format(iri=value.n3(), separator=" ")
                patterns.append(f"VALUES ?_class {{ {classes} }} ?this <{RDF.type}> ?_class")
            elif predicate == SH.targetSubjectsOf:
                patterns.append(f"?this {value.n3()} []")
            elif predicate == SH.targetObjectsOf:
                patterns.append(f"[] {value.n3()} ?this")
            elif predicate == SH.targetNode:
                patterns.append(f"VALUES ?this {{ {value.n3()} }}")
            elif predicate == SH.target:
                patterns.append(self.sparql_target(shape, value))
        return " UNION ".join(f"{{ {pattern} }}" for pattern in patterns)

    def sparql_target(self, shape, target) -> str:
        if (target, RDF.type, SH.SPARQLTarget) not in self.shapes:
            raise UnsupportedShape(f"{shape}: only SPARQL-based targets (sh:SPARQLTarget) are supported")
        return "{ " + _with_this(str(self.shapes.value(target, SH.select)), shape) + " }"

    # ---- property shapes

    def property_shape(self, shape) -> list[_Check]:
        path = self.path(shape)
        rule = _Rule(shape, self.severity(shape), self.messages(shape), self.shapes.value(shape, SH.path))
        value_tests, counts, checks = [], _Counts(), []
        for predicate, value in sorted(self.shapes.predicate_objects(shape)):
            if predicate in _VALUE_COMPONENTS:
                value_tests.append((_VALUE_COMPONENTS[predicate], self.value_test(shape, predicate, value, "?v")))
            elif predicate == SH.minCount:
                counts.minimum = int(value)
            elif predicate == SH.maxCount:
                counts.maximum = int(value)
            elif predicate == SH.hasValue:
                counts.has_values.append(value)
            elif predicate == SH.qualifiedValueShape:
                counts.qualified = self.conforms(value, "?v")
                counts.qualified_minimum = _optional_int(self.shapes.value(shape, SH.qualifiedMinCount))
                counts.qualified_maximum = _optional_int(self.shapes.value(shape, SH.qualifiedMaxCount))
            elif predicate == SH.uniqueLang:
                if value.toPython() is True:
                    checks.append(_UniqueLangCheck(rule, path))
            elif predicate not in _NOT_CONSTRAINTS:
                raise UnsupportedShape(f"{shape}: {predicate} is not supported")
        if value_tests:
            checks.append(_ValueCheck(rule, path, tuple(value_tests)))
        if counts.any():
            checks.append(_CountCheck(rule, path, counts))
        return checks

    def path(self, shape) -> str:
        node = self.shapes.value(shape, SH.path)
        if node is None:
            raise UnsupportedShape(f"{shape}: a property shape without sh:path")
        return self.sparql_path(node)

    def sparql_path(self, node) -> str:
        if isinstance(node, URIRef):
            return node.n3()
        shapes = self.shapes
        if (inverse := shapes.value(node, SH.inversePath)) is not None:
            return f"^({self.sparql_path(inverse)})"
        if (alternatives := shapes.value(node, SH.alternativePath)) is not None:
            return "(" + "|".join(self.sparql_path(n) for n in Collection(shapes, alternatives)) + ")"
        for predicate, suffix in ((SH.zeroOrMorePath, "*"), (SH.oneOrMorePath, "+"), (SH.zeroOrOnePath, "?")):
            if (inner := shapes.value(node, predicate)) is not None:
                return f"({self.sparql_path(inner)}){suffix}"
        if shapes.value(node, RDF.first) is not None:
            return "(" + "/".join(self.sparql_path(n) for n in Collection(shapes, node)) + ")"
        raise UnsupportedShape(f"unsupported property path {node}")

    # ---- tests on one value, as SPARQL expressions that are never an error

    def value_test(self, shape, predicate, parameter, v: str) -> str:
        """``v`` passes the constraint ``predicate parameter`` of ``shape``, as an expression."""
        return f"COALESCE({self.raw_value_test(shape, predicate, parameter, v)}, false)"

    def raw_value_test(self, shape, predicate, parameter, v: str) -> str:
        if predicate == SH["class"]:
            classes, type_ = _SUBCLASSES.format(iri=parameter.n3(), separator=", "), self.variable()
            return f"EXISTS {{ {v} <{RDF.type}> {type_} FILTER ({type_} IN ({classes})) }}"
        if predicate == SH.datatype:
            return _datatype_test(parameter, v)
        if predicate == SH.nodeKind:
            if parameter not in _NODE_KINDS:
                raise UnsupportedShape(f"unknown sh:nodeKind {parameter}")
            return _NODE_KINDS[parameter].format(v=v)
        if predicate == SH.languageIn:
            tags = " || ".join(f"LANGMATCHES(LANG({v}), {Literal(str(t)).n3()})" for t in self._list(parameter))
            return f"(isLiteral({v}) && ({tags or 'false'}))"
        if predicate == SH["in"]:
            return "(" + (" || ".join(f"sameTerm({v}, {t.n3()})" for t in self._list(parameter)) or "false") + ")"
        if predicate == SH.pattern:
            flags = self.shapes.value(shape, SH.flags)
            arguments = f"STR({v}), {Literal(str(parameter)).n3()}" + (f", {Literal(str(flags)).n3()}" if flags else "")
            return f"(!isBlank({v}) && REGEX({arguments}))"
        if predicate in _COMPARISONS:
            return f"({v} {_COMPARISONS[predicate]} {parameter.n3()})"
        if predicate == SH.node:
            return self.conforms(parameter, v)
        if predicate == SH["or"]:
            return "(" + (" || ".join(self.conforms(member, v) for member in self._list(parameter)) or "false") + ")"
        raise UnsupportedShape(f"{predicate} is not supported")

    def _list(self, node) -> list:
        return list(Collection(self.shapes, node))

    def conforms(self, shape, v: str) -> str:
        """An expression true when ``v`` conforms to ``shape`` (sh:node, sh:or, qualified shapes)."""
        tests = []
        for predicate, value in sorted(self.shapes.predicate_objects(shape)):
            if predicate in _VALUE_COMPONENTS:
                tests.append(self.value_test(shape, predicate, value, v))
            elif predicate == SH.hasValue:
                tests.append(f"sameTerm({v}, {value.n3()})")
            elif predicate == SH.property:
                tests.append(self.nested_property(value, v))
            elif predicate not in _NOT_CONSTRAINTS:
                raise UnsupportedShape(f"{shape}: {predicate} is not supported in a nested shape")
        return "(" + (" && ".join(tests) or "true") + ")"

    def nested_property(self, shape, v: str) -> str:
        path, tests, value_tests = self.path(shape), [], []
        for predicate, value in sorted(self.shapes.predicate_objects(shape)):
            if predicate == SH.minCount and int(value) <= 1:
                tests.append(f"EXISTS {{ {v} {path} [] }}" if int(value) else "true")
            elif predicate == SH.maxCount and int(value) == 0:
                tests.append(f"NOT EXISTS {{ {v} {path} [] }}")
            elif predicate == SH.hasValue:
                tests.append(f"EXISTS {{ {v} {path} {value.n3()} }}")
            elif predicate in _VALUE_COMPONENTS:
                value_tests.append((predicate, value))
            elif predicate not in _NOT_CONSTRAINTS:
                raise UnsupportedShape(f"{shape}: {predicate} {value} is not supported in a nested shape")
        if value_tests:
            x = self.variable()
            passes = " && ".join(self.value_test(shape, p, value, x) for p, value in value_tests)
            tests.append(f"NOT EXISTS {{ {v} {path} {x} FILTER (!({passes})) }}")
        return "(" + (" && ".join(tests) or "true") + ")"

    # ---- SPARQL-based constraints

    def sparql_constraint(self, shape, constraint) -> _Check:
        if self.shapes.value(constraint, SH.deactivated) is not None:
            raise UnsupportedShape(f"{constraint}: sh:deactivated is not supported")
        text = _with_this(str(self.shapes.value(constraint, SH.select)), constraint)
        limit = re.search(r"\}\s*LIMIT\s+(\d+)\s*$", text, flags=re.IGNORECASE)
        if limit:  # pySHACL runs the query once per focus node, so a LIMIT applies per node
            text = text[:limit.start() + 1]
        rule = _Rule(shape, self.severity(shape), self.messages(constraint))
        return _SparqlCheck(rule, constraint, text, int(limit.group(1)) if limit else None)


def _with_this(select: str, owner) -> str:
    """A SPARQL-based target or constraint with ``$this`` as the variable ``?this``, which it must project."""
    for variable in ("$value", "$PATH", "$currentShape", "$shapesGraph"):
        if variable in select:
            raise UnsupportedShape(f"{owner}: {variable} in a SPARQL query is not supported")
    text = select.replace("$this", "?this")
    projection = re.search(r"SELECT\b(.*?)\bWHERE\b", text, flags=re.IGNORECASE | re.DOTALL)
    if projection is None or "?this" not in projection.group(1):
        raise UnsupportedShape(f"{owner}: the SPARQL query must select $this")
    return text


def _datatype_test(datatype, v: str) -> str:
    if datatype == RDF.langString:
        return f"(isLiteral({v}) && LANG({v}) != \"\")"
    test = f"isLiteral({v}) && DATATYPE({v}) = {datatype.n3()}"
    if datatype in _CHECKED_BY_CAST:
        test += f" && isLiteral({datatype.n3()}({v}))"
    if datatype in _LEXICAL_PATTERNS:
        test += f" && REGEX(STR({v}), {Literal(_LEXICAL_PATTERNS[datatype]).n3()})"
    return f"({test})"


def _optional_int(value) -> int | None:
    return None if value is None else int(value)


# --------------------------------------------------------------------------- the checks


class _FocusCheck(_Check):
    """Value constraints on the focus node itself (a node shape's sh:nodeKind)."""

    def __init__(self, rule: _Rule, tests: tuple, shapes: Graph):
        self.rule, self.tests, self.shapes = rule, tests, shapes

    def query(self, focus: str) -> str:
        binds = " ".join(f"BIND ({test} AS ?ok{i})" for i, (_, _, test) in enumerate(self.tests))
        failed = " || ".join(f"!?ok{i}" for i in range(len(self.tests)))
        oks = " ".join(f"?ok{i}" for i in range(len(self.tests)))
        return f"SELECT ?this {oks} WHERE {{ {focus} {binds} FILTER ({failed}) }}"

    def results(self, rows) -> Iterator[ShapeResult]:
        for row in _rows(rows):
            for i, (component, parameter, _) in enumerate(self.tests):
                if not row[f"ok{i}"].toPython():
                    yield self.rule.result(row["this"], component, row["this"],
                                           messages=self.rule.messages or self._generic(component, parameter))

    def _generic(self, component, parameter) -> tuple[Literal, ...]:
        if component not in _GENERIC_MESSAGES:
            raise UnsupportedShape(f"{self.rule.shape}: give it an sh:message")
        return (Literal(_GENERIC_MESSAGES[component].format(parameter.n3(self.shapes.namespace_manager))),)


class _ValueCheck(_Check):
    """Value constraints of a property shape: one result per focus node, failing value and constraint."""

    def __init__(self, rule: _Rule, path: str, tests: tuple):
        self.rule, self.path, self.tests = rule, path, tests

    def query(self, focus: str) -> str:
        binds = " ".join(f"BIND ({test} AS ?ok{i})" for i, (_, test) in enumerate(self.tests))
        failed = " || ".join(f"!?ok{i}" for i in range(len(self.tests)))
        oks = " ".join(f"?ok{i}" for i in range(len(self.tests)))
        return (f"SELECT DISTINCT ?this ?v {oks} WHERE {{ {focus} ?this {self.path} ?v . {binds}"
                f" FILTER ({failed}) }}")

    def results(self, rows) -> Iterator[ShapeResult]:
        for row in _rows(rows):
            for i, (component, _) in enumerate(self.tests):
                if not row[f"ok{i}"].toPython():
                    yield self.rule.result(row["this"], component, row["v"])


@dataclass
class _Counts:
    minimum: int | None = None
    maximum: int | None = None
    qualified: str | None = None  # expression: ?v conforms to the qualified value shape
    qualified_minimum: int | None = None
    qualified_maximum: int | None = None
    has_values: list = field(default_factory=list)

    def any(self) -> bool:
        return self.minimum is not None or self.maximum is not None or self.qualified is not None \
            or bool(self.has_values)


class _CountCheck(_Check):
    """sh:minCount, sh:maxCount, sh:hasValue and qualified counts: at most one result per constraint and node."""

    def __init__(self, rule: _Rule, path: str, counts: _Counts):
        self.rule, self.path, self.counts = rule, path, counts

    def query(self, focus: str) -> str:
        c = self.counts
        binds, aggregates, failures = [], ["(COUNT(DISTINCT ?v) AS ?n)"], []
        if c.minimum is not None:
            failures.append(f"?n < {c.minimum}")
        if c.maximum is not None:
            failures.append(f"?n > {c.maximum}")
        if c.qualified is not None:
            binds.append(f"BIND (IF({c.qualified}, ?v, ?_none) AS ?qv)")
            aggregates.append("(COUNT(DISTINCT ?qv) AS ?q)")
            if c.qualified_minimum is not None:
                failures.append(f"?q < {c.qualified_minimum}")
            if c.qualified_maximum is not None:
                failures.append(f"?q > {c.qualified_maximum}")
        for i, value in enumerate(c.has_values):
            binds.append(f"BIND (IF(sameTerm(?v, {value.n3()}), ?v, ?_none) AS ?hv{i})")
            aggregates.append(f"(COUNT(DISTINCT ?hv{i}) AS ?h{i})")
            failures.append(f"?h{i} = 0")
        outputs = " ".join(a.split(" AS ")[1].rstrip(")") for a in aggregates)
        return (f"SELECT ?this {outputs} WHERE {{ {{ SELECT ?this {' '.join(aggregates)} WHERE {{ {focus}"
                f" OPTIONAL {{ ?this {self.path} ?v . {' '.join(binds)} }} }} GROUP BY ?this }}"
                f" FILTER ({' || '.join(failures) or 'false'}) }}")

    def results(self, rows) -> Iterator[ShapeResult]:
        c = self.counts
        for row in _rows(rows):
            n, focus = row["n"].toPython(), row["this"]
            if c.minimum is not None and n < c.minimum:
                yield self.rule.result(focus, SH.MinCountConstraintComponent)
            if c.maximum is not None and n > c.maximum:
                yield self.rule.result(focus, SH.MaxCountConstraintComponent)
            if c.qualified is not None:
                q = row["q"].toPython()
                if c.qualified_minimum is not None and q < c.qualified_minimum:
                    yield self.rule.result(focus, SH.QualifiedMinCountConstraintComponent)
                if c.qualified_maximum is not None and q > c.qualified_maximum:
                    yield self.rule.result(focus, SH.QualifiedMaxCountConstraintComponent)
            for i, _ in enumerate(c.has_values):
                if row[f"h{i}"].toPython() == 0:
                    yield self.rule.result(focus, SH.HasValueConstraintComponent)


class _UniqueLangCheck(_Check):
    """sh:uniqueLang: one result per focus node and language tag (case-insensitive) used twice."""

    def __init__(self, rule: _Rule, path: str):
        self.rule, self.path = rule, path

    def query(self, focus: str) -> str:
        return (f"SELECT DISTINCT ?this ?lang WHERE {{ {focus} ?this {self.path} ?v . ?this {self.path} ?w ."
                f" FILTER (isLiteral(?v) && isLiteral(?w) && LANG(?v) != \"\" && !sameTerm(?v, ?w)"
                f" && LCASE(LANG(?v)) = LCASE(LANG(?w))) BIND (LCASE(LANG(?v)) AS ?lang) }}")

    def results(self, rows) -> Iterator[ShapeResult]:
        for row in _rows(rows):
            yield self.rule.result(row["this"], SH.UniqueLangConstraintComponent)


class _SparqlCheck(_Check):
    """A SPARQL-based constraint, run once for all focus nodes instead of once per node."""

    _PLACEHOLDER = re.compile(r"\{[?$](\w+)\}")

    def __init__(self, rule: _Rule, constraint, select: str, limit: int | None):
        self.rule, self.constraint, self.select, self.limit = rule, constraint, select, limit

    def query(self, focus: str) -> str:
        where = re.search(r"\bWHERE\s*\{", self.select, flags=re.IGNORECASE)
        return self.select[:where.end()] + f" {focus} " + self.select[where.end():]

    def results(self, rows) -> Iterator[ShapeResult]:
        seen: dict[object, set] = {}
        for row in _rows(rows):
            focus = row["this"]
            rows_of_focus = seen.setdefault(focus, set())
            key = frozenset(row.items())
            if key in rows_of_focus or (self.limit is not None and len(rows_of_focus) >= self.limit):
                continue
            rows_of_focus.add(key)
            messages = tuple(Literal(self._fill(str(m), row), lang=m.language) for m in self.rule.messages)
            yield self.rule.result(focus, SH.SPARQLConstraintComponent, row.get("value", focus),
                                   path=row.get("path"), constraint=self.constraint, messages=messages)

    def _fill(self, template: str, row: dict) -> str:
        return self._PLACEHOLDER.sub(lambda m: str(row[m.group(1)]) if m.group(1) in row else m.group(0), template)
