"""SHACL shapes and check queries: every rule has a fixture that breaks it, and the curated graph keeps them all.

Each file in ``data/invalid/`` is loaded on top of the ontology, the SKOS schemes and
``data/valid/base.ttl`` (a small graph that conforms) and adds exactly one broken thing.
The table below says which problem each one must produce: the focus node, the path, a
fragment of the English message, and the rule that reports it (a node shape, a property
shape or SPARQL constraint of ``ontology/shapes.ttl``, or a ``queries/check-*.rq``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.graph import ReadOnlyGraphAggregate
from rdflib.namespace import RDF

from welfare_kg import resources, store, validate
from welfare_kg.errors import LoadError, UsageError
from welfare_kg.namespaces import SH

DATA_DIR = Path(__file__).parent / "data"
VALID = DATA_DIR / "valid" / "base.ttl"
INVALID = DATA_DIR / "invalid"
ID = "https://w3id.org/welfare-kg/id/"
VOCAB = "https://w3id.org/welfare-kg/vocab/"
SHAPES = "https://w3id.org/welfare-kg/shapes/"
QUERIES = validate.QUERY_BASE

# (fixture, focus, path, fragment of the English message, rule)
CASES = [
    # projects
    ("project-without-pl-label", ID + "project/test-no-pl-label", "rdfs:label", "Polish rdfs:label", "ProjectShape"),
    ("project-without-pl-label", ID + "project/test-no-pl-label", "rdfs:label", "none in Polish", "check-labels-bilingual"),
    ("project-without-en-label", ID + "project/test-no-en-label", "rdfs:label", "English rdfs:label", "ProjectShape"),
    ("project-two-pl-labels", ID + "project/test-two-pl-labels", "rdfs:label", "only one in its language", "ProjectShape"),
    ("project-without-source", ID + "project/test-no-source", "dcterms:source", "dcterms:source", "SourcedShape"),
    ("project-source-not-document", ID + "project/test-source-not-document", "dcterms:source", "wkg:SourceDocument", "SourcedShape"),
    ("project-two-leads", ID + "project/test-two-leads", "wkg:leadOrganisation", "it has 2", "ProjectShape-singleLead"),
    ("project-without-lead", ID + "project/test-no-lead", "wkg:leadOrganisation", "it has 0", "ProjectShape-singleLead"),
    ("project-lead-and-reason", ID + "project/test-lead-and-reason", "wkg:noSingleLeadReason", "remove one of them", "ProjectShape-leadAndReason"),
    ("project-lead-not-organisation", ID + "project/test-lead-not-organisation", "wkg:leadOrganisation", "must be an organisation", "ProjectShape-leadOrganisation"),
    ("project-without-title", ID + "project/test-no-title", "dcterms:title", "neither a Polish dcterms:title", "ProjectShape-titleOrEditorialLabel"),
    ("project-english-title-only", ID + "project/test-english-title", "dcterms:title", "neither a Polish dcterms:title", "ProjectShape-titleOrEditorialLabel"),
    ("project-title-and-editorial-label", ID + "project/test-title-and-editorial", "wkg:hasEditorialLabel", "either gives a title or it does not", "ProjectShape-titleAndEditorialLabel"),
    ("project-editorial-label-without-note", ID + "project/test-editorial-no-note", "skos:editorialNote", "no skos:editorialNote in language en", "ProjectShape-editorialNote"),
    ("project-without-main-goal", ID + "project/test-no-goal", "wkg:mainGoal", "Polish main goal", "ProjectShape-mainGoal-pl"),
    ("project-without-period", ID + "project/test-no-period", "dcterms:temporal", "exactly one dcterms:temporal", "ProjectShape-temporal"),
    ("project-period-without-end", ID + "project/test-open-period", "dcterms:temporal", "dcat:endDate", "ProjectShape-temporal"),
    ("project-type-wrong-scheme", ID + "project/test-type-wrong-scheme", "dcterms:type", "vocab/project-type", "ProjectShape-type"),
    ("project-funded-by-organisation", ID + "project/test-funded-by-organisation", "wkg:fundedBy", "not a funding instrument", "check-funding-chain"),
    ("project-without-funding", ID + "project/test-no-funding", "wkg:fundedBy", "should name its wkg:fundedBy", "ProjectShape-fundedBy"),
    ("project-target-group-not-concept", ID + "project/test-target-group-not-concept", "wkg:targetGroup", "vocab/target-group", "ConceptLinksShape-targetGroup"),
    ("project-planned-practice-not-method", ID + "project/test-titled", "wkg:plannedPractice", "vocab/method scheme", "ConceptLinksShape-plannedPractice"),
    ("project-planned-role-not-role", ID + "project/test-titled", "wkg:plannedRole", "vocab/role scheme", "ConceptLinksShape-plannedRole"),
    ("lead-also-partner", ID + "project/test-lead-also-partner", "wkg:partnerOrganisation", "both the lead", "check-lead-not-partner"),
    # periods (blank nodes: reported on the project that holds them)
    ("period-start-after-end", ID + "project/test-start-after-end", "dcterms:temporal/dcat:startDate", "starts (2012-05) after it ends (2011)", "PeriodShape-order"),
    ("period-same-year-start-after-end", ID + "project/test-start-after-end-month", "dcterms:temporal/dcat:startDate", "starts (2012-06-15) after it ends (2012-05)", "PeriodShape-order"),
    ("period-date-wrong-datatype", ID + "project/test-untyped-date", "dcterms:temporal/dcat:startDate", "xsd:gYearMonth", "PeriodShape-startDate"),
    ("period-without-dates", ID + "edition/test-undated", "dcterms:temporal", "neither a dcat:startDate nor a dcat:endDate", "PeriodShape-hasDate"),
    # money
    ("amount-negative", ID + "project/test-negative-budget", "wkg:totalBudget/schema:value", "non-negative xsd:decimal", "MonetaryAmountShape-value"),
    ("amount-bad-currency", ID + "project/test-bad-currency", "wkg:totalBudget/schema:currency", "ISO 4217", "MonetaryAmountShape-currency"),
    ("amount-lowercase-currency", ID + "project/test-lowercase-currency", "wkg:totalBudget/schema:currency", "ISO 4217", "MonetaryAmountShape-currency"),
    ("cofinancing-above-total", ID + "project/test-cofinancing-above-total", "wkg:coFinancing", "above the total budget", "ProjectShape-coFinancingAboveTotal"),
    ("cofinancing-other-currency", ID + "project/test-cofinancing-other-currency", "wkg:coFinancing", "same currency", "ProjectShape-coFinancingCurrency"),
    ("cofinancing-without-total", ID + "project/test-cofinancing-without-total", "wkg:coFinancing", "no wkg:totalBudget", "ProjectShape-coFinancingWithoutTotal"),
    ("budget-not-applicable-with-budget", ID + "project/test-not-applicable-with-budget", "wkg:totalBudget", "budgetNotApplicable true and also", "ProjectShape-budgetNotApplicableWithBudget"),
    # parts of a project
    ("task-without-responsible-organisation", ID + "task/test-titled-2", "wkg:responsibleOrganisation", "wkg:responsibleOrganisation", "ProjectTaskShape-responsibleOrganisation"),
    ("task-without-project", ID + "task/test-orphan", "^wkg:hasTask", "wkg:hasTask", "ProjectTaskShape-project"),
    ("activity-without-position", ID + "activity/test-titled-2", "schema:position", "schema:position", "KeyActivityShape"),
    ("activity-without-project", ID + "activity/test-orphan", "^wkg:keyActivity", "not linked from any project", "KeyActivityShape-project"),
    ("activity-method-wrong-scheme", ID + "activity/test-titled-3", "wkg:usesMethod", "vocab/method scheme", "ConceptLinksShape-usesMethod"),
    ("activity-output-not-output", ID + "activity/test-titled-4", "wkg:hasOutput", "named output", "KeyActivityShape"),
    ("result-without-project", ID + "result/test-orphan", "^wkg:result", "not linked from any project", "ResultShape-project"),
    ("result-type-wrong-scheme", ID + "result/test-titled-2", "wkg:resultType", "vocab/result-type", "ResultShape-resultType"),
    ("result-description-untagged", ID + "result/test-titled-3", "dcterms:description", "language tag", "ResultShape"),
    ("texts-pl-only", ID + "activity/test-titled-5", "dcterms:description", "no English counterpart", "check-texts-bilingual"),
    # numbers
    ("participants-negative", ID + "indicator/test-titled-negative", "wkg:count", "non-negative integer", "IndicatorShape-count"),
    ("indicator-qualifier-wrong-scheme", ID + "indicator/test-titled-bad-qualifier", "wkg:countQualifier", "vocab/count-qualifier", "IndicatorShape-countQualifier"),
    ("indicator-two-precisions", ID + "indicator/test-titled-two-precisions", "wkg:countQualifier", "exactly one of the concepts exact, approximate or more-than", "IndicatorShape-precision"),
    ("indicator-target-without-precision", ID + "indicator/test-titled-target-only", "wkg:countQualifier", "exactly one of the concepts exact, approximate or more-than", "IndicatorShape-precision"),
    ("indicator-without-pl-description", ID + "indicator/test-titled-english", "dcterms:description", "Polish description", "IndicatorShape-description-pl"),
    ("indicator-orphan", ID + "indicator/test-orphan", "^(wkg:indicator|wkg:participants)", "not linked from anything", "IndicatorShape-subject"),
    # editions, panels, training
    ("edition-without-project", ID + "edition/test-orphan", "^wkg:hasEdition", "wkg:hasEdition", "ProjectEditionShape-project"),
    ("edition-outside-project-period", ID + "edition/test-titled-late", "dcterms:temporal/dcat:endDate", "ends in 2014", "check-edition-within-project-period"),
    ("panel-before-project-period", ID + "panel/test-titled-early", "dcterms:temporal/dcat:startDate", "starts in 2007", "check-edition-within-project-period"),
    ("panel-edition-not-edition", ID + "panel/test-titled-bad-edition", "wkg:activeInEdition", "project edition", "ProjectPanelShape-activeInEdition"),
    ("training-module-negative-hours", ID + "training-module/test-titled-2", "wkg:hours", "non-negative", "TrainingModuleShape-hours"),
    ("training-module-without-project", ID + "training-module/test-orphan", "^wkg:hasTrainingModule", "not linked from any project", "TrainingModuleShape-project"),
    # outputs, events, awards, laws
    ("publication-zero-print-run", ID + "output/test-titled-leaflet", "wkg:printRun", "wkg:printRun", "PublicationShape-printRun"),
    ("certificate-awarded-to", ID + "output/test-titled-quality", "wkg:awardedTo", "wkg:Award", "CertificateShape-awardedTo"),
    ("output-orphan", ID + "output/test-orphan", "^wkg:hasOutput", "not linked from anything", "OutputShape-producer"),
    ("event-place-not-location", ID + "event/test-titled-seminar", "dcterms:spatial", "dcterms:Location", "EventShape-spatial"),
    ("event-zero-occurrences", ID + "event/test-titled-workshop", "wkg:occurrences", "at least 1", "EventShape-occurrences"),
    ("mobility-without-place", ID + "event/test-titled-trip", "dcterms:spatial", "dcterms:spatial", "MobilityShape-spatial"),
    ("award-without-recipient", ID + "award/test-titled-nobody", "wkg:awardedTo", "wkg:awardedTo", "AwardShape-awardedTo"),
    ("legal-act-without-title", ID + "legal-act/test-untitled", "dcterms:title", "dcterms:title", "LegalActShape-title"),
    ("legal-act-date-not-date", ID + "legal-act/test-year-only", "eli:date_document", "xsd:date", "LegalActShape-dateDocument"),
    # sources and people
    ("source-without-sha256", ID + "source/test-no-digest", "wkg:sha256", "wkg:sha256", "SourceDocumentShape-sha256"),
    ("source-orphan", ID + "source/test-orphan", "dcterms:source", "No project", "check-no-orphan-source"),
    ("contact-person-not-personal-data", ID + "person/test-public", "wkg:isPersonalData", "wkg:isPersonalData true", "ContactPersonShape-isPersonalData"),
    # organisations and places
    ("org-without-country", ID + "organisation/test-no-country", "wkg:country", "wkg:country", "OrganisationCountryShape-country"),
    ("org-without-type", ID + "organisation/test-no-type", "dcterms:type", "dcterms:type", "OrganisationShape-type"),
    ("org-type-wrong-scheme", ID + "organisation/test-wrong-type", "dcterms:type", "vocab/organisation-type", "OrganisationShape-type"),
    ("org-without-source", ID + "organisation/test-unsourced", "dcterms:source", "dcterms:source", "SourcedShape"),
    ("unit-without-parent", ID + "organisation/test-loose-team", "org:unitOf", "org:unitOf", "OrganizationalUnitShape-unitOf"),
    ("unit-parent-not-organisation", ID + "organisation/test-town-team", "org:unitOf", "is not an organisation", "check-unit-parent-is-organisation"),
    ("unit-parent-not-organisation", ID + "organisation/test-town-team", "org:unitOf", "org:unitOf", "OrganizationalUnitShape-unitOf"),
    ("unit-of-itself", ID + "organisation/test-team-a", "org:unitOf", "a unit of itself", "check-unit-parent-is-organisation"),
    ("unit-too-deep", ID + "organisation/test-level-4", "org:unitOf", "more than three levels deep", "check-unit-depth"),
    ("municipality-without-country", ID + "place/test-village", "wkg:country", "wkg:country", "MunicipalityShape-country"),
    ("location-without-label", "http://publications.europa.eu/resource/authority/country/DEU", "rdfs:label", "Polish rdfs:label", "LocationShape"),
    # funding chain
    ("measure-without-priority", ID + "funding/test-measure-2", "dcterms:isPartOf", "not dcterms:isPartOf a priority", "check-funding-chain"),
    ("measure-without-priority", ID + "funding/test-measure-2", "dcterms:isPartOf", "naming a priority", "ProgrammeMeasureShape-isPartOf"),
    ("priority-without-programme", ID + "funding/test-priority-2", "dcterms:isPartOf", "not dcterms:isPartOf a programme", "check-funding-chain"),
    ("priority-without-programme", ID + "funding/test-priority-2", "dcterms:isPartOf", "naming a programme", "ProgrammePriorityShape-isPartOf"),
    ("programme-fund-not-fund", ID + "funding/test-programme-2", "wkg:financedByFund", "must be a fund", "FundingProgrammeShape-financedByFund"),
    ("funder-not-organisation", ID + "funding/test-programme-3", "schema:funder", "must be an organisation", "FundingInstrumentShape-funder"),
    ("operating-budget-without-holder", ID + "funding/test-budget-2", "wkg:budgetHolder", "wkg:budgetHolder", "OperatingBudgetShape-budgetHolder"),
    ("fund-without-funder", ID + "funding/test-fund-2", "schema:funder", "should name its schema:funder", "FundShape-funder"),
    # SKOS
    ("concept-without-en-label", VOCAB + "method/test-no-en-label", "skos:prefLabel", "one in English (@en)", "ConceptShape"),
    ("concept-two-pl-labels", VOCAB + "method/test-two-pl-labels", "skos:prefLabel", "Exactly one skos:prefLabel", "ConceptShape"),
    ("concept-without-definition", VOCAB + "method/test-no-en-definition", "skos:definition", "Exactly one skos:definition", "ConceptShape"),
    ("concept-without-scheme", VOCAB + "method/test-no-scheme", "skos:inScheme", "skos:inScheme", "ConceptShape-inScheme"),
    ("concept-not-placed", VOCAB + "method/test-not-placed", "(skos:topConceptOf|skos:broader)", "neither skos:topConceptOf nor skos:broader", "ConceptShape-placed"),
    ("scheme-without-en-label", VOCAB + "test-scheme", "skos:prefLabel", "one in English (@en)", "ConceptSchemeShape"),
    ("labels-pl-only", "https://w3id.org/welfare-kg/ontology/TestClass", "rdfs:label", "none in English", "check-labels-bilingual"),
]

# Rules whose problems are warnings: the graph still conforms.
WARNINGS = {"ProjectShape-fundedBy", "OutputShape-producer", "FundShape-funder"}


@pytest.fixture(scope="module")
def base_graph() -> Graph:
    """Ontology, SKOS schemes and the valid base graph, parsed once for the module."""
    return store.parse_files(resources.ontology_files() + [VALID])


@pytest.fixture(scope="module")
def reports(base_graph):
    """Validate each fixture once, however many rows of CASES it has."""
    cache: dict[str, validate.ValidationReport] = {}

    def report_for(fixture: str) -> validate.ValidationReport:
        if fixture not in cache:
            graph = ReadOnlyGraphAggregate([base_graph, store.parse_files([INVALID / f"{fixture}.ttl"])])
            cache[fixture] = validate.validate_graph(graph)
        return cache[fixture]

    return report_for


@pytest.fixture(scope="module")
def shapes_graph() -> Graph:
    return Graph().parse(resources.shapes_file())


def rule_sources(shapes: Graph, rule: str) -> set[str]:
    """The sh:sourceShape values a rule may report under."""
    if rule.startswith(validate.CHECK_PREFIX):
        return {QUERIES + rule}
    node = URIRef(SHAPES + rule)
    if (node, RDF.type, SH.NodeShape) in shapes:
        parts = set(shapes.objects(node, SH.property)) | set(shapes.objects(node, SH.sparql))
        return {str(node)} | {str(p) for p in parts}
    return {str(node)}


@pytest.mark.parametrize(("fixture", "focus", "path", "fragment", "rule"), CASES,
                         ids=[f"{c[0]}:{c[4]}" for c in CASES])
def test_fixture_breaks_the_rule(reports, shapes_graph, fixture, focus, path, fragment, rule):
    report = reports(fixture)
    text = validate.format_report(report, "text")
    expected_severity = "Warning" if rule in WARNINGS else "Violation"
    if expected_severity == "Violation":
        assert not report.conforms, f"{fixture} should not conform:\n{text}"
    else:
        assert report.conforms, f"{fixture} has only a warning and should conform:\n{text}"
    sources = rule_sources(shapes_graph, rule)
    matching = [v for v in report.violations
                if v.focus == focus and v.path == path and fragment in v.message_en
                and v.source_shape in sources and v.severity == expected_severity]
    assert matching, (f"{fixture}: expected a {expected_severity} from {rule} on <{focus}> {path}"
                      f" mentioning {fragment!r}; got:\n{text}")
    assert all(v.message_pl for v in matching), f"{fixture}: no Polish message:\n{text}"


def test_base_fixture_is_clean(base_graph):
    report = validate.validate_graph(base_graph)
    assert report.conforms and not report.violations, validate.format_report(report, "text")


def test_every_fixture_is_in_the_table():
    on_disk = {p.stem for p in INVALID.glob("*.ttl")}
    assert on_disk == {case[0] for case in CASES}


def test_every_rule_has_a_failing_fixture(shapes_graph):
    """Each targeted node shape, each SPARQL constraint and each check query is broken by some fixture."""
    targets = (SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode, SH.target)
    targeted = {s for t in targets for s in shapes_graph.subjects(t, None)}
    constraints = set(shapes_graph.subjects(RDF.type, SH.SPARQLConstraint))
    rules = {str(n)[len(SHAPES):] for n in targeted | constraints}
    rules |= {p.stem for p in validate.check_query_files()}
    covered = {case[4] for case in CASES}
    covered |= {rule.split("-")[0] for rule in covered if not rule.startswith(validate.CHECK_PREFIX)}
    assert sorted(rules - covered) == []


def test_every_property_shape_is_documented_in_both_languages(shapes_graph):
    """sh:name, sh:description and sh:message in @pl and @en on every property shape and SPARQL constraint."""
    property_shapes = set(shapes_graph.subjects(SH.path, None))
    constraints = set(shapes_graph.subjects(RDF.type, SH.SPARQLConstraint))
    missing = []
    for shape in sorted(property_shapes | constraints):
        for predicate in (SH.name, SH.description, SH.message):
            languages = {o.language for o in shapes_graph.objects(shape, predicate) if isinstance(o, Literal)}
            for language in ("pl", "en"):
                if language not in languages:
                    missing.append(f"{shape} {predicate.n3(shapes_graph.namespace_manager)} @{language}")
    assert missing == []


def test_check_queries_have_headers_and_variables():
    files = validate.check_query_files()
    assert {p.stem for p in files} >= {
        "check-unit-parent-is-organisation", "check-no-orphan-source", "check-edition-within-project-period",
        "check-labels-bilingual", "check-funding-chain"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("#+ summary: "), path.name
        assert "\n#+ description: " in text, path.name
        select = text[text.index("SELECT"):text.index("WHERE")]
        assert "?focus" in select and "?message" in select, path.name


def test_validate_graph_leaves_the_graph_alone(base_graph):
    graph = Graph()
    graph += base_graph
    graph += store.parse_files([INVALID / "amount-negative.ttl"])
    before = set(graph)
    report = validate.validate_graph(graph)
    assert not report.conforms
    assert set(graph) == before


def test_format_text(reports):
    report = reports("cofinancing-above-total")
    lines = validate.format_report(report, "text").splitlines()
    assert len(lines) == len(report.violations) + 1
    assert lines[0].startswith("Projekt X <" + ID + "project/test-cofinancing-above-total> wkg:coFinancing: ")
    assert lines[-1] == "1 violation, 0 warnings: the graph does not conform."


def test_format_json(reports):
    report = reports("project-two-leads")
    data = json.loads(validate.format_report(report, "json"))
    assert data["conforms"] is False
    assert len(data["violations"]) == len(report.violations)
    first = data["violations"][0]
    assert set(first) == {"focus", "label", "path", "message", "message_en", "message_pl",
                          "severity", "source_shape"}
    assert first["focus"] == ID + "project/test-two-leads"
    assert first["label"] == "Projekt X"
    assert first["message_pl"].startswith("Projekt musi mieć dokładnie jedną")


def test_format_turtle(reports):
    report = reports("unit-parent-not-organisation")
    graph = Graph().parse(data=validate.format_report(report, "turtle"), format="turtle")
    report_node = graph.value(predicate=RDF.type, object=SH.ValidationReport)
    assert graph.value(report_node, SH.conforms) == Literal(False)
    results = set(graph.objects(report_node, SH.result))
    assert len(results) == len(report.violations)
    sources = {graph.value(r, SH.sourceShape) for r in results}
    assert URIRef(QUERIES + "check-unit-parent-is-organisation") in sources


def test_format_rejects_unknown_format(reports):
    with pytest.raises(UsageError, match="unknown report format"):
        validate.format_report(reports("project-two-leads"), "xml")


def test_validate_files_adds_the_ontology():
    report = validate.validate_files([VALID])
    assert report.conforms, validate.format_report(report, "text")


def test_validate_files_names_file_line_and_column(tmp_path):
    broken = tmp_path / "broken.ttl"
    broken.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c ;\n  ex:d .\n", encoding="utf-8")
    with pytest.raises(LoadError, match=r"broken\.ttl:3:\d+"):
        validate.validate_files([broken])


def test_curated_graph_conforms(graph):
    """The real graph (ontology, schemes, graph/*.ttl) keeps every shape and check query."""
    size = len(graph)
    report = validate.validate_graph(graph)
    assert len(graph) == size
    assert report.conforms, "\n" + validate.format_report(report, "text")
