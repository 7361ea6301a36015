"""Exports: byte-stable across processes, round-trip isomorphic, public ones without personal data."""

from __future__ import annotations

import os
import subprocess
import sys

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, Literal
from rdflib.compare import isomorphic

from welfare_kg import export, store
from welfare_kg.namespaces import SCHEMA, WKG

RDFLIB_FORMAT = {"turtle": "turtle", "nt": "nt", "jsonld": "json-ld", "xml": "xml", "trig": "trig"}


@pytest.fixture(scope="module")
def named(dataset):
    return export.named_graphs(store.oxigraph(dataset))


def parse_back(data: bytes, fmt: str) -> Graph:
    if fmt == "trig":
        dataset = Dataset()
        dataset.parse(data=data, format="trig")
        graph = Graph()
        for s, p, o, _ in dataset.quads():
            graph.add((s, p, o))
        return graph
    return Graph().parse(data=data, format=RDFLIB_FORMAT[fmt])


@pytest.mark.parametrize("fmt", sorted(export.FORMATS))
def test_every_format_round_trips_to_the_same_graph(named, fmt):
    reference = Graph().parse(data=export.serialize(named, "nt"), format="nt")
    assert len(reference) > 1000
    assert isomorphic(parse_back(export.serialize(named, fmt), fmt), reference)


def test_export_holds_ontology_and_graph_with_prefixes(named):
    text = export.serialize(named, "turtle").decode("utf-8")
    assert "@prefix wkg: <https://w3id.org/welfare-kg/ontology/> ." in text
    assert "<https://w3id.org/welfare-kg/ontology>" in text
    assert "organisation:mops-gdynia" in text


def test_public_export_leaves_out_personal_data(named):
    full = parse_back(export.serialize(named, "turtle"), "turtle")
    people = set(full.subjects(WKG.isPersonalData, Literal(True)))
    assert len(people) == 2
    for fmt in export.FORMATS:
        data = export.serialize(named, fmt, public=True)
        assert b"Wojtysiak" not in data and b"53-50-716" not in data, fmt
        public = parse_back(data, fmt)
        assert not set(public.subjects(WKG.isPersonalData, None))
        assert not list(public.triples((None, SCHEMA.telephone, None)))
        assert len(public) < len(full)


def _export_in_fresh_process(cache_dir, fmt, hash_seed, target):
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    subprocess.run([sys.executable, "-m", "welfare_kg.cli", "--cache-dir", str(cache_dir), "export",
                    "--format", fmt, "-o", str(target)], check=True, env=env, capture_output=True)
    return target.read_bytes()


@pytest.mark.parametrize("fmt", sorted(export.FORMATS))
def test_two_runs_give_byte_identical_files(cache_dir, dataset, tmp_path, fmt):
    first = _export_in_fresh_process(cache_dir, fmt, 1, tmp_path / "a")
    second = _export_in_fresh_process(cache_dir, fmt, 2, tmp_path / "b")
    assert first == second


def test_write_atomic_replaces_whole_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "out.ttl"
    target.write_bytes(b"old")
    export.write_atomic(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.ttl"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failed_export_leaves_no_file(named, tmp_path):
    target = tmp_path / "never.ttl"
    with pytest.raises(ValueError):
        export.write_atomic(target, export.serialize(named, "docx"))
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_blank_node_labels_depend_on_the_data_not_on_the_parse():
    text = b"""
    @prefix ex: <https://example.org/> .
    ex:p ex:period [ ex:start "2019" ; ex:end "2020" ] ;
         ex:amount [ ex:value 5 ], [ ex:value 5 ] ;
         ex:list ( [ ex:n 1 ] [ ex:n 1 ] ) .
    [ ex:orphan [ ex:deep true ] ] .
    """
    first = list(ox.parse(text, format=ox.RdfFormat.TURTLE, rename_blank_nodes=True))
    second = list(ox.parse(text, format=ox.RdfFormat.TURTLE, rename_blank_nodes=True))
    assert {t.subject for t in first if isinstance(t.subject, ox.BlankNode)}.isdisjoint(
        {t.subject for t in second if isinstance(t.subject, ox.BlankNode)})
    lines = export.canonical_lines(first)
    assert lines == export.canonical_lines(list(reversed(second)))
    assert len(lines) == len(first), "identical sibling blank nodes stay apart"
    assert Graph().parse(data="\n".join(lines), format="nt").isomorphic(Graph().parse(data=text, format="turtle"))
