"""A synthetic national graph in the project's own ontology, for scale tests and benchmarks.

:func:`generate` writes N-Triples (which is also valid Turtle) line by line, never building an
rdflib Graph, so a 100 000-project graph (about 2 million triples) costs little memory. The data
extends the curated graph: it reuses the real concept schemes (``ontology/vocab-*.ttl``) and the
real funding chain of ``graph/shared.ttl``, so it is meant to be loaded *together with* the
curated sources (``welfare-kg validate --data FILE``, ``welfare-kg bench``).

Every generated IRI has a ``synthetic-`` segment prefix (``id/organisation/synthetic-mops-17``,
``id/project/synthetic-000042``) so it never collides with a curated one. The same seed gives
byte-identical output (one ``random.Random(seed)``, no set or hash ordering).

Shape of the data: a few hub welfare centres (Zipf-like weights) lead most projects and have
district units (DOPS); many small centres lead a handful each; NGOs and foreign partners join as
partners. Projects per year grow from 2004 to 2024; periods are at month or day precision;
budgets are lognormal (orders of magnitude from 10^4 to 10^7) in PLN or EUR, with co-financing
never above the total and always in the same currency.
"""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect
from itertools import accumulate
from pathlib import Path
from typing import IO, Callable


BASE = "https://w3id.org/welfare-kg/"
ID = BASE + "id/"
WKG = BASE + "ontology/"
VOCAB = BASE + "vocab/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCT = "http://purl.org/dc/terms/"
DCAT = "http://www.w3.org/ns/dcat#"
SCHEMA = "https://schema.org/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
ORG = "http://www.w3.org/ns/org#"
COUNTRY = "http://publications.europa.eu/resource/authority/country/"
LANGUAGE_POL = "http://publications.europa.eu/resource/authority/language/POL"

SYN = "synthetic-"

# Concepts of the real schemes (ontology/vocab-*.ttl).
METHODS = ("social-work", "three-tier-social-work", "intensive-social-work", "deepened-social-work",
           "regular-social-work", "assistance", "family-assistance", "independence-assistance",
           "disability-counselling", "local-activity-programme", "active-integration-instruments",
           "community-social-work", "cal-method", "community-social-work-standard",
           "resource-and-needs-mapping", "local-partnership", "self-help-groups", "citizen-information",
           "interdisciplinary-team-work", "mobile-interdisciplinary-teams", "district-interdisciplinary-teams",
           "interinstitutional-cooperation", "volunteering", "job-shadowing", "learning-organisation",
           "visual-thinking", "vocational-counselling", "all-round-social-worker-model",
           "interdisciplinary-training")
ROLES = ("social-worker", "community-organiser", "animator", "mediator", "local-animator", "educator",
         "family-assistant", "independence-assistant", "disability-adviser", "pal-coordinator", "volunteer",
         "pedagogue", "psychologist", "community-nurse")
TARGET_GROUPS = ("people-at-risk-of-exclusion", "groups-at-special-risk", "welfare-staff", "social-workers",
                 "partner-institution-staff", "families", "persons-becoming-independent",
                 "persons-with-disabilities", "residents", "local-communities", "people-at-risk-of-homelessness",
                 "lower-secondary-youth", "local-institutions")
THEMES = ("social-exclusion", "social-inclusion", "housing-problems", "substance-addiction",
          "becoming-independent", "local-community-integration", "assistance-work", "family-integrity",
          "non-formal-education", "homelessness-prevention", "labour-market", "professional-burnout",
          "interpersonal-skills", "foreign-languages", "foster-care", "disability")
# Each count's precision, with "target" or "total" added where a source would say so.
QUALIFIERS = (("exact",), ("approximate",), ("exact", "target"), ("more-than",), ("exact", "total"))

