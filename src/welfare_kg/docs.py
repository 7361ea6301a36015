"""HTML documentation of the ontology (pyLODE) and of each SKOS scheme (our own template).

``index.html`` is pyLODE's OntPub page for ``ontology/welfare.ttl`` (every class and
property with its Polish and English labels and definitions), with a list of the SKOS
schemes added at the top. pyLODE's VocPub profile (3.3.4) renders a scheme's metadata but
none of its concepts, so each scheme gets a page from ``templates/skos-scheme.html``:
concepts in hierarchy order, pl and en side by side, broader and related links. Everything
is offline: pyLODE inlines its CSS, our template carries its own. The folder is built
beside the target and renamed into place, so a reader never sees half of it.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, SKOS

from . import resources
from .export import write_atomic_folder

LANGUAGES = ("pl", "en")


def generate(output_dir: Path) -> Path:
    """Write index.html and one page per SKOS scheme into ``output_dir``; return the index.
    Only a folder of HTML pages (an earlier output) is replaced (:func:`export.write_atomic_folder`)."""
    with write_atomic_folder(output_dir, _replaceable, "HTML pages") as staging:
        schemes = [scheme_context(path) for path in vocabulary_files()]
        ontology = Graph().parse(resources.ontology_dir() / "welfare.ttl", format="turtle")
        header = next(ontology.subjects(RDF.type, OWL.Ontology))
        version = str(ontology.value(header, OWL.versionInfo) or "")
        modified = str(ontology.value(header, DCTERMS.modified) or "")
        template = _environment().get_template("skos-scheme.html")
        for scheme in schemes:
            page = template.render(scheme=scheme, version=version, modified=modified)
            (staging / scheme["file"]).write_text(page, encoding="utf-8")
        (staging / "index.html").write_text(_ontology_page(schemes), encoding="utf-8")
    return Path(output_dir) / "index.html"


def _replaceable(folder: Path) -> bool:
    """A folder of nothing but HTML pages, as :func:`generate` writes (or an empty one)."""
    return folder.is_dir() and all(p.is_file() and p.suffix == ".html" for p in folder.iterdir())


def vocabulary_files() -> list[Path]:
    return sorted(resources.ontology_dir().glob("vocab-*.ttl"))


def _ontology_page(schemes: list[dict]) -> str:
    OntPub = _import_pylode()
    page = OntPub(ontology=str(resources.ontology_dir() / "welfare.ttl")).make_html()
    items = "".join(
        f'<li><a href="{html.escape(s["file"])}">{html.escape(s["label"]["pl"])} / '
        f'{html.escape(s["label"]["en"])}</a> ({len(s["concepts"])})</li>'
        for s in schemes)
    section = (f'<section id="skos-schemes"><h2>Schematy pojęć SKOS / SKOS concept schemes</h2>'
               f"<ul>{items}</ul></section>")
    marker = '<div id="content">'
    if marker not in page:
        raise RuntimeError("pyLODE page has no content division to add the SKOS schemes to")
    return page.replace(marker, marker + section, 1)


def _import_pylode():
    """pyLODE 3.3.4 calls logging.basicConfig(level=DEBUG) on import; undo that."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from pylode import OntPub

    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    return OntPub


def scheme_context(path: Path) -> dict:
    """One scheme file as plain data for the template, concepts in hierarchy order."""
    graph = Graph().parse(path, format="turtle")
    scheme = next(graph.subjects(RDF.type, SKOS.ConceptScheme))
    concepts = sorted(set(graph.subjects(RDF.type, SKOS.Concept)))
    in_scheme = set(concepts)
    children: dict = {}
    roots = []
    for concept in concepts:
        parents = [b for b in graph.objects(concept, SKOS.broader) if b in in_scheme]
        if parents:
            for parent in parents:
                children.setdefault(parent, []).append(concept)
        else:
            roots.append(concept)
    ordered: list[tuple[URIRef, int]] = []
    seen: set = set()

    def walk(concept, depth):
        if concept in seen:
            return
        seen.add(concept)
        ordered.append((concept, depth))
        for child in sorted(children.get(concept, [])):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    for concept in concepts:  # anything in a broader cycle still gets listed
        walk(concept, 0)
    file_name = f"vocab-{_local(scheme)}.html"
    return {
        "iri": str(scheme),
        "file": file_name,
        "label": _by_language(graph, scheme, SKOS.prefLabel),
        "definition": _by_language(graph, scheme, SKOS.definition),
        "concepts": [{
            "iri": str(c),
            "name": _local(c),
            "anchor": _local(c),
            "depth": depth,
            "notation": ", ".join(sorted(str(n) for n in graph.objects(c, SKOS.notation))),
            "label": _by_language(graph, c, SKOS.prefLabel),
            "alt": {lang: sorted(str(a) for a in graph.objects(c, SKOS.altLabel) if a.language == lang)
                    for lang in LANGUAGES},
            "definition": _by_language(graph, c, SKOS.definition),
            "broader": [_link(b, scheme) for b in sorted(graph.objects(c, SKOS.broader))],
            "related": [_link(r, scheme) for r in sorted(graph.objects(c, SKOS.related))],
        } for c, depth in ordered],
    }


def _link(target: URIRef, scheme: URIRef) -> dict:
    name = _local(target)
    base = str(target).rsplit("/", 1)[0]
    href = f"#{name}" if base == str(scheme) else f"vocab-{_local(URIRef(base))}.html#{name}"
    return {"name": name, "anchor": name, "href": href}


def _by_language(graph: Graph, subject, predicate) -> dict[str, str]:
    values = {lang: "" for lang in LANGUAGES}
    for value in sorted(graph.objects(subject, predicate)):
        lang = getattr(value, "language", None)
        if lang in values and not values[lang]:
            values[lang] = str(value)
    return values


def _local(iri) -> str:
    return str(iri).rstrip("/").rsplit("/", 1)[-1]


def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(str(resources.templates_dir())),
                       autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                       keep_trailing_newline=True)
