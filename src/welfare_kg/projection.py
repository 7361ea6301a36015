"""Project RDF onto a networkx MultiDiGraph for pictures and network analysis.

Nodes are resources (key = IRI); literals become node attributes, never nodes. Ontology
terms are not drawn (a node's classes become its ``group``), and neither are blank
nodes: a period or an amount shows up in the tooltip of the node that holds it.
Labels, classes and key facts are looked up in a context graph, normally the store.
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF, RDFS, SKOS

from .namespaces import BASE, SCHEMA, WKG

ENTITY_SPACES = (BASE + "id/", BASE + "vocab/", "http://publications.europa.eu/resource/authority/")
LABELS = (SKOS.prefLabel, RDFS.label, SCHEMA.name)
OTHER_LANGUAGE = {"pl": "en", "en": "pl"}


def is_entity(term) -> bool:
    """A resource worth drawing: an entity or concept, not an ontology term or blank node."""
    return isinstance(term, URIRef) and str(term).startswith(ENTITY_SPACES)


def label(context: Graph, term, lang: str) -> str:
    """The label in ``lang``, else in the other language, else any, else the IRI's last segment."""
    by_lang: dict[str, str] = {}
    for predicate in LABELS:
        for value in context.objects(term, predicate):
            if isinstance(value, Literal):
                by_lang.setdefault(value.language or "", str(value))
        if by_lang:
            break
    for wanted in (lang, OTHER_LANGUAGE.get(lang, "en"), ""):
        if wanted in by_lang:
            return by_lang[wanted]
    if by_lang:
        return by_lang[sorted(by_lang)[0]]
    return str(term).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def most_specific_class(context: Graph, term) -> URIRef | None:
    """Of a resource's classes, one that no other of its classes specialises."""
    classes = sorted(c for c in context.objects(term, RDF.type) if isinstance(c, URIRef) and c != OWL.NamedIndividual)
    for candidate in classes:
        if not any(other != candidate and (other, RDFS.subClassOf, candidate) in context for other in classes):
            return candidate
    return classes[0] if classes else None


def class_name(cls: URIRef | None) -> str:
    """A stable group key: the class's local name (``Project``, ``Concept``)."""
    if cls is None:
        return "Resource"
    return str(cls).rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def key_facts(context: Graph, term, lang: str) -> dict[str, str]:
    """Literal facts for attributes and tooltips: period, money, counts, place, source."""
    facts: dict[str, str] = {}
    for period in context.objects(term, DCTERMS.temporal):
        start = context.value(period, DCAT.startDate)
        end = context.value(period, DCAT.endDate)
        if start is not None:
            facts["start"] = str(start)
        if end is not None:
            facts["end"] = str(end)
    for predicate, name in ((WKG.totalBudget, "budget"), (WKG.coFinancing, "cofinancing")):
        amount = context.value(term, predicate)
        if amount is not None:
            value, currency = context.value(amount, SCHEMA.value), context.value(amount, SCHEMA.currency)
            facts[name] = f"{_money(value)} {currency or ''}".strip()
    if context.value(term, WKG.budgetNotApplicable) == Literal(True):
        facts["budget"] = "nie dotyczy" if lang == "pl" else "not applicable"
    count = context.value(term, WKG.count)
    if count is not None:
        facts["count"] = str(count)
    place = context.value(term, WKG.municipality) or context.value(term, WKG.country)
    if place is not None:
        facts["place"] = label(context, place, lang)
    source = context.value(term, DCTERMS.source)
    if source is not None:
        facts["source"] = str(context.value(source, DCTERMS.identifier) or label(context, source, lang))
    return facts


def _money(value) -> str:
    if value is None:
        return "?"
    return f"{value.toPython():,.2f}".replace(",", "\u202f")


FACT_NAMES = {
    "pl": {"start": "początek", "end": "koniec", "budget": "budżet", "cofinancing": "dofinansowanie",
           "count": "liczba", "place": "miejsce", "source": "źródło"},
    "en": {"start": "start", "end": "end", "budget": "budget", "cofinancing": "co-financing",
           "count": "count", "place": "place", "source": "source"},
}


def tooltip(class_label: str, node_label: str, facts: dict[str, str], lang: str) -> str:
    """Plain text (never markup): class, label, then one line per fact."""
    names = FACT_NAMES.get(lang, FACT_NAMES["en"])
    lines = [node_label, f"[{class_label}]"]
    if "start" in facts or "end" in facts:
        lines.append(f"{facts.get('start', '?')} – {facts.get('end', '?')}")
    lines += [f"{names[k]}: {facts[k]}" for k in ("budget", "cofinancing", "count", "place", "source") if k in facts]
    return "\n".join(lines)