# (slug, Polish name, locative for "w …", English name)
CITIES = (
    ("warszawa", "Warszawa", "Warszawie", "Warsaw"), ("krakow", "Kraków", "Krakowie", "Kraków"),
    ("lodz", "Łódź", "Łodzi", "Łódź"), ("wroclaw", "Wrocław", "Wrocławiu", "Wrocław"),
    ("poznan", "Poznań", "Poznaniu", "Poznań"), ("szczecin", "Szczecin", "Szczecinie", "Szczecin"),
    ("bydgoszcz", "Bydgoszcz", "Bydgoszczy", "Bydgoszcz"), ("bialystok", "Białystok", "Białymstoku", "Białystok"),
    ("katowice", "Katowice", "Katowicach", "Katowice"), ("czestochowa", "Częstochowa", "Częstochowie", "Częstochowa"),
    ("radom", "Radom", "Radomiu", "Radom"), ("torun", "Toruń", "Toruniu", "Toruń"),
    ("rzeszow", "Rzeszów", "Rzeszowie", "Rzeszów"), ("kielce", "Kielce", "Kielcach", "Kielce"),
    ("olsztyn", "Olsztyn", "Olsztynie", "Olsztyn"), ("opole", "Opole", "Opolu", "Opole"),
    ("zielona-gora", "Zielona Góra", "Zielonej Górze", "Zielona Góra"),
    ("gorzow-wielkopolski", "Gorzów Wielkopolski", "Gorzowie Wielkopolskim", "Gorzów Wielkopolski"),
    ("sopot", "Sopot", "Sopocie", "Sopot"), ("slupsk", "Słupsk", "Słupsku", "Słupsk"),
    ("elblag", "Elbląg", "Elblągu", "Elbląg"), ("plock", "Płock", "Płocku", "Płock"),
    ("tarnow", "Tarnów", "Tarnowie", "Tarnów"), ("koszalin", "Koszalin", "Koszalinie", "Koszalin"),
    ("kalisz", "Kalisz", "Kaliszu", "Kalisz"), ("legnica", "Legnica", "Legnicy", "Legnica"),
    ("gliwice", "Gliwice", "Gliwicach", "Gliwice"), ("zabrze", "Zabrze", "Zabrzu", "Zabrze"),
    ("bytom", "Bytom", "Bytomiu", "Bytom"), ("sosnowiec", "Sosnowiec", "Sosnowcu", "Sosnowiec"),
    ("rybnik", "Rybnik", "Rybniku", "Rybnik"), ("tychy", "Tychy", "Tychach", "Tychy"),
    ("nowy-sacz", "Nowy Sącz", "Nowym Sączu", "Nowy Sącz"), ("siedlce", "Siedlce", "Siedlcach", "Siedlce"),
    ("przemysl", "Przemyśl", "Przemyślu", "Przemyśl"), ("suwalki", "Suwałki", "Suwałkach", "Suwałki"),
    ("lomza", "Łomża", "Łomży", "Łomża"), ("pila", "Piła", "Pile", "Piła"),
    ("chelm", "Chełm", "Chełmie", "Chełm"), ("zamosc", "Zamość", "Zamościu", "Zamość"),
)
# (ISO 3166 alpha-3 code of the EU country table, Polish name, English name)
FOREIGN = (("SVK", "Słowacja", "Slovakia"), ("CZE", "Czechy", "Czechia"), ("DEU", "Niemcy", "Germany"),
           ("LTU", "Litwa", "Lithuania"), ("LVA", "Łotwa", "Latvia"), ("SWE", "Szwecja", "Sweden"),
           ("FIN", "Finlandia", "Finland"), ("NLD", "Niderlandy", "Netherlands"), ("ITA", "Włochy", "Italy"),
           ("ESP", "Hiszpania", "Spain"), ("PRT", "Portugalia", "Portugal"), ("UKR", "Ukraina", "Ukraine"))
# Real leaves of the funding chain in graph/shared.ttl, with the years they funded projects.
REAL_FUNDING = (("po-kl-measure-1-2", 2008, 2015), ("spo-rzl-measure-1-5", 2004, 2008),
                ("erasmus-plus", 2014, 2024), ("esf", 2004, 2024))
