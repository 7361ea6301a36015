"""Dereferenceable IRIs: an entity's description as RDF, or as a readable HTML page.

The RDF description is the entity's Concise Bounded Description: its own triples plus,
recursively, those of the blank nodes it points to, written deterministically by
:func:`welfare_kg.export.serialize`. The HTML page shows labels in Polish and English,
classes, properties and incoming links (IRIs under the base link to this server), the
source document, and a small neighbourhood picture drawn with the viz projection.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, URIRef

from . import dcat, export, page, projection, resources, views
from .namespaces import BASE, PREFIXES

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
DCT_SOURCE = "http://purl.org/dc/terms/source"
DCT_IDENTIFIER = "http://purl.org/dc/terms/identifier"
LABELS = ("http://www.w3.org/2004/02/skos/core#prefLabel", "http://www.w3.org/2000/01/rdf-schema#label",
          "https://schema.org/name")
DEFINITIONS = ("http://www.w3.org/2004/02/skos/core#definition", "http://www.w3.org/2000/01/rdf-schema#comment")
EXPORT_FORMATS = {"turtle": "turtle", "nt": "nt", "jsonld": "jsonld", "xml": "xml"}
MEDIA = {"turtle": "text/turtle; charset=utf-8", "nt": "application/n-triples; charset=utf-8",
         "jsonld": "application/ld+json", "xml": "application/rdf+xml"}
# Properties read in this order, before the others, whatever their labels (a period's end
# was shown before its start: "koniec" sorts before "początek").
FIRST = {"http://www.w3.org/ns/dcat#startDate": -2, "http://www.w3.org/ns/dcat#endDate": -1}
MAX_PICTURE_NODES = 80
MAX_INCOMING = 300

TEXTS = {
    "pl": {"class": "Klasa", "properties": "Właściwości", "incoming": "Odnośniki do tego zasobu",
           "source": "Dokument źródłowy", "files": "Plik źródłowy (graf nazwany)", "picture": "Sąsiedztwo",
           "formats": "Ten opis jako", "none": "brak", "via": "przez", "other": "English",
           "too_many": "Zbyt wielu sąsiadów ({n}), by ich narysować.", "home": "strona główna",
           "licence": "Dane udostępnione na licencji", "publisher": "wydawca"},
    "en": {"class": "Class", "properties": "Properties", "incoming": "Links to this resource",
           "source": "Source document", "files": "Source file (named graph)", "picture": "Neighbourhood",
           "formats": "This description as", "none": "none", "via": "via", "other": "polski",
           "too_many": "Too many neighbours ({n}) to draw.", "home": "home",
           "licence": "Data licensed under", "publisher": "publisher"},
}


# --------------------------------------------------------------------------- lookups

def _triples(store, subject=None, predicate=None, obj=None):
    """Distinct triples matching a pattern in any graph, with the graphs they came from.

    In term order, not the store's (which follows its internal ids), so that a page is the
    same whichever store answers; blank-node labels differ between stores and do not count.
    """
    found: dict = {}
    for quad in sorted(store.quads_for_pattern(subject, predicate, obj, None), key=_order):
        found.setdefault(quad.triple, set()).add(quad.graph_name)
    return found


def _order(quad) -> tuple:
    return tuple("" if isinstance(term, ox.BlankNode) else str(term)
                 for term in (quad.subject, quad.predicate, quad.object))


def description(store, iri: str) -> tuple[list, set]:
    """The CBD of ``iri``: its triples and the closure over blank-node objects; plus its graphs."""
    triples, graphs, seen = [], set(), set()
    frontier = [ox.NamedNode(iri)]
    while frontier:
        node = frontier.pop()
        if node in seen:
            continue
        seen.add(node)
        for triple, names in _triples(store, node).items():
            triples.append(triple)
            graphs |= {n for n in names if isinstance(n, ox.NamedNode)}
            if isinstance(triple.object, ox.BlankNode):
                frontier.append(triple.object)
    return triples, graphs


def to_rdflib(triples: list) -> Graph:
    graph = Graph()
    if triples:
        graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    return graph


def labels(store, term) -> dict[str, str]:
    """Labels by language tag ('' for none), from the first label property that has any."""
    if not isinstance(term, ox.NamedNode | ox.BlankNode):
        return {}
    for predicate in LABELS:
        found: dict[str, str] = {}
        for quad in store.quads_for_pattern(term, ox.NamedNode(predicate), None, None):
            if isinstance(quad.object, ox.Literal):
                found.setdefault(quad.object.language or "", quad.object.value)
        if found:
            return found
    return {}


def pick(by_lang: dict[str, str], lang: str, fallback: str) -> str:
    for wanted in (lang, projection.OTHER_LANGUAGE.get(lang, "en"), ""):
        if wanted in by_lang:
            return by_lang[wanted]
    return by_lang[sorted(by_lang)[0]] if by_lang else fallback


# What a page served here may show people: styles and pictures of its own, no script at all.
PAGE_POLICY = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"}


def local_href(iri: str) -> str | None:
    """IRIs under the base link to this server (``/id/…``), so browsing works on any host;
    other http(s) IRIs to themselves; any other (``javascript:``, ``data:``) to nothing: an
    IRI in the data or in a query must never run script on this server's pages."""
    if iri.startswith(BASE):
        return "/" + iri[len(BASE):]
    return iri if iri.lower().startswith(("http://", "https://")) else None


