"""The synthetic national graph: deterministic, in the project's own model, and valid."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from rdflib import Graph

from welfare_kg import generate, queries, resources, store
from welfare_kg.cli import main
from welfare_kg.validate import validate_graph

PROJECTS = 50


def text(projects: int = PROJECTS, seed: int = 0) -> str:
    buffer = io.StringIO()
    generate.generate(buffer, projects=projects, seed=seed)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("synthetic") / "synthetic.nt"
    generate.write_file(path, projects=PROJECTS, seed=0)
    return path


@pytest.fixture(scope="module")
def synthetic(data_file) -> Graph:
    return store.parse_files(resources.source_files() + [data_file])


def test_same_seed_gives_the_same_bytes_and_another_seed_differs():
    assert text(seed=7) == text(seed=7)
    assert text(seed=7) != text(seed=8)


def test_file_and_stream_agree(data_file):
    assert data_file.read_text(encoding="utf-8") == text()


def test_every_generated_iri_is_marked_synthetic():
    for line in text(20).splitlines():
        subject = line.split(" ", 1)[0]
        if subject.startswith("<https://w3id.org/welfare-kg/id/"):
            assert "/synthetic-" in subject, subject


def test_n_projects_each_with_lead_period_source_and_budget_within_total(synthetic):
    rows = list(synthetic.query("""
        SELECT ?p (COUNT(DISTINCT ?lead) AS ?leads) (COUNT(DISTINCT ?period) AS ?periods)
               (COUNT(DISTINCT ?source) AS ?sources)
        WHERE { ?p a wkg:Project ; wkg:leadOrganisation ?lead ; dcterms:temporal ?period ;
                   dcterms:source ?source .
                ?period dcat:startDate ?start ; dcat:endDate ?end .
                ?source a wkg:SourceDocument .
                FILTER(STRSTARTS(STR(?p), "https://w3id.org/welfare-kg/id/project/synthetic-")) }
        GROUP BY ?p"""))
    assert len(rows) == PROJECTS
    assert all(int(r.leads) == 1 and int(r.periods) == 1 and int(r.sources) == 1 for r in rows)
    amounts = list(synthetic.query("""
        SELECT ?total ?grant ?c1 ?c2 WHERE {
          ?p wkg:totalBudget [ schema:value ?total ; schema:currency ?c1 ] ;
             wkg:coFinancing [ schema:value ?grant ; schema:currency ?c2 ] .
          FILTER(STRSTARTS(STR(?p), "https://w3id.org/welfare-kg/id/project/synthetic-")) }"""))
    assert amounts
    assert all(Decimal(r.grant) <= Decimal(r.total) and r.c1 == r.c2 for r in amounts)
    datatypes = {str(r.d) for r in synthetic.query("""
        SELECT DISTINCT (DATATYPE(?start) AS ?d) WHERE { ?p a wkg:Project ; dcterms:temporal/dcat:startDate ?start }""")}
    assert {"http://www.w3.org/2001/XMLSchema#gYearMonth", "http://www.w3.org/2001/XMLSchema#date"} <= datatypes


def test_catalogue_queries_return_rows(tmp_path, data_file):
    dataset = store.open_dataset(tmp_path, files=resources.source_files() + [data_file])
    for item in queries.catalogue():
        result = queries.run(dataset, item)
        assert len(list(result)) > 0, item.name


def test_passes_validation(synthetic):
    report = validate_graph(synthetic)
    assert report.conforms
    assert report.count("Violation") == 0


def test_cli_generate_and_validate_data(tmp_path, capsys):
    target = tmp_path / "g.nt"
    assert main(["generate", "--projects", "10", "--seed", "3", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == text(10, 3)
    assert main(["--cache-dir", str(tmp_path / "cache"), "validate", "--data", str(target)]) == 0
    assert "0 violations" in capsys.readouterr().out
    assert list((tmp_path / "cache").glob("store-*"))  # validate --data builds the store, as query --data does
    assert main(["validate", "--data", str(tmp_path / "missing.nt")]) == 2


@pytest.mark.parametrize("projects", ["-1", str(generate.MAX_PROJECTS + 1)])
def test_cli_generate_refuses_a_count_out_of_range_before_writing(tmp_path, capsys, projects):
    assert main(["generate", "--projects", projects, "--output-dir", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"welfare-kg: --projects must be from 0 to {generate.MAX_PROJECTS}\n"
    assert not (tmp_path / "out").exists()


def test_cli_query_on_a_store_with_data(tmp_path, capsys):
    target = tmp_path / "g.nt"
    generate.write_file(target, projects=10, seed=1)
    code = main(["--cache-dir", str(tmp_path / "cache"), "query", "cq11-sources", "--data", str(target),
                 "--format", "csv"])
    assert code == 0
    assert "synthetic-000009" in capsys.readouterr().out


def test_a_folder_holds_the_same_triples_one_file_per_source_document(tmp_path):
    count, files = generate.write_folder(tmp_path / "national", projects=250, seed=0)
    names = sorted(p.name for p in (tmp_path / "national").iterdir())
    assert names == ["synthetic-0-00000.nt", "synthetic-0-00001.nt", "synthetic-0-00002.nt",
                     "synthetic-0-shared.nt"]
    assert files == len(names)
    lines = [line for name in names for line in (tmp_path / "national" / name).read_text(encoding="utf-8").splitlines()]
    assert len(lines) == count
    assert sorted(lines) == sorted(text(250).splitlines())


def test_query_takes_a_generated_folder_as_data(tmp_path, capsys):
    folder = tmp_path / "national"
    assert main(["generate", "--projects", "120", "--output-dir", str(folder)]) == 0
    assert main(["--cache-dir", str(tmp_path / "cache"), "query", "cq05-active-in-year", "--param", "year=2015",
                 "--data", str(folder), "--format", "csv"]) == 0
    assert "synthetic-0" in capsys.readouterr().out
    assert main(["--cache-dir", str(tmp_path / "cache"), "query", "cq10-method-taxonomy",
                 "--data", str(tmp_path)]) == 2, "a folder without .nt or .ttl files is a usage error"


def test_a_folder_of_other_files_is_never_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["generate", "--projects", "5", "--output-dir", str(tmp_path)]) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    target = tmp_path / "national"
    assert main(["generate", "--projects", "5", "--output-dir", str(target)]) == 0
    assert main(["generate", "--projects", "150", "--output-dir", str(target)]) == 0, "its own output is replaced"
    assert len(list(target.iterdir())) == 3


def test_output_that_cannot_be_written_is_one_line_and_nothing_is_lost(tmp_path, capsys, monkeypatch):
    plain = tmp_path / "notes.txt"
    plain.write_text("mine", encoding="utf-8")
    own = tmp_path / "national"
    assert main(["generate", "--projects", "5", "--output-dir", str(own)]) == 0
    before = sorted(p.name for p in own.iterdir())
    monkeypatch.chdir(own)
    for argv, message in (
            (["-o", str(own)], f"{own}: is a folder; give a file name to write"),
            (["-o", str(plain / "x.nt")], f"{plain / 'x.nt'}: cannot write: File exists"),
            (["--output-dir", str(plain / "x")], f"{plain / 'x'}: cannot write: File exists"),
            (["--output-dir", "."], ".: is (or holds) the current folder; not replaced")):
        capsys.readouterr()
        assert main(["generate", "--projects", "5", *argv]) == 2, argv
        assert capsys.readouterr().err == f"welfare-kg: {message}\n"
    assert sorted(p.name for p in own.iterdir()) == before, "its own earlier output is still there"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["national", "notes.txt"]
    assert plain.read_text(encoding="utf-8") == "mine"


def test_sigterm_leaves_no_half_written_file(tmp_path):
    """Stopped with SIGTERM while writing, generate removes its temporary file, as on Ctrl-C
    (by default the signal ended the process on the spot and left gigabytes behind)."""
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "welfare_kg.cli", "generate", "--projects", "2000000",
                                "-o", str(out / "national.nt")], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (out.is_dir() and any(out.iterdir())) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [p.name[:10] for p in out.iterdir()] == [".national."], "writing into a temporary file"
    finally:
        process.terminate()
        code = process.wait(30)
    assert code == 130 and list(out.iterdir()) == []


def test_stats_network_and_viz_take_generated_data(tmp_path, capsys):
    """The views and counts of a grown graph: --data adds the generated projects to what they show."""
    folder = tmp_path / "national"
    generate.write_folder(folder, projects=30, seed=1)
    cache = ["--cache-dir", str(tmp_path / "cache")]

    def stats(*data: str) -> dict:
        assert main(cache + ["stats", "--format", "json", *data]) == 0
        return json.loads(capsys.readouterr().out)

    def network_nodes(*data: str) -> set[str]:
        assert main(cache + ["network", "--format", "json", *data]) == 0
        return {node["iri"] for node in json.loads(capsys.readouterr().out)["nodes"]}

    curated, grown = stats(), stats("--data", str(folder))
    assert grown["triples"] > curated["triples"]
    assert dict(map(tuple, grown["entities_per_class"]))["wkg:Project"] > \
        dict(map(tuple, curated["entities_per_class"]))["wkg:Project"]
    assert network_nodes() < network_nodes("--data", str(folder))
    page = tmp_path / "overview.html"
    assert main(cache + ["viz", "-o", str(page), "--data", str(folder)]) == 0
    assert "/synthetic-" in page.read_text(encoding="utf-8")
    # generated centres and projects look real: the title says how many nodes are made up
    assert re.search(r'<h1 id="title">[^<]*w tym \d+ węz\w+ syntetyczn', page.read_text(encoding="utf-8"))
    assert main(cache + ["viz", "-o", str(page)]) == 0
    assert "syntetyczn" not in page.read_text(encoding="utf-8")