# Synthetic programmes: (slug, Polish, English, first year, last year, measures)
PROGRAMMES = (
    ("fers", "Fundusze Europejskie dla Rozwoju Społecznego 2021–2027",
     "European Funds for Social Development 2021–2027", 2021, 2024, ("4.1", "4.2", "4.3", "4.4")),
    ("power", "Program Operacyjny Wiedza Edukacja Rozwój 2014–2020",
     "Knowledge Education Development Operational Programme 2014–2020", 2014, 2020, ("2.5", "2.8", "2.9")),
    ("rpo-pomorskie", "Regionalny Program Operacyjny Województwa Pomorskiego 2014–2020",
     "Pomeranian Regional Operational Programme 2014–2020", 2014, 2020, ("6.1", "6.2")),
    ("rpo-mazowieckie", "Regionalny Program Operacyjny Województwa Mazowieckiego 2014–2020",
     "Masovian Regional Operational Programme 2014–2020", 2014, 2020, ("9.1", "9.2")),
)
FIRST_YEAR, LAST_YEAR = 2004, 2024
PROJECTS_PER_SOURCE = 100
# File names keep their order up to 99,999 source documents; 10 million projects are also
# about 250 million triples (34 GB of N-Triples): a larger number is taken for a typing slip.
MAX_PROJECTS = PROJECTS_PER_SOURCE * 99_999

GOALS = (
    ("Aktywizacja społeczna i zawodowa osób zagrożonych wykluczeniem społecznym.",
     "Social and vocational activation of people at risk of social exclusion."),
    ("Wzmocnienie kompetencji kadr pomocy społecznej.", "Strengthening the skills of social welfare staff."),
    ("Rozwój usług środowiskowych dla rodzin.", "Developing community services for families."),
    ("Przeciwdziałanie bezdomności i wykluczeniu mieszkaniowemu.", "Preventing homelessness and housing exclusion."),
    ("Integracja społeczności lokalnej.", "Integrating the local community."),
    ("Wsparcie osób z niepełnosprawnościami w samodzielnym życiu.",
     "Supporting persons with disabilities in living independently."),
)
TOPICS = (("aktywizacja", "activation"), ("wsparcie rodzin", "family support"), ("kadry", "staff"),
          ("społeczność lokalna", "local community"), ("usamodzielnienie", "independence"),
          ("bezdomność", "homelessness"), ("niepełnosprawność", "disability"), ("wolontariat", "volunteering"))


def _iri(value: str) -> str:
    return f"<{value}>"


def _lit(text: str, lang: str | None = None, datatype: str | None = None) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    if lang:
        return f'"{escaped}"@{lang}'
    if datatype:
        return f'"{escaped}"^^<{datatype}>'
    return f'"{escaped}"'


def _zipf_cumulative(count: int, exponent: float = 1.1) -> list[float]:
    return list(accumulate(1.0 / (rank ** exponent) for rank in range(1, count + 1)))


class _Writer:
    def __init__(self, out: IO[str] | None, open_part: Callable[[str], IO[str]] | None = None):
        self.out = out
        self.open_part = open_part
        self.triples = 0
        self._bnodes = 0

    def part(self, name: str) -> None:
        """Go on in the file of this part (one file per source document), if writing a folder."""
        if self.open_part is not None:
            self.out = self.open_part(name)

    def add(self, s: str, p: str, o: str) -> None:
        self.out.write(f"{s} <{p}> {o} .\n")
        self.triples += 1

    def bnode(self) -> str:
        self._bnodes += 1
        return f"_:b{self._bnodes}"

    def labels(self, s: str, pl: str, en: str, prop: str = RDFS_LABEL) -> None:
        self.add(s, prop, _lit(pl, "pl"))
        self.add(s, prop, _lit(en, "en"))


def generate(out: IO[str] | None, *, projects: int, seed: int = 0,
             open_part: Callable[[str], IO[str]] | None = None) -> int:
    """Write the synthetic graph as N-Triples to ``out``; return the number of triples.

    With ``open_part`` the graph is written in parts instead, each to the stream that
    ``open_part(name)`` returns: ``shared`` (places, organisations, funding, the source
    documents), then one part per synthetic source document with its projects.
    """
    if projects < 0:
        raise ValueError("projects must be 0 or more")
    rng = random.Random(seed)
    w = _Writer(out, open_part)
    w.part("shared")
    sources = _sources(w, projects, seed)
    places = _places(w, sources[0] if sources else None, rng, projects)
    centres, units = _centres(w, sources, places, rng, projects)
    ngos = _ngos(w, sources, places, rng, projects)
    foreign = _foreign(w, sources, rng, projects)
    funding = _funding(w, sources)
    _projects(w, rng, projects, sources, centres, units, ngos, foreign, funding)
    return w.triples


