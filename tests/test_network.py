"""Network analysis of the views: measures, summary, report formats and Gephi/Cytoscape export."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import networkx as nx
import pytest

from welfare_kg import network, views
from welfare_kg.cli import main

from conftest import ORG, rows

FORMATS = ("table", "csv", "json", "graphml", "gexf")
MOPS_GDYNIA = str(ORG["mops-gdynia"])
PROXIMA = str(ORG["mvo-proxima"])


@pytest.fixture(scope="module")
def overview(dataset) -> nx.MultiDiGraph:
    return views.build(dataset, views.load_view("overview"))


@pytest.fixture(scope="module")
def partnerships(dataset) -> nx.MultiDiGraph:
    return views.build(dataset, views.load_view("partnerships"))


@pytest.fixture(scope="module")
def overview_measures(overview) -> list[dict]:
    return network.measures(overview)


def empty_graph() -> nx.MultiDiGraph:
    return nx.MultiDiGraph(view="overview", title="empty")


def test_mops_gdynia_is_the_most_central_organisation_of_the_overview(overview):
    summary = network.summary(overview)
    top = summary["central_organisations"][0]
    assert top["iri"] == MOPS_GDYNIA
    # It is the only organisation on shortest paths between projects: every other one hangs off one project.
    assert top["betweenness"] > 0.3
    assert all(row["betweenness"] < top["betweenness"] for row in summary["central_organisations"][1:])
    assert len(summary["central_organisations"]) == network.TOP
    assert all(row["group"] in network.ORGANISATION_GROUPS for row in summary["central_organisations"])


def test_summary_figures(overview):
    summary = network.summary(overview)
    assert summary["nodes"] == overview.number_of_nodes()
    assert summary["edges"] == overview.number_of_edges()
    assert summary["components"] == nx.number_weakly_connected_components(overview)
    assert sum(summary["component_sizes"]) == summary["nodes"]
    assert summary["component_sizes"] == sorted(summary["component_sizes"], reverse=True)
    assert 0 < summary["density"] < 1
    assert summary["communities"] == len(summary["community_details"]) > 1
    assert 0 < summary["modularity"] <= 1
    methods = summary["central_methods"]
    assert methods and all(m["iri"].startswith(network.METHOD_SPACE) for m in methods)
    # The one method shared by two projects bridges them.
    assert methods[0]["iri"].endswith("/community-social-work") and methods[0]["betweenness"] > 0


def test_measures_are_deterministic_and_complete(overview, overview_measures):
    assert network.measures(overview) == overview_measures
    assert network.report(overview, "json") == network.report(overview, "json")
    assert {row["iri"] for row in overview_measures} == set(overview)
    order = [(-r["betweenness"], -r["degree"], r["iri"]) for r in overview_measures]
    assert order == sorted(order)  # most central first, ties by IRI
    degree = dict(overview.degree())
    for row in overview_measures:
        assert row["degree"] == degree[row["iri"]]
        assert 0.0 <= row["betweenness"] <= 1.0
        assert isinstance(row["community"], int)


def test_communities_are_numbered_by_size(overview_measures):
    sizes = {}
    for row in overview_measures:
        sizes[row["community"]] = sizes.get(row["community"], 0) + 1
    assert sorted(sizes) == list(range(len(sizes)))
    assert [sizes[c] for c in sorted(sizes)] == sorted(sizes.values(), reverse=True)


def test_the_callers_graph_is_left_alone(overview):
    before = copy.deepcopy(overview)
    for fmt in FORMATS:
        network.report(overview, fmt)
    assert nx.utils.graphs_equal(before, overview)
    assert list(before.edges(keys=True, data=True)) == list(overview.edges(keys=True, data=True))


def test_organisation_groups_are_the_ontologys_organisation_classes(graph):
    found = rows(graph, """
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX org: <http://www.w3.org/ns/org#>
        PREFIX cv: <http://data.europa.eu/m8g/>
        SELECT DISTINCT ?class WHERE {
          ?class rdfs:subClassOf+ ?top .
          VALUES ?top { org:Organization org:FormalOrganization org:OrganizationalUnit cv:PublicOrganisation }
          FILTER(STRSTARTS(STR(?class), "https://w3id.org/welfare-kg/ontology/"))
        }""")
    assert {str(c).rsplit("/", 1)[-1] for (c,) in found} == network.ORGANISATION_GROUPS


def test_csv_has_a_header_and_one_row_per_node(overview):
    table = list(csv.reader(io.StringIO(network.report(overview, "csv").decode("utf-8"))))
    assert table[0] == ["iri", "label", "group", "degree", "betweenness", "community"]
    assert len(table) == overview.number_of_nodes() + 1
    assert table[1][0] == network.measures(overview)[0]["iri"]


def test_json_has_summary_and_nodes(overview):
    data = json.loads(network.report(overview, "json"))
    assert {"nodes", "edges", "components", "density", "communities", "modularity",
            "central_organisations", "central_methods"} <= set(data["summary"])
    assert data["summary"]["central_organisations"][0]["iri"] == MOPS_GDYNIA
    assert len(data["nodes"]) == overview.number_of_nodes()


def test_table_is_readable(overview):
    text = network.report(overview, "table").decode("utf-8")
    assert "most central organisations" in text and "organisation:mops-gdynia" in text
    assert "Miejski Ośrodek Pomocy Społecznej w Gdyni" in text
    assert f"({overview.number_of_nodes()} nodes)" in text


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_graph_files_parse_back_with_labels_and_classes(overview, fmt, tmp_path):
    data = network.report(overview, fmt)
    root = ET.fromstring(data)  # well-formed XML
    assert root.tag.endswith("graphml" if fmt == "graphml" else "gexf")
    assert "Miejski Ośrodek Pomocy Społecznej w Gdyni".encode() in data
    assert b"lastmodifieddate" not in data  # no date stamp: same graph, same bytes
    path = tmp_path / f"overview.{fmt}"
    path.write_bytes(data)
    back = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
    assert back.number_of_nodes() == overview.number_of_nodes()
    assert back.number_of_edges() == overview.number_of_edges()
    node = back.nodes[MOPS_GDYNIA]
    assert node["label"] == "Miejski Ośrodek Pomocy Społecznej w Gdyni"
    assert node["group"] == "SocialWelfareCentre"
    assert node["community"] == next(r["community"] for r in network.measures(overview) if r["iri"] == MOPS_GDYNIA)
    assert all("label" in d and "group" in d for _, d in back.nodes(data=True))
    assert all("predicate" in d for _, _, d in back.edges(data=True))
    # Facts keep their values; GEXF reserves start/end for dynamic graphs.
    project = next(n for n, d in back.nodes(data=True) if d["group"] == "Project" and "period_start" in d)
    assert overview.nodes[project]["start"] == back.nodes[project]["period_start"]


def test_partnerships_mops_gdynia_and_proxima_share_one_project(partnerships, tmp_path):
    edges = [d for u, v, d in partnerships.edges(data=True) if {u, v} == {MOPS_GDYNIA, PROXIMA}]
    assert [d["weight"] for d in edges] == [1]
    path = tmp_path / "partnerships.graphml"
    path.write_bytes(network.report(partnerships, "graphml"))
    back = nx.read_graphml(path)
    assert [d["weight"] for u, v, d in back.edges(data=True) if {u, v} == {MOPS_GDYNIA, PROXIMA}] == [1]
    assert network.summary(partnerships)["weighted"] is True


def test_gexf_is_byte_identical_under_another_hash_seed(cache_dir, overview):
    # Louvain keeps sets internally; sorted insertion and seed 0 must make string hashing irrelevant.
    env = {**os.environ, "PYTHONHASHSEED": "7"}
    done = subprocess.run([sys.executable, "-m", "welfare_kg.cli", "--cache-dir", str(cache_dir), "network",
                           "--format", "gexf"], check=True, env=env, capture_output=True)
    assert done.stdout == network.report(overview, "gexf")


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_empty_graph_gives_a_valid_report(fmt, tmp_path):
    data = network.report(empty_graph(), fmt)
    if fmt == "table":
        assert "empty graph" in data.decode("utf-8")
    elif fmt == "csv":
        assert data.decode("utf-8").splitlines() == ["iri,label,group,degree,betweenness,community"]
    elif fmt == "json":
        parsed = json.loads(data)
        assert parsed["nodes"] == [] and parsed["summary"]["nodes"] == 0
        assert parsed["summary"]["modularity"] is None and parsed["summary"]["central_organisations"] == []
    else:
        path = tmp_path / f"empty.{fmt}"
        path.write_bytes(data)
        back = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
        assert back.number_of_nodes() == 0


def test_edgeless_graph_has_no_modularity():
    graph = nx.MultiDiGraph()
    graph.add_node(MOPS_GDYNIA, label="MOPS", group="SocialWelfareCentre")
    summary = network.summary(graph)
    assert summary["modularity"] is None and summary["communities"] == 1
    assert network.measures(graph)[0]["betweenness"] == 0.0


def test_unknown_format_is_a_usage_error(overview):
    with pytest.raises(network.UsageError):
        network.report(overview, "pdf")


def test_cli_network_csv(capsys, cache_dir):
    code = main(["--cache-dir", str(cache_dir), "network", "partnerships", "--format", "csv"])
    out, _ = capsys.readouterr()
    assert code == 0
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["iri", "label", "group", "degree", "betweenness", "community"]
    assert {row[0] for row in table[1:]} >= {MOPS_GDYNIA, PROXIMA}
    proxima, gdynia = (next(r for r in table[1:] if r[0] == iri) for iri in (PROXIMA, MOPS_GDYNIA))
    assert proxima[5] == gdynia[5]  # the pair forms its own community


@pytest.mark.parametrize("view", ["methods", "overview"])
def test_edges_say_what_the_data_says_of_a_project_without_a_lead(dataset, view):
    """001 has no lead: CAL and ISP are responsible for one of its tasks, and the standard it
    works out is planned. Neither may be drawn as a lead or as a method in use."""
    graph = views.build(dataset, views.load_view(view))
    standards = "https://w3id.org/welfare-kg/id/project/standardy-uslug-pomocy-i-integracji-2009"
    edges = {(target.rsplit("/", 1)[1], data["predicate"].rsplit("/", 1)[1])
             for _, target, data in graph.out_edges(standards, data=True)}
    assert ("stowarzyszenie-cal", "responsibleOrganisation") in edges
    assert ("community-social-work-standard", "plannedPractice") in edges
    assert not {edge for edge in edges if edge[1] == "leadOrganisation"}
    assert ("community-social-work-standard", "usesMethod") not in edges
