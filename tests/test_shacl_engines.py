"""The SPARQL engine reports exactly what pySHACL, the reference, reports.

Same Violations, and the same results in the sh:ValidationReport graph (compared field by
field; pySHACL's sh:detail sub-results of sh:node failures are left out, the SPARQL engine
does not produce them). Also: incremental validation (``focus``) agrees with a full run on
the re-checked resources, and a shape using an unsupported feature is refused.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from welfare_kg import resources, shacl_sparql, store, validate
from welfare_kg.cli import main
from welfare_kg.namespaces import SH

DATA_DIR = Path(__file__).parent / "data"
VALID = DATA_DIR / "valid" / "base.ttl"
FIXTURES = sorted((DATA_DIR / "invalid").glob("*.ttl"))
ID = "https://w3id.org/welfare-kg/id/"
WKG = "https://w3id.org/welfare-kg/ontology/"


def result_rows(report: validate.ValidationReport) -> list[tuple]:
    """The report's own results as comparable rows; blank nodes all read as '_'."""
    graph = report.report_graph
    report_node = graph.value(predicate=RDF.type, object=SH.ValidationReport)

    def term(node):
        return "_" if isinstance(node, BNode) or node is None else node

    rows = []
    for result in graph.objects(report_node, SH.result):
        path = graph.value(result, SH.resultPath)
        rows.append((term(graph.value(result, SH.focusNode)), validate._render_path(graph, path) if path else "",
                     term(graph.value(result, SH.value)), graph.value(result, SH.resultSeverity),
                     graph.value(result, SH.sourceShape), graph.value(result, SH.sourceConstraintComponent),
                     graph.value(result, SH.sourceConstraint),
                     tuple(sorted(graph.objects(result, SH.resultMessage)))))
    return sorted(rows, key=str)


def assert_same_reports(graph: Graph) -> validate.ValidationReport:
    fast = validate.validate_graph(graph)
    reference = validate.validate_graph(graph, engine="pyshacl")
    assert fast.violations == reference.violations
    assert fast.conforms == reference.conforms
    assert result_rows(fast) == result_rows(reference)
    return fast


@pytest.fixture(scope="module")
def combined_fixtures() -> Graph:
    """Every invalid fixture at once on top of the base graph: one pySHACL run instead of 87."""
    return store.parse_files(resources.ontology_files() + [VALID] + FIXTURES)


def test_every_fixture_together_gives_the_same_report(combined_fixtures):
    report = assert_same_reports(combined_fixtures)
    assert len(report.violations) >= len(FIXTURES)


@pytest.mark.parametrize("fixture", ["project-period-without-end", "period-start-after-end",
                                     "amount-bad-currency", "project-two-pl-labels", "location-without-label"])
def test_single_fixture_gives_the_same_report(fixture):
    """Some rules only fire alone (a second fixture can supply what the first lacks)."""
    assert_same_reports(store.parse_files(resources.ontology_files() + [VALID, DATA_DIR / "invalid" / f"{fixture}.ttl"]))


def test_valid_fixture_gives_the_same_report():
    assert not assert_same_reports(store.parse_files(resources.ontology_files() + [VALID])).violations


def test_curated_graph_gives_the_same_report(graph):
    assert_same_reports(graph)


def synthetic_graph(tmp_path_factory, broken: bool) -> Graph:
    out = tmp_path_factory.mktemp("generated") / "synthetic.nt"
    assert main(["generate", "--projects", "300", "-o", str(out)]) == 0
    graph = store.parse_files(resources.source_files())
    graph.parse(out, format="nt")
    if broken:
        inject_errors(graph)
    return graph


def inject_errors(graph: Graph) -> None:
    """A lead that is no organisation, a missing period, a wrong currency, an orphan task, a bad date."""
    projects = sorted(graph.subjects(RDF.type, URIRef(WKG + "Project")))[:5]
    lead, temporal = URIRef(WKG + "leadOrganisation"), URIRef("http://purl.org/dc/terms/temporal")
    graph.set((projects[0], lead, URIRef("http://publications.europa.eu/resource/authority/country/POL")))
    graph.remove((projects[1], temporal, None))
    budget = next(graph.objects(None, URIRef(WKG + "totalBudget")))
    graph.set((budget, URIRef("https://schema.org/currency"), Literal("zł")))
    graph.add((URIRef(ID + "task/injected-orphan"), RDF.type, URIRef(WKG + "ProjectTask")))
    period = next(graph.objects(projects[2], temporal))
    graph.set((period, URIRef("http://www.w3.org/ns/dcat#startDate"), Literal("2020-01-01")))


def test_generated_graph_gives_the_same_report(tmp_path_factory):
    assert_same_reports(synthetic_graph(tmp_path_factory, broken=False))


def test_generated_graph_with_errors_gives_the_same_report(tmp_path_factory):
    report = assert_same_reports(synthetic_graph(tmp_path_factory, broken=True))
    assert not report.conforms
    assert {v.source_shape.rsplit("/", 1)[1] for v in report.violations} >= {
        "ProjectShape-leadOrganisation", "ProjectShape-temporal", "MonetaryAmountShape-currency",
        "ProjectTaskShape-project", "PeriodShape-startDate"}


