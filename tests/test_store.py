"""The persistent store: one named graph per file, rebuilt when a source changes."""

from __future__ import annotations

import shutil

from rdflib import URIRef

from welfare_kg import resources, store


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
