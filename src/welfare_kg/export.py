"""Deterministic exports of the ontology plus the graph, optionally without personal data.

Blank nodes get canonical labels (see :func:`canonical_labels`) and triples are written in
sorted order, so the same sources give byte-identical files in every format. Everything
goes through Oxigraph's serializers, which keep the order they are given (rdflib's follow
Python's per-process string hashing) and stream: a national graph of millions of triples
exports in seconds.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, Mapping

import pyoxigraph as ox
from rdflib import Graph

from .namespaces import GRAPH, PREFIXES, WKG

FORMATS = {
    # name: (file suffix, media type)
    "turtle": (".ttl", "text/turtle"),
    "nt": (".nt", "application/n-triples"),
    "jsonld": (".jsonld", "application/ld+json"),
    "xml": (".rdf", "application/rdf+xml"),
    "trig": (".trig", "application/trig"),
}
_OXIGRAPH_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "jsonld": ox.RdfFormat.JSON_LD, "xml": ox.RdfFormat.RDF_XML}
_XSD_DECIMAL = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
_IS_PERSONAL = ox.NamedNode(str(WKG.isPersonalData))
_TRUE = ox.Literal("true", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean"))


def named_graphs(ox_store: ox.Store) -> dict[str, list[ox.Triple]]:
    """Each source file's named graph as a list of triples, keyed by graph IRI."""
    return {name.value: [quad.triple for quad in ox_store.quads_for_pattern(None, None, None, name)]
            for name in sorted(ox_store.named_graphs(), key=lambda n: n.value)}


def personal_nodes(triples: Iterable[ox.Triple]) -> set:
    """Every resource marked as personal data."""
    return {t.subject for t in triples if t.predicate == _IS_PERSONAL and t.object == _TRUE}


def outgoing(triples: Iterable[ox.Triple]) -> dict:
    """Subject → its (predicate, object) pairs."""
    edges = defaultdict(list)
    for t in triples:
        edges[t.subject].append((t.predicate, t.object))
    return edges


def describer(edges: dict) -> Callable[[object], str]:
    """A function giving a node's description: its sorted predicate-object pairs as one string,
    blank-node objects written out in place (so it does not depend on blank-node labels);
    memoised, and safe on blank-node cycles."""
    descriptions: dict = {}

    def describe(node, visiting: frozenset = frozenset()) -> str:
        if node in descriptions:
            return descriptions[node]
        if node in visiting:
            return "[cycle]"
        parts = sorted(f"{p} {describe(o, visiting | {node}) if isinstance(o, ox.BlankNode) else o}"
                       for p, o in edges.get(node, ()))
        descriptions[node] = "[" + " ; ".join(parts) + "]"
        return descriptions[node]

    return describe


def canonical_labels(triples: list[ox.Triple]) -> dict[ox.BlankNode, str]:
    """A label for every blank node that depends on the data only, not on how it was parsed.

    A blank node is named after the path that reaches it from a named resource (the
    resource, the predicate, and its own description with nested blank nodes written out)
    plus its rank among identical siblings; one that no named resource reaches is named
    after its description alone. Linear in the size of the graph, unlike a general
    canonicalisation, and enough for the tree-shaped blank nodes of this graph (periods,
    amounts, OWL lists and restrictions).
    """
    edges = outgoing(triples)
    describe = describer(edges)
    labels: dict[ox.BlankNode, str] = {}

    def label_group(anchor: str, nodes: list[ox.BlankNode]) -> None:
        groups = defaultdict(list)
        for key, node in nodes:
            if node not in labels:
                groups[key].append(node)
        for key in sorted(groups):
            for rank, node in enumerate(groups[key]):
                if node not in labels:
                    labels[node] = "b" + hashlib.sha256(f"{anchor}\0{key}\0{rank}".encode()).hexdigest()[:24]
                    label_group(labels[node], [(f"{p} {describe(o)}", o) for p, o in edges.get(node, ())
                                               if isinstance(o, ox.BlankNode)])

    for subject in sorted((s for s in edges if not isinstance(s, ox.BlankNode)), key=str):
        label_group(str(subject), [(f"{p} {describe(o)}", o) for p, o in edges[subject]
                                   if isinstance(o, ox.BlankNode)])
    label_group("", [(describe(s), s) for s in edges if isinstance(s, ox.BlankNode)])
    return labels


def canonical_lines(triples: list[ox.Triple], bnode_prefix: str = "") -> list[str]:
    """The triples as sorted, distinct N-Triples lines, blank nodes labelled canonically.

    Decimals get a decimal point: Oxigraph keeps them in XSD 1.1 canonical form ("26502"),
    which Turtle can only write as a shorthand with ".0" added; one lexical form keeps
    every format in step.
    """
    labels = canonical_labels(triples)

    def term(node) -> str:
        if isinstance(node, ox.BlankNode):
            return f"_:{bnode_prefix}{labels[node]}"
        if isinstance(node, ox.Literal) and node.datatype == _XSD_DECIMAL and "." not in node.value:
            return str(ox.Literal(node.value + ".0", datatype=_XSD_DECIMAL))
        return str(node)

    return sorted({f"{term(t.subject)} {t.predicate} {term(t.object)} ." for t in triples})


def serialize(graphs: Mapping[str, Iterable], fmt: str, *, public: bool = False) -> bytes:
    """The ontology plus the graph in one format; ``public`` leaves out personal data.

    ``graphs`` maps each graph IRI to its triples: pyoxigraph triples or an rdflib Graph.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    contents = {str(name): oxigraph_triples(triples) for name, triples in graphs.items()}
    hidden: set = set()
    if public:
        for triples in contents.values():
            hidden |= personal_nodes(triples)
    if fmt == "trig":
        quads = []
        for name, triples in sorted(contents.items()):
            stem = name.rsplit("/", 1)[-1]
            quads += [f"{line[:-2]} <{name}> ." for line in canonical_lines(_visible(triples, hidden), f"{stem}-")]
        return ox.serialize(ox.parse("\n".join(quads), format=ox.RdfFormat.N_QUADS),
                            format=ox.RdfFormat.TRIG, prefixes=_prefixes(graph_prefix=True))
    union = [t for triples in contents.values() for t in triples]
    lines = canonical_lines(_visible(union, hidden))
    if fmt == "nt":
        return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    return ox.serialize(ox.parse("\n".join(lines), format=ox.RdfFormat.N_TRIPLES),
                        format=_OXIGRAPH_FORMATS[fmt], prefixes=_prefixes())


def oxigraph_triples(triples: Iterable) -> list[ox.Triple]:
    """pyoxigraph triples of an rdflib Graph (or of any iterable of pyoxigraph triples)."""
    if isinstance(triples, Graph):
        return list(ox.parse(triples.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES))
    return list(triples)


def _visible(triples: list[ox.Triple], hidden: set) -> list[ox.Triple]:
    """The triples without a hidden resource at either end."""
    if not hidden:
        return triples
    return [t for t in triples if t.subject not in hidden and t.object not in hidden]


def _prefixes(graph_prefix: bool = False) -> dict[str, str]:
    prefixes = dict(PREFIXES)
    if graph_prefix:
        prefixes["graph"] = str(GRAPH)
    return prefixes


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
