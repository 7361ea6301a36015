"""DCAT-AP 3 description of the dataset, with VoID statistics, as deterministic Turtle.

The hand-owned facts (titles, publisher, licence, themes, distributions, the SPARQL
service) live in ``metadata/catalogue.ttl``. What depends on the data is computed from
the store (and kept beside an embedded one, see :func:`cached_description`):
issued/modified and version (from the ontology header), the temporal
coverage (earliest project start to latest project end, each kept at the precision the
source gives), the countries of ``dcterms:spatial`` and the VoID figures, which count the
public data (the same triples a ``--public`` export holds).
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import re
from importlib.metadata import version
from pathlib import Path

import pyoxigraph as ox
import rdflib
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, VOID, XSD

from . import resources, store
from .errors import UsageError
from .export import PERSONAL_VALUES, canonical_lines, oxigraph_triples, serialize
from .namespaces import BASE, COUNTRY, WKG, bind_prefixes

ONTOLOGY = URIRef(BASE + "ontology")
CATALOGUE = URIRef(BASE + "catalogue")
DATASET = URIRef(BASE + "dataset")
URI_SPACE = BASE + "id/"
DCAT_VERSION = URIRef(str(DCAT) + "version")  # DCAT 3; rdflib's closed DCAT namespace lacks it

EXTRA_PREFIXES = {
    "void": str(VOID),
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "dcatap": "http://data.europa.eu/r5r/",
    "gsp": "http://www.opengis.net/ont/geosparql#",
    "filetype": "http://publications.europa.eu/resource/authority/file-type/",
    "language": "http://publications.europa.eu/resource/authority/language/",
    "datatheme": "http://publications.europa.eu/resource/authority/data-theme/",
    "licence": "http://publications.europa.eu/resource/authority/licence/",
    "dist": BASE + "distribution/",
}

# The public data: every triple of the union whose subject and object are not personal data
# (a public export drops exactly these, see export.PERSONAL_STATEMENTS). MINUS, not FILTER
# NOT EXISTS: the few personal nodes are gathered once instead of looked up for each
# triple's two ends (43 s → 6 s for 2.5 M triples in the on-disk store).
PUBLIC_TRIPLES = f"""
SELECT DISTINCT ?s ?p ?o WHERE {{
  ?s ?p ?o .
  MINUS {{ ?s ?personalPredicate ?personalObject . {PERSONAL_VALUES} }}
  MINUS {{ ?o ?personalPredicate ?personalObject . {PERSONAL_VALUES} }}
}}"""

VOID_FIGURES = f"""
PREFIX wkg: <{WKG}>
SELECT (COUNT(*) AS ?triples)
       (COUNT(DISTINCT ?s) AS ?distinctSubjects)
       (COUNT(DISTINCT ?o) AS ?distinctObjects)
       (COUNT(DISTINCT ?p) AS ?properties)
       (COUNT(DISTINCT ?class) AS ?classes)
       (COUNT(DISTINCT ?entity) AS ?entities)
