"""The embedded Oxigraph store, built once from the Turtle sources and reused.

Every source file goes into its own named graph, so each triple stays traceable to
the file (and so to the source document) it came from. The store lives in a cache
folder named after a digest of the sources: editing any file under ``ontology/`` or
``graph/`` yields a new digest and so a rebuild, never a stale answer.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from oxrdflib import OxigraphStore

from . import resources
from .errors import LoadError
from .namespaces import GRAPH, bind_prefixes

STORE_PREFIX = "store-"


def named_graph_for(path: Path) -> URIRef:
    """``graph/000_x.ttl`` → ``…/graph/graph/000_x``; ``ontology/welfare.ttl`` → ``…/graph/ontology/welfare``."""
    return GRAPH[f"{path.parent.name}/{path.stem}"]


def sources_digest(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.parent.name}/{path.name}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def load_files(store: ox.Store, files: list[Path]) -> None:
    """Parse each file into its named graph; a syntax error names file, line and column."""
    for path in files:
        try:
            store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE,
                            to_graph=ox.NamedNode(str(named_graph_for(path))))
        except SyntaxError as error:
            reason = (error.msg or str(error)).split(" (")[0]
            raise LoadError(f"{path}:{error.lineno}:{error.offset}: {reason}") from None
        except OSError as error:
            raise LoadError(f"{path}: cannot read: {error.strerror}") from None


def store_path(cache_dir: Path | None = None, files: list[Path] | None = None) -> Path:
    files = resources.source_files() if files is None else files
    cache_dir = resources.default_cache_dir() if cache_dir is None else cache_dir
    return cache_dir / f"{STORE_PREFIX}{sources_digest(files)}"


def build_store(cache_dir: Path | None = None, *, force: bool = False,
                files: list[Path] | None = None) -> Path:
    """Return the path of an up-to-date store, building it (atomically) when needed."""
    files = resources.source_files() if files is None else files
    target = store_path(cache_dir, files)
    if target.is_dir() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        _load_new_store(staging, files)
        if target.is_dir():
            shutil.rmtree(target)
        os.rename(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    _remove_stale_stores(target)
    return target


def _load_new_store(path: Path, files: list[Path]) -> None:
    """Load into a new store and close it, so the folder can be renamed or removed.

    RocksDB closes when the last reference to the store goes; a traceback keeps the frames
    that hold it alive, so a load error is re-raised fresh once the store is gone.
    """
    store = ox.Store(str(path))
    failure = None
    try:
        load_files(store, files)
        store.flush()
    except LoadError as error:
        failure = str(error)
    del store
    if failure is not None:
        raise LoadError(failure)


def _remove_stale_stores(current: Path) -> None:
    for other in current.parent.glob(f"{STORE_PREFIX}*"):
        if other != current and other.is_dir():
            shutil.rmtree(other, ignore_errors=True)


def open_dataset(cache_dir: Path | None = None, *, files: list[Path] | None = None) -> Dataset:
    """The store as a read-only rdflib Dataset whose default graph is the union of all files.

    ``files`` defaults to the curated sources (:func:`resources.source_files`).
    """
    path = build_store(cache_dir, files=files)
    dataset = Dataset(store=OxigraphStore(store=ox.Store.read_only(str(path))), default_union=True)
    bind_prefixes(dataset)
    return dataset


def oxigraph(dataset: Dataset) -> ox.Store:
    """The pyoxigraph store behind an rdflib Dataset opened by :func:`open_dataset`."""
    return dataset.store._inner  # noqa: SLF001 - oxrdflib exposes no public accessor


def union_graph(dataset: Dataset) -> Graph:
    """Copy every triple of every named graph into one in-memory rdflib Graph."""
    triples = oxigraph(dataset).query("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
    graph = Graph()
    graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    bind_prefixes(graph)
    return graph


def parse_files(files: list[Path]) -> Graph:
    """Parse Turtle files straight into an in-memory Graph (for fixtures and checks)."""
    store = ox.Store()
    load_files(store, files)
    graph = Graph()
    triples = store.query("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")
    graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    bind_prefixes(graph)
    return graph
