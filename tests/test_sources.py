"""Every seed document has its graph file and a source node whose digest matches the file."""

from __future__ import annotations

import hashlib

import pytest
from rdflib import Literal
from rdflib.namespace import DCTERMS, RDF, XSD

from welfare_kg import resources
from welfare_kg.namespaces import WKG

from conftest import TESTS_DIR

SEEDS = TESTS_DIR.parent.parent / "shared" / "seeds"
seed_files = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []


def test_there_are_five_seed_documents_and_five_source_nodes(graph):
    if not seed_files:
        pytest.skip(f"seed documents not found at {SEEDS}")
    assert len(seed_files) == 5
    assert len(set(graph.subjects(RDF.type, WKG.SourceDocument))) == len(seed_files)


@pytest.mark.parametrize("seed", seed_files, ids=lambda p: p.stem)
def test_seed_has_its_graph_file_and_matching_digest(graph, seed):
    assert (resources.graph_dir() / f"{seed.stem}.ttl").is_file()
    (source,) = graph.subjects(DCTERMS.identifier, Literal(seed.name))
    assert (source, RDF.type, WKG.SourceDocument) in graph
    digest = hashlib.sha256(seed.read_bytes()).hexdigest()
    assert graph.value(source, WKG.sha256) == Literal(digest, datatype=XSD.hexBinary)
    assert str(source).endswith("/id/source/" + seed.stem.replace("_", "-"))


def test_every_project_and_its_parts_point_to_one_source(graph):
    projects = set(graph.subjects(RDF.type, WKG.Project))
    assert len(projects) == 5
    for project in projects:
        sources = set(graph.objects(project, DCTERMS.source))
        assert len(sources) == 1 and (sources.pop(), RDF.type, WKG.SourceDocument) in graph
    parts = [WKG.keyActivity, WKG.result, WKG.participants, WKG.hasEdition, WKG.hasPanel, WKG.hasTrainingModule]
    for project in projects:
        for predicate in parts:
            for part in graph.objects(project, predicate):
                assert set(graph.objects(part, DCTERMS.source)) == set(graph.objects(project, DCTERMS.source)), part
