"""Independent parsers read every RDF file the project writes, with the same triple count.

Debian's ``rapper`` (raptor2-utils, a C parser sharing no code with rdflib or Oxigraph)
reads Turtle, N-Triples, RDF/XML and TriG. Raptor 2 has no JSON-LD parser (its ``json``
input is RDF/JSON), so JSON-LD goes through PyLD, the JSON-LD reference implementation
in Python, instead.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pyoxigraph as ox
import pytest

from welfare_kg import dcat, export, store

RAPPER = shutil.which("rapper")
RAPPER_SYNTAX = {"turtle": "turtle", "nt": "ntriples", "xml": "rdfxml", "trig": "trig"}
needs_rapper = pytest.mark.skipif(RAPPER is None, reason="rapper not installed (Debian: apt-get install raptor2-utils)")


@pytest.fixture(scope="module")
def graphs(dataset):
    return export.named_graphs(store.oxigraph(dataset))


def expected_statements(graphs, public: bool) -> int:
    """Triples in the export: N-Triples lines (TriG holds the same triples, one graph each)."""
    return len(export.serialize(graphs, "nt", public=public).splitlines())


def rapper_count(path, syntax: str) -> int:
    done = subprocess.run([RAPPER, "-i", syntax, "-c", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr.lower(), done.stderr
    assert "warning" not in done.stderr.lower(), done.stderr
    (count,) = re.findall(r"Parsing returned (\d+) (?:triples|statements)", done.stderr)
    return int(count)


@needs_rapper
@pytest.mark.parametrize("public", [True, False], ids=["public", "full"])
@pytest.mark.parametrize("fmt", sorted(RAPPER_SYNTAX))
def test_rapper_parses_the_export(graphs, fmt, public, tmp_path):
    path = tmp_path / f"export{export.FORMATS[fmt][0]}"
    path.write_bytes(export.serialize(graphs, fmt, public=public))
    assert rapper_count(path, RAPPER_SYNTAX[fmt]) == expected_statements(graphs, public)


@needs_rapper
def test_rapper_parses_the_dcat_description(dataset, tmp_path):
    data = dcat.description(dataset)
    path = tmp_path / "dataset.ttl"
    path.write_bytes(data)
    ours = len(list(ox.parse(data, format=ox.RdfFormat.TURTLE)))
    assert rapper_count(path, "turtle") == ours > 100


@pytest.mark.parametrize("public", [True, False], ids=["public", "full"])
def test_pyld_reads_the_json_ld_export(graphs, public):
    jsonld = pytest.importorskip("pyld.jsonld", reason="PyLD not installed (pip install PyLD)")
    document = json.loads(export.serialize(graphs, "jsonld", public=public))
    quads = jsonld.to_rdf(document, {"format": "application/n-quads"})
    assert len([line for line in quads.splitlines() if line.strip()]) == expected_statements(graphs, public)


def test_every_export_format_is_covered():
    assert set(export.FORMATS) == set(RAPPER_SYNTAX) | {"jsonld"}
