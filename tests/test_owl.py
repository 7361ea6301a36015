"""The ontology plus the graph in a real OWL 2 reasoner (HermiT, bundled with owlready2).

HermiT refuses literals of datatypes outside the OWL 2 datatype map, and the graph keeps
dates at the precision the sources give (xsd:date, xsd:gYearMonth, xsd:gYear). Those
literals are handed to the reasoner as plain strings; every class, property and
individual axiom goes in unchanged.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import OWL, RDF, XSD

from welfare_kg import resources, store

from conftest import DATA_DIR

owlready2 = pytest.importorskip("owlready2")
pytestmark = pytest.mark.skipif(shutil.which("java") is None,
                                reason="HermiT needs a Java runtime (Debian: default-jre-headless; .ci/run installs it)")

OUTSIDE_OWL2_DATATYPE_MAP = {XSD.date, XSD.gYear, XSD.gYearMonth}


def reasoner_ready(graph: Graph) -> Graph:
    ready = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype in OUTSIDE_OWL2_DATATYPE_MAP:
            o = Literal(str(o))
        ready.add((s, p, o))
    return ready


def is_consistent(graph: Graph, workdir: Path) -> bool:
    path = workdir / "kg.nt"
    reasoner_ready(graph).serialize(path, format="nt", encoding="utf-8")
    world = owlready2.World()
    ontology = world.get_ontology(path.as_uri()).load(format="ntriples")
    try:
        with ontology:
            owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
    except owlready2.OwlReadyInconsistentOntologyError:
        return False
    return not list(world.inconsistent_classes())


def test_every_term_the_graph_uses_is_declared(graph):
    declared = set()
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty):
        declared |= set(graph.subjects(RDF.type, kind))
    used_properties = {p for p in graph.predicates() if p != RDF.type}
    used_classes = set(graph.objects(None, RDF.type))
    builtin = {str(RDF), str(OWL), "http://www.w3.org/2000/01/rdf-schema#"}
    undeclared = sorted(str(t) for t in (used_properties | used_classes) - declared
                        if not any(str(t).startswith(ns) for ns in builtin))
    assert undeclared == []


def test_ontology_and_graph_are_consistent(graph, tmp_path):
    assert is_consistent(graph, tmp_path)


@pytest.mark.parametrize("fixture", sorted(p.name for p in (DATA_DIR / "owl").glob("*.ttl")))
def test_individual_in_two_disjoint_classes_is_inconsistent(fixture, tmp_path):
    broken = store.parse_files(resources.ontology_files() + [DATA_DIR / "owl" / fixture])
    assert not is_consistent(broken, tmp_path)