WHERE {{
  {{ {PUBLIC_TRIPLES} }}
  BIND(IF(?p = <{RDF.type}>, ?o, ?unbound) AS ?class)
  BIND(IF(isIRI(?s) && STRSTARTS(STR(?s), "{URI_SPACE}"), ?s, ?unbound) AS ?entity)
}}"""

# Predicates, and the classes or super-terms they point to, in one pass over the public data.
VOCABULARY_TERMS = f"""
PREFIX wkg: <{WKG}>
SELECT DISTINCT ?p ?term WHERE {{
  {{ {PUBLIC_TRIPLES} }}
  BIND(IF(?p IN (<{RDF.type}>, <{RDFS.subClassOf}>, <{RDFS.subPropertyOf}>) && isIRI(?o), ?o, ?unbound) AS ?term)
}}"""

PROJECT_PERIODS = f"""
PREFIX wkg: <{WKG}>
SELECT ?start ?end WHERE {{
  ?project a wkg:Project ;
           <{DCTERMS.temporal}> ?period .
  OPTIONAL {{ ?period <{DCAT.startDate}> ?start }}
  OPTIONAL {{ ?period <{DCAT.endDate}> ?end }}
}}"""

COUNTRIES = f"""
SELECT DISTINCT ?country WHERE {{
  {{ ?x <{WKG.country}> ?country }} UNION {{ ?x <{DCTERMS.spatial}> ?country }}
  FILTER(STRSTARTS(STR(?country), "{COUNTRY}"))
}}"""

VOID_ORDER = ("triples", "entities", "classes", "properties", "distinctSubjects", "distinctObjects")


def description(dataset: Dataset) -> bytes:
    """The catalogue, dataset, distributions and SPARQL service as Turtle bytes."""
    return to_turtle(describe(dataset))


def cached_description(store_dir: Path, dataset: Dataset) -> bytes:
    """:func:`description` of the embedded store at ``store_dir`` (``dataset``), computed once
    per store and code: it took about 40 s of one core at 100,000 projects at every ``serve``
    start."""
    return store.derived(store_dir, "description", code_digest(), lambda: description(dataset))


def code_digest() -> str:
    """Digest of what a description, or a public download, depends on besides the data: the
    template, this package's code and the libraries that compute and write it."""
    digest = hashlib.sha256()
    for path in [resources.dcat_template(), *sorted(Path(__file__).parent.glob("*.py"))]:
        digest.update(path.read_bytes())
    digest.update(f"rdflib {rdflib.__version__} pyoxigraph {version('pyoxigraph')}".encode())
    return digest.hexdigest()[:16]


def describe(dataset: Dataset) -> Graph:
    """The description as an rdflib Graph: the template plus what the store says."""
    graph = store.parse_files([resources.dcat_template()])  # a broken template: file and line, no traceback
    _add_dates(graph, dataset)
    _add_temporal(graph, dataset)
    _add_spatial(graph, dataset)
    for name, value in void_figures(dataset).items():
        graph.add((DATASET, VOID[name], Literal(value, datatype=XSD.integer)))
    for vocabulary in vocabularies(dataset):
        graph.add((DATASET, VOID.vocabulary, vocabulary))
    return graph


@functools.cache
def terms_of_use() -> dict[str, dict[str, str]]:
    """The catalogue's licence (IRI, label) and publisher's name per language, as the template
    states them, for pages that show the data to people: CC BY asks for attribution."""
    path = resources.dcat_template()
    template = store.parse_files([path])
    licence = template.value(CATALOGUE, DCTERMS.license)
    publisher = template.value(template.value(CATALOGUE, DCTERMS.publisher), FOAF.name)
    if licence is None or publisher is None:
        raise UsageError(f"{path}: the catalogue needs a dcterms:license and a dcterms:publisher with a foaf:name")
    return {lang: {"licence": str(licence), "licence_label": _label(template, licence, lang),
                   "publisher": str(publisher)} for lang in ("pl", "en")}


def _label(graph: Graph, node: URIRef, lang: str) -> str:
    labels = {label.language: str(label) for label in graph.objects(node, RDFS.label)}
    return labels.get(lang) or labels.get("en") or str(node)


def in_format(turtle: bytes, fmt: str) -> bytes:
    """The description (Turtle, as :func:`description` makes it) in another RDF format of
    :data:`export.FORMATS`: portals harvest DCAT-AP as RDF/XML or JSON-LD too."""
    if fmt == "turtle":
        return turtle
    return serialize({str(DATASET): list(ox.parse(turtle, format=ox.RdfFormat.TURTLE))}, fmt)


def void_figures(dataset: Dataset) -> dict[str, int]:
    """Triples, entities, classes, properties, distinct subjects and objects of the public data."""
    # Read to the end: a result left half-read is freed by whichever thread collects it, and
    # Oxigraph's results may be freed only by the thread that made them.
    row, = dataset.query(VOID_FIGURES)
    return {name: int(row[name]) for name in VOID_ORDER}