def short(iri: str) -> str:
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda item: -len(item[1])):
        if iri.startswith(namespace) and iri != namespace:
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


# --------------------------------------------------------------------------- page model

def _term(store, term, lang: str, depth: int = 0, seen: frozenset = frozenset()) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"kind": "iri", "iri": term.value, "href": local_href(term.value),
                "label": pick(labels(store, term), lang, short(term.value))}
    if isinstance(term, ox.BlankNode):
        if depth > 4 or term in seen:
            return {"kind": "literal", "text": "[…]"}
        return {"kind": "bnode", "properties": _properties(store, term, lang, depth + 1, seen | {term})}
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        plain = term.language or datatype.endswith("#string") or datatype.endswith("#langString")
        return {"kind": "literal", "text": term.value, "lang": term.language or "",
                "datatype": "" if plain else short(datatype)}
    return {"kind": "literal", "text": str(term)}


def _properties(store, subject, lang: str, depth: int = 0, seen: frozenset = frozenset()) -> list[dict]:
    by_predicate: dict = {}
    for triple in _triples(store, subject):
        by_predicate.setdefault(triple.predicate, []).append(triple.object)
    rows = []
    for predicate, objects in by_predicate.items():
        values = [_term(store, o, lang, depth, seen) for o in objects]
        values.sort(key=lambda v: (v["kind"], v.get("label") or v.get("text") or ""))
        rows.append({"predicate": _term(store, predicate, lang), "values": values})
    rows.sort(key=lambda r: (r["predicate"]["iri"] != RDF_TYPE, FIRST.get(r["predicate"]["iri"], 0),
                             r["predicate"]["label"].lower()))
    return rows


def _incoming(store, node, lang: str) -> list[dict]:
    rows = []
    for triple in _triples(store, None, None, node):
        subject, via = triple.subject, None
        if isinstance(subject, ox.BlankNode):  # show the IRI that holds the blank node
            owners = [t.subject for t in _triples(store, None, None, subject) if isinstance(t.subject, ox.NamedNode)]
            if not owners:
                continue
            subject, via = owners[0], triple.predicate
        rows.append({"subject": _term(store, subject, lang), "predicate": _term(store, triple.predicate, lang),
                     "via": _term(store, via, lang) if via is not None else None})
    rows.sort(key=lambda r: (r["predicate"]["label"].lower(), r["subject"]["label"].lower()))
    return rows


# --------------------------------------------------------------------------- picture

