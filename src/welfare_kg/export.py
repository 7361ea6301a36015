"""Deterministic exports of the ontology plus the graph, optionally without personal data.

Blank nodes get canonical labels (see :func:`canonical_labels`) and triples are written in
sorted order, so the same sources give byte-identical files in every format. The graphs
come in as N-Triples written by Oxigraph and are worked on as lines of bytes, only those
with a blank node or a decimal taken apart: a national graph of millions of triples exports
in well under a minute. Everything goes out through Oxigraph's serializers, which keep the
order they are given (rdflib's follow Python's per-process string hashing).
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import os
import re
import shutil
import stat
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, Mapping, NoReturn, Sequence

import pyoxigraph as ox
from rdflib import RDF, Graph, Literal

from . import cores
from .errors import UsageError
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
_TURTLE_IN_HALVES = 200_000  # triples; in a smaller export a second process costs more than it saves
_BLANK = ord("_")  # the first byte of a blank node (an IRI starts with "<", a literal with '"')
# How a decimal literal ends, and the lines that make a resource personal data, in N-Triples:
# its mark, or its type where the mark was forgotten (validate reports that; a public export
# must not publish the person meanwhile).
_DECIMAL_TYPE = b'"^^<http://www.w3.org/2001/XMLSchema#decimal>'
PERSONAL_STATEMENTS = ((WKG.isPersonalData, Literal(True)), (RDF.type, WKG.ContactPerson))
_PERSONAL = tuple(f" {p.n3()} {o.n3()} .".encode() for p, o in PERSONAL_STATEMENTS)
# The same statements for SPARQL: ``?s ?personalPredicate ?personalObject`` with this block
# matches a personal resource ?s.
PERSONAL_VALUES = ("VALUES (?personalPredicate ?personalObject) { "
                   + " ".join(f"({p.n3()} {o.n3()})" for p, o in PERSONAL_STATEMENTS) + " }")


def named_graphs(ox_store: ox.Store) -> dict[str, bytes]:
    """Each source file's named graph as N-Triples, keyed by graph IRI.

    Oxigraph writes the text in one call per graph, many times faster than handing each
    triple to Python as an object and formatting its terms one by one.
    """
    return {name.value: ox_store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=name)
            for name in sorted(ox_store.named_graphs(), key=lambda n: n.value)}


def load_named_graphs(load: Callable[[list[Path]], ox.Store], files: list[Path]) -> dict[str, bytes]:
    """:func:`named_graphs` of the files, each share of them loaded by ``load`` in a thread of
    its own: Oxigraph parses without holding the GIL.

    Two files of one graph may land in different shares; that graph's triples then come one
    share after the other, and a triple in both comes twice, which changes no export: the
    duplicates go before output, and the triples that shape blank-node labels are those with
    a blank node, unique to the file it came from.
    """
    workers = cores.usable()
    with ThreadPoolExecutor(workers) as pool:
        shares = list(pool.map(lambda share: named_graphs(load(share)), [files[i::workers] for i in range(workers)]))
    graphs: dict[str, bytes] = defaultdict(bytes)
    for share in shares:
        for name, text in share.items():
            graphs[name] += text
    return dict(sorted(graphs.items()))


def ntriples_lines(triples: bytes | Iterable) -> list[bytes]:
    """The triples as N-Triples lines in UTF-8, without their line ends; each term as
    ``str()`` writes its pyoxigraph term.

    ``triples`` is N-Triples as Oxigraph writes it (as from :func:`named_graphs`), an rdflib
    Graph, or pyoxigraph triples. The work below is on bytes: UTF-8 sorts as its text does,
    and bytes compare, hash and take memory faster than text with Polish letters in it.
    """
    data = triples if isinstance(triples, bytes) else (
        ox.serialize(oxigraph_triples(triples), format=ox.RdfFormat.N_TRIPLES))
    return data.split(b"\n")[:-1]  # every line ends with "\n", the last one too


def personal_nodes(lines: Iterable[bytes]) -> set[bytes]:
    """Every resource marked as personal data, or typed as a contact person (a subject holds no space)."""
    return {line[:line.index(b" ")] for line in lines if line.endswith(_PERSONAL)}


def describer(edges: Mapping[bytes, list]) -> Callable[[bytes], bytes]:
    """A function giving a node's description: its sorted predicate-object pairs as one line,
    blank-node objects written out in place (so it does not depend on blank-node labels);
    memoised, and safe on blank-node cycles. ``edges`` maps a subject to its statements,
    (subject, predicate, object) in N-Triples, UTF-8."""
    descriptions: dict[bytes, bytes] = {}

    def describe(node: bytes, visiting: frozenset = frozenset()) -> bytes:
        if node in descriptions:
            return descriptions[node]
        if node in visiting:
            return b"[cycle]"
        parts = sorted([p + b" " + (describe(o, visiting | {node}) if o[0] == _BLANK else o)
                        for _, p, o in edges.get(node, ())])
        descriptions[node] = b"[" + b" ; ".join(parts) + b"]"
        return descriptions[node]

    return describe


def canonical_labels(statements: list[Sequence[bytes]]) -> dict[bytes, bytes]:
    """A label for every blank node that depends on the data only, not on how it was parsed.

    A blank node is named after the path that reaches it from a named resource (the
    resource, the predicate, and its own description with nested blank nodes written out)
    plus its rank among identical siblings; one that no named resource reaches is named
    after its description alone. Linear in the size of the graph, unlike a general
    canonicalisation, and enough for the tree-shaped blank nodes of this graph (periods,
    amounts, OWL lists and restrictions).

    ``statements`` are (subject, predicate, object) in N-Triples, UTF-8; only those with a
    blank node play a part. Descriptions are those of :func:`describer`, in UTF-8.
    """
    edges = defaultdict(list)  # blank node → the statements it is the subject of
    anchors = defaultdict(list)  # named resource → its statements with a blank-node object
    for statement in statements:
        if statement[0][0] == _BLANK:
            edges[statement[0]].append(statement)
        elif statement[2][0] == _BLANK:
            anchors[statement[0]].append(statement)
    describe = describer(edges)
    labels: dict[bytes, bytes] = {}

    def label_group(anchor: bytes, nodes: list[tuple[bytes, bytes]]) -> None:
        groups = defaultdict(list)
        for key, node in nodes:
            if node not in labels:
                groups[key].append(node)
        for key in sorted(groups):
            for rank, node in enumerate(groups[key]):
                if node not in labels:
                    path = b"\0".join((anchor, key, b"%d" % rank))
                    label = labels[node] = b"b" + hashlib.sha256(path).hexdigest()[:24].encode()
                    children = [(p + b" " + describe(o), o) for _, p, o in edges.get(node, ()) if o[0] == _BLANK]
                    if children:
                        label_group(label, children)

    for subject in sorted(anchors):
        label_group(subject, [(p + b" " + describe(o), o) for _, p, o in anchors[subject]])
    label_group(b"", [(describe(s), s) for s in edges if s not in labels])
    return labels


def canonical_lines(triples: bytes | Iterable, bnode_prefix: str = "") -> list[str]:
    """The triples as sorted, distinct N-Triples lines, blank nodes labelled canonically.

    ``triples`` as for :func:`ntriples_lines`. Decimals get a decimal point: Oxigraph keeps
    them in XSD 1.1 canonical form ("26502"), which Turtle can only write as a shorthand
    with ".0" added; one lexical form keeps every format in step.
    """
    return [line.decode("utf-8") for line in _canonical_lines(ntriples_lines(triples), bnode_prefix=bnode_prefix)]


def _canonical_lines(lines: list[bytes], bnode_prefix: str = "") -> list[bytes]:
    """:func:`canonical_lines` in UTF-8."""
    finished = []
    with_blank_nodes = []  # [subject, predicate, object], to write once the labels are known
    decimal_end = _DECIMAL_TYPE + b" ."
    for line in lines:
        # Most lines go through as they are: only these need their terms apart. (find() is
        # faster than `in` on bytes.)
        if line[0] == _BLANK or line.find(b"_:") >= 0:
            statement = line[:-2].split(b" ", 2)  # only a literal holds spaces, and it comes last
            if statement[0][0] == _BLANK or statement[2][0] == _BLANK:
                with_blank_nodes.append(statement)
                continue
        if line.endswith(decimal_end):
            s, p, o = line[:-2].split(b" ", 2)
            line = b" ".join((s, p, _decimal_with_point(o), b"."))
        finished.append(line)
    prefix = b"_:" + bnode_prefix.encode()
    blank = {node: prefix + label for node, label in canonical_labels(with_blank_nodes).items()}
    for s, p, o in with_blank_nodes:
        finished.append(b" ".join((blank.get(s, s), p, blank[o] if o[0] == _BLANK else _decimal_with_point(o),
                                   b".")))
    # Sorted before the duplicates go: the lines come grouped by subject, runs that a sort
    # is quick on and that a set's hash order would scatter.
    finished.sort()
    return [line for line, _ in itertools.groupby(finished)]


def _decimal_with_point(term: bytes) -> bytes:
    if term.endswith(_DECIMAL_TYPE) and b"." not in term[:-len(_DECIMAL_TYPE)]:
        return term[:-len(_DECIMAL_TYPE)] + b".0" + _DECIMAL_TYPE
    return term


def serialize(graphs: Mapping[str, bytes | Iterable], fmt: str, *, public: bool = False,
              marked_elsewhere: bytes | Iterable = b"") -> bytes:
    """The ontology plus the graph in one format; ``public`` leaves out personal data.

    ``graphs`` maps each graph IRI to its triples: N-Triples (as from :func:`named_graphs`),
    pyoxigraph triples or an rdflib Graph. ``marked_elsewhere`` holds the personal-data marks
    of graphs not given (a resource marked in one file may be named in another).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    with _collector_paused():
        contents = {str(name): ntriples_lines(triples) for name, triples in graphs.items()}
        hidden: set[bytes] = set()
        if public:
            for lines in [*contents.values(), ntriples_lines(marked_elsewhere)]:
                hidden |= personal_nodes(lines)
        if fmt == "trig":
            quads = []
            for name, lines in sorted(contents.items()):
                stem = name.rsplit("/", 1)[-1]
                graph = f" <{name}> .".encode()
                quads += [line[:-2] + graph for line in _canonical_lines(_visible(lines, hidden), f"{stem}-")]
            return ox.serialize(ox.parse(b"\n".join(quads), format=ox.RdfFormat.N_QUADS, lenient=True),  # see _written
                                format=ox.RdfFormat.TRIG, prefixes=_prefixes(graph_prefix=True))
        lines = _canonical_lines(_visible([line for lines in contents.values() for line in lines], hidden))
    if fmt == "nt":
        return b"\n".join(lines) + b"\n" if lines else b""
    if fmt == "turtle" and len(lines) >= _TURTLE_IN_HALVES and hasattr(os, "fork"):
        return _turtle_in_halves(lines)
    return _written(lines, fmt)