def vocabularies(dataset: Dataset) -> list[URIRef]:
    """Namespaces of the properties and classes the public data uses or builds on.

    Counted: every predicate, every object of rdf:type, and every super-class or
    super-property the ontology names (so ORG, PROV-O and CPOV are listed too).
    """
    namespaces = set()
    for row in dataset.query(VOCABULARY_TERMS):
        for term in filter(None, row):
            text = str(term)
            cut = max(text.rfind("#"), text.rfind("/"))
            namespaces.add(text[:cut + 1])
    return [URIRef(n) for n in sorted(namespaces)]


def _add_dates(graph: Graph, dataset: Dataset) -> None:
    """issued and modified are the ontology's (no wall clock): a portal reads issued as the
    first publication, which stays put while modified follows each change; version from it too."""
    modified = dataset.value(ONTOLOGY, DCTERMS.modified)
    issued = dataset.value(ONTOLOGY, DCTERMS.issued) or modified
    version = dataset.value(ONTOLOGY, OWL.versionInfo)
    for node in (CATALOGUE, DATASET):
        if issued is not None:
            graph.add((node, DCTERMS.issued, issued))
        if modified is not None:
            graph.add((node, DCTERMS.modified, modified))
    if version is not None:
        graph.add((DATASET, DCAT_VERSION, Literal(str(version))))


def _add_temporal(graph: Graph, dataset: Dataset) -> None:
    starts, ends = [], []
    for start, end in dataset.query(PROJECT_PERIODS):
        if start is not None:
            starts.append(start)
        if end is not None:
            ends.append(end)
    if not starts and not ends:
        return
    period = BNode()
    graph.add((DATASET, DCTERMS.temporal, period))
    graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
    # As xsd:date, the first and last day the periods can mean: DCAT-AP 2.1.1, which portals'
    # checkers still apply, takes no gYearMonth or gYear there (3.0.1 takes either).
    if starts:
        graph.add((period, DCAT.startDate, Literal(min(_bounds(d)[0] for d in starts), datatype=XSD.date)))
    if ends:
        graph.add((period, DCAT.endDate, Literal(max(_bounds(d)[1] for d in ends), datatype=XSD.date)))


def _bounds(date: Literal) -> tuple[str, str]:
    """First and last day an xsd:date, gYearMonth or gYear literal can mean, as ISO text
    (a time zone, which these may carry, left out)."""
    text = re.match(r"-?\d{4}(-\d{2}){0,2}", str(date)).group()
    if len(text) == 4:
        return f"{text}-01-01", f"{text}-12-31"
    if len(text) == 7:
        last = calendar.monthrange(int(text[:4]), int(text[5:]))[1]
        return f"{text}-01", f"{text}-{last:02d}"
    return text, text


def _add_spatial(graph: Graph, dataset: Dataset) -> None:
    """Countries the data speaks of, typed and labelled as the store has them."""
    for (country,) in sorted(dataset.query(COUNTRIES)):
        for node in (CATALOGUE, DATASET):
            graph.add((node, DCTERMS.spatial, country))
        graph.add((country, RDF.type, DCTERMS.Location))
        for label in dataset.objects(country, RDFS.label):
            graph.add((country, RDFS.label, label))


def to_turtle(graph: Graph) -> bytes:
    """Deterministic Turtle: canonical blank nodes, sorted triples, longturtle."""
    ordered = Graph()
    bind_prefixes(ordered)
    for prefix, namespace in EXTRA_PREFIXES.items():
        ordered.bind(prefix, namespace, override=True, replace=True)
    ordered.parse(data="\n".join(canonical_lines(oxigraph_triples(graph))), format="nt")
    return ordered.serialize(format="longturtle", encoding="utf-8")
