"""The embedded Oxigraph store, built once from the sources and then kept up to date.

Every source file goes into its own named graph, so each triple stays traceable to
the file (and so to the source document) it came from. The store lives in a cache
folder named after a digest of the sources, so a changed file never gives a stale
answer. A manifest inside that folder records each file's size, modification time and
digest: an unchanged file is never read again, and a few changed files are applied to
a copy of the previous store (a RocksDB checkpoint, hard links) instead of a rebuild.
Each such update records which resources changed, for ``validate --changed``.
A process reading a store holds a shared lock (flock) on its folder; a build removes an
old store only when it gets that lock exclusively at once, and otherwise leaves it for a
later build, so a store is never removed under a reader.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import fcntl
import hashlib
import io
import itertools
import json
import re
import os
import shutil
import tempfile
import weakref
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef

from . import export, resources
from .errors import LoadError
from .namespaces import GRAPH, bind_prefixes

STORE_PREFIX = "store-"
MANIFEST = "welfare-kg-manifest.json"  # RocksDB leaves files it does not know alone
# Above this many bytes of changed files a fresh bulk load beats applying them one by one.
UPDATE_LIMIT = 32 * 1024 * 1024
_PARSER_POSITION = re.compile(r"^Parser error (?:at line \d+ (?:column \d+|between columns \d+ and \d+)"
                              r"|between line \d+ column \d+ and line \d+ column \d+): ")
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def named_graph_for(path: Path) -> URIRef:
    """``graph/000_x.ttl`` → ``…/graph/graph/000_x``; ``ontology/welfare.ttl`` → ``…/graph/ontology/welfare``."""
    return GRAPH[f"{path.parent.name}/{path.stem}"]


def rdf_format(path: Path) -> ox.RdfFormat:
    return ox.RdfFormat.N_TRIPLES if path.suffix == ".nt" else ox.RdfFormat.TURTLE


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_states(files: list[Path], known: dict | None = None) -> dict[str, dict]:
    """Graph IRI → {path, size, mtime_ns, sha256} of each file.

    A file whose path, size and modification time match ``known`` (a manifest's
    entries) keeps its recorded digest without being read, as git's index does.
    """
    known = known or {}
    states = {}
    for path in files:
        try:
            stat = path.stat()
            entry = {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
            previous = known.get(str(named_graph_for(path)))
            if previous and all(previous.get(k) == v for k, v in entry.items()):
                entry["sha256"] = previous["sha256"]
            else:
                entry["sha256"] = file_digest(path)  # a file without read permission fails here
        except OSError as error:
            raise LoadError(f"{path}: cannot read: {_os_reason(error)}") from None
        states[str(named_graph_for(path))] = entry
    return states


def sources_digest(states: dict[str, dict]) -> str:
    digest = hashlib.sha256()
    for graph in sorted(states):
        digest.update(f"{graph}\0{states[graph]['sha256']}\0".encode())
    return digest.hexdigest()[:16]


def load_files(store: ox.Store, files: list[Path]) -> None:
    """Parse each file into its named graph; a syntax error names file, line and column.

    N-Triples files go in one bulk load, as one N-Quads stream: each bulk load writes index
    files of its own, and a thousand of them make loading several times slower.
    """
    triples = [path for path in files if path.suffix == ".nt"]
    for path in files:
        if path not in triples:
            with _load_errors(path):
                store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE,
                                to_graph=ox.NamedNode(str(named_graph_for(path))))
    if triples:
        stream = _NQuadsStream(triples)
        try:
            store.bulk_load(input=stream, format=ox.RdfFormat.N_QUADS)
        except MemoryError:
            raise _too_long(triples, "an N-Triples file") from None
        except SyntaxError as error:
            path, line = stream.origin(error.lineno or 0)
            # The stream's line carries the graph IRI too, so its column can be past the line's
            # end: the file parsed on its own says where the error is, as other loads do.
            with _load_errors(path):
                for _ in ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES):
                    pass
            raise LoadError(f"{path}:{line}:{error.offset}: {_reason(error)}") from None
        # A line of two terms reads as a triple whose object is the graph IRI, in the default graph.
        stray = next(iter(store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None)
        if stray is not None:
            files = {str(named_graph_for(path)): path for path in triples}
            where = files.get(getattr(stray.object, "value", ""))
            if where is not None:
                with _load_errors(where):  # parsed on its own, the file says on which line
                    for _ in ox.parse(path=str(where), format=ox.RdfFormat.N_TRIPLES):
                        pass
            raise LoadError(f"{where or 'an N-Triples file'}: a triple has no object (subject {stray.subject}, "
                            f"predicate {stray.predicate})")


def memory_copy(files: list[Path] | None = None) -> ox.Store:
    """The files in an in-memory store, each in its named graph, as in the built store.

    For work that visits the whole graph (full validation, the catalogue, export, ``serve
    --in-memory``): queries run 4 to 15 times faster in memory than in the on-disk store,
    and parsing the files again (11 s for 2.5 M triples) is faster than reading the store
    back (about 30 s). Each load gives the file's blank nodes fresh identifiers, so their
    labels stay scoped to the file.
    """
    memory = ox.Store()
    for path in resources.source_files() if files is None else files:
        with _load_errors(path):
            memory.load(path=str(path), format=rdf_format(path), to_graph=ox.NamedNode(str(named_graph_for(path))))
    return memory


class _NQuadsStream(io.RawIOBase):
    """N-Triples files read as one N-Quads stream, each file's triples in its named graph.

    Blank-node labels are scoped to their file (``_:b1`` → ``_:f3_b1``), as separate
    parses would do. In N-Triples a blank node is the first token or the last one.
    """

    def __init__(self, files: list[Path]):
        self.files = files
        self.starts: list[int] = []  # the stream's line number where each file begins
        self._lines = self._quads()
        self._chunk = memoryview(b"")  # lines read ahead, handed out from the front

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        # The bulk loader asks for a few KB at a time: slicing a view copies only what it gets.
        if not self._chunk:
            self._chunk = memoryview(b"".join(itertools.islice(self._lines, 4096)))
        count = min(len(buffer), len(self._chunk))
        buffer[:count] = self._chunk[:count]
        self._chunk = self._chunk[count:]
        return count

    def _quads(self):
        line_number = 0
        for index, path in enumerate(self.files):
            self.starts.append(line_number)
            scope = f"_:f{index}_".encode()
            graph = f" <{named_graph_for(path)}> .\n".encode()
            try:
                handle = path.open("rb")
            except OSError as error:
                raise LoadError(f"{path}: cannot read: {error.strerror}") from None
            with handle:
                for line in handle:
                    line_number += 1
                    body = line.strip()
                    if not body or body.startswith(b"#"):
                        yield b"\n"  # keeps the line numbers right
                        continue
                    if not body.endswith(b"."):
                        body = _without_comment(body)
                    body = body[:-1].rstrip()
                    if body.startswith(b"_:"):
                        body = scope + body[2:]
                    head, space, last = body.rpartition(b" ")
                    if b"\t" in last:  # terms split by tabs (rare): the last term follows the last tab
                        head, space, last = body.rpartition(b"\t")
                    if last.startswith(b"_:") and b'"' not in last and b">" not in last:
                        body = head + space + scope + last[2:]
                    yield body + graph

    def origin(self, stream_line: int) -> tuple[Path, int]:
        """The file and line of a line of the stream."""
        index = bisect.bisect_right(self.starts, stream_line - 1) - 1
        return self.files[index], stream_line - self.starts[index]


def _without_comment(line: bytes) -> bytes:
    """A triple followed by a comment, as a plain triple line; the parser knows where the
    comment starts ('#' may also stand in an IRI or a literal). A line it cannot read
    goes on as it is, for the bulk loader to report with its file and line."""
    try:
        (triple,) = ox.parse(line, format=ox.RdfFormat.N_TRIPLES)
    except (SyntaxError, ValueError):
        return line
    return f"{triple.subject} {triple.predicate} {triple.object} .".encode()


def _reason(error: SyntaxError) -> str:
    """The parser's message without the position it repeats (given as file:line:column)."""
    return _PARSER_POSITION.sub("", (error.msg or str(error)).split(" (")[0])


