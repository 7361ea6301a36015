"""Checklist for 002_f8c82852a6f100af.txt: "Sami sobie", MOPR Lublin's SPO RZL 1.5 training project
for social workers (2006–2007)."""

from __future__ import annotations

from decimal import Decimal

from rdflib.namespace import XSD

from conftest import ask, rows

P = "project:sami-sobie-2006"
SRC = "src:002-f8c82852a6f100af"
TITLE = "Sami sobie - program rozwoju standardów jakości usług dla pracowników socjalnych"
ID = "https://w3id.org/welfare-kg/id/"


def test_source_document(graph):
    assert ask(graph, f"""ASK {{
        {SRC} a wkg:SourceDocument ;
            dcterms:identifier "002_f8c82852a6f100af.txt" ;
            wkg:sha256 "e7f153b3c74d5704afd3c0290526e25947769a1c8d32e4d3e9ac16715f760a80"^^xsd:hexBinary ;
            dcterms:language <http://publications.europa.eu/resource/authority/language/POL> .
        {P} dcterms:source {SRC} .
    }}""")


def test_official_title_without_stray_quote(graph):
    assert ask(graph, f"""ASK {{
        {P} a wkg:Project ; dcterms:title "{TITLE}"@pl ; rdfs:label "{TITLE}"@pl , ?en .
        FILTER(lang(?en) = "en")
    }}""")
    titles = [str(r.t) for r in rows(graph, f"SELECT ?t WHERE {{ {P} dcterms:title ?t }}")]
    assert not any('"' in t for t in titles)


def test_main_goal_verbatim(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:mainGoal "poprawa efektywności działań instytucji pomocy społecznej przez ułatwienie pracy z klientami MOPR - osobami z grup szczególnego ryzyka oraz wzrost stopnia współpracy z partnerami działającymi w obszarze polityki społecznej"@pl ;
            wkg:mainGoal ?en . FILTER(lang(?en) = "en")
    }}""")


def test_period_may_2006_to_march_2007_completed(graph):
    (start, end, note), = rows(graph, f"""SELECT ?s ?e ?d WHERE {{
        {P} dcterms:temporal [ a dcterms:PeriodOfTime ; dcat:startDate ?s ; dcat:endDate ?e ;
            dcterms:description ?d ] . FILTER(lang(?d) = "pl") }}""")
    assert (str(start), start.datatype) == ("2006-05-04", XSD.date)
    assert (str(end), end.datatype) == ("2007-03-31", XSD.date)
    assert "zakończony" in str(note)


def test_funded_by_spo_rzl_measure_1_5(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:fundedBy funding:spo-rzl-measure-1-5 ;
            wkg:fundingStatement "projekt współfinansowany ze środków Europejskiego Funduszu Społecznego w ramach Sektorowego Programu Operacyjnego Rozwój Zasobów Ludzkich Priorytet I działanie 1.5"@pl , ?en .
        FILTER(lang(?en) = "en")
        funding:spo-rzl-measure-1-5 skos:notation "1.5" ; dcterms:isPartOf funding:spo-rzl-priority-1 .
        funding:spo-rzl-priority-1 dcterms:isPartOf funding:spo-rzl .
        funding:spo-rzl wkg:financedByFund funding:esf .
    }}""")
    assert not ask(graph, f"""ASK {{
        {{ {P} wkg:totalBudget ?b }} UNION {{ {P} wkg:coFinancing ?c }} UNION {{ {P} wkg:budgetNotApplicable ?n }}
    }}""")


def test_lead_mopr_lublin_as_documented_inference(graph):
    leads = [str(r.o) for r in rows(graph, f"SELECT ?o WHERE {{ {P} wkg:leadOrganisation ?o }}")]
    assert leads == [ID + "organisation/mopr-lublin"]
    assert ask(graph, f"""ASK {{
        {P} skos:editorialNote ?pl , ?en ; dcterms:spatial <{ID}place/lublin> .
        FILTER(lang(?pl) = "pl" && CONTAINS(?pl, "klientach MOPR") && lang(?en) = "en")
    }}""")
    # the unnamed partner institutions are not invented as organisations
    assert not ask(graph, f"ASK {{ {P} wkg:partnerOrganisation ?o }}")


def test_80_participants_in_total(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:participants ?c .
        ?c a wkg:ParticipantCount ; wkg:count 80 ; wkg:countQualifier qualifier:total ;
            wkg:targetGroup tg:social-workers , tg:partner-institution-staff ;
            dcterms:description ?d ; dcterms:source {SRC} .
        FILTER(lang(?d) = "pl" && CONTAINS(?d, "instytucji partnerskich z terenu Lublina (łącznie 80 osób)"))
    }}""")
    assert len(rows(graph, f"SELECT ?c WHERE {{ {P} wkg:participants ?c }}")) == 1


def test_training_modules_hours(graph):
    found = {int(r.pos): (r.hours.toPython(), str(r.label)) for r in rows(graph, f"""
        SELECT ?pos ?hours ?label WHERE {{
            {P} wkg:hasTrainingModule ?m .
            ?m a wkg:TrainingModule ; schema:position ?pos ; wkg:hours ?hours ; rdfs:label ?label ;
               dcterms:description ?pl , ?en ; dcterms:source {SRC} .
            FILTER(lang(?label) = "pl" && lang(?pl) = "pl" && lang(?en) = "en")
        }}""")}
    assert {pos: hours for pos, (hours, _) in found.items()} == {
        1: Decimal(48), 2: Decimal(56), 3: Decimal(48), 4: Decimal(116)}
    assert "specyfika pracy z osobami wykluczonymi społecznie" in found[1][1]
    assert "kształtowanie umiejętności interpersonalnych" in found[2][1]
    assert "elementy doradztwa zawodowego w kontekście pracy socjalnej" in found[3][1]
    assert "języka angielskiego" in found[4][1]
    assert ask(graph, f"""ASK {{
        ?m schema:position 3 ; dcterms:description ?d . {P} wkg:hasTrainingModule ?m .
        FILTER(lang(?d) = "pl" && CONTAINS(?d, "metody aktywnego poszukiwania pracy"))
    }}""")


def test_outputs_workshop_seminar_certificates_handbook(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:hasOutput ?w , ?s , ?c , ?h .
        ?w a wkg:Workshop . ?s a wkg:Seminar . ?c a wkg:Certificate .
        ?h a wkg:Publication ; wkg:printRun 100 ;
            dcterms:title "Poradnik - kompendium treści zawartych w materiałach szkoleniowych"@pl .
    }}""")


