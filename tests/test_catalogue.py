"""Each catalogue question answered against the facts of the five source documents."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from welfare_kg import queries

from conftest import BASE, ORG, PROJECT

ERASMUS = PROJECT["mops-gdynia-erasmus-job-shadowing-2019"]
STANDARDS = PROJECT["standardy-uslug-pomocy-i-integracji-2009"]
SAMI_SOBIE = PROJECT["sami-sobie-2006"]
SYSTEMIC = PROJECT["mops-gdynia-systemic-project-2008"]
CAL = PROJECT["mops-gdynia-cal-community-organising-2002"]
ALL_PROJECTS = {ERASMUS, STANDARDS, SAMI_SOBIE, SYSTEMIC, CAL}
METHOD_SCHEME = URIRef(BASE + "vocab/method")

EXPECTED_VARIABLES = {
    "cq01-projects": ["project", "label", "lead", "start", "end", "budget", "cofinancing", "currency"],
    "cq02-partners-of": ["partner", "partnerLabel", "role", "country", "countryLabel", "project", "ownRole"],
    "cq03-methods-by-project": ["method", "methodLabel", "project", "relation", "institution"],
    "cq04-funding-by-programme": ["programme", "programmeLabel", "fund", "currency", "projects", "budget",
                                  "cofinancing"],
    "cq05-active-in-year": ["project", "label", "start", "end"],
    "cq06-lasting-results": ["project", "result", "resultLabel", "relation"],
    "cq07-timeline": ["project", "label", "start", "end"],
    "cq08-participants": ["project", "count", "precision", "target", "total", "who"],
    "cq09-funding-chain": ["project", "fund", "programme", "priority", "measure", "operatingBudget"],
    "cq10-method-taxonomy": ["method", "methodLabel", "broader", "broaderLabel", "related", "relatedLabel"],
    "cq11-sources": ["project", "source"],
    "cq12-institutions": ["org", "label", "type", "typeLabel", "city", "parentOrg", "parentLabel"],
}


def run(dataset, name, **params):
    result = queries.run(dataset, queries.resolve(name), {k: str(v) for k, v in params.items()})
    variables = [str(v) for v in result.vars]
    return [dict(zip(variables, row)) for row in result]


def test_catalogue_has_every_question_with_a_summary():
    names = {q.name: q for q in queries.catalogue()}
    assert set(EXPECTED_VARIABLES) <= set(names)
    for name in EXPECTED_VARIABLES:
        assert names[name].summary, f"{name} has no #+ summary"
        assert names[name].description, f"{name} has no #+ description"


@pytest.mark.parametrize("name", sorted(EXPECTED_VARIABLES))
def test_result_variables_are_exactly_as_documented(dataset, name):
    result = queries.run(dataset, queries.resolve(name))
    assert [str(v) for v in result.vars] == EXPECTED_VARIABLES[name]
    assert len(list(result)) > 0


def test_cq01_every_project_with_budget_and_precision_kept(dataset):
    rows = run(dataset, "cq01-projects")
    assert {r["project"] for r in rows} == ALL_PROJECTS
    erasmus = next(r for r in rows if r["project"] == ERASMUS)
    assert erasmus["lead"] == ORG["mops-gdynia"]
    assert erasmus["start"] == Literal("2019-12", datatype=XSD.gYearMonth)
    assert erasmus["end"] == Literal("2021-11", datatype=XSD.gYearMonth)
    assert erasmus["budget"].toPython() == Decimal("33826.00")
    assert erasmus["cofinancing"].toPython() == Decimal("26502.00")
    assert str(erasmus["currency"]) == "EUR"
    systemic = next(r for r in rows if r["project"] == SYSTEMIC)
    assert systemic["budget"].toPython() == Decimal("15707281.20")
    assert systemic["cofinancing"].toPython() == Decimal("13952247.93")
    assert str(systemic["currency"]) == "PLN"
    sami = next(r for r in rows if r["project"] == SAMI_SOBIE)
    assert sami["start"] == Literal("2006-05-04", datatype=XSD.date)
    assert sami["lead"] == ORG["mopr-lublin"]
    cal_leads = {r["lead"] for r in rows if r["project"] == CAL}
    assert cal_leads == {ORG[f"mops-gdynia-dops-{n}"] for n in range(1, 5)}
    assert next(r for r in rows if r["project"] == STANDARDS).get("lead") is None


def test_cq02_partners_of_mops_gdynia_is_proxima_in_slovakia(dataset):
    rows = run(dataset, "cq02-partners-of")
    # a row per pair of roles: MOPS Gdynia leads the project and takes part in it
    assert sorted((r["partner"], r["project"], r["ownRole"].split("/")[-1]) for r in rows) == [
        (ORG["mvo-proxima"], ERASMUS, "leadOrganisation"), (ORG["mvo-proxima"], ERASMUS, "participatingOrganisation")]
    assert str(rows[0]["country"]).endswith("/SVK") and str(rows[0]["countryLabel"]) == "Słowacja"


def test_cq02_partners_of_cal_are_isp_and_mopr_gdansk(dataset):
    rows = run(dataset, "cq02-partners-of", org="organisation:stowarzyszenie-cal")
    assert {r["partner"] for r in rows} == {ORG["fundacja-isp"], ORG["mopr-gdansk"]}
    assert {r["project"] for r in rows} == {STANDARDS}


def test_cq02_says_how_each_took_part_and_leaves_out_the_own_institution(dataset):
    """MOPR Gdańsk sent two staff to a training (page 001): it read as a partner of its
    organisers; a district unit of MOPS Gdynia had its own institution as a partner."""
    rows = run(dataset, "cq02-partners-of", org="organisation:mopr-gdansk")
    assert {(r["partner"], r["role"].split("/")[-1], r["ownRole"].split("/")[-1]) for r in rows} == {
        (ORG["stowarzyszenie-cal"], "responsibleOrganisation", "participatingOrganisation"),
        (ORG["fundacja-isp"], "responsibleOrganisation", "participatingOrganisation")}
    unit = {r["partner"] for r in run(dataset, "cq02-partners-of", org="organisation:mops-gdynia-dops-1")}
    assert ORG["mops-gdynia"] not in unit and ORG["mops-gdynia-dops-2"] in unit


def test_cq03_methods_link_projects_and_institutions(dataset):
    rows = run(dataset, "cq03-methods-by-project")
    pairs = {(r["method"].split("/")[-1], r["project"]) for r in rows}
    assert ("job-shadowing", ERASMUS) in pairs
    assert ("cal-method", CAL) in pairs
    assert ("three-tier-social-work", SYSTEMIC) in pairs
    assert ("family-assistance", SYSTEMIC) in pairs
    assert ("community-social-work-standard", STANDARDS) in pairs
    institutions = {r["institution"] for r in rows if r["project"] == STANDARDS}
    assert institutions == {ORG["stowarzyszenie-cal"], ORG["fundacja-isp"]}


def test_cq03_says_which_methods_were_only_planned(dataset):
    """Page 001 says the standard 'zakłada' (assumes): it read like a method in use."""
    relations = {(r["method"].split("/")[-1], r["project"], r["relation"].split("/")[-1])
                 for r in run(dataset, "cq03-methods-by-project")}
    standard = {relation for method, project, relation in relations
                if (method, project) == ("community-social-work-standard", STANDARDS)}
    assert standard == {"plannedPractice"}
    assert ("job-shadowing", ERASMUS, "usesMethod") in relations


def test_cq04_money_is_never_summed_across_currencies(dataset):
    rows = run(dataset, "cq04-funding-by-programme")
    by_key = {(r["programme"].split("/")[-1], str(r.get("currency") or "")): r for r in rows}
    erasmus = by_key[("erasmus-plus", "EUR")]
    assert erasmus["budget"].toPython() == Decimal("33826.00")
    assert int(erasmus["projects"]) == 1
    esf = by_key[("esf", "PLN")]
    assert esf["cofinancing"].toPython() == Decimal("13952247.93")
    for row in rows:
        assert row.get("budget") is None or row.get("currency") is not None
    assert ("po-kl", "") in by_key and ("spo-rzl", "") in by_key


def test_cq04_counts_the_money_of_a_programme_of_two_funds_once():
    """A regional programme financed by the ESF and the ERDF gave two rows with the same money."""
    from rdflib import Graph

    data = Graph().parse(format="turtle", data="""
        @prefix wkg: <https://w3id.org/welfare-kg/ontology/> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        @prefix schema: <https://schema.org/> . @prefix : <urn:x:> .
        :rpo a wkg:FundingProgramme ; rdfs:label "RPO"@pl ; wkg:financedByFund :esf , :erdf .
        :esf a wkg:Fund ; rdfs:label "EFS"@pl . :erdf a wkg:Fund ; rdfs:label "EFRR"@pl .
        :p a wkg:Project ; wkg:fundedBy :rpo ; wkg:totalBudget [ schema:value 100.0 ; schema:currency "PLN" ] .""")
    rows = list(data.query(queries.resolve("cq04-funding-by-programme").text))
    assert len(rows) == 1
    assert sorted(str(rows[0].fund).split(" + ")) == ["EFRR", "EFS"] and rows[0].budget.toPython() == Decimal("100.0")


def test_cq04_names_the_fund_of_each_programme(dataset):
    """The ESF's row alone read as 'the ESF funded one project'; pages 001 and 002 say the
    programmes of two more were ESF-funded."""
    funds = {r["programme"].split("/")[-1]: str(r.get("fund") or "") for r in run(dataset, "cq04-funding-by-programme")}
    esf = "Europejski Fundusz Społeczny"
    assert funds == {"esf": esf, "po-kl": esf, "spo-rzl": esf, "erasmus-plus": "", "mops-gdynia-operating-budget": ""}


@pytest.mark.parametrize("year, expected", [
    (2010, {STANDARDS, SYSTEMIC}),
    (2006, {SAMI_SOBIE, CAL}),
    (2020, {ERASMUS}),
    (2015, set()),
])
def test_cq05_active_in_year_compares_years_at_any_precision(dataset, year, expected):
    assert {r["project"] for r in run(dataset, "cq05-active-in-year", year=year)} == expected


def test_cq06_lasting_results_include_units_and_roles(dataset):
    rows = run(dataset, "cq06-lasting-results")
    results = {(r["project"], r["result"]) for r in rows}
    assert (SYSTEMIC, ORG["mops-gdynia-intensive-family-social-work-team"]) in results
    assert (SYSTEMIC, ORG["mops-gdynia-disability-counselling-activation-team"]) in results
    assert (SYSTEMIC, URIRef(BASE + "vocab/role/family-assistant")) in results
    assert (CAL, ORG["mops-gdynia-citizen-information-points"]) in results


def test_cq06_keeps_what_was_only_planned_apart(dataset):
    relations = {(r["project"], r["result"]): str(r["relation"]).rsplit("/", 1)[1]
                 for r in run(dataset, "cq06-lasting-results")}
    assert relations[(SYSTEMIC, URIRef(BASE + "vocab/role/family-assistant"))] == "introducedRole"
    assert relations[(STANDARDS, URIRef(BASE + "vocab/role/local-social-politician"))] == "plannedRole"
    assert relations[(STANDARDS, URIRef(BASE + "vocab/method/community-social-work-standard"))] == "plannedPractice"
    assert {relation for (project, _), relation in relations.items() if project == STANDARDS} == {
        "plannedRole", "plannedPractice"}


def test_cq07_timeline_is_in_start_order(dataset):
    rows = run(dataset, "cq07-timeline")
    assert [r["project"] for r in rows] == [CAL, SAMI_SOBIE, SYSTEMIC, STANDARDS, ERASMUS]


def test_cq08_participant_counts_from_the_documents(dataset):
    counts = {(r["project"], int(r["count"])) for r in run(dataset, "cq08-participants")}
    assert {(ERASMUS, 21), (STANDARDS, 3000), (STANDARDS, 2), (SAMI_SOBIE, 80), (SYSTEMIC, 1326)} <= counts


def test_cq08_says_how_to_read_each_count(dataset):
    def text(term):
        return str(term) if term is not None else None

    read = {(r["project"], int(r["count"])): (text(r["precision"]), text(r.get("target")), text(r.get("total")))
            for r in run(dataset, "cq08-participants")}
    assert read[(STANDARDS, 3000)] == ("liczba przybliżona", "liczba docelowa", None)
    assert read[(ERASMUS, 21)] == ("liczba dokładna", "liczba docelowa", None)
    assert read[(STANDARDS, 2)] == ("liczba dokładna", None, None)
    assert read[(SYSTEMIC, 1326)] == ("liczba dokładna", None, "łącznie")


def test_cq09_funding_chain_reads_fund_to_measure(dataset):
    rows = {r["project"]: r for r in run(dataset, "cq09-funding-chain")}
    standards = rows[STANDARDS]
    assert str(standards["measure"]).startswith("Działanie 1.2")
    assert str(standards["priority"]).startswith("Priorytet I")
    assert str(standards["programme"]) == "Program Operacyjny Kapitał Ludzki"
    assert str(standards["fund"]) == "Europejski Fundusz Społeczny"
    assert str(rows[SAMI_SOBIE]["measure"]).startswith("Działanie 1.5")
    assert str(rows[ERASMUS]["programme"]) == "Erasmus+"
    assert rows[ERASMUS].get("fund") is None
    assert str(rows[SYSTEMIC]["fund"]) == "Europejski Fundusz Społeczny"
    assert rows[SYSTEMIC].get("programme") is None and rows[SYSTEMIC].get("measure") is None
    assert all(rows[project].get("operatingBudget") is None for project in (STANDARDS, SAMI_SOBIE, ERASMUS, SYSTEMIC))


def test_cq09_shows_a_project_paid_from_an_operating_budget(dataset):
    """The CAL project's row was empty, as if its funding were unknown; page 004 says it ran
    within MOPS's own operating activity."""
    rows = {r["project"]: r for r in run(dataset, "cq09-funding-chain")}
    cal = rows[PROJECT["mops-gdynia-cal-community-organising-2002"]]
    assert str(cal["operatingBudget"]) == "Bieżąca działalność MOPS Gdynia"
    assert all(cal.get(column) is None for column in ("fund", "programme", "priority", "measure"))