def _written(lines: list[bytes], fmt: str) -> bytes:
    # Lenient: these are lines Oxigraph wrote, valid already; checking their IRIs again is slow.
    return ox.serialize(ox.parse(b"\n".join(lines), format=ox.RdfFormat.N_TRIPLES, lenient=True),
                        format=_OXIGRAPH_FORMATS[fmt], prefixes=_prefixes())


def _turtle_in_halves(lines: list[bytes]) -> bytes:
    """The Turtle of the lines, the second half written at the same time by a forked child:
    parsing makes a Python object of each triple, so a thread would wait for the GIL.

    Turtle groups the triples of a subject, so the halves part where the subject changes;
    the second half then only loses its prefix declarations, and the two join into the
    very bytes that one pass writes.
    """
    middle = len(lines) // 2
    subject = lines[middle][:lines[middle].index(b" ") + 1]
    while middle < len(lines) and lines[middle].startswith(subject):
        middle += 1
    with tempfile.TemporaryFile() as spill:
        child = os.fork()
        if child == 0:
            _write_and_exit(spill, lines[middle:])
        try:
            first = _written(lines[:middle], "turtle")
        finally:
            _, status = os.waitpid(child, 0)
        if status != 0:
            raise RuntimeError(f"the process writing the second half of the Turtle failed (wait status {status})")
        spill.seek(0)
        second = spill.read()
    return first + second[_prefix_declarations_length(second):]


