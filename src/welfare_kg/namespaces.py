"""IRI bases and the one prefix map used by queries, exports and messages."""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SKOS, XSD

BASE = "https://w3id.org/welfare-kg/"
WKG = Namespace(BASE + "ontology/")
ID = Namespace(BASE + "id/")
VOCAB = Namespace(BASE + "vocab/")
GRAPH = Namespace(BASE + "graph/")
SCHEMA = Namespace("https://schema.org/")
CV = Namespace("http://data.europa.eu/m8g/")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
SH = Namespace("http://www.w3.org/ns/shacl#")
COUNTRY = Namespace("http://publications.europa.eu/resource/authority/country/")

PREFIXES: dict[str, str] = {
    "wkg": str(WKG),
    "id": str(ID),
    "organisation": BASE + "id/organisation/",
    "project": BASE + "id/project/",
    "src": BASE + "id/source/",
    "funding": BASE + "id/funding/",
    # the other typed segments the graph files name (a table showed their IRIs cut short, alike)
    "activity": BASE + "id/activity/",
    "award": BASE + "id/award/",
    "edition": BASE + "id/edition/",
    "event": BASE + "id/event/",
    "indicator": BASE + "id/indicator/",
    "legalact": BASE + "id/legal-act/",
    "module": BASE + "id/training-module/",
    "output": BASE + "id/output/",
    "panel": BASE + "id/panel/",
    "person": BASE + "id/person/",
    "place": BASE + "id/place/",
    "result": BASE + "id/result/",
    "task": BASE + "id/task/",
    "method": BASE + "vocab/method/",
    "role": BASE + "vocab/role/",
    "tg": BASE + "vocab/target-group/",
    "theme": BASE + "vocab/theme/",
    "orgtype": BASE + "vocab/organisation-type/",
    "qualifier": BASE + "vocab/count-qualifier/",
    "resulttype": BASE + "vocab/result-type/",
    "projecttype": BASE + "vocab/project-type/",
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "dcterms": str(DCTERMS),
    "dcat": str(DCAT),
    "org": str(ORG),
    "prov": str(PROV),
    "foaf": str(FOAF),
    "schema": str(SCHEMA),
    "cv": str(CV),
    "eli": str(ELI),
    "country": str(COUNTRY),
}


def bind_prefixes(graph) -> None:
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