def neighbourhood_svg(store, node, lang: str, title: str) -> tuple[str | None, int]:
    """A small picture of the entity and its direct neighbours, as an SVG data URI."""
    edges = []
    for triple in _triples(store, node):
        edges.append(triple)
    for triple in _triples(store, None, None, node):
        edges.append(triple)
    context_terms = {node} | {t.subject for t in edges} | {t.object for t in edges} | {t.predicate for t in edges}
    context = []
    for term in context_terms:
        if not isinstance(term, ox.NamedNode):
            continue
        for predicate in (*LABELS, RDF_TYPE):
            context += list(_triples(store, term, ox.NamedNode(predicate)))
    classes = {t.object for t in context if t.predicate.value == RDF_TYPE}
    for cls in classes:
        for predicate in (*LABELS, SUBCLASS):
            context += list(_triples(store, cls, ox.NamedNode(predicate)))
    rdf_context = to_rdflib(context)
    picture = projection.project(to_rdflib(edges + [t for t in context if t.predicate.value == RDF_TYPE
                                                   and t.subject == node]),
                                 rdf_context, lang=lang)
    count = picture.number_of_nodes()
    if count < 2 or count > MAX_PICTURE_NODES:
        return None, count
    picture.graph["title"] = title
    view = views.View(name="entity", title_pl=title, title_en=title, query_path=Path("."))
    svg = page.render_static(picture, view, fmt="svg", lang=lang)
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"), count


# --------------------------------------------------------------------------- answers

def render_html(store, iri: str, graphs: set, lang: str) -> str:
    node = ox.NamedNode(iri)
    texts = TEXTS[lang]
    names = labels(store, node)
    title = pick(names, lang, short(iri))
    definitions: dict[str, str] = {}
    for predicate in DEFINITIONS:
        for triple in _triples(store, node, ox.NamedNode(predicate)):
            if isinstance(triple.object, ox.Literal):
                definitions.setdefault(triple.object.language or "", triple.object.value)
    properties = _properties(store, node, lang)
    classes = next((row["values"] for row in properties if row["predicate"]["iri"] == RDF_TYPE), [])
    properties = [row for row in properties if row["predicate"]["iri"] != RDF_TYPE]
    sources = []
    for triple in _triples(store, node, ox.NamedNode(DCT_SOURCE)):
        item = _term(store, triple.object, lang)
        identifier = next(iter(_triples(store, triple.object, ox.NamedNode(DCT_IDENTIFIER))), None)
        item["identifier"] = identifier.object.value if identifier is not None else ""
        sources.append(item)
    files = sorted(g.value.removeprefix(BASE + "graph/") + ".ttl" for g in graphs)
    incoming = _incoming(store, node, lang)
    picture, count = neighbourhood_svg(store, node, lang, title)
    return resources.html_template("entity.html").render(
        lang=lang, other_lang="en" if lang == "pl" else "pl", texts=texts, iri=iri, title=title,
        labels=sorted(names.items()), definitions=sorted(definitions.items()), classes=classes,
        properties=properties, incoming=incoming[:MAX_INCOMING], incoming_total=len(incoming),
        sources=sources, files=files, picture=picture, picture_nodes=count,
        too_many=texts["too_many"].format(n=count) if count > MAX_PICTURE_NODES else "",
        path=local_href(iri), terms=dcat.terms_of_use()[lang])


def answer(store, iri: str, fmt: str, lang: str = "pl") -> tuple:
    triples, graphs = description(store, iri)
    if not triples:
        return 404, "text/plain; charset=utf-8", f"no description of <{iri}> here\n".encode(), {}
    if fmt == "html":
        html = render_html(store, iri, graphs, lang if lang in TEXTS else "pl")
        return 200, "text/html; charset=utf-8", html.encode("utf-8"), dict(PAGE_POLICY)
    body = export.serialize({URIRef(iri): to_rdflib(triples)}, EXPORT_FORMATS[fmt])
    return 200, MEDIA[fmt], body, {}


def warm_up(store) -> None:
    """Load matplotlib, the palette and the dataset date once, before the first request."""
    import matplotlib  # noqa: F401

    page.dataset_date()
    views.palette()
    resources.html_template("entity.html")