def _write_and_exit(spill: IO[bytes], lines: list[bytes]) -> NoReturn:
    """In a forked child: write the Turtle of the lines into ``spill``, then end the process
    at once, without the parent's clean-up (its buffers, its temporary files)."""
    status = 1
    try:
        spill.write(_written(lines, "turtle"))
        spill.flush()
        status = 0
    finally:
        os._exit(status)


def _prefix_declarations_length(turtle: bytes) -> int:
    end = 0
    while turtle.startswith(b"@prefix ", end):
        end = turtle.index(b"\n", end) + 1
    return end


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: it would walk the millions of small objects built
    here again and again, and they hold no cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def oxigraph_triples(triples: Iterable) -> list[ox.Triple]:
    """pyoxigraph triples of an rdflib Graph (or of any iterable of pyoxigraph triples)."""
    if isinstance(triples, Graph):
        return list(ox.parse(triples.serialize(format="nt", encoding="utf-8"), format=ox.RdfFormat.N_TRIPLES))
    return list(triples)


def _visible(lines: list[bytes], hidden: set[bytes]) -> list[bytes]:
    """The lines without a hidden resource at either end."""
    if not hidden:
        return lines
    visible = []
    for line in lines:
        s, _, o = line[:-2].split(b" ", 2)
        if s not in hidden and o not in hidden:
            visible.append(line)
    return visible


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
    """A file to write into that replaces ``path`` only once the ``with`` block ends without error.

    A symbolic link is written through: the file it points to is replaced, the link stays.
    A device or pipe (``/dev/null``), or another name of an open descriptor (``/dev/stdout``,
    ``/dev/fd/3``), is written to directly, at its end: there is no file of ours to replace,
    and renaming over it would put a regular file in place of the device, or of the file
    the shell opened with ``>>``. A target that cannot be written (a folder, a read-only
    place, a full disk) is a one-line UsageError naming it.
    """
    if _written_in_place(path):
        try:
            with _open_for_writing(os.open(path, os.O_WRONLY | os.O_APPEND), binary) as out:
                yield out
        except OSError as error:
            raise _cannot_write(path, error) from None
        return
    target = Path(os.path.realpath(path))
    handle, temporary = _temporary_beside(path, target)
    try:
        with _open_for_writing(handle, binary) as out:
            yield out
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would survive the rename
        os.replace(temporary, target)
    except BaseException as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise _cannot_write(path, error) from None
        raise