def test_focus_reports_what_a_full_run_reports_for_those_resources(combined_fixtures):
    data = validate._oxigraph_copy(combined_fixtures)
    full = validate.validate_store(data)
    changed = [ID + "project/test-start-after-end", ID + "organisation/test-town-team", ID + "task/test-orphan"]
    partial = validate.validate_store(data, focus=changed)
    rechecked = validate._resources_to_recheck(data, changed)
    assert partial.rechecked == len(rechecked)
    assert partial.violations == [v for v in full.violations if v.focus in rechecked]
    assert {v.focus for v in partial.violations} >= set(changed)


def test_focus_on_every_resource_reports_what_a_full_run_reports(combined_fixtures):
    """Every shape and check query, run once per focus node, finds what it finds over the whole graph."""
    data = validate._oxigraph_copy(combined_fixtures)
    every_iri = {str(term) for triple in combined_fixtures for term in triple if isinstance(term, URIRef)}
    assert validate.validate_store(data, focus=every_iri).violations == validate.validate_store(data).violations


def test_focus_follows_links_to_the_changed_resource(combined_fixtures):
    """A project whose lead changed is re-checked when only the lead is named as changed."""
    data = validate._oxigraph_copy(combined_fixtures)
    project = ID + "project/test-lead-not-organisation"
    lead = next(q.object.value for q in data.quads_for_pattern(ox.NamedNode(project), ox.NamedNode(WKG + "leadOrganisation"), None))
    report = validate.validate_store(data, focus=[lead])
    assert any(v.focus == project and v.path == "wkg:leadOrganisation" for v in report.violations)


def test_focus_reaches_the_units_four_levels_below_a_changed_organisation(combined_fixtures):
    """check-unit-depth follows org:unitOf four steps up, so a change at the top of a unit
    tree is re-checked on the units up to four levels below it."""
    data = validate._oxigraph_copy(combined_fixtures)
    deep = [v for v in validate.validate_store(data).violations
            if v.source_shape.endswith("check-unit-depth") and v.focus == ID + "organisation/test-level-4"]
    assert len(deep) == 1
    top = re.search(r"below <([^>]+)>", deep[0].message_en).group(1)
    assert set(deep) <= set(validate.validate_store(data, focus=[top]).violations)


def test_changed_run_after_editing_one_project_rechecks_it_as_a_full_run_would(tmp_path, capsys):
    """Edit one project's budget in a generated folder: --changed re-checks a handful of resources
    and reports for them what a full run of the edited folder reports (here: co-financing above the budget)."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    assert main(["generate", "--projects", "200", "--output-dir", str(data)]) == 0
    assert main(["--cache-dir", str(cache), "validate", "--data", str(data)]) == 0
    edited = sorted(data.glob("synthetic-*.nt"))[1]
    lines = edited.read_text(encoding="utf-8").splitlines(keepends=True)
    budget = next(i for i, line in enumerate(lines) if "<https://schema.org/value>" in line)
    lines[budget] = re.sub(r'"[0-9.]+"', '"1.00"', lines[budget])
    edited.write_text("".join(lines), encoding="utf-8")
    capsys.readouterr()

    assert main(["--cache-dir", str(cache), "validate", "--changed", "--data", str(data), "--format", "json"]) == 1
    changed = json.loads(capsys.readouterr().out)
    assert main(["--cache-dir", str(tmp_path / "fresh-cache"), "validate", "--data", str(data), "--format", "json"]) == 1
    full = json.loads(capsys.readouterr().out)

    assert 0 < changed["rechecked"] < 20
    assert changed["violations"] == full["violations"]
    assert {v["source_shape"].rsplit("/", 1)[1] for v in changed["violations"]} == {"ProjectShape-coFinancingAboveTotal"}


def test_no_focus_checks_nothing(combined_fixtures):
    report = validate.validate_store(validate._oxigraph_copy(combined_fixtures), focus=[])
    assert report.conforms and report.violations == [] and report.rechecked == 0


def test_unsupported_feature_is_refused():
    shapes = Graph().parse(data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:p ; sh:minLength 3 ] .
        """, format="turtle")
    with pytest.raises(shacl_sparql.UnsupportedShape, match="minLength"):
        shacl_sparql.compile_shapes(shapes)


def test_project_shapes_compile():
    compiled = shacl_sparql.compile_shapes(Graph().parse(resources.shapes_file()))
    assert len(compiled.node_shapes) > 30


def test_pattern_flags_belong_to_their_own_shape():
    """Two shapes with the same sh:pattern, one case-insensitive: each keeps its own sh:flags."""
    shapes = Graph().parse(data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
        ex:Strict a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:code ; sh:pattern "^ab$" ] .
        ex:Loose a sh:NodeShape ; sh:targetClass ex:C ; sh:property [ sh:path ex:code ; sh:pattern "^ab$" ; sh:flags "i" ] .
        """, format="turtle")
    data = ox.Store()
    data.load('<http://example.org/x> a <http://example.org/C> ; <http://example.org/code> "AB" .',
              format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode("http://example.org/g"))
    failing = {result.source_shape for result in shacl_sparql.run(data, shacl_sparql.compile_shapes(shapes))}
    strict = shapes.value(URIRef("http://example.org/Strict"), SH.property)
    assert failing == {strict}