def test_cq10_three_tier_model_has_its_three_levels(dataset):
    rows = run(dataset, "cq10-method-taxonomy")
    narrower = {r["method"].split("/")[-1] for r in rows
                if r.get("broader") is not None and r["broader"].endswith("/three-tier-social-work")}
    assert narrower == {"intensive-social-work", "deepened-social-work", "regular-social-work"}
    assert any(r["method"].endswith("/cal-method") and r["broader"].endswith("/community-social-work") for r in rows)
    # every IRI column has its label beside it, for a reader of the table
    assert all(r.get("broaderLabel") is not None for r in rows if r.get("broader") is not None)
    assert all(r.get("relatedLabel") is not None for r in rows if r.get("related") is not None)


def test_cq11_every_project_has_its_source_document(dataset):
    rows = run(dataset, "cq11-sources")
    sources = {r["project"]: str(r["source"]).rsplit("/", 1)[-1] for r in rows}
    assert sources == {
        ERASMUS: "000-b867f87ad8e13151", STANDARDS: "001-8a9b980c5aac5610", SAMI_SOBIE: "002-f8c82852a6f100af",
        SYSTEMIC: "003-2c2b91088d8d6981", CAL: "004-f019134a6906dbe2",
    }


def test_cq12_institutions_with_city_and_parent(dataset):
    rows = {r["org"]: r for r in run(dataset, "cq12-institutions")}
    assert str(rows[ORG["mops-gdynia"]]["city"]) == "Gdynia"
    assert str(rows[ORG["mopr-lublin"]]["city"]) == "Lublin"
    for n in range(1, 5):
        assert rows[ORG[f"mops-gdynia-dops-{n}"]]["parentOrg"] == ORG["mops-gdynia"]
    assert rows[ORG["mops-gdynia-intensive-family-social-work-team"]]["parentOrg"] == ORG["mops-gdynia"]
    assert rows[ORG["mvo-proxima"]]["type"].endswith("/foreign-ngo")
    assert str(rows[ORG["mops-gdynia-dops-1"]]["parentLabel"]) == "Miejski Ośrodek Pomocy Społecznej w Gdyni"
    assert all(row.get("typeLabel") is not None for row in rows.values() if row.get("type") is not None)


