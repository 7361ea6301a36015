"""Size and shape of the graph: triples, entities per class, projects per institution."""

from __future__ import annotations

from rdflib import Dataset

from .results import display

ENTITIES_PER_CLASS = """
SELECT ?class (COUNT(DISTINCT ?entity) AS ?entities)
WHERE { ?entity a ?class . }
GROUP BY ?class
ORDER BY DESC(?entities) ?class
"""

# An institution counts the projects of its units too (org:unitOf*), under any role.
PROJECTS_PER_INSTITUTION = """
PREFIX wkg: <https://w3id.org/welfare-kg/ontology/>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?institution (COUNT(DISTINCT ?project) AS ?projects)
WHERE {
  ?project a wkg:Project ;
           wkg:hasTask? ?activity .
  ?activity ?role ?agent .
  ?role rdfs:subPropertyOf+ prov:wasAssociatedWith .
  ?agent org:unitOf* ?institution .
}
GROUP BY ?institution
ORDER BY DESC(?projects) ?institution
"""


def compute(dataset: Dataset) -> dict:
    (triples,), = dataset.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")  # read to the end, see dcat.void_figures
    names = dataset.namespace_manager
    per_class = [(display(c, names), int(n)) for c, n in dataset.query(ENTITIES_PER_CLASS)]
    per_institution = [(display(i, names), int(n)) for i, n in dataset.query(PROJECTS_PER_INSTITUTION)]
    return {"triples": int(triples), "entities_per_class": per_class, "projects_per_institution": per_institution}


def format_text(stats: dict) -> str:
    lines = [f"triples: {stats['triples']}", "", "entities per class:"]
    lines += [f"  {count:6d}  {name}" for name, count in stats["entities_per_class"]]
    lines += ["", "projects per institution (including its units):"]
    lines += [f"  {count:6d}  {name}" for name, count in stats["projects_per_institution"]]
    return "\n".join(lines) + "\n"
