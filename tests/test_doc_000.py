"""Checklist for 000_b867f87ad8e13151.txt: MOPS Gdynia's Erasmus+ job-shadowing project with MVO Proxima."""

from __future__ import annotations

from decimal import Decimal

from rdflib import URIRef
from rdflib.namespace import XSD

from conftest import ask, rows

G_YEAR_MONTH = XSD.gYearMonth

P = "project:mops-gdynia-erasmus-job-shadowing-2019"
SRC = "src:000-b867f87ad8e13151"


def test_source_document(graph):
    assert ask(graph, f"""ASK {{
        {SRC} a wkg:SourceDocument ;
            dcterms:identifier "000_b867f87ad8e13151.txt" ;
            wkg:sha256 "7b40d45b0bf18b4bee2a41d941c338237273db5003926c71010c46d03d6a67cb"^^xsd:hexBinary .
        {P} dcterms:source {SRC} .
    }}""")


def test_editorial_label_not_a_title(graph):
    assert ask(graph, f"""ASK {{
        {P} a wkg:Project ; wkg:hasEditorialLabel true ;
            skos:editorialNote ?pl , ?en .
        FILTER(lang(?pl) = "pl" && lang(?en) = "en")
        FILTER NOT EXISTS {{ {P} dcterms:title ?t }}
    }}""")


def test_main_goal_verbatim(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:mainGoal "Rozwój i praktykowanie idei samouczącej się instytucji w zakresie wsparcia i edukacji osób zagrożonych marginalizacją."@pl ;
            wkg:mainGoal ?en . FILTER(lang(?en) = "en")
    }}""")


def test_lead_and_partner(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:leadOrganisation organisation:mops-gdynia ;
            wkg:partnerOrganisation organisation:mvo-proxima .
        organisation:mvo-proxima wkg:country country:SVK .
    }}""")
    leads = rows(graph, f"SELECT ?o WHERE {{ {P} wkg:leadOrganisation ?o }}")
    assert len(leads) == 1


def test_period_december_2019_to_november_2021(graph):
    (start, end), = rows(graph, f"""SELECT ?s ?e WHERE {{
        {P} dcterms:temporal [ dcat:startDate ?s ; dcat:endDate ?e ] }}""")
    assert (str(start), start.datatype) == ("2019-12", G_YEAR_MONTH)
    assert (str(end), end.datatype) == ("2021-11", G_YEAR_MONTH)


def test_budget_and_co_financing_in_eur(graph):
    (value, currency), = rows(graph, f"""SELECT ?v ?c WHERE {{
        {P} wkg:totalBudget [ a schema:MonetaryAmount ; schema:value ?v ; schema:currency ?c ] }}""")
    assert (value.toPython(), str(currency)) == (Decimal("33826.00"), "EUR")
    (value, currency), = rows(graph, f"""SELECT ?v ?c WHERE {{
        {P} wkg:coFinancing [ a schema:MonetaryAmount ; schema:value ?v ; schema:currency ?c ] }}""")
    assert (value.toPython(), str(currency)) == (Decimal("26502.00"), "EUR")


def test_funded_by_erasmus_plus(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:fundedBy funding:erasmus-plus ;
            wkg:fundingStatement "Projekt współfinansowany ze środków Unii Europejskiej w ramach programu Erasmus+."@pl .
    }}""")


def test_three_key_activities_in_order(graph):
    positions = sorted(int(r.pos) for r in rows(graph, f"""SELECT ?pos WHERE {{
        {P} wkg:keyActivity ?a . ?a a wkg:KeyActivity ; schema:position ?pos ; dcterms:source {SRC} }}"""))
    assert positions == [1, 2, 3]


def test_three_one_week_mobilities_in_slovakia(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:keyActivity ?a .
        ?a schema:position 2 ; wkg:hasOutput ?m .
        ?m a wkg:Mobility ; wkg:occurrences 3 ;
           dcterms:spatial country:SVK ; wkg:usesMethod method:job-shadowing .
    }}""")


