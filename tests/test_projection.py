"""RDF → networkx projection and the named views' filters."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS

from welfare_kg import projection, views
from welfare_kg.errors import UsageError

from conftest import BASE, ORG, PROJECT

MOPS = str(ORG["mops-gdynia"])
PROXIMA = str(ORG["mvo-proxima"])
ERASMUS = str(PROJECT["mops-gdynia-erasmus-job-shadowing-2019"])


def build(dataset, name="overview", **filters):
    return views.build(dataset, views.load_view(name), **filters)


@pytest.mark.parametrize("name", views.view_names())
def test_every_view_projects_entities_only(dataset, name):
    graph = build(dataset, name)
    assert graph.number_of_nodes() > 0
    for node, data in graph.nodes(data=True):
        assert node.startswith(("https://w3id.org/welfare-kg/id/", "https://w3id.org/welfare-kg/vocab/",
                                "http://publications.europa.eu/resource/authority/")), node
        assert data["label"] and data["group"] and data["title"]
        assert all(not isinstance(value, (Literal, URIRef)) for value in data.values())
    for source, target, data in graph.edges(data=True):
        assert source in graph and target in graph
        assert data["label"]


def test_no_ontology_terms_literals_or_blank_nodes_become_nodes(dataset):
    graph = build(dataset)
    assert not any("/ontology" in node or node.startswith("_:") or node.startswith("N") for node in graph)
    assert not any(node.startswith("http://www.w3.org/") for node in graph)


def test_labels_follow_the_language_with_fallback(dataset):
    polish = build(dataset, lang="pl")
    english = build(dataset, lang="en")
    assert polish.nodes[MOPS]["label"] == "Miejski Ośrodek Pomocy Społecznej w Gdyni"
    assert english.nodes[MOPS]["label"] == "Municipal Social Welfare Centre in Gdynia"
    assert polish.nodes[MOPS]["group"] == english.nodes[MOPS]["group"] == "SocialWelfareCentre"
    assert english.nodes[MOPS]["group_label"] == "social welfare centre"
    edge_labels = {d["label"] for _, _, d in english.edges(data=True)}
    assert "lead organisation" in edge_labels and "realizator (lider)" not in edge_labels


def test_label_falls_back_to_the_other_language_then_to_the_iri():
    context = Graph()
    only_polish, bare = URIRef("https://example.org/a"), URIRef("https://example.org/things/b-thing")
    context.add((only_polish, RDFS.label, Literal("tylko po polsku", lang="pl")))
    assert projection.label(context, only_polish, "en") == "tylko po polsku"
    assert projection.label(context, bare, "en") == "b-thing"


def test_concepts_are_grouped_by_their_scheme(dataset):
    graph = build(dataset, lang="en")
    job_shadowing = graph.nodes[str(BASE + "vocab/method/job-shadowing")]
    assert job_shadowing["group"] == "Method"
    assert job_shadowing["group_label"] == "Social-work methods and practices"


def test_most_specific_class_is_the_group(dataset):
    graph = build(dataset)
    assert graph.nodes[str(ORG["mops-gdynia-dops-1"])]["group"] == "DistrictWelfareCentre"
    assert graph.nodes[PROXIMA]["group"] == "NonGovernmentalOrganisation"
    assert graph.nodes[ERASMUS]["group"] == "Project"


def test_tooltip_is_plain_text_with_key_facts(dataset):
    title = build(dataset).nodes[ERASMUS]["title"]
    assert "<" not in title
    assert "2019-12 – 2021-11" in title
    assert "33\u202f826.00 EUR" in title and "26\u202f502.00 EUR" in title
    assert "000_b867f87ad8e13151.txt" in title


def test_focus_by_label_with_hops(dataset):
    one_hop = build(dataset, focus="MVO Proxima", hops=1)
    assert set(one_hop) == {PROXIMA, ERASMUS}
    two_hops = build(dataset, focus="MVO Proxima", hops=2)
    assert MOPS in two_hops and str(BASE + "vocab/method/job-shadowing") in two_hops
    assert str(PROJECT["sami-sobie-2006"]) not in two_hops


def test_filters_are_named_in_the_title(dataset):
    graph = build(dataset, lang="en", focus="MVO Proxima", hops=2, year=2020)
    assert graph.graph["title"].endswith("· around MVO Proxima (2 hops); year 2020")
    assert build(dataset).graph["filters"] == ""


def test_focus_by_prefixed_name_and_iri(dataset):
    assert set(build(dataset, focus="organisation:mvo-proxima")) == set(build(dataset, focus=PROXIMA))


def test_focus_that_is_ambiguous_lists_candidates(dataset):
    with pytest.raises(UsageError, match="matches .* resources, say which"):
        build(dataset, focus="Gdy")


def test_focus_picks_the_one_match_the_view_draws(dataset):
    """"Sami sobie" is in the project's label and in its source page's; only the project is drawn."""
    graph = build(dataset, focus="Sami sobie")
    assert str(PROJECT["sami-sobie-2006"]) in graph


def test_focus_on_unknown_label_says_so(dataset):
    with pytest.raises(UsageError, match="nothing is labelled 'Atlantis'"):
        build(dataset, focus="Atlantis")


def test_focus_left_out_by_a_filter_says_which(dataset):
    """Proxima is in the overview, but its only project ended before 2010."""
    with pytest.raises(UsageError, match="mvo-proxima is in the 'overview' view, but --year 2010 leaves it out"):
        build(dataset, focus="MVO Proxima", year=2010)


def test_year_keeps_active_projects_and_what_hangs_off_them(dataset):
    graph = build(dataset, year=2010)
    projects = {n for n, d in graph.nodes(data=True) if d["group"] == "Project"}
    assert projects == {str(PROJECT["standardy-uslug-pomocy-i-integracji-2009"]),
                        str(PROJECT["mops-gdynia-systemic-project-2008"])}
    assert PROXIMA not in graph and MOPS in graph


def test_types_keep_only_those_classes(dataset):
    graph = build(dataset, types=["Project", "NonGovernmentalOrganisation"])
    assert {d["group"] for _, d in graph.nodes(data=True)} == {"Project", "NonGovernmentalOrganisation"}
    assert graph.has_edge(ERASMUS, PROXIMA)


def test_partnerships_collapse_projects_into_weighted_edges(dataset):
    graph = build(dataset, "partnerships", lang="en")
    assert not any(d["group"] == "Project" for _, d in graph.nodes(data=True))
    (data,) = graph.get_edge_data(MOPS, PROXIMA).values()
    assert data["weight"] == 1 and data["label"] == "shared projects: 1"


def test_collapse_counts_shared_hubs():
    graph = projection.nx.MultiDiGraph()
    for node, group in (("a", "Org"), ("b", "Org"), ("p1", "Project"), ("p2", "Project")):
        graph.add_node(node, group=group)
    for hub in ("p1", "p2"):
        graph.add_edge(hub, "a", key="x")
        graph.add_edge(hub, "b", key="x")
    collapsed = projection.collapse(graph, "Project", edge_label="shared")
    assert set(collapsed) == {"a", "b"}
    assert collapsed.get_edge_data("a", "b")["shared"]["weight"] == 2


def test_unknown_view_lists_the_views():
    with pytest.raises(UsageError, match="unknown view 'hairball'; the views are: funding, methods, overview"):
        views.load_view("hairball")


def test_projection_ignores_rdf_type_as_edge():
    context = Graph()
    thing = URIRef(BASE + "id/project/x")
    context.add((thing, RDF.type, URIRef(BASE + "ontology/Project")))
    graph = projection.project([(thing, RDF.type, URIRef(BASE + "ontology/Project"))], context)
    assert list(graph) == [str(thing)] and graph.number_of_edges() == 0


def test_a_class_not_in_the_view_is_named_with_those_that_are(dataset):
    """A misspelt class (or one in the wrong case) used to leave silently nothing to draw."""
    with pytest.raises(UsageError, match=r"^--types: no project, Nope in the 'overview' view; its classes are: "
                                         r".*NonGovernmentalOrganisation, .*Project"):
        build(dataset, types=["Project", "project", "Nope"])


@pytest.mark.parametrize("count, lang, words", [
    (1, "pl", "w tym 1 węzeł syntetyczny"), (3, "pl", "w tym 3 węzły syntetyczne"),
    (12, "pl", "w tym 12 węzłów syntetycznych"), (22, "pl", "w tym 22 węzły syntetyczne"),
    (25, "pl", "w tym 25 węzłów syntetycznych"), (1, "en", "including 1 synthetic node "),
    (2, "en", "including 2 synthetic nodes "),
])
def test_the_synthetic_mark_speaks_grammatically(count, lang, words):
    import networkx as nx

    graph = nx.MultiDiGraph()
    graph.add_nodes_from(f"https://w3id.org/welfare-kg/id/project/synthetic-{n:06d}" for n in range(count))
    graph.add_node("https://w3id.org/welfare-kg/id/project/sami-sobie-2006")
    assert views.synthetic_mark(graph, lang).startswith(words)