def _results(graph, kind):
    return sorted(int(r.pos) for r in rows(graph, f"""SELECT ?pos WHERE {{
        {P} wkg:result ?r . ?r a wkg:Result ; schema:position ?pos ; wkg:resultType resulttype:{kind} ;
            dcterms:description ?pl , ?en ; dcterms:source {SRC} .
        FILTER(lang(?pl) = "pl" && lang(?en) = "en") }}"""))


def test_six_hard_and_seven_soft_results(graph):
    assert _results(graph, "hard") == [1, 2, 3, 4, 5, 6]
    assert _results(graph, "soft") == [7, 8, 9, 10, 11, 12, 13]
    assert len(rows(graph, f"SELECT ?r WHERE {{ {P} wkg:result ?r }}")) == 13


def test_hard_result_indicators(graph):
    found = sorted(int(r.n) for r in rows(graph, f"""SELECT ?n WHERE {{
        {P} wkg:result ?r . ?r wkg:resultType resulttype:hard ; wkg:indicator ?i .
        ?i a wkg:Indicator ; wkg:count ?n ; wkg:countQualifier qualifier:exact ; dcterms:source {SRC} }}"""))
    assert found == [20, 60, 116, 152]
    assert ask(graph, f"""ASK {{
        {P} wkg:result ?r . ?r wkg:indicator ?i . ?i wkg:count 60 .
        ?r dcterms:description ?d . FILTER(lang(?d) = "pl" && STRSTARTS(?d, "60 osób nabyło nowe umiejętności"))
    }}""")
    assert ask(graph, f"""ASK {{
        {P} wkg:result ?r . ?r wkg:indicator ?i . ?i wkg:count 20 .
        ?r dcterms:description ?d . FILTER(lang(?d) = "pl" && CONTAINS(?d, "j. angielski"))
    }}""")


def test_all_round_social_worker_model_and_themes(graph):
    assert ask(graph, f"""ASK {{
        {P} wkg:introducedPractice method:all-round-social-worker-model ;
            wkg:usesMethod method:interdisciplinary-training , method:vocational-counselling ,
                method:interinstitutional-cooperation ;
            wkg:thematicArea theme:interpersonal-skills , theme:professional-burnout , theme:social-exclusion ,
                theme:labour-market , theme:foreign-languages .
        method:interdisciplinary-training a skos:Concept ; skos:inScheme <https://w3id.org/welfare-kg/vocab/method> .
    }}""")


def test_contact_persons_are_personal_data(graph):
    people = {str(r.name): str(r.tel) for r in rows(graph, f"""SELECT ?name ?tel WHERE {{
        {P} wkg:contactPerson ?p .
        ?p a wkg:ContactPerson ; schema:name ?name ; schema:telephone ?tel ;
           wkg:isPersonalData true ; dcterms:source {SRC} }}""")}
    assert people == {"Sylwia Wojtysiak": "(81) 53-50-716", "Marlena Kawczyńska": "(81) 53-50-716"}
    assert ask(graph, f"""ASK {{
        {P} wkg:contactPerson <{ID}person/sylwia-wojtysiak> , <{ID}person/marlena-kawczynska> }}""")


def test_named_nodes_traceable_and_bilingual(graph):
    unlabelled = rows(graph, f"""SELECT ?s WHERE {{
        ?s dcterms:source {SRC} . FILTER(isIRI(?s))
        FILTER NOT EXISTS {{ ?s rdfs:label ?pl , ?en . FILTER(lang(?pl) = "pl" && lang(?en) = "en") }}
    }}""")
    assert unlabelled == []
    untranslated = rows(graph, f"""SELECT ?s ?p WHERE {{
        ?s dcterms:source {SRC} ; ?p ?pl . FILTER(lang(?pl) = "pl")
        FILTER NOT EXISTS {{ ?s ?p ?en . FILTER(lang(?en) = "en") }}
    }}""")
    assert untranslated == []
    orphans = rows(graph, f"""SELECT ?n WHERE {{
        {{ {P} wkg:result|wkg:hasTrainingModule|wkg:hasOutput|wkg:participants|wkg:contactPerson ?n }}
        UNION {{ {P} wkg:result/wkg:indicator ?n }}
        FILTER NOT EXISTS {{ ?n dcterms:source {SRC} }}
    }}""")
    assert orphans == []