def _sources(w: _Writer, projects: int, seed: int) -> list[str]:
    iris = []
    for batch in range(max(1, math.ceil(projects / PROJECTS_PER_SOURCE)) if projects else 0):
        iri = _iri(f"{ID}source/{SYN}{seed}-{batch:05d}")
        name = f"synthetic_{seed}_{batch:05d}.txt"
        w.add(iri, RDF_TYPE, _iri(WKG + "SourceDocument"))
        w.labels(iri, f"Syntetyczny wykaz projektów nr {batch + 1} (ziarno {seed})",
                 f"Synthetic project register no. {batch + 1} (seed {seed})")
        w.add(iri, DCT + "identifier", _lit(name))
        w.add(iri, WKG + "sha256", _lit(hashlib.sha256(name.encode()).hexdigest(), datatype=XSD + "hexBinary"))
        w.add(iri, DCT + "language", _iri(LANGUAGE_POL))
        iris.append(iri)
    return iris


def _source_for(sources: list[str], index: int) -> str:
    return sources[min(index // PROJECTS_PER_SOURCE, len(sources) - 1)]


def _places(w: _Writer, source: str | None, rng: random.Random, projects: int) -> list[tuple]:
    """Real cities first, then synthetic municipalities (gminy) up to the number of centres."""
    count = max(len(CITIES), projects // 25)
    places = []
    pol = _iri(COUNTRY + "POL")
    for i in range(count):
        if i < len(CITIES):
            slug, pl, loc, en = CITIES[i]
        else:
            slug, pl, loc, en = f"gmina-{i:05d}", f"Gmina nr {i}", f"Gminie nr {i}", f"Municipality no. {i}"
        iri = _iri(f"{ID}place/{SYN}{slug}")
        w.add(iri, RDF_TYPE, _iri(WKG + "Municipality"))
        w.labels(iri, pl, en)
        w.add(iri, WKG + "country", pol)
        places.append((iri, pl, loc, en))
    return places


def _centres(w, sources, places, rng, projects):
    """One welfare centre per place; the biggest (Zipf hubs) get district units (DOPS)."""
    centres, units = [], {}
    pol = _iri(COUNTRY + "POL")
    for i, (place, pl, loc, en) in enumerate(places):
        kind = "mopr" if rng.random() < 0.3 else "mops"
        iri = _iri(f"{ID}organisation/{SYN}{kind}-{i:05d}")
        source = sources[i % len(sources)] if sources else None
        full_pl = ("Miejski Ośrodek Pomocy Rodzinie" if kind == "mopr" else "Miejski Ośrodek Pomocy Społecznej")
        full_en = "Municipal Family Support Centre" if kind == "mopr" else "Municipal Social Welfare Centre"
        w.add(iri, RDF_TYPE, _iri(WKG + "SocialWelfareCentre"))
        w.labels(iri, f"{full_pl} w {loc}", f"{full_en} in {en}")
        w.add(iri, DCT + "type", _iri(VOCAB + "organisation-type/" + kind))
        w.add(iri, WKG + "municipality", place)
        w.add(iri, WKG + "country", pol)
        if source:
            w.add(iri, DCT + "source", source)
        centres.append(iri)
        if i < 12:  # hubs: 2–8 district centres each
            units[iri] = []
            for n in range(1, rng.randint(2, 8) + 1):
                unit = _iri(f"{ID}organisation/{SYN}{kind}-{i:05d}-dops-{n}")
                w.add(unit, RDF_TYPE, _iri(WKG + "DistrictWelfareCentre"))
                w.labels(unit, f"Dzielnicowy Ośrodek Pomocy Społecznej nr {n} w {loc}",
                         f"District Social Welfare Centre no. {n} in {en}")
                w.add(unit, ORG + "unitOf", iri)
                w.add(unit, DCT + "type", _iri(VOCAB + "organisation-type/dops"))
                w.add(unit, WKG + "municipality", place)
                w.add(unit, WKG + "country", pol)
                if source:
                    w.add(unit, DCT + "source", source)
                units[iri].append(unit)
    return centres, units


def _ngos(w, sources, places, rng, projects):
    ngos = []
    pol = _iri(COUNTRY + "POL")
    for i in range(max(10, projects // 50)):
        kind = "association" if rng.random() < 0.6 else "foundation"
        place, _, _, en = places[int(len(places) * rng.random() ** 3)]  # most NGOs in big cities
        topic_pl, topic_en = rng.choice(TOPICS)
        iri = _iri(f"{ID}organisation/{SYN}ngo-{i:05d}")
        w.add(iri, RDF_TYPE, _iri(WKG + "NonGovernmentalOrganisation"))
        if kind == "association":
            w.labels(iri, f"Stowarzyszenie „{topic_pl.capitalize()}” nr {i}", f"Association '{topic_en}' no. {i}")
        else:
            w.labels(iri, f"Fundacja „{topic_pl.capitalize()}” nr {i}", f"Foundation '{topic_en}' no. {i}")
        w.add(iri, DCT + "type", _iri(VOCAB + "organisation-type/" + kind))
        w.add(iri, WKG + "municipality", place)
        w.add(iri, WKG + "country", pol)
        if sources:
            w.add(iri, DCT + "source", sources[i % len(sources)])
        ngos.append(iri)
    return ngos


def _foreign(w, sources, rng, projects):
    foreign = []
    for code, pl, en in FOREIGN:
        country = _iri(COUNTRY + code)
        w.add(country, RDF_TYPE, _iri(DCT + "Location"))
        w.labels(country, pl, en)
        w.add(country, SKOS + "notation", _lit(code))
    for i in range(max(5, projects // 200)):
        code, pl, en = FOREIGN[int(len(FOREIGN) * rng.random() ** 2)]
        iri = _iri(f"{ID}organisation/{SYN}foreign-ngo-{i:05d}")
        w.add(iri, RDF_TYPE, _iri(WKG + "NonGovernmentalOrganisation"))
        w.labels(iri, f"Organizacja partnerska nr {i} ({pl})", f"Partner organisation no. {i} ({en})")
        w.add(iri, DCT + "type", _iri(VOCAB + "organisation-type/foreign-ngo"))
        w.add(iri, WKG + "country", _iri(COUNTRY + code))
        if sources:
            w.add(iri, DCT + "source", sources[i % len(sources)])
        foreign.append(iri)
    return foreign


def _funding(w, sources) -> list[tuple[str, int, int, str, str]]:
    """Leaves a project can be funded by: (iri, first year, last year, statement pl, statement en)."""
    leaves = [(_iri(f"{ID}funding/{slug}"), first, last,
               "Projekt współfinansowany ze środków Unii Europejskiej.",
               "The project is co-financed from European Union funds.")
              for slug, first, last in REAL_FUNDING]
    esf = _iri(f"{ID}funding/esf")
    source = sources[0] if sources else None
    for slug, pl, en, first, last, measures in PROGRAMMES:
        programme = _iri(f"{ID}funding/{SYN}{slug}")
        w.add(programme, RDF_TYPE, _iri(WKG + "FundingProgramme"))
        w.labels(programme, pl, en)
        w.add(programme, WKG + "financedByFund", esf)
        priority = _iri(f"{ID}funding/{SYN}{slug}-priority-1")
        w.add(priority, RDF_TYPE, _iri(WKG + "ProgrammePriority"))
        w.labels(priority, f"Oś priorytetowa I ({pl})", f"Priority axis I ({en})")
        w.add(priority, SKOS + "notation", _lit("I"))
        w.add(priority, DCT + "isPartOf", programme)
        nodes = [programme, priority]
        for code in measures:
            measure = _iri(f"{ID}funding/{SYN}{slug}-measure-{code.replace('.', '-')}")
            w.add(measure, RDF_TYPE, _iri(WKG + "ProgrammeMeasure"))
            w.labels(measure, f"Działanie {code} ({pl})", f"Measure {code} ({en})")
            w.add(measure, SKOS + "notation", _lit(code))
            w.add(measure, DCT + "isPartOf", priority)
            nodes.append(measure)
            leaves.append((measure, first, last, f"Projekt współfinansowany ze środków EFS w ramach {pl}.",
                           f"The project is co-financed by the ESF under the {en}."))
        if source:
            for node in nodes:
                w.add(node, DCT + "source", source)
    return leaves


def _year_cumulative() -> list[float]:
    """More projects in later years, with EU-programme peaks (2009–2013, 2017–2020)."""
    weights = []
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        weight = 1.0 + 0.08 * (year - FIRST_YEAR)
        if 2009 <= year <= 2013 or 2017 <= year <= 2020:
            weight *= 1.6
        weights.append(weight)
    return list(accumulate(weights))


def _date(rng: random.Random, year: int, month: int, day_precision: bool) -> tuple[str, str]:
    if day_precision:
        return f"{year:04d}-{month:02d}-{rng.randint(1, 28):02d}", XSD + "date"
    return f"{year:04d}-{month:02d}", XSD + "gYearMonth"


def _projects(w, rng, projects, sources, centres, units, ngos, foreign, funding) -> None:
    lead_cum = _zipf_cumulative(len(centres))
    year_cum = _year_cumulative()
    method_cum = _zipf_cumulative(len(METHODS), 0.8)
    for i in range(projects):
        project = _iri(f"{ID}project/{SYN}{i:06d}")
        source = _source_for(sources, i)
        if i % PROJECTS_PER_SOURCE == 0:
            w.part(f"{i // PROJECTS_PER_SOURCE:05d}")
        year = FIRST_YEAR + bisect(year_cum, rng.random() * year_cum[-1])
        centre = centres[bisect(lead_cum, rng.random() * lead_cum[-1])]
        lead = centre
        if centre in units and rng.random() < 0.4:
            lead = rng.choice(units[centre])
        topic_pl, topic_en = rng.choice(TOPICS)
        goal_pl, goal_en = rng.choice(GOALS)
        w.add(project, RDF_TYPE, _iri(WKG + "Project"))
        w.labels(project, f"Projekt syntetyczny nr {i} – {topic_pl} ({year})",
                 f"Synthetic project no. {i} – {topic_en} ({year})")
        w.add(project, DCT + "title", _lit(f"Projekt „{topic_pl.capitalize()}” nr {i}", "pl"))
        w.labels(project, goal_pl, goal_en, WKG + "mainGoal")
        w.add(project, WKG + "leadOrganisation", lead)
        draw = rng.random()
        partners = 0 if draw < 0.45 else 1 if draw < 0.8 else 2 if draw < 0.95 else 3
        chosen = []
        for _ in range(partners):
            pool = foreign if rng.random() < 0.2 else ngos if rng.random() < 0.7 else centres
            partner = rng.choice(pool)
            if partner != lead and partner != centre and partner not in chosen:
                chosen.append(partner)
                w.add(project, WKG + "partnerOrganisation", partner)
        # period: 6 months to 4 years, month precision (75 %) or day precision
        month = rng.randint(1, 12)
        months = rng.randint(6, 48)
        end_year, end_month = year + (month - 1 + months) // 12, (month - 1 + months) % 12 + 1
        day_precision = rng.random() < 0.25
        period = w.bnode()
        w.add(project, DCT + "temporal", period)
        w.add(period, RDF_TYPE, _iri(DCT + "PeriodOfTime"))
        start, datatype = _date(rng, year, month, day_precision)
        w.add(period, DCAT + "startDate", _lit(start, datatype=datatype))
        end, datatype = _date(rng, end_year, end_month, day_precision)
        w.add(period, DCAT + "endDate", _lit(end, datatype=datatype))
        # funding: a leaf whose years cover the start year
        eligible = [leaf for leaf in funding if leaf[1] <= year <= leaf[2]] or funding[-1:]
        instrument, _, _, statement_pl, statement_en = rng.choice(eligible)
        w.add(project, WKG + "fundedBy", instrument)
        if rng.random() < 0.1:
            w.labels(project, statement_pl, statement_en, WKG + "fundingStatement")
        # money: lognormal, median ~ 300 000, spread over orders of magnitude
        if rng.random() < 0.8:
            currency = "EUR" if "erasmus" in instrument or rng.random() < 0.15 else "PLN"
            total = round(math.exp(rng.gauss(math.log(300_000), 1.4)), 2)
            if currency == "EUR":
                total = round(total / 4.3, 2)
            _amount(w, project, WKG + "totalBudget", total, currency)
            if rng.random() < 0.6:
                _amount(w, project, WKG + "coFinancing", round(total * rng.uniform(0.5, 0.95), 2), currency)
        for method in sorted({METHODS[bisect(method_cum, rng.random() * method_cum[-1])]
                              for _ in range(rng.randint(1, 2))}):
            w.add(project, WKG + "usesMethod", _iri(VOCAB + "method/" + method))
        w.add(project, WKG + "targetGroup", _iri(VOCAB + "target-group/" + rng.choice(TARGET_GROUPS)))
        if rng.random() < 0.5:
            w.add(project, WKG + "thematicArea", _iri(VOCAB + "theme/" + rng.choice(THEMES)))
        if rng.random() < 0.1:
            w.add(project, WKG + "introducedPractice", _iri(VOCAB + "method/" + rng.choice(METHODS)))
        if rng.random() < 0.05:
            w.add(project, WKG + "introducedRole", _iri(VOCAB + "role/" + rng.choice(ROLES)))
        if rng.random() < 0.2:
            count = max(1, int(math.exp(rng.gauss(math.log(60), 1.2))))
            indicator = _iri(f"{ID}indicator/{SYN}{i:06d}-participants")
            w.add(project, WKG + "participants", indicator)
            w.add(indicator, RDF_TYPE, _iri(WKG + "ParticipantCount"))
            w.labels(indicator, f"Uczestnicy: {count}", f"Participants: {count}")
            w.add(indicator, WKG + "count", _lit(str(count), datatype=XSD + "integer"))
            for qualifier in rng.choice(QUALIFIERS):
                w.add(indicator, WKG + "countQualifier", _iri(VOCAB + "count-qualifier/" + qualifier))
            w.labels(indicator, f"{count} uczestników projektu z jego grupy docelowej.",
                     f"{count} participants of the project from its target group.", DCT + "description")
            w.add(indicator, DCT + "source", source)
        w.add(project, DCT + "source", source)


def _amount(w: _Writer, project: str, prop: str, value: float, currency: str) -> None:
    node = w.bnode()
    w.add(project, prop, node)
    w.add(node, RDF_TYPE, _iri(SCHEMA + "MonetaryAmount"))
    w.add(node, SCHEMA + "value", _lit(f"{value:.2f}", datatype=XSD + "decimal"))
    w.add(node, SCHEMA + "currency", _lit(currency))



def write_file(path, *, projects: int, seed: int = 0) -> int:
    """Stream the graph into a temporary file beside ``path``, then rename it (never half-written)."""
    from .export import write_atomic_stream

    with write_atomic_stream(Path(path)) as out:
        return generate(out, projects=projects, seed=seed)


def write_folder(folder, *, projects: int, seed: int = 0) -> tuple[int, int]:
    """Write one N-Triples file per source document into ``folder``; return (triples, files).

    The files are written into a new folder beside ``folder`` that then takes its place,
    so a reader never sees a half-written set. As in the curated ``graph/``, one file per
    source document means that changing one project touches one small file.
    """
    from .export import write_atomic_folder

    handles: list[IO[str]] = []
    with write_atomic_folder(folder, _replaceable, "files from 'generate'") as staging:
        def open_part(name: str) -> IO[str]:
            if handles:
                handles[-1].close()
            handles.append((staging / f"synthetic-{seed}-{name}.nt").open("w", encoding="utf-8", newline="\n"))
            return handles[-1]

        try:
            count = generate(None, projects=projects, seed=seed, open_part=open_part)
        finally:
            for handle in handles:
                handle.close()
    return count, len(handles)


def _replaceable(folder: Path) -> bool:
    """Only a folder that 'generate' wrote (synthetic-*.nt files and nothing else) is replaced."""
    return folder.is_dir() and all(p.is_file() and p.name.startswith("synthetic-") and p.suffix == ".nt"
                                   for p in folder.iterdir())
