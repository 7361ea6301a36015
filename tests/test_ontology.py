"""The ontology and the SKOS schemes describe themselves in Polish and English."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from welfare_kg import resources
from welfare_kg.namespaces import WKG

ONTOLOGY = URIRef("https://w3id.org/welfare-kg/ontology")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(resources.ontology_dir() / "welfare.ttl")


def languages(graph: Graph, subject, predicate) -> set[str]:
    return {o.language for o in graph.objects(subject, predicate)}


def test_ontology_header_has_version_and_licence(ontology):
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in ontology
    assert str(ontology.value(ONTOLOGY, OWL.versionIRI)).endswith("/0.1.0")
    assert ontology.value(ONTOLOGY, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert languages(ontology, ONTOLOGY, DCTERMS.title) == {"pl", "en"}


def test_every_class_and_property_has_pl_and_en_label_and_definition(ontology):
    missing = []
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        for term in ontology.subjects(RDF.type, kind):
            for predicate in (RDFS.label, SKOS.definition):
                if not {"pl", "en"} <= languages(ontology, term, predicate):
                    missing.append(f"{term} {predicate}")
    assert missing == []


def test_own_top_level_classes_say_why_they_were_needed(ontology):
    own = [c for c in ontology.subjects(RDF.type, OWL.Class) if str(c).startswith(str(WKG))]
    assert len(own) > 20
    top_level = [c for c in own
                 if not any(str(s).startswith(str(WKG)) for s in ontology.objects(c, RDFS.subClassOf))]
    assert [str(c) for c in top_level if not ontology.value(c, RDFS.comment)] == []


@pytest.mark.parametrize("path", sorted(resources.ontology_dir().glob("vocab-*.ttl")), ids=lambda p: p.name)
def test_every_concept_is_in_its_scheme_with_pl_and_en_labels(path):
    graph = Graph().parse(path)
    (scheme,) = graph.subjects(RDF.type, SKOS.ConceptScheme)
    assert str(scheme).endswith("/" + path.stem.removeprefix("vocab-"))
    concepts = list(graph.subjects(RDF.type, SKOS.Concept))
    assert concepts
    for concept in concepts:
        assert (concept, SKOS.inScheme, scheme) in graph
        assert str(concept).startswith(str(scheme) + "/")
        for predicate in (SKOS.prefLabel, SKOS.definition):
            assert {"pl", "en"} <= languages(graph, concept, predicate), f"{concept} {predicate}"
        if languages(graph, concept, SKOS.altLabel):  # a name a reader may search for, in both languages
            assert {"pl", "en"} <= languages(graph, concept, SKOS.altLabel), f"{concept} {SKOS.altLabel}"
        broader = list(graph.objects(concept, SKOS.broader))
        assert broader or (concept, SKOS.topConceptOf, scheme) in graph, f"{concept} hangs nowhere"


# Queries that spell out rdfs:subClassOf / rdfs:subPropertyOf chains up to a fixed number of steps
# instead of using * or + (Virtuoso 7.2 answers such a path wrongly when both ends are bound), with
# the longest alternative each one spells out. Deepen the hierarchy and these must grow with it.
BOUNDED_HIERARCHY = {
    RDFS.subClassOf: (2, "rdfs:subClassOf/rdfs:subClassOf ",
                      ["check-funding-chain", "check-unit-parent-is-organisation", "cq12-institutions"]),
    RDFS.subPropertyOf: (2, "rdfs:subPropertyOf/rdfs:subPropertyOf ", ["cq02-partners-of"]),
}


def longest_chain(graph: Graph, predicate) -> int:
    """Steps in the longest chain of ``predicate`` (a cycle fails the test)."""
    depth: dict = {}

    def walk(node, seen):
        assert node not in seen, f"{predicate} cycle through {node}"
        if node not in depth:
            depth[node] = max((1 + walk(parent, seen | {node}) for parent in graph.objects(node, predicate)), default=0)
        return depth[node]
    return max((walk(node, frozenset()) for node in set(graph.subjects(predicate, None))), default=0)


@pytest.mark.parametrize("predicate", sorted(BOUNDED_HIERARCHY), ids=lambda p: p.n3().split("#")[-1])
def test_hierarchy_is_no_deeper_than_the_queries_follow(predicate):
    graph = Graph()
    for path in resources.ontology_files():
        graph.parse(path)
    bound, deepest, names = BOUNDED_HIERARCHY[predicate]
    assert longest_chain(graph, predicate) <= bound, (
        f"the ontology now has {predicate} chains longer than {bound} steps: spell out one more step in "
        f"{', '.join(names)} and raise the bound here")
    for name in names:
        assert deepest in (resources.queries_dir() / f"{name}.rq").read_text(encoding="utf-8"), name