# Oxigraph's parsers hold one term (or, in N-Triples, one line) in a buffer of at most this
# many bytes, and raise MemoryError for more.
PARSER_BUFFER = 16 * 2 ** 20


def _too_long(files: list[Path], otherwise: str) -> LoadError:
    """The error for a MemoryError of the parser: naming the first line of ``files`` over the
    limit, or ``otherwise`` (in Turtle a long string may span lines)."""
    where = otherwise
    for path in files:
        with path.open("rb") as handle:
            number = next((n for n, line in enumerate(handle, 1) if len(line) > PARSER_BUFFER), None)
        if number is not None:
            where = f"{path}:{number}"
            break
    return LoadError(f"{where}: a line or term longer than 16 MiB, more than the parser takes")


@contextmanager
def _load_errors(path: Path):
    """Turn a parser's SyntaxError, MemoryError or a read error into a one-line LoadError."""
    try:
        yield
    except MemoryError:
        raise _too_long([path], str(path)) from None
    except SyntaxError as error:
        if error.lineno == 1 and _starts_with_bom(path):  # else the message shows the invisible mark
            raise LoadError(f"{path}:1:1: starts with a byte-order mark (BOM), which Turtle and N-Triples do "
                            f"not allow: save the file as UTF-8 without BOM") from None
        raise LoadError(f"{path}:{error.lineno}:{error.offset}: {_reason(error)}") from None
    except OSError as error:
        if _is_write_failure(error):
            raise  # the store's disk, not the file: _build says so
        raise LoadError(f"{path}: cannot read: {_os_reason(error)}") from None


