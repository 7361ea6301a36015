"""Checklist for 001_8a9b980c5aac5610.txt: the PO KL 1.2 project on standards of social assistance
and integration services (2009–2014), with the community social work standard of CAL and ISP."""

from __future__ import annotations

from rdflib.namespace import XSD

from conftest import ask, rows

P = "project:standardy-uslug-pomocy-i-integracji-2009"
SRC = "src:001-8a9b980c5aac5610"
TASK = "<https://w3id.org/welfare-kg/id/task/standardy-uslug-pomocy-i-integracji-2009-community-social-work-standard>"
TITLE = "Tworzenie i rozwijanie standardów usług pomocy i integracji społecznej"


def test_source_document_with_year_marker(graph):
    assert ask(graph, f"""ASK {{
        {SRC} a wkg:SourceDocument ;
            dcterms:identifier "001_8a9b980c5aac5610.txt" ;
            wkg:sha256 "5c29b0eadf050281d9f0dc8eddd83d811b963a52a62ec58f4da1dc247f5f215c"^^xsd:hexBinary ;
            dcterms:language <http://publications.europa.eu/resource/authority/language/POL> ;
            skos:editorialNote ?pl , ?en .
        FILTER(lang(?pl) = "pl" && lang(?en) = "en")
        {P} dcterms:source {SRC} .
    }}""")
    (year,), = rows(graph, f"SELECT ?y WHERE {{ {SRC} dcterms:date ?y }}")
    assert (str(year), year.datatype) == ("2014", XSD.gYear)


def test_official_title(graph):
    assert ask(graph, f"""ASK {{
        {P} a wkg:Project ;
            dcterms:title "{TITLE}"@pl ;
            rdfs:label "{TITLE}"@pl , ?en .
        FILTER(lang(?en) = "en")
        FILTER NOT EXISTS {{ {P} wkg:hasEditorialLabel true }}
    }}""")


def test_main_goal_verbatim(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:mainGoal "podniesienie profesjonalizmu i zwiększenie skuteczności instytucji pomocy i integracji społecznej w rozwiązywaniu problemu wykluczenia społecznego poprzez stworzenie, przetestowanie oraz wdrożenie standardów instytucji i usług pomocy oraz integracji społecznej"@pl ;
            wkg:mainGoal ?en . FILTER(lang(?en) = "en")
    }}""")


def test_period_march_2009_to_april_2014(graph):
    (start, end), = rows(graph, f"""SELECT ?s ?e WHERE {{
        {P} dcterms:temporal [ a dcterms:PeriodOfTime ; dcat:startDate ?s ; dcat:endDate ?e ] }}""")
    assert (str(start), start.datatype) == ("2009-03-01", XSD.date)
    assert (str(end), end.datatype) == ("2014-04-30", XSD.date)


def test_funded_by_po_kl_measure_1_2(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:fundedBy funding:po-kl-measure-1-2 ;
            wkg:fundingStatement "Projekt współfinansowany przez Unię Europejską w ramach środków Europejskiego Funduszu Społecznego."@pl ,
                ?en .
        FILTER(lang(?en) = "en")
        funding:po-kl-measure-1-2 a wkg:ProgrammeMeasure ; skos:notation "1.2" ;
            dcterms:isPartOf funding:po-kl-priority-1 .
        funding:po-kl-priority-1 a wkg:ProgrammePriority ; skos:notation "I" ;
            dcterms:isPartOf funding:po-kl .
        funding:po-kl a wkg:FundingProgramme ; wkg:financedByFund funding:esf .
    }}""")
    assert len(rows(graph, f"SELECT ?f WHERE {{ {P} wkg:fundedBy ?f }}")) == 1


def test_no_budget_invented(graph):
    assert not ask(graph, f"""ASK {{
        {{ {P} wkg:totalBudget ?b }} UNION {{ {P} wkg:coFinancing ?c }} UNION {{ {P} wkg:budgetNotApplicable ?n }}
    }}""")


def test_no_lead_organisation_and_reason(graph):
    assert not ask(graph, f"ASK {{ {P} wkg:leadOrganisation ?o }}")
    assert ask(graph, f"""ASK {{
        {P} wkg:noSingleLeadReason ?pl , ?en .
        FILTER(lang(?pl) = "pl" && lang(?en) = "en")
    }}""")


def test_six_tasks(graph):
    (count, qualifier), = rows(graph, f"""SELECT ?n ?q WHERE {{
        {P} wkg:indicator ?i . ?i a wkg:Indicator ; wkg:count ?n ; wkg:countQualifier ?q ;
            dcterms:source {SRC} .
        FILTER NOT EXISTS {{ ?i a wkg:ParticipantCount }} }}""")
    assert int(count) == 6
    assert str(qualifier).endswith("/count-qualifier/exact")