def test_readme_documents_every_catalogue_query():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for name, variables in EXPECTED_VARIABLES.items():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"README has no row for {name}"
        assert row.rstrip(" |").endswith(", ".join(variables)), f"README lists other variables for {name}"


@pytest.mark.parametrize("name", sorted(EXPECTED_VARIABLES))
def test_csv_straight_from_oxigraph_is_what_rdflib_writes(dataset, name):
    """`queries --run` writes Oxigraph's CSV; it must not differ from rdflib's by a byte,
    on the built store and on the in-memory copy the catalogue run uses."""
    from welfare_kg import results, store

    item = queries.resolve(name)
    expected = results.format_result(queries.run(dataset, item), "csv", dataset.namespace_manager)
    assert expected.count("\n") > 1  # at least one row, so the comparison says something
    assert queries.run_csv(dataset, item) == expected
    assert queries.run_csv(store.open_memory_dataset(), item) == expected


def test_csv_of_an_ask_query_and_errors_name_the_query(dataset):
    ask = queries.query_from_text("ASK { ?s a <https://w3id.org/welfare-kg/ontology/Project> }", "ask")
    assert queries.run_csv(dataset, ask) == "true\n"
    broken = queries.query_from_text("SELECT ?s WHERE { ?s ", "broken")
    with pytest.raises(queries.UsageError, match="^broken: invalid SPARQL"):
        queries.run_csv(dataset, broken)


def test_a_query_file_that_is_not_utf8_names_its_line(tmp_path):
    path = tmp_path / "latin2.rq"
    path.write_bytes("SELECT ?s WHERE {\n  ?s ?p \"Łódź\" }\n".encode("iso-8859-2"))
    with pytest.raises(queries.UsageError, match=f"^{path}:2: not UTF-8 text$"):
        queries.resolve(str(path))


def test_an_empty_standard_input_is_no_query():
    for text in ("", "  \n"):
        with pytest.raises(queries.UsageError, match=r"^stdin: no query \(standard input was empty\)$"):
            queries.resolve("-", text)