def _starts_with_bom(path: Path) -> bool:
    """Whether the file begins with UTF-8's byte-order mark (some Windows editors write one)."""
    try:
        with path.open("rb") as handle:
            return handle.read(3) == b"\xef\xbb\xbf"
    except OSError:
        return False


def _os_reason(error: OSError) -> str:
    """Python's own OSErrors carry strerror; pyoxigraph's only a message ending in "(os error 13)"."""
    return error.strerror or _oxigraph_reason(error)


def _oxigraph_reason(error: Exception) -> str:
    """pyoxigraph's or RocksDB's message on one line, without the "(os error N)" it ends in."""
    return re.sub(r" \(os error \d+\)$", "", " ".join(str(error).split()))


def _is_write_failure(error: OSError) -> bool:
    """Whether the store's disk refused a write (full, over quota, read-only), which the
    bulk loader reports as it reports reading the file."""
    codes = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
    return error.errno in codes or any(os.strerror(code) in str(error) for code in codes)


def store_path(cache_dir: Path | None = None, files: list[Path] | None = None) -> Path:
    """Where the store for these sources is (or will be), reading only files that changed."""
    return _locate(cache_dir, files)[3]


def _locate(cache_dir: Path | None, files: list[Path] | None, *, from_scratch: bool = False):
    """(files, the current store and its manifest or None, the sources' states, the target path)."""
    files = resources.source_files() if files is None else files
    cache_dir = resources.default_cache_dir() if cache_dir is None else cache_dir
    current = None if from_scratch else _current_store(cache_dir)
    states = source_states(files, current[1]["files"] if current else None)
    return files, current, states, cache_dir / f"{STORE_PREFIX}{sources_digest(states)}"


