"""Checklist for source document 003 (MOPS Gdynia ESF systemic project, May 2008 – December 2013).

Each test checks one group of facts of the page against the curated graph; a wrong or
missing value makes it fail.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, ORG, RDF, RDFS, SKOS, XSD

from welfare_kg.namespaces import BASE, COUNTRY, ELI, ID, SCHEMA, WKG

PROJECT = Namespace(BASE + "id/project/")
ORGANISATION = Namespace(BASE + "id/organisation/")
SRC = Namespace(BASE + "id/source/")
FUNDING = Namespace(BASE + "id/funding/")
METHOD = Namespace(BASE + "vocab/method/")
ROLE = Namespace(BASE + "vocab/role/")
TG = Namespace(BASE + "vocab/target-group/")
ORGTYPE = Namespace(BASE + "vocab/organisation-type/")
QUALIFIER = Namespace(BASE + "vocab/count-qualifier/")
PROJECTTYPE = Namespace(BASE + "vocab/project-type/")

P = PROJECT["mops-gdynia-systemic-project-2008"]
SOURCE = SRC["003-2c2b91088d8d6981"]
MOPS = ORGANISATION["mops-gdynia"]
GDYNIA = ID["place/gdynia"]
LEGAL_ACT = ID["legal-act/ustawa-2011-06-09-wspieranie-rodziny"]
FAMILY_TEAM = ORGANISATION["mops-gdynia-intensive-family-social-work-team"]
DISABILITY_TEAM = ORGANISATION["mops-gdynia-disability-counselling-activation-team"]

REPO = Path(__file__).resolve().parents[1]
TTL = REPO / "graph" / "003_2c2b91088d8d6981.ttl"
SEED = REPO.parent / "shared" / "seeds" / "003_2c2b91088d8d6981.txt"


def one(graph: Graph, s, p):
    values = list(graph.objects(s, p))
    assert len(values) == 1, f"expected exactly one {p} on {s}, got {values}"
    return values[0]


def texts(graph: Graph, s, p) -> dict[str, str]:
    return {o.language: str(o) for o in graph.objects(s, p) if isinstance(o, Literal)}


def amount(graph: Graph, prop) -> tuple[Decimal, str]:
    node = one(graph, P, prop)
    assert (node, RDF.type, SCHEMA.MonetaryAmount) in graph
    value = one(graph, node, SCHEMA.value)
    assert value.datatype == XSD.decimal
    return Decimal(str(value)), str(one(graph, node, SCHEMA.currency))


def period(graph: Graph, node) -> tuple[Literal, Literal]:
    p = one(graph, node, DCTERMS.temporal)
    assert (p, RDF.type, DCTERMS.PeriodOfTime) in graph
    return one(graph, p, DCAT.startDate), one(graph, p, DCAT.endDate)


def test_project_identity_and_editorial_label(graph):
    assert (P, RDF.type, WKG.Project) in graph
    assert (P, DCTERMS.source, SOURCE) in graph
    assert one(graph, P, WKG.hasEditorialLabel) == Literal(True)
    # no title on the page: no dcterms:title may be asserted as an official one
    assert list(graph.objects(P, DCTERMS.title)) == []
    assert set(texts(graph, P, RDFS.label)) == {"pl", "en"}
    assert set(texts(graph, P, SKOS.editorialNote)) == {"pl", "en"}
    assert (P, DCTERMS.type, PROJECTTYPE["systemic-project"]) in graph
    assert texts(graph, P, WKG.mainGoal)["pl"] == (
        "Zwiększenie społecznie akceptowalnej aktywności życiowej osób zagrożonych wykluczeniem społecznym.")
    assert "en" in texts(graph, P, WKG.mainGoal)


def test_lead_organisation(graph):
    assert list(graph.objects(P, WKG.leadOrganisation)) == [MOPS]


def test_period(graph):
    start, end = period(graph, P)
    assert start == Literal("2008-05", datatype=XSD.gYearMonth)
    assert end == Literal("2013-12", datatype=XSD.gYearMonth)


def test_funding(graph):
    assert list(graph.objects(P, WKG.fundedBy)) == [FUNDING.esf]
    assert (FUNDING.esf, RDF.type, WKG.Fund) in graph
    statement = texts(graph, P, WKG.fundingStatement)
    assert statement["pl"] == (
        "Projekt systemowy współfinansowany przez Unię Europejską w ramach Europejskiego Funduszu Społecznego.")
    assert "en" in statement


def test_budget(graph):
    assert amount(graph, WKG.totalBudget) == (Decimal("15707281.20"), "PLN")
    assert amount(graph, WKG.coFinancing) == (Decimal("13952247.93"), "PLN")


def test_key_activities(graph):
    activities = {int(one(graph, a, SCHEMA.position)): a for a in graph.objects(P, WKG.keyActivity)}
    assert sorted(activities) == [1, 2]
    first, second = activities[1], activities[2]
    for activity in (first, second):
        assert (activity, RDF.type, WKG.KeyActivity) in graph
        assert set(texts(graph, activity, DCTERMS.description)) == {"pl", "en"}
    assert set(graph.objects(first, WKG.involvesRole)) >= {
        ROLE["family-assistant"], ROLE["independence-assistant"], ROLE["social-worker"],
        ROLE["disability-adviser"], ROLE["pal-coordinator"]}
    # from 2011 "pogłębiona praca socjalna" introduced next to assistance
    assert (first, WKG.usesMethod, METHOD["deepened-social-work"]) in graph
    assert (second, WKG.usesMethod, METHOD["active-integration-instruments"]) in graph
    assert one(graph, P, WKG.maxParticipationYears) == Literal(3)


def test_active_integration_instruments_more_than_80(graph):
    activity = next(a for a in graph.objects(P, WKG.keyActivity)
                    if int(one(graph, a, SCHEMA.position)) == 2)
    indicator = one(graph, activity, WKG.indicator)
    assert (indicator, RDF.type, WKG.Indicator) in graph
    assert one(graph, indicator, WKG["count"]) == Literal(80)
    assert one(graph, indicator, WKG.countQualifier) == QUALIFIER["more-than"]


EXPECTED_EDITIONS = {  # position -> (start gYear, end gYear, derived?)
    1: ("2008", "2008", True),
    2: ("2009", "2009", True),
    3: ("2010", "2010", False),
    4: ("2011", "2011", True),
    5: ("2012", "2013", True),
}


def editions(graph) -> dict[int, URIRef]:
    return {int(one(graph, e, SCHEMA.position)): e for e in graph.objects(P, WKG.hasEdition)}


def test_five_editions_with_periods(graph):
    found = editions(graph)
    assert sorted(found) == [1, 2, 3, 4, 5]
    for position, (start, end, derived) in EXPECTED_EDITIONS.items():
        edition = found[position]
        assert (edition, RDF.type, WKG.ProjectEdition) in graph
        assert period(graph, edition) == (Literal(start, datatype=XSD.gYear), Literal(end, datatype=XSD.gYear))
        if derived:
            assert set(texts(graph, edition, SKOS.editorialNote)) == {"pl", "en"}, edition


EXPECTED_PANELS = {  # panel slug -> (editions, target group, method, role)
    "family-assistance": ({1, 2, 3, 4, 5}, TG.families, METHOD["family-assistance"], ROLE["family-assistant"]),
    "independence-assistance": ({2, 3, 4, 5}, TG["persons-becoming-independent"],
                                METHOD["independence-assistance"], ROLE["independence-assistant"]),
    "pal-zamenhofa-opata-hackiego": ({2, 3}, TG["residents-zamenhofa-opata-hackiego"],
                                     METHOD["local-activity-programme"], ROLE["pal-coordinator"]),
    "disability-support": ({3, 4, 5}, TG["persons-with-disabilities"],
                           METHOD["disability-counselling"], ROLE["disability-adviser"]),
    "pal-homelessness-prevention": ({3}, TG["people-at-risk-of-homelessness"],
                                    METHOD["local-activity-programme"], ROLE["pal-coordinator"]),
    "pal-lower-secondary-youth": ({4, 5}, TG["lower-secondary-youth"],
                                  METHOD["local-activity-programme"], ROLE["pal-coordinator"]),
}


def test_six_panels_and_their_editions(graph):
    panels = set(graph.objects(P, WKG.hasPanel))
    expected = {ID[f"panel/mops-gdynia-systemic-project-2008-{slug}"]: v for slug, v in EXPECTED_PANELS.items()}
    assert panels == set(expected)
    position_of = {e: n for n, e in editions(graph).items()}
    for panel, (eds, group, method, role) in expected.items():
        assert (panel, RDF.type, WKG.ProjectPanel) in graph
        assert {position_of[e] for e in graph.objects(panel, WKG.activeInEdition)} == eds, panel
        assert set(graph.objects(panel, WKG.targetGroup)) == {group}, panel
        assert (panel, WKG.usesMethod, method) in graph, panel
        assert set(graph.objects(panel, WKG.involvesRole)) == {role}, panel


def test_results(graph):
    results = {int(one(graph, r, SCHEMA.position)): r for r in graph.objects(P, WKG.result)}
    assert sorted(results) == [1, 2, 3, 4]
    for r in results.values():
        assert (r, RDF.type, WKG.Result) in graph
        assert set(texts(graph, r, DCTERMS.description)) == {"pl", "en"}
    assert (results[1], DCTERMS.references, LEGAL_ACT) in graph
    # result 2 gives no numbers: no indicator may be invented for it
    assert list(graph.objects(results[2], WKG.indicator)) == []


def test_legal_act(graph):
    assert (LEGAL_ACT, RDF.type, WKG.LegalAct) in graph
    assert one(graph, LEGAL_ACT, ELI.date_document) == Literal("2011-06-09", datatype=XSD.date)
    title = texts(graph, LEGAL_ACT, DCTERMS.title)
    assert title["pl"] == "Ustawa z dnia 9 czerwca 2011 roku o wspieraniu rodziny i systemie pieczy zastępczej"
    assert "en" in title
    assert (P, DCTERMS.references, LEGAL_ACT) in graph


def test_three_tier_model_and_family_assistant(graph):
    model = METHOD["three-tier-social-work"]
    levels = {METHOD["intensive-social-work"], METHOD["deepened-social-work"], METHOD["regular-social-work"]}
    assert set(graph.subjects(SKOS.broader, model)) == levels
    introduced = set(graph.objects(P, WKG.introducedPractice))
    assert {model} | levels <= introduced
    assert METHOD["disability-counselling"] in introduced  # result 3
    assert list(graph.objects(P, WKG.introducedRole)) == [ROLE["family-assistant"]]


def test_two_established_units(graph):
    units = set(graph.objects(P, WKG.establishedUnit))
    assert units == {FAMILY_TEAM, DISABILITY_TEAM}
    names = {FAMILY_TEAM: "Zespół ds. intensywnej pracy socjalnej z rodziną",
             DISABILITY_TEAM: "Zespół ds. doradztwa i aktywizacji osób niepełnosprawnych"}
    for unit in units:
        assert (unit, RDF.type, WKG.SpecialisedTeam) in graph
        assert one(graph, unit, ORG.unitOf) == MOPS
        assert one(graph, unit, DCTERMS.type) == ORGTYPE["specialised-team"]
        assert one(graph, unit, WKG.municipality) == GDYNIA
        assert one(graph, unit, WKG.country) == COUNTRY.POL
        assert texts(graph, unit, RDFS.label)["pl"] == names[unit]
        assert "en" in texts(graph, unit, RDFS.label)
        assert (unit, DCTERMS.source, SOURCE) in graph


def test_participants(graph):
    count = one(graph, P, WKG.participants)
    assert (count, RDF.type, WKG.ParticipantCount) in graph
    assert one(graph, count, WKG["count"]) == Literal(1326)
    assert set(graph.objects(count, WKG.countQualifier)) == {QUALIFIER.exact, QUALIFIER.total}  # "ogółem 1.326"
    assert (count, WKG.targetGroup, TG.residents) in graph


# --- traceability and vocabulary, read from this document's own file -----------------

@pytest.fixture(scope="module")
def doc_graph() -> Graph:
    return Graph().parse(TTL)


def test_source_document_node(graph):
    assert (SOURCE, RDF.type, WKG.SourceDocument) in graph
    assert one(graph, SOURCE, DCTERMS.identifier) == Literal("003_2c2b91088d8d6981.txt")
    digest = one(graph, SOURCE, WKG.sha256)
    assert str(digest).lower() == "5d90052930fecb695a34148d8e02b56f77bcbd7abbcfcfca166f5d4efd312048"
    if SEED.is_file():
        import hashlib
        assert hashlib.sha256(SEED.read_bytes()).hexdigest() == str(digest).lower()


def test_every_named_node_traceable_and_bilingual(doc_graph):
    for subject in set(doc_graph.subjects()):
        if not isinstance(subject, URIRef) or subject == SOURCE:
            continue
        assert (subject, DCTERMS.source, SOURCE) in doc_graph, subject
        assert set(texts(doc_graph, subject, RDFS.label)) == {"pl", "en"}, subject
    for s, p, o in doc_graph:
        if isinstance(o, Literal) and o.language == "pl":
            assert "en" in texts(doc_graph, s, p), (s, p)


def test_polish_source_text_is_verbatim(doc_graph):
    if not SEED.is_file():
        pytest.skip("source document not available")
    page = " ".join(SEED.read_text(encoding="utf-8").split())
    for prop in (DCTERMS.description, WKG.mainGoal, WKG.fundingStatement):
        for s, o in doc_graph.subject_objects(prop):
            if o.language == "pl":
                assert " ".join(str(o).split()) in page, (s, prop)


def test_only_declared_terms(graph, doc_graph):
    for s, p, o in doc_graph:
        assert p == RDF.type or (p, RDF.type, None) in graph, f"undeclared property {p}"
        if p == RDF.type:
            assert (o, RDF.type, None) in graph, f"undeclared class {o}"
        elif isinstance(o, URIRef) and str(o).startswith(BASE + "vocab/"):
            assert (o, RDF.type, SKOS.Concept) in graph, f"unknown concept {o}"
        elif isinstance(o, URIRef) and str(o).startswith(BASE + "id/"):
            assert (o, RDF.type, None) in graph, f"dangling reference {o}"
