"""The persistent store: one named graph per file, rebuilt when a source changes."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import URIRef

from welfare_kg import generate, resources, store
from welfare_kg.errors import LoadError


def test_each_source_file_is_its_own_named_graph(dataset):
    names = {g.value for g in store.oxigraph(dataset).named_graphs()}
    expected = {str(store.named_graph_for(p)) for p in resources.source_files()}
    assert names == expected
    assert "https://w3id.org/welfare-kg/graph/graph/000_b867f87ad8e13151" in names


def test_a_fact_is_traceable_to_its_file(dataset):
    rows = list(dataset.query("""
        SELECT ?g WHERE { GRAPH ?g {
          <https://w3id.org/welfare-kg/id/project/sami-sobie-2006> a ?type } }"""))
    assert [str(r[0]) for r in rows] == ["https://w3id.org/welfare-kg/graph/graph/002_f8c82852a6f100af"]


def test_store_is_reused_then_rebuilt_when_a_source_changes(tmp_path):
    copies = []
    for path in resources.source_files():
        target = tmp_path / path.parent.name / path.name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(path, target)
        copies.append(target)
    cache = tmp_path / "cache"
    first = store.build_store(cache, files=copies)
    stamp = (first / "CURRENT").stat().st_mtime_ns if (first / "CURRENT").exists() else None
    assert store.build_store(cache, files=copies) == first
    if stamp is not None:
        assert (first / "CURRENT").stat().st_mtime_ns == stamp
    with copies[-1].open("a") as handle:
        handle.write('\n<https://example.org/x> <https://example.org/p> "changed" .\n')
    second = store.build_store(cache, files=copies)
    assert second != first and second.is_dir()
    assert not first.exists(), "the stale store is removed"
    assert [p.name for p in cache.iterdir()] == [second.name]


def test_union_graph_holds_ontology_and_data(graph):
    assert (URIRef("https://w3id.org/welfare-kg/ontology"), None, None) in graph
    assert (URIRef("https://w3id.org/welfare-kg/id/organisation/mops-gdynia"), None, None) in graph


# ----------------------------------------------------------------- updates in place of rebuilds

def _copy_sources(folder, projects: int = 20):
    """Copies of the curated sources plus a small generated file, which has blank nodes."""
    copies = []
    for path in resources.source_files():
        target = folder / path.parent.name / path.name
        target.parent.mkdir(exist_ok=True, parents=True)
        shutil.copy(path, target)
        copies.append(target)
    data = folder / "synthetic" / "data.nt"
    data.parent.mkdir()
    generate.write_file(data, projects=projects, seed=3)
    return copies + [data]


def _budget_line(data, project: str) -> tuple[str, str]:
    """The project's budget value line (on the amount's blank node) and the project's IRI."""
    lines = data.read_text(encoding="utf-8").splitlines()
    iri = next(line.split()[0] for line in lines if f"/id/project/{project}" in line.split()[0])
    amount = next(line.split()[2] for line in lines if line.startswith(iri) and "totalBudget" in line)
    value = next(line for line in lines if line.startswith(amount + " ") and "schema.org/value" in line)
    return value, iri.strip("<>")


def _contents(path) -> dict:
    """Each named graph's size and its subjects' descriptions (blank nodes written out)."""
    read_only = ox.Store.read_only(str(path))
    contents = {}
    for name in read_only.named_graphs():
        triples = [q.triple for q in read_only.quads_for_pattern(None, None, None, name)]
        contents[name.value] = (len(triples), store.descriptions(triples))
    return contents


def test_a_changed_file_updates_a_copy_and_records_the_changed_resource(tmp_path, monkeypatch):
    files = _copy_sources(tmp_path)
    cache = tmp_path / "cache"
    first = store.build_store(cache, files=files)
    assert store.pending_changes(first) is None, "a fresh build has no validation baseline"
    store.mark_validated(first)
    assert store.pending_changes(first) == []

    data = files[-1]
    line, project = _budget_line(data, "synthetic-000005")
    data.write_text(data.read_text(encoding="utf-8").replace(line, line.replace('"^^', '1"^^', 1)),
                    encoding="utf-8")
    monkeypatch.setattr(store, "_load_new_store", lambda *a: pytest.fail("rebuilt instead of updated"))
    second = store.build_store(cache, files=files)
    monkeypatch.undo()

    assert second != first and not first.exists()
    assert store.pending_changes(second) == [project]
    fresh = store.rebuild_store(tmp_path / "fresh", files=files)[0]
    assert _contents(second) == _contents(fresh), "the update gives the same store as a rebuild"


def test_unchanged_files_are_not_read_again(tmp_path, monkeypatch):
    files = _copy_sources(tmp_path, projects=2)
    cache = tmp_path / "cache"
    built = store.build_store(cache, files=files)
    read = []
    monkeypatch.setattr(store, "file_digest", lambda path: read.append(path) or "x")
    assert store.build_store(cache, files=files) == built
    assert read == []
    files[0].touch()
    store.store_path(cache, files)
    assert read == [files[0]], "only the touched file is read to see whether it changed"


def test_a_syntax_error_in_a_changed_file_leaves_the_store_as_it_was(tmp_path):
    files = _copy_sources(tmp_path, projects=2)
    cache = tmp_path / "cache"
    first = store.build_store(cache, files=files)
    files[-1].write_text(files[-1].read_text(encoding="utf-8") + "<broken\n", encoding="utf-8")
    with pytest.raises(LoadError, match=r"data\.nt:\d+:"):
        store.build_store(cache, files=files)
    assert [p.name for p in cache.iterdir()] == [first.name]
    assert len(ox.Store.read_only(str(first))) > 0


def test_an_ontology_change_drops_the_validation_baseline(tmp_path):
    files = _copy_sources(tmp_path, projects=2)
    cache = tmp_path / "cache"
    store.mark_validated(store.build_store(cache, files=files))
    ontology = next(f for f in files if f.parent.name == "ontology")
    ontology.write_text(ontology.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert store.pending_changes(store.build_store(cache, files=files)) is None


def test_removing_a_file_removes_its_graph_and_counts_its_resources_as_changed(tmp_path):
    files = _copy_sources(tmp_path, projects=2)
    cache = tmp_path / "cache"
    store.mark_validated(store.build_store(cache, files=files))
    updated = store.build_store(cache, files=files[:-1])
    names = {g.value for g in ox.Store.read_only(str(updated)).named_graphs()}
    assert str(store.named_graph_for(files[-1])) not in names
    assert any("/id/project/synthetic-" in iri for iri in store.pending_changes(updated))


def test_a_syntax_error_in_a_folder_of_n_triples_names_its_file_and_line(tmp_path):
    folder = tmp_path / "data"
    generate.write_folder(folder, projects=150, seed=1)
    broken = sorted(folder.iterdir())[1]
    lines = broken.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[9] = '<https://example.org/s> <https://example.org/p> "no closing quote .\n'
    broken.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(LoadError) as error:
        store.build_store(tmp_path / "cache", files=resources.source_files() + sorted(folder.iterdir()))
    assert str(error.value).startswith(f"{broken}:10:")
    assert "Parser error at line" not in str(error.value)


def test_a_long_n_triples_file_loads_whole_and_its_errors_keep_their_line(tmp_path):
    # Longer than one read-ahead chunk of the stream (4,096 lines), read by the loader a few KB at a time.
    lines = [f'<https://e.org/s{n}> <https://e.org/p> "{"x" * (n % 300)}" .\n' for n in range(9000)]
    data = tmp_path / "long.nt"
    data.write_text("".join(lines), encoding="utf-8")
    loaded = ox.Store()
    store.load_files(loaded, [data])
    assert len(loaded) == 9000
    last = ox.Quad(ox.NamedNode("https://e.org/s8999"), ox.NamedNode("https://e.org/p"),
                   ox.Literal("x" * (8999 % 300)), ox.NamedNode(str(store.named_graph_for(data))))
    assert last in loaded
    lines[8499] = '<https://e.org/s> <https://e.org/p> "no closing quote .\n'
    data.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(LoadError) as error:
        store.load_files(ox.Store(), [data])
    assert str(error.value).startswith(f"{data}:8500:")


def test_a_removed_link_marks_both_ends_as_changed():
    def parse(text: str):
        return list(ox.parse(text.encode(), format=ox.RdfFormat.TURTLE, rename_blank_nodes=True))

    before = parse("""@prefix ex: <https://example.org/> .
        ex:project a ex:Project ; ex:task ex:t1, ex:t2 ; ex:period [ ex:start "2019" ] .
        ex:t1 a ex:Task . ex:t2 a ex:Task .""")
    after = parse("""@prefix ex: <https://example.org/> .
        ex:project a ex:Project ; ex:task ex:t1 ; ex:period [ ex:start "2019" ] .
        ex:t1 a ex:Task . ex:t2 a ex:Task .""")
    assert store.changed_resources(before, after) == {"https://example.org/project", "https://example.org/t2"}
    assert store.changed_resources(before, parse("""@prefix ex: <https://example.org/> .
        ex:project a ex:Project ; ex:task ex:t1, ex:t2 ; ex:period [ ex:start "2020" ] .
        ex:t1 a ex:Task . ex:t2 a ex:Task .""")) == {"https://example.org/project"}


def test_comments_in_n_triples_files_lose_no_triple_and_move_none_to_another_graph(tmp_path):
    (tmp_path / "one.nt").write_text('<https://e.org/a> <https://e.org/p> _:x . # a comment . with dots\n'
                                     '_:x <https://e.org/q> "v#1" .\n# a last comment without a newline',
                                     encoding="utf-8")
    (tmp_path / "two.nt").write_text('<https://e.org/b> <https://e.org/p> "w" .\n', encoding="utf-8")
    loaded = ox.Store()
    store.load_files(loaded, sorted(tmp_path.glob("*.nt")))
    graphs = {quad.subject.value if isinstance(quad.subject, ox.NamedNode) else "blank": quad.graph_name.value
              for quad in loaded}
    assert len(loaded) == 3
    assert graphs == {"https://e.org/a": str(store.named_graph_for(tmp_path / "one.nt")),
                      "blank": str(store.named_graph_for(tmp_path / "one.nt")),
                      "https://e.org/b": str(store.named_graph_for(tmp_path / "two.nt"))}
    (link,) = [q for q in loaded if q.predicate.value == "https://e.org/p" and isinstance(q.object, ox.BlankNode)]
    assert list(loaded.quads_for_pattern(link.object, None, None, None)), "the blank node is one node"


def test_a_blank_node_after_a_tab_stays_linked_as_in_memory(tmp_path):
    """N-Triples may separate terms by tabs; the bulk load's renaming must see the object too."""
    (tmp_path / "one.nt").write_text("<https://e.org/a>\t<https://e.org/p>\t_:b1 .\n"
                                     '_:b1\t<https://e.org/q>\t"A" .\n', encoding="utf-8")
    loaded = ox.Store()
    store.load_files(loaded, [tmp_path / "one.nt"])
    (link,) = loaded.quads_for_pattern(None, ox.NamedNode("https://e.org/p"), None, None)
    assert list(loaded.quads_for_pattern(link.object, None, None, None)), "the blank node is one node"
    assert len(store.memory_copy([tmp_path / "one.nt"])) == len(loaded) == 2


@pytest.mark.parametrize("suffix", [".nt", ".ttl"])
def test_a_term_over_the_parsers_limit_is_a_load_error_naming_its_line(tmp_path, suffix):
    """Oxigraph's parsers take at most 16 MiB at once and said so with a MemoryError."""
    path = tmp_path / f"huge{suffix}"
    path.write_text('<https://e.org/a> <https://e.org/p> "short" .\n'
                    f'<https://e.org/a> <https://e.org/p> "{"x" * (store.PARSER_BUFFER + 1)}" .\n', encoding="utf-8")
    for load in (lambda: store.load_files(ox.Store(), [path]), lambda: store.memory_copy([path])):
        with pytest.raises(LoadError, match=f"^{re.escape(str(path))}:2: a line or term longer than 16 MiB"):
            load()


def test_resources_that_still_fail_stay_pending(tmp_path):
    built = store.build_store(tmp_path / "cache")
    store.mark_validated(built, still_failing=["https://example.org/b", "https://example.org/a"])
    assert store.pending_changes(built) == ["https://example.org/a", "https://example.org/b"]


# ----------------------------------------------------------------- two processes, one cache

def test_a_store_another_process_built_meanwhile_is_used_not_rebuilt(tmp_path, monkeypatch):
    copies = _copy_sources(tmp_path / "sources")
    cache = tmp_path / "cache"
    built = store.build_store(cache, files=copies)
    # An older store that sorts first is what _current_store finds; the up-to-date one is there too.
    older = cache / (store.STORE_PREFIX + "0")
    older.mkdir()
    (older / store.MANIFEST).write_text('{"files": {}, "validated": null, "changed": []}', encoding="utf-8")
    monkeypatch.setattr(store, "_load_new_store", lambda *a: pytest.fail("rebuilt a store that was there"))
    monkeypatch.setattr(store, "_update_copy", lambda *a: pytest.fail("updated a store that was there"))
    assert store.build_store(cache, files=copies) == built


def test_losing_the_race_to_put_the_same_store_in_place_keeps_the_winner(tmp_path, monkeypatch):
    copies = _copy_sources(tmp_path / "sources")
    cache = tmp_path / "cache"
    target = store.store_path(cache, copies)
    rename = store.os.rename

    def other_process_wins(source, destination):
        if str(destination) == str(target) and not target.exists():
            target.mkdir()
            (target / store.MANIFEST).write_text('{"winner": true}', encoding="utf-8")
        rename(source, destination)

    monkeypatch.setattr(store.os, "rename", other_process_wins)
    assert store.build_store(cache, files=copies) == target
    assert (target / store.MANIFEST).read_text(encoding="utf-8") == '{"winner": true}'
    assert [p.name for p in cache.iterdir()] == [target.name], "no staging or set-aside folder is left"


# Opens the store for the sources named in argv, then answers each line on stdin with its size.
_READER = """
import sys
from pathlib import Path
from welfare_kg import store
dataset = store.open_dataset(Path(sys.argv[1]), files=[Path(name) for name in sys.argv[2:]])
for _ in iter(lambda: sys.stdin.readline(), ""):
    print(len(dataset.query("SELECT * WHERE { ?s ?p ?o }")), flush=True)
"""


def test_a_store_another_process_reads_is_kept_until_it_is_done(tmp_path):
    files = _copy_sources(tmp_path, projects=2)
    cache = tmp_path / "cache"
    first = store.build_store(cache, files=files)
    with subprocess.Popen([sys.executable, "-c", _READER, str(cache), *map(str, files)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as reader:
        try:
            reader.stdin.write("size?\n")
            reader.stdin.flush()
            size = int(reader.stdout.readline())
            with files[-1].open("a") as handle:
                handle.write('\n<https://example.org/x> <https://example.org/p> "changed" .\n')
            second = store.build_store(cache, files=files)
            assert sorted(p.name for p in cache.iterdir()) == sorted([first.name, second.name])
            reader.stdin.write("size?\n")
            reader.stdin.flush()
            assert int(reader.stdout.readline()) == size, "the reader still answers from its store"
            reader.stdin.close()
            assert reader.wait(30) == 0
        finally:
            reader.kill()
    assert store.build_store(cache, files=files) == second
    assert [p.name for p in cache.iterdir()] == [second.name], "the next build removes it"


def test_a_store_removed_as_it_is_opened_is_built_again(tmp_path, monkeypatch):
    files = _copy_sources(tmp_path, projects=2)
    lock_store = store.lock_store

    def removed_first(path, *args):
        if path.name.startswith(store.STORE_PREFIX):  # not the build's own work folder
            monkeypatch.setattr(store, "lock_store", lock_store)
            shutil.rmtree(path)  # as another process's build for other sources would
        return lock_store(path, *args)

    monkeypatch.setattr(store, "lock_store", removed_first)
    dataset = store.open_dataset(tmp_path / "cache", files=files)
    assert len(store.oxigraph(dataset)) > 0


def test_a_line_of_two_terms_is_an_error_naming_its_file(tmp_path):
    folder = tmp_path / "data"
    generate.write_folder(folder, projects=20, seed=1)
    broken = sorted(folder.iterdir())[1]
    with broken.open("a", encoding="utf-8") as handle:
        handle.write("<https://example.org/s> <https://example.org/p> .\n")
    line = len(broken.read_text(encoding="utf-8").splitlines())
    with pytest.raises(LoadError, match=rf"^{broken}:{line}:49: The object of a triple must be an IRI"):
        store.build_store(tmp_path / "cache", files=resources.source_files() + sorted(folder.iterdir()))


def test_an_update_starts_from_the_newest_store_when_an_old_one_is_still_held(tmp_path):
    cache = tmp_path / "cache"
    for name, written in (("store-b-old", 1_000_000_000), ("store-a-new", 2_000_000_000)):
        (cache / name).mkdir(parents=True)
        manifest = cache / name / store.MANIFEST
        manifest.write_text('{"files": {}, "validated": null, "changed": []}', encoding="utf-8")
        os.utime(manifest, ns=(written, written))
    path, manifest = store._current_store(cache)
    assert path.name == "store-a-new"
    assert manifest["files"] == {}


def test_work_folders_of_killed_builds_are_removed_and_a_live_one_kept(tmp_path):
    files = _copy_sources(tmp_path, projects=2)
    cache = tmp_path / "cache"
    store.build_store(cache, files=files)
    killed, killed_removal, live = cache / ".building-killed", cache / ".removing-killed", cache / ".building-live"
    for folder in (killed, killed_removal, live):
        (folder / "store-half").mkdir(parents=True)
    lock = store.lock_store(live, fcntl.LOCK_EX)  # as the build still running there holds it
    try:
        store.build_store(cache, files=files)
        assert not killed.exists() and not killed_removal.exists()
        assert live.exists()
    finally:
        os.close(lock)
    store.build_store(cache, files=files)
    assert not live.exists()


def test_a_source_that_cannot_be_read_is_a_load_error_naming_it(tmp_path, monkeypatch):
    """As a file without read permission (the tests may run as root, who reads everything)."""
    locked = tmp_path / "locked.nt"
    locked.write_text("<https://example.org/s> <https://example.org/p> <https://example.org/o> .\n")
    opened = Path.open

    def refuse(path, *args, **kwargs):
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(LoadError, match=f"^{re.escape(str(locked))}: cannot read: Permission denied$"):
        store.build_store(tmp_path / "cache", files=resources.source_files() + [locked])


def test_a_read_error_from_the_parser_is_named_as_python_names_it(tmp_path):
    folder = tmp_path / "folder.ttl"  # pyoxigraph's own OSError has no strerror
    folder.mkdir()
    with pytest.raises(LoadError, match=f"^{re.escape(str(folder))}: cannot read: Is a directory$"):
        store.memory_copy([folder])


def test_a_parser_error_spanning_lines_says_its_position_once(tmp_path):
    broken = tmp_path / "broken.ttl"
    broken.write_text('@prefix ex: <https://example.org/> .\nex:a ex:b "never closed .\n')
    with pytest.raises(LoadError) as error:
        store.memory_copy([broken])
    assert str(error.value) == f"{broken}:2:11: Unexpected end of file"


def test_a_cache_dir_that_cannot_hold_the_store_is_a_load_error(tmp_path):
    plain = tmp_path / "cache.txt"
    plain.write_text("not a folder")
    for cache, reason in ((plain, "File exists"), (plain / "sub", "Not a directory")):
        with pytest.raises(LoadError, match=f"^{re.escape(str(cache))}: cannot keep the store there "
                                            f"\\(--cache-dir\\): {reason}$"):
            store.build_store(cache)
    assert plain.read_text() == "not a folder"


def test_a_damaged_store_is_a_load_error_saying_what_to_do(tmp_path):
    path = store.build_store(tmp_path)
    (path / "CURRENT").unlink()  # RocksDB's pointer to its manifest
    with pytest.raises(LoadError, match=f"^{re.escape(str(path))}: the store cannot be opened \\(IO error: .*\\); "
                                        "remove that folder and the next command builds it again$"):
        store.open_dataset(tmp_path)


def test_a_full_disk_is_named_as_the_stores_not_the_sources(tmp_path, monkeypatch):
    """The bulk loader reports a failed write as it reports a failed read."""
    def full(target, files):
        with store._load_errors(files[0]):
            raise OSError("IO error: No space left on device: While appending to file: bulk-1.sst")

    monkeypatch.setattr(store, "_load_new_store", full)
    with pytest.raises(LoadError, match=f"^{re.escape(str(tmp_path))}: cannot write the store: IO error: No space"):
        store.build_store(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [], "the work folder is gone"


@pytest.mark.parametrize("suffix, text", [
    (".ttl", "@prefix ex: <https://example.org/> .\nex:a ex:b ex:c .\n"),
    (".nt", "<https://example.org/a> <https://example.org/b> <https://example.org/c> .\n"),
])
def test_a_byte_order_mark_is_named_as_such(tmp_path, suffix, text):
    """Some Windows editors begin a UTF-8 file with U+FEFF, which Oxigraph (and Raptor) refuse,
    printing the invisible character as the culprit."""
    path = tmp_path / f"edited{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    with pytest.raises(LoadError) as refused:
        store.build_store(tmp_path / "cache", files=[path])
    assert str(refused.value) == (f"{path}:1:1: starts with a byte-order mark (BOM), which Turtle and N-Triples do "
                                  f"not allow: save the file as UTF-8 without BOM")
    path.write_text(text, encoding="utf-8")
    assert store.quad_count(store.build_store(tmp_path / "cache", files=[path])) == 1


def test_a_build_removes_old_stores_but_not_a_users_folder_named_like_one(tmp_path):
    """--cache-dir may name a folder of the user's own: "store-*" there is not necessarily ours."""
    cache = tmp_path / "work"
    theirs = cache / "store-inventory"
    theirs.mkdir(parents=True)
    (theirs / "list.csv").write_text("chairs,12\n", encoding="utf-8")
    source = tmp_path / "one.nt"
    source.write_text("<https://example.org/a> <https://example.org/b> <https://example.org/c> .\n", encoding="utf-8")
    first = store.build_store(cache, files=[source])
    source.write_text("<https://example.org/a> <https://example.org/b> <https://example.org/d> .\n", encoding="utf-8")
    second = store.build_store(cache, files=[source])
    assert second != first and not first.exists(), "the old store went"
    assert (theirs / "list.csv").read_text(encoding="utf-8") == "chairs,12\n"
