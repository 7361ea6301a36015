"""`welfare-kg docs`: offline HTML documentation of the ontology and every SKOS scheme,
with each term's Polish and English labels."""

from __future__ import annotations

import html
import re

import pytest
from rdflib import Graph
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from welfare_kg import docs, resources
from welfare_kg.namespaces import WKG
from welfare_kg.cli import main

EXTERNAL_ASSET = re.compile(
    r"<script[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//"
    r"|<link[^>]*\bhref\s*=\s*[\"']?(?:https?:)?//"
    r"|@import\s+(?:url\()?[\"']?(?:https?:)?//"
    r"|url\(\s*[\"']?(?:https?:)?//"
    r"|<(?:img|iframe|embed|source)[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs") / "site"
    index = docs.generate(out)
    assert index == out / "index.html"
    return out


def text_of(path) -> str:
    return html.unescape(path.read_text(encoding="utf-8"))


def labels(graph: Graph, subject, predicate) -> dict[str, str]:
    return {label.language: str(label) for label in graph.objects(subject, predicate)}


def test_every_class_and_property_appears_with_its_pl_and_en_label(site):
    ontology = Graph().parse(resources.ontology_dir() / "welfare.ttl")
    page = text_of(site / "index.html")
    terms = set()
    for kind in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDF.Property):
        terms |= {t for t in ontology.subjects(RDF.type, kind) if str(t).startswith(str(WKG))}
    assert len(terms) > 50  # our own terms; reused ones (dcterms:creator ...) are declared only
    for term in sorted(terms):
        found = labels(ontology, term, RDFS.label)
        assert set(found) >= {"pl", "en"}, term
        assert str(term) in page, term
        for language in ("pl", "en"):
            assert found[language] in page, (term, language)


def test_every_concept_appears_on_its_scheme_page_with_pl_and_en_label_and_definition(site):
    index = text_of(site / "index.html")
    files = docs.vocabulary_files()
    assert len(files) >= 8
    for path in files:
        vocabulary = Graph().parse(path)
        (scheme,) = vocabulary.subjects(RDF.type, SKOS.ConceptScheme)
        page_name = f"vocab-{str(scheme).rsplit('/', 1)[-1]}.html"
        assert f'href="{page_name}"' in index
        page = text_of(site / page_name)
        concepts = set(vocabulary.subjects(RDF.type, SKOS.Concept))
        assert concepts, path
        for concept in concepts:
            assert f'id="{str(concept).rsplit("/", 1)[-1]}"' in page, concept
            for predicate in (SKOS.prefLabel, SKOS.definition):
                found = labels(vocabulary, concept, predicate)
                for language in ("pl", "en"):
                    assert found.get(language) and found[language] in page, (concept, predicate, language)


def test_pages_fetch_nothing_from_the_network(site):
    pages = sorted(site.glob("*.html"))
    assert len(pages) == 1 + len(docs.vocabulary_files())
    for page in pages:
        assert not EXTERNAL_ASSET.search(page.read_text(encoding="utf-8")), page.name


def test_the_external_asset_check_has_teeth():
    assert EXTERNAL_ASSET.search('<script src="https://cdn.example.org/x.js"></script>')
    assert EXTERNAL_ASSET.search("<link rel=stylesheet href='//cdn.example.org/x.css'>")
    assert not EXTERNAL_ASSET.search('<a href="https://w3id.org/welfare-kg/ontology">link</a>')


def test_cli_replaces_the_folder_and_output_is_stable(site, tmp_path, cache_dir, capsys):
    target = tmp_path / "docs"
    target.mkdir()
    (target / "stale.html").write_text("old", encoding="utf-8")
    assert main(["--cache-dir", str(cache_dir), "docs", "-o", str(target)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {target / 'index.html'}"
    assert sorted(p.name for p in target.iterdir()) == sorted(p.name for p in site.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs"]  # nothing left beside it
    for page in site.iterdir():
        assert (target / page.name).read_bytes() == page.read_bytes(), page.name


def test_cli_never_replaces_a_file_or_a_folder_of_other_things(tmp_path, cache_dir, capsys, monkeypatch):
    plain = tmp_path / "notes.txt"
    plain.write_text("mine", encoding="utf-8")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "data.csv").write_text("mine", encoding="utf-8")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    for target, reason in ((plain, "exists and holds more than HTML pages; not replaced"),
                           (mixed, "exists and holds more than HTML pages; not replaced"),
                           (plain / "docs", "cannot write: File exists"),
                           (".", "is (or holds) the current folder; not replaced")):
        assert main(["--cache-dir", str(cache_dir), "docs", "-o", str(target)]) == 2
        err = capsys.readouterr().err
        assert err == f"welfare-kg: {target}: {reason}\n", target
    assert plain.read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here", "mixed", "notes.txt"]
    assert [p.name for p in mixed.iterdir()] == ["data.csv"] and list(here.iterdir()) == []