def _open_for_writing(handle: int, binary: bool) -> IO:
    return (os.fdopen(handle, "wb", buffering=1 << 20) if binary else
            os.fdopen(handle, "w", encoding="utf-8", newline="\n", buffering=1 << 20))


def _written_in_place(path: Path) -> bool:
    """Whether ``path`` is a device or pipe, or names an open descriptor: nothing to replace."""
    return _is_special(path) or _names_a_descriptor(path)


def _names_a_descriptor(path: Path) -> bool:
    """Whether ``path`` is, or links through, ``/proc/…/fd/N`` or ``/dev/fd/N``."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links followed
        if _DESCRIPTOR.match(current):
            return True
        if not os.path.islink(current):
            return False
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return False


_DESCRIPTOR = re.compile(r"^/(?:proc/[^/]+|dev)/fd/\d+$")


def _is_special(path: Path) -> bool:
    """Whether ``path`` is, or links to, something other than a regular file or a folder."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def check_writable(path: Path) -> None:
    """The UsageError :func:`write_atomic_stream` would raise for ``path``, raised now: before a
    long run rather than after it."""
    if _written_in_place(path):
        if not os.access(path, os.W_OK):
            raise UsageError(f"{path}: cannot write: Permission denied")
        return
    handle, temporary = _temporary_beside(path, Path(os.path.realpath(path)))
    os.close(handle)
    os.unlink(temporary)


def _temporary_beside(path: Path, target: Path) -> tuple[int, str]:
    """A new temporary file in the folder of ``target`` (``path`` with its links followed),
    made if missing: its descriptor and name; a target that cannot be written there is a
    one-line UsageError naming ``path``."""
    if target.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name to write")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as error:
        raise _cannot_write(path, error) from None


@contextmanager
def write_atomic_folder(path: Path, replaceable: Callable[[Path], bool], holds: str) -> Iterator[Path]:
    """A new folder to write into that takes the place of ``path`` only once the ``with`` block
    ends without error, so a reader never sees a half-written set.

    Only a folder that ``replaceable`` accepts (an earlier output; ``holds`` says what that
    is, for the refusal) is replaced: never a file, nor a folder holding anything else, nor
    the current folder or one above it.
    """
    folder = Path(path).resolve()
    if Path.cwd().is_relative_to(folder):  # replacing it would leave the shell in a removed folder
        raise UsageError(f"{path}: is (or holds) the current folder; not replaced")
    if folder.exists() and not replaceable(folder):
        raise UsageError(f"{path}: exists and holds more than {holds}; not replaced")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as error:
        raise _cannot_write(path, error) from None
    try:
        yield staging
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp's 0700 would survive the rename
        _replace_dir(staging, folder)
    except OSError as error:
        raise _cannot_write(path, error) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _cannot_write(path: Path, error: OSError) -> UsageError:
    return UsageError(f"{path}: cannot write: {error.strerror or error}")


def _replace_dir(staging: Path, target: Path) -> None:
    """Put the new folder in place; an old one is moved aside first and then removed."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        os.rename(target, old / target.name)
    os.rename(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