def test_community_social_work_task_jointly_by_cal_and_isp(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:hasTask {TASK} .
        {TASK} a wkg:ProjectTask ;
            wkg:responsibleOrganisation organisation:stowarzyszenie-cal , organisation:fundacja-isp ;
            wkg:plannedPractice method:community-social-work-standard ;
            dcterms:description ?d ;
            dcterms:source {SRC} .
        FILTER(lang(?d) = "pl" && CONTAINS(?d, "odpowiadają wspólnie"))
        {P} wkg:plannedPractice method:community-social-work-standard .
    }}""")
    responsible = {str(r.o) for r in rows(graph, f"SELECT ?o WHERE {{ {TASK} wkg:responsibleOrganisation ?o }}")}
    assert responsible == {"https://w3id.org/welfare-kg/id/organisation/stowarzyszenie-cal",
                           "https://w3id.org/welfare-kg/id/organisation/fundacja-isp"}


def test_three_new_roles_forming_community_organiser_are_planned(graph):
    for node in (P, TASK):
        assert ask(graph, f"""ASK {{
            {node} wkg:plannedRole role:animator , role:mediator , role:local-social-politician ,
                role:community-organiser .
        }}"""), node
    assert ask(graph, """ASK {
        role:animator skos:broader role:community-organiser .
        role:mediator skos:broader role:community-organiser .
        role:local-social-politician skos:broader role:community-organiser .
    }""")


def test_about_3000_social_workers_by_april_2014(graph):
    (qualifier, end), = rows(graph, f"""SELECT ?q ?end WHERE {{
        {P} wkg:participants ?c .
        ?c a wkg:ParticipantCount ; wkg:count 3000 ; wkg:countQualifier ?q ;
            wkg:countQualifier qualifier:target ;
            wkg:targetGroup tg:social-workers ;
            dcterms:temporal [ dcat:endDate ?end ] ;
            dcterms:description ?pl , ?en ;
            dcterms:source {SRC} .
        FILTER(lang(?pl) = "pl" && CONTAINS(?pl, "niepublicznych podmiotach pomocy społecznej") && lang(?en) = "en"
               && ?q != qualifier:target)
    }}""")
    assert str(qualifier).endswith("/count-qualifier/approximate")
    assert (str(end), end.datatype) == ("2014-04", XSD.gYearMonth)


def test_what_the_page_announces_is_never_recorded_as_done(graph):
    """The page speaks of the standard, the roles and the 3000 trained in the future ("zakłada",
    "stworzą"): they are planned, and the count is a target as well as approximate."""
    assert not ask(graph, f"""ASK {{
        VALUES ?node {{ {P} {TASK} }}
        ?node wkg:introducedPractice|wkg:introducedRole|wkg:establishedUnit ?anything }}""")
    qualifiers = {str(q).rsplit("/", 1)[1] for q, in rows(graph, f"""SELECT ?q WHERE {{
        {P} wkg:participants ?c . ?c wkg:count 3000 ; wkg:countQualifier ?q }}""")}
    assert qualifiers == {"approximate", "target"}


def test_mopr_gdansk_participates_with_two_staff(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:participatingOrganisation organisation:mopr-gdansk ;
            wkg:participants ?c .
        ?c a wkg:ParticipantCount ; wkg:count 2 ; wkg:countQualifier qualifier:exact ;
            dcterms:description "W Projekcie udział bierze 2 pracowników Miejskiego Ośrodka Pomocy Rodzinie w Gdańsku."@pl ;
            dcterms:source {SRC} .
    }}""")
    counts = sorted(int(r.n) for r in rows(graph, f"""SELECT ?n WHERE {{
        {P} wkg:participants ?c . ?c wkg:count ?n }}"""))
    assert counts == [2, 3000]


def test_named_nodes_traceable_and_bilingual(graph):
    missing = rows(graph, f"""SELECT ?s WHERE {{
        ?s dcterms:source {SRC} .
        FILTER(isIRI(?s))
        FILTER NOT EXISTS {{ ?s rdfs:label ?pl , ?en . FILTER(lang(?pl) = "pl" && lang(?en) = "en") }}
        FILTER(STRSTARTS(STR(?s), "https://w3id.org/welfare-kg/id/project/")
            || STRSTARTS(STR(?s), "https://w3id.org/welfare-kg/id/task/")
            || STRSTARTS(STR(?s), "https://w3id.org/welfare-kg/id/indicator/"))
    }}""")
    assert missing == []
    untranslated = rows(graph, f"""SELECT ?s ?p WHERE {{
        ?s dcterms:source {SRC} ; ?p ?pl . FILTER(lang(?pl) = "pl")
        FILTER NOT EXISTS {{ ?s ?p ?en . FILTER(lang(?en) = "en") }}
    }}""")
    assert untranslated == []
    for node in (TASK, "<https://w3id.org/welfare-kg/id/indicator/standardy-uslug-pomocy-i-integracji-2009-tasks>"):
        assert ask(graph, f"ASK {{ {node} dcterms:source {SRC} }}"), node
