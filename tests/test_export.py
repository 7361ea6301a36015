"""Exports: byte-stable across processes, round-trip isomorphic, public ones without personal data."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, Literal
from rdflib.compare import isomorphic

from welfare_kg import cores, export, generate, store
from welfare_kg.cli import main
from welfare_kg.errors import UsageError
from welfare_kg.namespaces import SCHEMA, WKG

RDFLIB_FORMAT = {"turtle": "turtle", "nt": "nt", "jsonld": "json-ld", "xml": "xml", "trig": "trig"}


@pytest.fixture(scope="module")
def named(dataset):
    return export.named_graphs(store.oxigraph(dataset))


def parse_back(data: bytes, fmt: str) -> Graph:
    if fmt == "trig":
        dataset = Dataset()
        dataset.parse(data=data, format="trig")
        graph = Graph()
        for s, p, o, _ in dataset.quads():
            graph.add((s, p, o))
        return graph
    return Graph().parse(data=data, format=RDFLIB_FORMAT[fmt])


@pytest.mark.parametrize("fmt", sorted(export.FORMATS))
def test_every_format_round_trips_to_the_same_graph(named, fmt):
    reference = Graph().parse(data=export.serialize(named, "nt"), format="nt")
    assert len(reference) > 1000
    assert isomorphic(parse_back(export.serialize(named, fmt), fmt), reference)


def test_export_holds_ontology_and_graph_with_prefixes(named):
    text = export.serialize(named, "turtle").decode("utf-8")
    assert "@prefix wkg: <https://w3id.org/welfare-kg/ontology/> ." in text
    assert "<https://w3id.org/welfare-kg/ontology>" in text
    assert "organisation:mops-gdynia" in text


def test_public_export_leaves_out_personal_data(named):
    full = parse_back(export.serialize(named, "turtle"), "turtle")
    people = set(full.subjects(WKG.isPersonalData, Literal(True)))
    assert len(people) == 2
    for fmt in export.FORMATS:
        data = export.serialize(named, fmt, public=True)
        assert b"Wojtysiak" not in data and b"53-50-716" not in data, fmt
        public = parse_back(data, fmt)
        assert not set(public.subjects(WKG.isPersonalData, None))
        assert not list(public.triples((None, SCHEMA.telephone, None)))
        assert len(public) < len(full)


def test_a_contact_person_whose_mark_was_forgotten_stays_out_of_public_exports(named):
    # validate reports the missing mark; the export must not publish the person meanwhile.
    mark = b' <https://w3id.org/welfare-kg/ontology/isPersonalData> "true"^^<http://www.w3.org/2001/XMLSchema#boolean> .'
    unmarked = {name: b"".join(line + b"\n" for line in text.split(b"\n")[:-1] if not line.endswith(mark))
                for name, text in named.items()}
    assert unmarked != named
    for fmt in export.FORMATS:
        data = export.serialize(unmarked, fmt, public=True)
        assert b"Wojtysiak" not in data and b"53-50-716" not in data, fmt


def _export_in_fresh_process(cache_dir, fmt, hash_seed, target):
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    subprocess.run([sys.executable, "-m", "welfare_kg.cli", "--cache-dir", str(cache_dir), "export",
                    "--format", fmt, "-o", str(target)], check=True, env=env, capture_output=True)
    return target.read_bytes()


@pytest.mark.parametrize("fmt", sorted(export.FORMATS))
def test_two_runs_give_byte_identical_files(cache_dir, dataset, tmp_path, fmt):
    first = _export_in_fresh_process(cache_dir, fmt, 1, tmp_path / "a")
    second = _export_in_fresh_process(cache_dir, fmt, 2, tmp_path / "b")
    assert first == second


def test_write_atomic_replaces_whole_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "out.ttl"
    target.write_bytes(b"old")
    export.write_atomic(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.ttl"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_write_atomic_writes_through_a_link_and_into_a_pipe(tmp_path):
    """A link stays a link; a pipe or device (/dev/null, /dev/stdout) is written to, never
    renamed over: as root, that put a regular file in place of /dev/null."""
    (tmp_path / "data").mkdir()
    real, link = tmp_path / "data" / "v1.ttl", tmp_path / "latest.ttl"
    real.write_bytes(b"old")
    link.symlink_to(real)
    export.write_atomic(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["data", "latest.ttl", "v1.ttl"]

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    export.check_writable(pipe)
    export.write_atomic(pipe, b"through the pipe")
    reader.join(timeout=10)
    assert received == [b"through the pipe"] and stat.S_ISFIFO(pipe.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "latest.ttl", "pipe"]

    # another name of an open descriptor (/dev/stdout, here /dev/fd/N after a shell's >>):
    # written at its end, not renamed over the file the shell opened
    log = tmp_path / "log.txt"
    log.write_bytes(b"earlier\n")
    descriptor = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        export.write_atomic(Path(f"/dev/fd/{descriptor}"), b"later\n")
    finally:
        os.close(descriptor)
    assert log.read_bytes() == b"earlier\nlater\n"


def test_failed_export_leaves_no_file(named, tmp_path):
    target = tmp_path / "never.ttl"
    with pytest.raises(ValueError):
        export.write_atomic(target, export.serialize(named, "docx"))
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_blank_node_labels_depend_on_the_data_not_on_the_parse():
    text = b"""
    @prefix ex: <https://example.org/> .
    ex:p ex:period [ ex:start "2019" ; ex:end "2020" ] ;
         ex:amount [ ex:value 5 ], [ ex:value 5 ] ;
         ex:list ( [ ex:n 1 ] [ ex:n 1 ] ) .
    [ ex:orphan [ ex:deep true ] ] .
    """
    first = list(ox.parse(text, format=ox.RdfFormat.TURTLE, rename_blank_nodes=True))
    second = list(ox.parse(text, format=ox.RdfFormat.TURTLE, rename_blank_nodes=True))
    assert {t.subject for t in first if isinstance(t.subject, ox.BlankNode)}.isdisjoint(
        {t.subject for t in second if isinstance(t.subject, ox.BlankNode)})
    lines = export.canonical_lines(first)
    assert lines == export.canonical_lines(list(reversed(second)))
    assert len(lines) == len(first), "identical sibling blank nodes stay apart"
    assert Graph().parse(data="\n".join(lines), format="nt").isomorphic(Graph().parse(data=text, format="turtle"))


@pytest.mark.parametrize("public", [False, True])
def test_export_command_reads_the_files_into_memory_with_the_same_result_as_the_store(
        named, cache_dir, tmp_path, capsys, public):
    """The command parses the sources again (new blank-node identifiers, another triple
    order) instead of reading the built store; not one byte may change."""
    for fmt in export.FORMATS:
        target = tmp_path / f"export-{fmt}"
        assert main(["--cache-dir", str(cache_dir), "export", "--format", fmt, "-o", str(target)]
                    + (["--public"] if public else [])) == 0
        assert target.read_bytes() == export.serialize(named, fmt, public=public), fmt
    capsys.readouterr()


def test_a_graph_whose_files_load_in_different_threads_exports_as_from_one_store(tmp_path, monkeypatch):
    """Two files of one graph (same folder name and stem), each with the same triple and a
    blank node of the same description."""
    name = '<https://example.org/a> <https://example.org/name> "A" .\n'
    period = '<https://example.org/a> <https://example.org/period> _:p .\n_:p <https://example.org/start> "1" .\n'
    first, second = tmp_path / "one" / "graph" / "x.nt", tmp_path / "two" / "graph" / "x.nt"
    for path in (first, second):
        path.parent.mkdir(parents=True)
        path.write_text(name + period, encoding="utf-8")
    files = [first, second]
    monkeypatch.setattr(cores, "usable", lambda: 2)  # one file for each thread
    split = export.load_named_graphs(store.memory_copy, files)
    together = export.named_graphs(store.memory_copy(files))
    assert list(split) == list(together) == [str(store.named_graph_for(first))]
    for fmt in export.FORMATS:
        assert export.serialize(split, fmt) == export.serialize(together, fmt), fmt
    assert export.serialize(split, "nt").count(b"\n") == 5, "the shared triple once, the two periods apart"


def test_turtle_written_in_two_halves_is_the_same_as_in_one_pass(named, monkeypatch):
    monkeypatch.setattr(export, "_TURTLE_IN_HALVES", 10**12)
    one_pass = export.serialize(named, "turtle")
    monkeypatch.setattr(export, "_TURTLE_IN_HALVES", 1)
    assert export.serialize(named, "turtle") == one_pass


def test_lines_keep_literals_that_look_like_blank_nodes_or_line_breaks():
    text = """
    @prefix ex: <https://example.org/> .
    ex:s ex:note "see _:b1 ." , "one\u2028two" ; ex:whole 7.0 ; ex:part 1.50 ; ex:period [ ex:start 2019 ] .
    """.encode()
    lines = export.canonical_lines(ox.parse(text, format=ox.RdfFormat.TURTLE))
    assert '<https://example.org/s> <https://example.org/note> "see _:b1 ." .' in lines
    assert '<https://example.org/s> <https://example.org/note> "one\u2028two" .' in lines
    assert any(line.endswith(' "7.0"^^<http://www.w3.org/2001/XMLSchema#decimal> .') for line in lines)
    assert any(line.endswith(' "1.50"^^<http://www.w3.org/2001/XMLSchema#decimal> .') for line in lines)
    assert len(lines) == 6 and sum(line.startswith("_:b") for line in lines) == 1


def test_export_names_a_syntax_error_as_the_store_build_does(tmp_path, capsys):
    folder = tmp_path / "data"
    generate.write_folder(folder, projects=20, seed=1)
    broken = sorted(folder.iterdir())[1]
    lines = broken.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = '<https://example.org/s> <https://example.org/p> "no closing quote .\n'
    broken.write_text("".join(lines), encoding="utf-8")
    assert main(["--cache-dir", str(tmp_path / "built"), "build", "--data", str(folder)]) == 2
    built = capsys.readouterr().err
    assert main(["--cache-dir", str(tmp_path / "exported"), "export", "--data", str(folder)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == built
    assert err.startswith(f"welfare-kg: {broken}:5:") and len(err.strip().splitlines()) == 1


def test_an_unwritable_target_is_a_usage_error_and_what_was_there_stays(tmp_path):
    folder = tmp_path / "answers"
    folder.mkdir()
    (folder / "kept.csv").write_text("mine", encoding="utf-8")
    plain = tmp_path / "notes.txt"
    plain.write_text("mine", encoding="utf-8")
    for target, reason in ((folder, "is a folder"), (plain / "out.ttl", "cannot write")):
        with pytest.raises(UsageError, match=f"^{re.escape(str(target))}: {reason}"):
            export.write_atomic(target, b"new content")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers", "notes.txt"]
    assert [p.name for p in folder.iterdir()] == ["kept.csv"] and plain.read_text(encoding="utf-8") == "mine"