def test_three_mobilities_are_the_scope_not_a_report(graph):
    """The page lists "Organizacja trzech …" among the key activities and never says how many took place."""
    (description, notes), = rows(graph, f"""SELECT ?d (COUNT(DISTINCT ?note) AS ?notes) WHERE {{
        {P} wkg:keyActivity/wkg:hasOutput ?m . ?m a wkg:Mobility ; dcterms:description ?d ; skos:editorialNote ?note .
        FILTER(lang(?d) = "pl" && lang(?note) IN ("pl", "en")) }} GROUP BY ?d""")
    assert str(description).startswith("Organizacja trzech „słowackich szlaków edukacyjnych”")
    assert int(notes) == 2


def test_preparation_uses_visual_thinking_workshops(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:keyActivity ?a .
        ?a schema:position 1 ; wkg:usesMethod method:job-shadowing ; wkg:hasOutput ?w .
        ?w a wkg:Workshop ; wkg:usesMethod method:visual-thinking .
    }}""")


def test_dissemination_outputs(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:keyActivity ?a .
        ?a schema:position 3 ;
           wkg:hasOutput ?compendium , ?meetings , ?conference .
        ?compendium a wkg:Publication .
        ?meetings a wkg:Meeting ; wkg:targetGroup tg:welfare-staff .
        ?conference a wkg:Conference .
    }}""")


def test_five_results(graph):
    positions = sorted(int(r.pos) for r in rows(graph, f"""SELECT ?pos WHERE {{
        {P} wkg:result ?r . ?r a wkg:Result ; schema:position ?pos ; dcterms:source {SRC} }}"""))
    assert positions == [1, 2, 3, 4, 5]
    assert ask(graph, f"""ASK {{
        {P} wkg:result ?r . ?r schema:position 5 ;
            dcterms:description "Podniesienie prestiżu zawodowego pracownika socjalnego jako edukatora."@pl ;
            wkg:involvesRole role:educator .
    }}""")


def test_participants_target_21_staff_with_six_areas(graph):
    found = rows(graph, f"""SELECT ?n ?q WHERE {{
        {P} wkg:participants ?pc . ?pc a wkg:ParticipantCount ;
            wkg:count ?n ; wkg:countQualifier ?q ; wkg:targetGroup tg:welfare-staff }}""")
    assert {count.toPython() for count, _ in found} == {21}
    qualifier = "https://w3id.org/welfare-kg/vocab/count-qualifier/"
    assert {q for _, q in found} == {URIRef(qualifier + "exact"), URIRef(qualifier + "target")}  # "Docelowo 21"
    areas = {r.t for r in rows(graph, f"""SELECT ?t WHERE {{
        {P} wkg:participants/wkg:thematicArea ?t }}""")}
    theme = "https://w3id.org/welfare-kg/vocab/theme/"
    assert areas == {URIRef(theme + t) for t in (
        "housing-problems", "substance-addiction", "becoming-independent",
        "local-community-integration", "assistance-work", "family-integrity")}


def test_methods_and_themes(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:usesMethod method:job-shadowing , method:visual-thinking , method:learning-organisation ;
            wkg:thematicArea theme:non-formal-education .
    }}""")


def test_informal_and_non_formal_keep_their_polish_meaning_in_english(graph):
    """'edukacja nieformalna' is informal education, 'uczenie się pozaformalne' non-formal learning."""
    english = {str(r.text) for r in rows(graph, """SELECT ?text WHERE {
        { ?s dcterms:description ?text } UNION { ?s skos:prefLabel ?text }
        FILTER(LANG(?text) = "en" && CONTAINS(?text, "formal"))
    }""")}
    assert english and all("informal education and non-formal learning" in text for text in english)


def test_every_named_node_is_traceable(graph):
    untraced = rows(graph, f"""SELECT DISTINCT ?n WHERE {{
        {{ {P} (wkg:keyActivity|wkg:result|wkg:participants|wkg:hasOutput) ?n }}
        UNION {{ {P} wkg:keyActivity/wkg:hasOutput ?n }}
        FILTER NOT EXISTS {{ ?n dcterms:source {SRC} }}
    }}""")
    assert untraced == []