def build_store(cache_dir: Path | None = None, *, files: list[Path] | None = None) -> Path:
    """Return the path of an up-to-date store: the cached one, an updated copy, or a new build.

    Other stores in the cache are removed, unless a process is reading them.
    """
    files, current, states, target = _locate(cache_dir, files)
    try:
        built = (target / MANIFEST).is_file()  # maybe by another process
    except OSError as error:
        raise LoadError(f"{target}: cannot read the store: {_os_reason(error)}") from None
    if not built:
        _build(target, current, files, states, replace=False)
    _remove_stale_stores(target)  # also those a reader held at an earlier build
    return target


def rebuild_store(cache_dir: Path | None = None, *, files: list[Path] | None = None) -> tuple[Path, bool]:
    """Build the store anew from every file: its path, and whether it replaced the one there.

    A store that another process is reading is kept (it holds the same sources).
    """
    files, _, states, target = _locate(cache_dir, files, from_scratch=True)
    replaced = _build(target, None, files, states, replace=True)
    _remove_stale_stores(target)
    return target, replaced


def _build(target: Path, current: tuple[Path, dict] | None, files: list[Path], states: dict, *,
           replace: bool) -> bool:
    """Build into a work folder, then move the store into place; False when the store
    already there was kept instead."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        workspace, lock = _locked_folder(target.parent, ".building-")
    except OSError as error:  # a file, or a place without write permission, given as --cache-dir
        raise LoadError(f"{target.parent}: cannot keep the store there (--cache-dir): {_os_reason(error)}") from None
    staging = workspace / target.name
    try:
        staging.mkdir()
        manifest = None
        if current and _changed_bytes(current[1]["files"], states) <= UPDATE_LIMIT:
            manifest = _update_copy(current, staging, files, states)
        if manifest is None:
            _load_new_store(staging, files)
            manifest = {"files": states, "validated": None, "changed": []}
        _write_json(staging / MANIFEST, manifest)
        return _move_into_place(staging, target, replace=replace)
    except OSError as error:
        raise LoadError(f"{target.parent}: cannot write the store: {_os_reason(error)}") from None
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
        os.close(lock)


def _locked_folder(cache_dir: Path, prefix: str) -> tuple[Path, int]:
    """A new work folder (``.building-*``, ``.removing-*``) and the descriptor that locks
    it: a later build removes those whose lock is free, left by a process that was killed."""
    fresh = Path(tempfile.mkdtemp(prefix=".new-", dir=cache_dir))
    lock = lock_store(fresh, fcntl.LOCK_EX)
    folder = fresh.with_name(prefix + fresh.name.removeprefix(".new-"))
    os.rename(fresh, folder)  # named for removal only once it is locked
    return folder, lock


def _move_into_place(staging: Path, target: Path, *, replace: bool) -> bool:
    """Rename the finished store to ``target``; False when the store there was kept.

    A store another process put there meanwhile holds the same sources (same name): it is
    kept, unless ``replace`` (``build`` rebuilds) and no process is reading it. When the
    other process wins the race to the rename, its store is kept.
    """
    if not replace:
        try:
            os.rename(staging, target)  # fails if the folder is there and not empty
            return True
        except OSError:
            if (target / MANIFEST).is_file():
                return False
    if not _remove_unless_read(target):
        return False
    try:
        os.rename(staging, target)
    except OSError:
        if not (target / MANIFEST).is_file():
            raise
        return False
    return True


def _current_store(cache_dir: Path) -> tuple[Path, dict] | None:
    """The cached store with the newest readable manifest, if there is one (older stores
    may remain while a process reads them)."""
    newest = None
    for path in cache_dir.glob(f"{STORE_PREFIX}*"):
        try:
            written = (path / MANIFEST).stat().st_mtime_ns
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if newest is None or written > newest[0]:
            newest = (written, path, manifest)
    return None if newest is None else newest[1:]


def _changed_bytes(old: dict, new: dict) -> int:
    """Bytes to read or remove to turn the ``old`` sources into the ``new`` ones."""
    total = sum(entry["size"] for graph, entry in new.items()
                if old.get(graph, {}).get("sha256") != entry["sha256"])
    return total + sum(entry["size"] for graph, entry in old.items() if graph not in new)


def _load_new_store(path: Path, files: list[Path]) -> None:
    def load_and_compact(store: ox.Store) -> None:
        load_files(store, files)
        # The bulk loader leaves dozens of overlapping index files; merging them costs about
        # a quarter of the load and makes every later query 1.7x faster (cq05 at 100k projects).
        store.optimize()

    _write_store(path, load_and_compact)


def _write_store(path: Path, work) -> None:
    """Open the store at ``path``, let ``work`` write to it, then flush and close it.

    RocksDB closes when the last reference to the store goes; a traceback keeps the frames
    that hold it alive, so a load error is re-raised fresh once the store is gone (and its
    folder can be renamed or removed).
    """
    store = ox.Store(str(path))
    failure = None
    try:
        work(store)
        store.flush()
    except LoadError as error:
        failure = str(error)
    del store
    if failure is not None:
        raise LoadError(failure)


def _update_copy(current: tuple[Path, dict], staging: Path, files: list[Path], states: dict) -> dict | None:
    """Checkpoint the current store into ``staging`` and apply the changed files there.

    The current store is only read (other processes may be reading it too). Each new
    file is parsed completely before the copy is touched, so a syntax error leaves no
    half-applied change behind. Returns the new manifest, or None when the current store
    was removed before it could be copied.
    """
    old_path, manifest = current
    old_states = manifest["files"]
    by_graph = {str(named_graph_for(path)): path for path in files}
    lock = lock_store(old_path)
    if lock is None:  # another process's build removed it meanwhile
        return None
    try:
        shutil.rmtree(staging)
        source = open_read_only(old_path)
        source.backup(str(staging))  # hard links: the copy outlives the store's removal
        del source
    finally:
        os.close(lock)
    changed: set[str] = set()

    def apply(store: ox.Store) -> None:
        for graph in sorted(set(old_states) - set(states)):
            changed.update(descriptions(_graph_triples(store, graph)))
            store.remove_graph(ox.NamedNode(graph))
        for graph, entry in sorted(states.items()):
            if old_states.get(graph, {}).get("sha256") == entry["sha256"]:
                continue
            path = by_graph[graph]
            with _load_errors(path):
                new = list(ox.parse(path=str(path), format=rdf_format(path), rename_blank_nodes=True))
            before = _graph_triples(store, graph)
            name = ox.NamedNode(graph)
            store.remove_graph(name)
            store.extend(ox.Quad(t.subject, t.predicate, t.object, name) for t in new)
            # Compared as stored: the store writes literals in canonical form ("1.50" → "1.5").
            changed.update(changed_resources(before, _graph_triples(store, graph)))

    _write_store(staging, apply)
    ontology_changed = any(old_states.get(g, {}).get("sha256") != states.get(g, {}).get("sha256")
                           for g in set(old_states) | set(states) if "/graph/ontology/" in g)
    baseline = manifest.get("validated") is not None and not ontology_changed
    return {"files": states, "validated": manifest.get("validated") if baseline else None,
            "changed": sorted(set(manifest.get("changed", [])) | changed) if baseline else []}


def _graph_triples(store: ox.Store, graph: str) -> list[ox.Triple]:
    return [q.triple for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph))]


def descriptions(triples) -> dict[str, str]:
    """Named subject → its description (own triples plus blank-node closure) as one string.

    Blank nodes are written out where they are used, so two parses of the same text
    (with different blank-node labels) give equal descriptions.
    """
    edges = defaultdict(list)
    for line in export.ntriples_lines(triples):
        statement = line[:-2].split(b" ", 2)  # only a literal holds spaces, and it comes last
        edges[statement[0]].append(statement)
    describe = export.describer(edges)
    return {subject[1:-1].decode("utf-8"): describe(subject).decode("utf-8")
            for subject in edges if subject.startswith(b"<")}


def changed_resources(old_triples, new_triples) -> set[str]:
    """IRIs of the named subjects whose description differs between two versions of a graph,
    and of the resources a link was added to or removed from (a task dropped from its
    project must be re-checked too). Class links (``rdf:type``) are left out: a class is
    not a resource that validation re-checks."""
    old, new = descriptions(old_triples), descriptions(new_triples)
    changed = {iri for iri in old.keys() | new.keys() if old.get(iri) != new.get(iri)}
    old_links, new_links = _links(old_triples), _links(new_triples)
    for iri in list(changed):
        changed |= {target for _, target in old_links.get(iri, set()) ^ new_links.get(iri, set())}
    return changed


def _links(triples) -> dict[str, set[tuple[str, str]]]:
    """Named subject → (predicate, IRI) of every named resource it points to, also through blank nodes."""
    edges = defaultdict(list)
    for triple in triples:
        if triple.predicate.value != _RDF_TYPE:
            edges[triple.subject].append((triple.predicate.value, triple.object))
    links = {}
    for subject in edges:
        if isinstance(subject, ox.NamedNode):
            found, pending, seen = set(), list(edges[subject]), set()
            while pending:
                predicate, target = pending.pop()
                if isinstance(target, ox.NamedNode):
                    found.add((predicate, target.value))
                elif isinstance(target, ox.BlankNode) and target not in seen:
                    seen.add(target)
                    pending += edges.get(target, ())
            links[subject.value] = found
    return links


def pending_changes(store_dir: Path) -> list[str] | None:
    """IRIs of resources changed since :func:`mark_validated`; None when there is no baseline.

    There is none when the store was never validated, was built afresh, an ontology file
    changed, or the validation rules (shapes, check queries) changed since.
    """
    manifest = _read_manifest(store_dir)
    if manifest.get("validated") != rules_digest():
        return None
    return list(manifest.get("changed", []))


def mark_validated(store_dir: Path, still_failing: Iterable[str] = ()) -> None:
    """Record that the store as it is now has been validated; the resources that still have
    problems stay pending, so the next ``validate --changed`` reports them again."""
    manifest = _read_manifest(store_dir)
    manifest["validated"] = rules_digest()
    manifest["changed"] = sorted(set(still_failing))
    _write_json(store_dir / MANIFEST, manifest)


def rules_digest() -> str:
    """Digest of what validation checks against: the shapes and the check queries."""
    digest = hashlib.sha256()
    for path in [resources.shapes_file()] + sorted(resources.queries_dir().glob("check-*.rq")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def derived(store_dir: Path, name: str, key: str, compute: Callable[[], bytes]) -> bytes:
    """``compute()``, kept in the store's folder as ``name-key`` for the next call.

    A store's data never changes (new sources make a new store), so what is computed from it
    holds for as long as ``key``, a digest of everything else it depends on. Older keys'
    files are removed; a folder that cannot be written to only costs the next call the work.
    """
    kept = derived_path(store_dir, name, key)
    with contextlib.suppress(OSError):
        return kept.read_bytes()
    data = compute()
    with contextlib.suppress(OSError):
        for stale in store_dir.glob(f"{name}-*"):
            stale.unlink(missing_ok=True)  # another process may have removed it
        export.write_atomic(kept, data)
    return data


def derived_path(store_dir: Path, name: str, key: str) -> Path:
    """Where :func:`derived` keeps ``name`` computed under ``key``."""
    return store_dir / f"{name}-{key}"


def _read_manifest(store_dir: Path) -> dict:
    try:
        return json.loads((store_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"files": {}, "validated": None, "changed": []}


def _write_json(path: Path, data: dict) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


def lock_store(path: Path, operation: int = fcntl.LOCK_SH) -> int | None:
    """A descriptor holding a lock on the store folder at ``path`` until it is closed, or
    None when the store is gone (or, with ``LOCK_NB``, locked otherwise).

    RocksDB locks only read-write opens, so readers take this one, shared, for as long as
    they use the store. The folder itself is locked: that needs no write access and moves
    with it. A remover moves the store away while it holds the lock exclusively, so a
    reader that opened the folder before checks, once it has the lock, that the store is
    still at ``path``.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(descriptor, operation)
        if os.path.samestat(os.fstat(descriptor), os.stat(path)):
            return descriptor
    except (BlockingIOError, FileNotFoundError):
        pass
    os.close(descriptor)
    return None


