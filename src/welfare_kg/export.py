"""Deterministic exports of the ontology plus the graph, optionally without personal data.

Blank nodes are renamed canonically (rdflib.compare) and triples are written in sorted
order, so the same sources give byte-identical files in every format. Turtle goes through
rdflib's ``longturtle`` (grouped, diff-friendly); the other formats through Oxigraph's
serializers, which keep the order they are given (rdflib's follow Python's per-process
string hashing).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.compare import to_canonical_graph

from .namespaces import GRAPH, PREFIXES, WKG, bind_prefixes

FORMATS = {
    # name: (rdflib serializer, file suffix, media type)
    "turtle": ("longturtle", ".ttl", "text/turtle"),
    "nt": ("nt", ".nt", "application/n-triples"),
    "jsonld": ("json-ld", ".jsonld", "application/ld+json"),
    "xml": ("xml", ".rdf", "application/rdf+xml"),
    "trig": ("trig", ".trig", "application/trig"),
}


def personal_nodes(graph: Graph) -> set:
    """Every resource marked as personal data."""
    return set(graph.subjects(WKG.isPersonalData, Literal(True)))


def canonical_lines(graph: Graph, bnode_prefix: str = "") -> list[str]:
    """The graph as sorted N-Triples lines, blank nodes renamed canonically."""
    relabelled = Graph()
    for s, p, o in to_canonical_graph(graph):
        relabelled.add((_normalise(s, bnode_prefix), p, _normalise(o, bnode_prefix)))
    return sorted(line for line in relabelled.serialize(format="nt").splitlines() if line)


def _normalise(term, bnode_prefix: str):
    """Prefix blank-node labels; give decimals a decimal point.

    Oxigraph keeps decimals in XSD 1.1 canonical form ("26502"), which Turtle can only
    write as a shorthand with ".0" added; one lexical form keeps every format in step.
    """
    if isinstance(term, BNode) and bnode_prefix:
        return BNode(bnode_prefix + str(term))
    if isinstance(term, Literal) and term.datatype == XSD.decimal and "." not in str(term):
        return Literal(f"{term}.0", datatype=XSD.decimal)
    return term


def named_graphs(ox_store: ox.Store) -> dict[URIRef, Graph]:
    """Each source file's named graph as an rdflib Graph, keyed by graph IRI."""
    graphs: dict[URIRef, Graph] = {}
    for name in sorted(ox_store.named_graphs(), key=lambda n: n.value):
        triples = ox_store.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{name.value}> {{ ?s ?p ?o }} }}")
        graph = Graph()
        graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
        graphs[URIRef(name.value)] = graph
    return graphs


def serialize(graphs: dict[URIRef, Graph], fmt: str, *, public: bool = False) -> bytes:
    """The ontology plus the graph in one format; ``public`` leaves out personal data."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    hidden: set = set()
    if public:
        for graph in graphs.values():
            hidden |= personal_nodes(graph)
    if fmt == "trig":
        quads = []
        for name, graph in graphs.items():
            stem = str(name).rsplit("/", 1)[-1]
            for line in canonical_lines(drop_resources(graph, hidden), bnode_prefix=f"{stem}-"):
                quads.append(f"{line[:-1].rstrip()} <{name}> .")
        return ox.serialize(ox.parse("\n".join(quads), format=ox.RdfFormat.N_QUADS),
                            format=ox.RdfFormat.TRIG, prefixes=_prefixes(graph_prefix=True))
    union = Graph()
    for graph in graphs.values():
        union += graph
    lines = canonical_lines(drop_resources(union, hidden))
    if fmt == "nt":
        return ("\n".join(lines) + "\n").encode("utf-8")
    if fmt == "turtle":
        graph = Graph()
        bind_prefixes(graph)
        graph.parse(data="\n".join(lines), format="nt")
        return graph.serialize(format="longturtle", encoding="utf-8")
    target = ox.RdfFormat.JSON_LD if fmt == "jsonld" else ox.RdfFormat.RDF_XML
    return ox.serialize(ox.parse("\n".join(lines), format=ox.RdfFormat.N_TRIPLES),
                        format=target, prefixes=_prefixes())


def _prefixes(graph_prefix: bool = False) -> dict[str, str]:
    prefixes = dict(PREFIXES)
    if graph_prefix:
        prefixes["graph"] = str(GRAPH)
    return prefixes


def drop_resources(graph: Graph, hidden: set) -> Graph:
    """A copy of the graph without any triple that has a hidden resource at either end."""
    if not hidden:
        return graph
    kept = Graph()
    for s, p, o in graph:
        if s not in hidden and o not in hidden:
            kept.add((s, p, o))
    return kept


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside the target, then rename: never a half-written file."""
    with write_atomic_stream(path, binary=True) as out:
        out.write(data)


@contextmanager
def write_atomic_stream(path: Path, *, binary: bool = False) -> Iterator[IO]:
    """A file to write into that replaces ``path`` only once the ``with`` block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with (os.fdopen(handle, "wb", buffering=1 << 20) if binary else
              os.fdopen(handle, "w", encoding="utf-8", newline="\n", buffering=1 << 20)) as out:
            yield out
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would survive the rename
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
