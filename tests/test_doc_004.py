"""Checklist for 004_f019134a6906dbe2.txt: community organising by the CAL method in Gdynia's districts."""

from __future__ import annotations

from rdflib import URIRef

from conftest import ask, rows

G_YEAR_MONTH = URIRef("http://www.w3.org/2001/XMLSchema#gYearMonth")

P = "project:mops-gdynia-cal-community-organising-2002"
SRC = "src:004-f019134a6906dbe2"
DOPS = [f"organisation:mops-gdynia-dops-{n}" for n in range(1, 5)]
GROUPS = [f"organisation:mops-gdynia-dops-{n}-local-animator-group" for n in range(1, 5)]


def test_source_document(graph):
    assert ask(graph, f"""ASK {{
        {SRC} a wkg:SourceDocument ;
            dcterms:identifier "004_f019134a6906dbe2.txt" ;
            wkg:sha256 "39a8f2f43685a05a0afd71889d66423a16de859d179bafe661f18cfba24e8a0c"^^xsd:hexBinary .
        {P} dcterms:source {SRC} .
    }}""")


def test_editorial_label_not_a_title(graph):
    assert ask(graph, f"""ASK {{
        {P} a wkg:Project ; wkg:hasEditorialLabel true ; skos:editorialNote ?n .
        FILTER NOT EXISTS {{ {P} dcterms:title ?t }}
    }}""")


def test_main_goal_verbatim(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:mainGoal "Aktywizacja i organizacja społeczności lokalnych w oparciu o rozpoznane potrzeby i zasoby mieszkańców i społeczności oraz tworzenie lokalnych strategii rozwoju ukierunkowanych na zaspakajanie potrzeb."@pl .
    }}""")


def test_four_dops_units_of_mops_gdynia(graph):
    for dops in DOPS:
        assert ask(graph, f"""ASK {{
            {dops} a wkg:DistrictWelfareCentre ;
                org:unitOf organisation:mops-gdynia ;
                dcterms:type orgtype:dops ;
                wkg:municipality <https://w3id.org/welfare-kg/id/place/gdynia> ;
                wkg:country country:POL ;
                skos:editorialNote ?note ;
                dcterms:source {SRC} .
        }}"""), dops


def test_four_dops_lead_jointly(graph):
    leads = {r.o for r in rows(graph, f"SELECT ?o WHERE {{ {P} wkg:leadOrganisation ?o }}")}
    assert leads == {graph.namespace_manager.expand_curie(d) for d in DOPS} and len(leads) == 4
    langs = {r.l.language for r in rows(graph, f"SELECT ?l WHERE {{ {P} wkg:noSingleLeadReason ?l }}")}
    assert langs == {"pl", "en"}


def test_four_animator_groups_one_per_dops(graph):
    for dops, group in zip(DOPS, GROUPS):
        assert ask(graph, f"""ASK {{
            {group} a wkg:LocalAnimatorGroup ; org:unitOf {dops} ;
                dcterms:type orgtype:local-animator-group ; dcterms:source {SRC} .
            {P} wkg:establishedUnit {group} .
        }}"""), group


def test_citizen_information_points_one_node_without_count(graph):
    assert ask(graph, f"""ASK {{
        organisation:mops-gdynia-citizen-information-points a wkg:CitizenInformationPoint ;
            org:unitOf organisation:mops-gdynia ; skos:editorialNote ?note .
        {P} wkg:establishedUnit organisation:mops-gdynia-citizen-information-points .
        FILTER NOT EXISTS {{ organisation:mops-gdynia-citizen-information-points wkg:count ?n }}
    }}""")
    units = rows(graph, f"SELECT ?u WHERE {{ {P} wkg:establishedUnit ?u }}")
    assert len(units) == 5


def test_period_december_2002_to_december_2006(graph):
    (start, end), = rows(graph, f"""SELECT ?s ?e WHERE {{
        {P} dcterms:temporal [ dcat:startDate ?s ; dcat:endDate ?e ] }}""")
    assert (str(start), start.datatype) == ("2002-12", G_YEAR_MONTH)
    assert (str(end), end.datatype) == ("2006-12", G_YEAR_MONTH)


def test_operating_budget_and_no_budget(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:budgetNotApplicable true ;
            wkg:fundedBy funding:mops-gdynia-operating-budget ;
            wkg:fundingStatement "Projekt realizowany w ramach bieżacej działaności MOPS."@pl .
        FILTER NOT EXISTS {{ {P} wkg:totalBudget ?b }}
    }}""")


def test_seven_key_activities_and_seven_results(graph):
    for prop in ("wkg:keyActivity", "wkg:result"):
        positions = sorted(int(r.pos) for r in rows(graph, f"""SELECT ?pos WHERE {{
            {P} {prop} ?x . ?x schema:position ?pos ; dcterms:source {SRC} }}"""))
        assert positions == list(range(1, 8)), prop


def test_interdisciplinary_teams_roles(graph):
    roles = {r.role for r in rows(graph, f"""SELECT ?role WHERE {{
        {P} wkg:keyActivity ?a . ?a schema:position 6 ;
            wkg:usesMethod method:mobile-interdisciplinary-teams , method:district-interdisciplinary-teams ;
            wkg:involvesRole ?role }}""")}
    expected = {graph.namespace_manager.expand_curie("role:" + r) for r in (
        "social-worker", "municipal-guard", "police-officer", "pedagogue",
        "psychologist", "probation-officer", "community-nurse")}
    assert roles == expected


def test_volunteering_pilot_programme(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:keyActivity ?a . ?a schema:position 7 ; wkg:usesMethod method:volunteering ;
            dcterms:description ?d . FILTER(CONTAINS(?d, "Wolontariat w MOPS"))
    }}""")


def test_award_presented_at_forum_conference(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:award ?award .
        ?award a wkg:Award ; rdfs:label "Certyfikat Jakości pracy metodą CAL"@pl ;
            wkg:awardedTo organisation:mops-gdynia ; wkg:presentedAt ?conf .
        ?conf a wkg:Conference ;
            rdfs:label "XIII Ogólnopolska Konferencja Samorządowych Ośrodków Pomocy Społecznej „FORUM”"@pl .
        FILTER NOT EXISTS {{ ?conf ?dateProp ?date . FILTER(?dateProp IN (dcterms:date, dcterms:temporal)) }}
    }}""")


def test_participants_named_without_invented_count(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:targetGroup tg:residents , tg:local-communities , tg:social-workers , tg:local-institutions ;
            dcterms:description ?d .
        FILTER(lang(?d) = "pl" && CONTAINS(?d, "ze wszystkich gdyńskich dzielnic"))
        FILTER NOT EXISTS {{ {P} wkg:participants ?pc }}
    }}""")


def test_methods_practice_and_role(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:usesMethod method:cal-method , method:community-social-work ,
                method:resource-and-needs-mapping , method:local-partnership , method:self-help-groups ,
                method:citizen-information , method:mobile-interdisciplinary-teams ,
                method:district-interdisciplinary-teams , method:volunteering ;
            wkg:introducedPractice method:community-social-work ;
            wkg:introducedRole role:animator .
    }}""")


def test_the_animator_role_says_what_it_is_derived_from(graph):
    notes = {note.language for note, in rows(graph, f"""SELECT ?note WHERE {{
        {P} skos:editorialNote ?note . FILTER(CONTAINS(STR(?note), "role:animator")) }}""")}
    assert notes == {"pl", "en"}