def _remove_unless_read(path: Path) -> bool:
    """Remove the store at ``path`` unless a process is reading it; True when it is gone."""
    lock = lock_store(path, fcntl.LOCK_EX | fcntl.LOCK_NB)
    if lock is None:
        return not path.exists()
    aside, aside_lock = _locked_folder(path.parent, ".removing-")
    try:
        os.rename(path, aside / path.name)  # once moved, no reader can find it
    finally:
        os.close(lock)
        shutil.rmtree(aside, ignore_errors=True)
        os.close(aside_lock)
    return True


def _remove_stale_stores(current: Path) -> None:
    """Other stores, and the work folders of killed builds and removals, unless in use. A
    ``store-*`` folder counts as a store only with a manifest: --cache-dir may name a folder
    of the user's own."""
    for pattern in (f"{STORE_PREFIX}*", ".building-*", ".removing-*"):
        for other in current.parent.glob(pattern):
            ours = not other.name.startswith(STORE_PREFIX) or (other / MANIFEST).is_file()
            if other != current and other.is_dir() and ours:
                _remove_unless_read(other)


def open_dataset(cache_dir: Path | None = None, *, files: list[Path] | None = None) -> Dataset:
    """The store as a read-only rdflib Dataset whose default graph is the union of all files.

    ``files`` defaults to the curated sources (:func:`resources.source_files`). The store
    is held against removal (:func:`lock_store`) as long as the Dataset's store is in use.
    """
    for _ in range(2):  # a build for other sources may remove it between our build and the lock
        path = build_store(cache_dir, files=files)
        lock = lock_store(path)
        if lock is not None:
            break
    else:
        raise LoadError(f"{path}: removed by another process's build as it was opened; try again")
    try:
        dataset = _as_dataset(open_read_only(path))
    except LoadError:
        os.close(lock)
        raise
    weakref.finalize(dataset.store, os.close, lock)
    return dataset