def project(edges: Iterable[tuple], context: Graph, *, lang: str = "pl") -> nx.MultiDiGraph:
    """Build the picture graph from RDF triples (e.g. a view's CONSTRUCT result).

    A triple between two entities becomes an edge keyed by its predicate and labelled with
    the predicate's label; ``rdf:type`` triples only put a node into the picture. Every
    other triple is ignored here: facts come from ``context``.
    """
    graph = nx.MultiDiGraph(lang=lang)
    for s, p, o in edges:
        if not is_entity(s):
            continue
        if p == RDF.type:
            _add_node(graph, context, s, lang)
        elif is_entity(o):
            _add_node(graph, context, s, lang)
            _add_node(graph, context, o, lang)
            if not graph.has_edge(str(s), str(o), key=str(p)):
                graph.add_edge(str(s), str(o), key=str(p), predicate=str(p), label=label(context, p, lang))
    return graph


def _add_node(graph: nx.MultiDiGraph, context: Graph, term: URIRef, lang: str) -> None:
    key = str(term)
    if key in graph:
        return
    group, class_label = node_group(context, term, lang)
    node_label = label(context, term, lang)
    facts = key_facts(context, term, lang)
    graph.add_node(key, label=node_label, group=group, group_label=class_label,
                   title=tooltip(class_label, node_label, facts, lang), **facts)


def node_group(context: Graph, term: URIRef, lang: str) -> tuple[str, str]:
    """The group key and its label: the most specific class, or for a SKOS concept its scheme.

    Every method, role or target group is a skos:Concept; grouping concepts by scheme lets
    a legend say "methods and practices" rather than "concept".
    """
    scheme = context.value(term, SKOS.inScheme)
    if scheme is not None:
        slug = str(scheme).rstrip("/").rsplit("/", 1)[-1]
        return "".join(part.capitalize() for part in slug.split("-")), label(context, scheme, lang)
    cls = most_specific_class(context, term)
    if cls is None:
        return class_name(None), "zasób" if lang == "pl" else "resource"
    return class_name(cls), label(context, cls, lang)


def collapse(graph: nx.MultiDiGraph, group: str, *, edge_label: str) -> nx.MultiDiGraph:
    """Replace the nodes of ``group`` by weighted edges between their neighbours.

    Two nodes that share N collapsed nodes (e.g. organisations sharing N projects) get one
    edge with ``weight`` N (its direction carries no meaning); node attributes are kept.
    """
    hubs = [n for n, data in graph.nodes(data=True) if data.get("group") == group]
    result = nx.MultiDiGraph(**graph.graph)
    result.add_nodes_from((n, d) for n, d in graph.nodes(data=True) if d.get("group") != group)
    weights: dict[tuple[str, str], int] = {}
    for hub in hubs:
        around = sorted(set(graph.predecessors(hub)) | set(graph.successors(hub)))
        around = [n for n in around if n in result]
        for i, a in enumerate(around):
            for b in around[i + 1:]:
                weights[(a, b)] = weights.get((a, b), 0) + 1
    for (a, b), weight in sorted(weights.items()):
        result.add_edge(a, b, key="shared", predicate="shared", weight=weight, label=f"{edge_label}: {weight}")
    result.remove_nodes_from([n for n in list(result) if result.degree(n) == 0])
    return result


def neighbourhood(graph: nx.MultiDiGraph, centre: str, hops: int) -> nx.MultiDiGraph:
    """The nodes within ``hops`` steps of ``centre``, edges followed in either direction."""
    reach = nx.single_source_shortest_path_length(graph.to_undirected(as_view=True), centre, cutoff=hops)
    return graph.subgraph(reach).copy()


def of_types(graph: nx.MultiDiGraph, groups: Iterable[str]) -> nx.MultiDiGraph:
    wanted = set(groups)
    return graph.subgraph(n for n, d in graph.nodes(data=True) if d.get("group") in wanted).copy()


def active_in(graph: nx.MultiDiGraph, year: int, *, group: str = "Project") -> nx.MultiDiGraph:
    """Keep projects active in ``year`` and whatever is still connected to one of them."""
    def active(data) -> bool:
        start, end = data.get("start"), data.get("end")
        return bool(start and end) and int(start[:4]) <= year <= int(end[:4])

    dropped = [n for n, d in graph.nodes(data=True) if d.get("group") == group and not active(d)]
    kept = graph.subgraph(n for n in graph if n not in set(dropped)).copy()
    anchors = {n for n, d in kept.nodes(data=True) if d.get("group") == group}
    connected = set()
    for component in nx.weakly_connected_components(kept):
        if component & anchors:
            connected |= component
    return kept.subgraph(connected).copy()