def open_read_only(path: Path) -> ox.Store:
    """The store at ``path`` for reading; a damaged or unreadable one is a one-line LoadError."""
    try:
        return ox.Store.read_only(str(path))
    except (OSError, RuntimeError) as error:  # RocksDB's "Corruption: …" comes as a RuntimeError
        raise LoadError(f"{path}: the store cannot be opened ({_oxigraph_reason(error)}); remove that folder "
                        f"and the next command builds it again") from None


def quad_count(path: Path) -> int:
    """The quads in the store at ``path``, read under its lock, which is released at once: an
    open Dataset holds its lock until it is collected, which an rdflib reference cycle delays."""
    lock = lock_store(path)
    if lock is None:
        raise LoadError(f"{path}: removed by another process's build as it was read; try again")
    try:
        return len(open_read_only(path))
    finally:
        os.close(lock)


def open_memory_dataset(files: list[Path] | None = None) -> Dataset:
    """Like :func:`open_dataset`, on an in-memory copy of the files (:func:`memory_copy`):
    for work that runs many queries over the whole graph, such as the query catalogue."""
    return _as_dataset(memory_copy(files))


def _as_dataset(oxigraph_store: ox.Store) -> Dataset:
    """An rdflib Dataset over an Oxigraph store. oxrdflib is imported only here: it imports
    rdflib's whole SPARQL engine (0.15 s), which commands on a remote store never need."""
    from oxrdflib import OxigraphStore

    dataset = Dataset(store=OxigraphStore(store=oxigraph_store), default_union=True)
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
