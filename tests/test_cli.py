"""The command line, called in-process: exit codes, formats and one-line errors."""

from __future__ import annotations

import csv
import gc
import io
import json
import os
import shlex
import subprocess
import sys
import time

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, RDF

from welfare_kg import cores, dcat, queries, resources, store
from welfare_kg.cli import main
from welfare_kg.errors import UsageError

from conftest import DATA_DIR


def run_cli(capsys, cache_dir, *argv):
    code = main(["--cache-dir", str(cache_dir), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_queries_lists_the_catalogue_with_defaults(capsys, cache_dir):
    code, out, _ = run_cli(capsys, cache_dir, "queries")
    assert code == 0
    assert "cq01-projects" in out and "cq12-institutions" in out
    assert "org=organisation:mops-gdynia" in out and "year=2010" in out
    assert "check-" not in out


def test_query_csv_is_sparql_csv_with_header(capsys, cache_dir):
    code, out, _ = run_cli(capsys, cache_dir, "query", "cq07-timeline", "--format", "csv")
    assert code == 0
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == ["project", "label", "start", "end"]
    assert len(table) == 6
    assert table[1][0] == "https://w3id.org/welfare-kg/id/project/mops-gdynia-cal-community-organising-2002"


def test_queries_run_on_generated_data_writes_what_query_writes(capsys, cache_dir, tmp_path):
    """`queries --run --data` answers from an in-memory copy, `query` from the built store: same CSV."""
    from welfare_kg import generate

    data = tmp_path / "generated"
    generate.write_folder(data, projects=25, seed=3)
    code, out, _ = run_cli(capsys, tmp_path / "cache", "queries", "--run", "--data", str(data),
                           "-o", str(tmp_path / "answers"))
    assert code == 0
    printed = [line.split()[0] for line in out.splitlines()]
    assert printed == [item.name for item in queries.catalogue()], "in catalogue order, though run in parallel"
    code, timeline, _ = run_cli(capsys, tmp_path / "cache", "query", "cq07-timeline", "--format", "csv",
                                "--data", str(data))
    assert code == 0
    assert (tmp_path / "answers" / "cq07-timeline.csv").read_bytes().decode("utf-8") == timeline
    assert len(timeline.splitlines()) == 1 + 5 + 25, "header, the five curated projects, the generated ones"


def test_queries_run_stops_starting_queries_after_one_fails(capsys, cache_dir, monkeypatch):
    started = []

    def first_fails(dataset, item, params=None):
        started.append(item.name)
        if len(started) == 1:
            raise UsageError(f"{item.name}: the store failed")
        time.sleep(1)  # the error reaches the main thread while the others run
        return "x\n"

    monkeypatch.setattr(queries, "run_csv", first_fails)
    monkeypatch.setattr(cores, "usable", lambda: 2)  # two queries at a time
    code, out, err = run_cli(capsys, cache_dir, "queries", "--run")
    assert code == 2 and err.strip() == "welfare-kg: cq01-projects: the store failed" and out == ""
    assert len(started) <= 3, f"the failed one and the two running when it failed, not {started}"


def test_query_tsv_uses_rdf_term_syntax(capsys, cache_dir):
    code, out, _ = run_cli(capsys, cache_dir, "query", "cq05-active-in-year", "--param", "year=2020", "--format", "tsv")
    assert code == 0
    header, row = out.splitlines()
    assert header.split("\t") == ["?project", "?label", "?start", "?end"]
    assert row.split("\t")[2] == '"2019-12"^^<http://www.w3.org/2001/XMLSchema#gYearMonth>'


def test_query_json_is_sparql_results_json(capsys, cache_dir):
    code, out, _ = run_cli(capsys, cache_dir, "query", "cq02-partners-of", "--format", "json",
                           "--param", "org=https://w3id.org/welfare-kg/id/organisation/mops-gdynia")
    assert code == 0
    data = json.loads(out)
    assert data["head"]["vars"] == ["partner", "partnerLabel", "role", "country", "countryLabel", "project", "ownRole"]
    assert data["results"]["bindings"][0]["partner"] == {
        "type": "uri", "value": "https://w3id.org/welfare-kg/id/organisation/mvo-proxima"}


def test_query_from_file_and_stdin(capsys, cache_dir, tmp_path, monkeypatch):
    query = "PREFIX wkg: <https://w3id.org/welfare-kg/ontology/>\nSELECT (COUNT(?p) AS ?n) WHERE { ?p a wkg:Project }"
    path = tmp_path / "count.rq"
    path.write_text(query)
    code, out, _ = run_cli(capsys, cache_dir, "query", str(path), "--format", "csv")
    assert (code, out.split()) == (0, ["n", "5"])
    monkeypatch.setattr("sys.stdin", io.StringIO(query))
    code, out, _ = run_cli(capsys, cache_dir, "query", "-", "--format", "csv")
    assert (code, out.split()) == (0, ["n", "5"])


def test_query_csv_quotes_an_iri_holding_a_comma(capsys, cache_dir, tmp_path):
    """Oxigraph's CSV writer leaves such an IRI unquoted; that answer goes through rdflib instead."""
    path = tmp_path / "comma.rq"
    path.write_text('SELECT ?iri ?n WHERE { VALUES ?n { 1 2 } BIND(IRI(CONCAT("https://example.org/a,b?n=", STR(?n))) '
                    "AS ?iri) } ORDER BY ?n")
    code, out, _ = run_cli(capsys, cache_dir, "query", str(path), "--format", "csv")
    assert code == 0
    assert list(csv.reader(io.StringIO(out, newline=""))) == [
        ["iri", "n"], ["https://example.org/a,b?n=1", "1"], ["https://example.org/a,b?n=2", "2"]]


def test_query_writes_output_file(capsys, cache_dir, tmp_path):
    target = tmp_path / "out" / "timeline.csv"
    code, out, _ = run_cli(capsys, cache_dir, "query", "cq07-timeline", "--format", "csv", "-o", str(target))
    assert code == 0 and out == ""
    assert target.read_text().startswith("project,label,start,end")


@pytest.mark.parametrize("argv, fragment", [
    (["query", "cq99-nothing"], "unknown query 'cq99-nothing'; the catalogue has: cq01-projects"),
    (["query", "cq05-active-in-year", "--param", "year=twenty"], "parameter year: 'twenty' is not an integer"),
    (["query", "cq02-partners-of", "--param", "org=nope:x"], "parameter org: 'nope:x' is neither an absolute IRI"),
    (["query", "cq02-partners-of", "--param", "colour=red"], "unknown parameter colour (expected: org)"),
    (["query", "cq01-projects", "--param", "x=1"],
     "unknown parameter x (it has none: a parameter is a variable named ?_NAME_TYPE in the query, e.g. ?_org_iri"),
    (["query", "cq02-partners-of", "--param", "org"], "--param expects NAME=VALUE"),
    (["query", "missing-file.rq"], "missing-file.rq: no such query file"),
    (["queries", "--run", "-o", ""], "'' is not a folder"),
    (["query", "cq05-active-in-year", "--param", "year=1_000"], "parameter year: '1_000' is not an integer"),
    (["export", "--format", "docx"], "welfare-kg export: argument --format: invalid choice: 'docx'"),
    (["export", "-o", ""], "'' is no file name (- is standard output)"),
    (["no-such-command"], "invalid choice: 'no-such-command'"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, cache_dir, argv, fragment):
    code, out, err = run_cli(capsys, cache_dir, *argv)
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_invalid_sparql_says_where(capsys, cache_dir, tmp_path):
    path = tmp_path / "broken.rq"
    path.write_text("SELECT ?s WHERE {\n  ?s ?p \n}")
    code, _, err = run_cli(capsys, cache_dir, "query", str(path))
    assert code == 2
    assert f"{path}: invalid SPARQL" in err and "at 3:" in err
    # a parameter's VALUES row goes on the line of the brace: the lines stay the file's
    path.write_text("SELECT ?s WHERE {\n  ?s ?p ?_year_integer .\n  ?s ?p \n}")
    code, _, err = run_cli(capsys, cache_dir, "query", str(path), "--param", "year=2010")
    assert code == 2 and "at 4:" in err


@pytest.mark.parametrize("header, fragment", [
    ("#+ defaults: year=2010\n#+   - year: 2010", ":1: defaults come as '#+   - name: value' lines"),
    ("#+ tags: a\n#+   - b", ":2: tags has a value on its own line and list items after it"),
    ("#+ defaults:\n#+   - year", ":2: a default is 'name: value', got 'year'"),
    ("#+ summary:\n#+   - one", ":2: summary is one line of text, not a list"),
    ("#+   - lonely", ":1: '- lonely' is a list item before any key"),
    ("#+ summary People\n#+", ":1: '#+ summary People' is neither 'key: value' nor '- item'"),
])
def test_a_malformed_header_names_its_line(capsys, cache_dir, tmp_path, header, fragment):
    path = tmp_path / "headed.rq"
    path.write_text(header + "\nSELECT * WHERE { ?s ?p ?o } LIMIT 1\n", encoding="utf-8")
    code, _, err = run_cli(capsys, cache_dir, "query", str(path))
    assert code == 2 and err == f"welfare-kg: {path}{fragment}" + err.split(fragment, 1)[1]
    assert len(err.splitlines()) == 1


def test_an_error_met_while_reading_the_rows_is_one_line(capsys, cache_dir, tmp_path):
    """Oxigraph makes rows as they are read; a SERVICE call that fails then is named too."""
    path = tmp_path / "federated.rq"
    path.write_text("SELECT * WHERE { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }", encoding="utf-8")
    for fmt in ("table", "json", "csv"):
        code, _, err = run_cli(capsys, cache_dir, "query", str(path), "--format", fmt)
        assert code == 2 and err.startswith(f"welfare-kg: {path}: query failed: ") and len(err.splitlines()) == 1


def test_dash_is_standard_output_not_a_file(capsys, cache_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, cache_dir, "query", "cq10-method-taxonomy", "--format", "csv", "-o", "-")
    assert code == 0 and out.startswith("method,methodLabel,") and list(tmp_path.iterdir()) == []
    # and still counts as given where -o excludes another option
    assert run_cli(capsys, cache_dir, "generate", "--projects", "1", "-o", "-", "--output-dir", "out")[0] == 2
    assert list(tmp_path.iterdir()) == []


def cli_process(cache_dir, shell_tail: str, *argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """``welfare-kg ARGV`` in a shell, with ``shell_tail`` (a redirection) after it."""
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "welfare_kg.cli", "--cache-dir",
                                                str(cache_dir), *argv])
    return subprocess.run(["sh", "-c", f"{command} {shell_tail}"], input=stdin, capture_output=True, timeout=120)


@pytest.mark.parametrize("argv", [["queries"], ["stats"], ["query", "cq10-method-taxonomy"],
                                  ["generate", "--projects", "20"], ["build"]])
@pytest.mark.parametrize("tail, message", [(">/dev/full", "standard output: cannot write: No space left on device"),
                                           (">&-", "standard output is closed")])
def test_standard_output_that_cannot_be_written_is_a_one_line_error(cache_dir, argv, tail, message):
    done = cli_process(cache_dir, tail, *argv)
    assert done.returncode == 2 and done.stderr.decode() == f"welfare-kg: {message}\n"


@pytest.mark.parametrize("stdin, tail, message", [
    (b"INSERT DATA { <urn:a> <urn:b> <urn:c> }", "", "stdin: is a SPARQL Update (INSERT); welfare-kg runs queries"),
    (b'SELECT * {\n ?s ?p "\xff" }', "", "stdin:2: not UTF-8 text"),
    (b"", "<&-", "stdin: standard input is closed"),
])
def test_a_query_from_standard_input_that_cannot_run_is_one_line(cache_dir, stdin, tail, message):
    done = cli_process(cache_dir, tail, "query", "-", stdin=stdin)
    assert done.returncode == 2 and done.stderr.decode().startswith(f"welfare-kg: {message}")
    assert len(done.stderr.splitlines()) == 1


def test_stats_counts_projects_per_institution(capsys, cache_dir):
    code, out, _ = run_cli(capsys, cache_dir, "stats", "--format", "json")
    assert code == 0
    figures = json.loads(out)
    assert figures["triples"] > 1000
    per_class = dict(figures["entities_per_class"])
    assert per_class["wkg:Project"] == 5
    per_institution = dict(figures["projects_per_institution"])
    assert per_institution["organisation:mops-gdynia"] == 3
    assert per_institution["organisation:mvo-proxima"] == 1


def test_build_rebuilds_the_store_every_time(capsys, tmp_path):
    """Also in one process with the cycle collector off: the first build must not leave a
    lock on its store behind (a Dataset's lock lasts until rdflib's reference cycles go)."""
    gc.disable()
    try:
        code, out, _ = run_cli(capsys, tmp_path, "build")
        assert code == 0 and str(tmp_path) in out and "quads" in out
        (store_dir,) = [p for p in tmp_path.iterdir() if p.name.startswith("store-")]
        marker = store_dir / "marker"
        marker.write_text("from the first build")
        assert run_cli(capsys, tmp_path, "build")[0] == 0
    finally:
        gc.enable()
    assert store_dir.is_dir() and not marker.exists()


def test_build_says_so_when_it_keeps_a_store_another_process_reads(capsys, tmp_path):
    assert run_cli(capsys, tmp_path, "build")[0] == 0
    (store_dir,) = [p for p in tmp_path.iterdir() if p.name.startswith("store-")]
    marker = store_dir / "marker"
    marker.write_text("from the first build")
    reading = store.lock_store(store_dir)  # as a process with the store open holds it
    try:
        code, out, err = run_cli(capsys, tmp_path, "build")
    finally:
        os.close(reading)
    assert code == 0 and str(store_dir) in out and marker.exists()
    assert err.strip() == (f"welfare-kg: kept the store at {store_dir} as it was: another process is reading it "
                           "(it holds the same sources); build again once that process has ended to replace it")
    code, _, err = run_cli(capsys, tmp_path, "build")
    assert code == 0 and err == "" and not marker.exists()


def with_extra_sources(monkeypatch, *paths):
    sources = resources.source_files() + list(paths)
    monkeypatch.setattr(resources, "source_files", lambda: sources)


def test_validate_conforming_graph_exits_0(capsys, cache_dir):
    code, out, _ = run_cli(capsys, cache_dir, "validate")
    assert code == 0 and out.strip().endswith("the graph conforms.")


def test_validate_reports_each_violation_readably_and_exits_1(capsys, tmp_path, monkeypatch):
    with_extra_sources(monkeypatch, DATA_DIR / "valid" / "base.ttl", DATA_DIR / "invalid" / "amount-bad-currency.ttl")
    code, out, _ = run_cli(capsys, tmp_path, "validate")
    assert code == 1
    line = next(line for line in out.splitlines() if "test-bad-currency" in line)
    assert line.startswith("Projekt X <https://w3id.org/welfare-kg/id/project/test-bad-currency> ")
    assert "wkg:totalBudget/schema:currency" in line and "ISO 4217" in line
    assert "does not conform" in out.splitlines()[-1]
    code, out, _ = run_cli(capsys, tmp_path, "validate", "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["conforms"] is False
    assert any(v["focus"].endswith("/test-bad-currency") and v["message_pl"] for v in report["violations"])


def test_validate_unparseable_graph_exits_2(capsys, tmp_path, monkeypatch):
    bad = tmp_path / "broken.ttl"
    bad.write_text("<https://example.org/a> <https://example.org/b> .\n")
    with_extra_sources(monkeypatch, bad)
    code, out, err = run_cli(capsys, tmp_path / "cache", "validate")
    assert code == 2 and out == ""
    assert err.startswith(f"welfare-kg: {bad}:1:") and len(err.strip().splitlines()) == 1


def test_malformed_turtle_is_one_line_with_file_line_column(capsys, tmp_path, monkeypatch):
    bad = tmp_path / "graph" / "broken.ttl"
    bad.parent.mkdir()
    bad.write_text('@prefix ex: <http://example.org/> .\nex:a ex:b "open string .\n')
    with_extra_sources(monkeypatch, bad)
    code, out, err = run_cli(capsys, tmp_path / "cache", "build")
    assert code == 2
    assert err.startswith(f"welfare-kg: {bad}:2:")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not any(p.name.startswith("store-") for p in (tmp_path / "cache").iterdir())
    assert not any(p.name.startswith(".building-") for p in (tmp_path / "cache").iterdir())


def test_validate_changed_keeps_reporting_what_is_still_wrong(tmp_path, capsys):
    invalid = DATA_DIR / "invalid" / "unit-too-deep.ttl"
    cache = ["--cache-dir", str(tmp_path / "cache")]
    assert main(cache + ["validate", "--data", str(invalid)]) == 1
    capsys.readouterr()
    assert main(cache + ["validate", "--changed", "--data", str(invalid)]) == 1, "nothing was fixed"
    assert "test-level-2" in capsys.readouterr().out


@pytest.mark.parametrize("arguments", [
    ["bench", "--cap", "-1"], ["bench", "--cap", "nan"], ["bench", "--validate-cap", "inf"],
    ["serve", "--timeout", "0"], ["serve", "--timeout", "nan"],
    ["--endpoint", "http://127.0.0.1:9/sparql", "--remote-timeout", "nan", "stats"],
    ["stats", "--endpoint", "http://127.0.0.1:9/sparql", "--remote-timeout", "-5"],
    ["stats", "--endpoint", "http://127.0.0.1:9/sparql", "--remote-timeout", "1e12"],  # overflowed the clock
    ["serve", "--timeout", "1e12"],
])
def test_a_time_limit_must_be_a_positive_number_of_seconds(capsys, arguments):
    """NaN passes a check for <= 0: unchecked, it started a server without a limit or reached
    the socket as a misleading error about logins."""
    option, value = next((a, b) for a, b in zip(arguments, arguments[1:]) if a.endswith(("cap", "timeout")))
    assert main(arguments) == 2
    assert f"argument {option}: '{value}' is not a positive number of seconds" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["99999", "-1", "http"])
def test_serve_refuses_a_port_out_of_range(capsys, value):
    """99999 reached the socket and ended in a traceback."""
    assert main(["serve", "--port", value]) == 2
    assert f"argument --port: '{value}' is not a port number (0 to 65535)" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["query", "cq07-timeline"], ["export"], ["dcat"], ["network"], ["viz"], ["generate", "--projects", "1"],
])
def test_output_to_a_folder_is_one_line_and_leaves_the_folder_alone(capsys, cache_dir, tmp_path, argv):
    """-o naming a folder (or a place under a file) ended in a traceback from the rename."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "kept.txt").write_text("mine")
    plain = tmp_path / "notes.txt"
    plain.write_text("mine")
    for target, reason in ((folder, "is a folder; give a file name to write"),
                           (plain / "x", "cannot write: File exists")):
        code, _, err = run_cli(capsys, cache_dir, *argv, "-o", str(target))
        assert (code, err) == (2, f"welfare-kg: {target}: {reason}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "out"]
    assert [p.name for p in folder.iterdir()] == ["kept.txt"] and plain.read_text() == "mine"


def test_queries_output_dir_needs_run(capsys, cache_dir, tmp_path):
    """Without --run the listing went to standard output and -o was silently ignored."""
    code, _, err = run_cli(capsys, cache_dir, "queries", "-o", str(tmp_path / "answers"))
    assert (code, err) == (2, "welfare-kg: -o/--output-dir needs --run (the listing goes to standard output)\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["viz", "network"])
def test_hops_must_be_a_whole_number_of_steps(capsys, cache_dir, tmp_path, command):
    """-1 was taken as 0 by networkx, without a word."""
    code, _, err = run_cli(capsys, cache_dir, command, "--focus", "organisation:mops-gdynia", "--hops", "-1",
                           "-o", str(tmp_path / "out"))
    assert code == 2 and "argument --hops: '-1' is not a number of steps (0 or more)" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "-1"])
def test_viz_refuses_a_node_limit_below_one(capsys, value):
    assert main(["viz", "--max-nodes", value]) == 2
    assert f"argument --max-nodes: '{value}' is not a number of nodes (1 or more)" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-5", "0", "10000"])
def test_viz_refuses_a_year_that_is_none(capsys, tmp_path, value):
    """--year -5 drew an empty picture."""
    assert main(["viz", "--year", value, "-o", str(tmp_path / "view.html")]) == 2
    assert f"argument --year: '{value}' is not a year (1 to 9999)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_empty_cache_dir_is_refused_not_taken_as_the_current_folder(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["--cache-dir", "", "stats"]) == 2
    assert "argument --cache-dir: '' is not a folder (an empty path would be the current one)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_graph_answer_refuses_a_tabular_format(capsys, cache_dir, tmp_path, monkeypatch):
    """A CONSTRUCT was written as Turtle whatever --format said."""
    monkeypatch.setattr("sys.stdin", io.StringIO("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1"))
    assert main(["--cache-dir", str(cache_dir), "query", "-", "--format", "csv", "-o", str(tmp_path / "a.csv")]) == 2
    assert capsys.readouterr().err == ("welfare-kg: stdin: a CONSTRUCT answer is a graph, written as turtle, nt, "
                                       "jsonld, xml; --format csv asks for csv, which is for SELECT and ASK answers\n")
    # and when the file's extension asked for it, the message names the file
    monkeypatch.setattr("sys.stdin", io.StringIO("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1"))
    assert main(["--cache-dir", str(cache_dir), "query", "-", "-o", str(tmp_path / "g.tsv")]) == 2
    assert capsys.readouterr().err.endswith(f"-o {tmp_path / 'g.tsv'} asks for tsv, which is for SELECT and ASK answers\n")
    assert list(tmp_path.iterdir()) == []
    project = "<https://w3id.org/welfare-kg/ontology/Project>"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"CONSTRUCT {{ ?s a {project} }} WHERE {{ ?s a {project} }} LIMIT 1"))
    assert main(["--cache-dir", str(cache_dir), "query", "-"]) == 0
    turtle = capsys.readouterr().out
    assert "PREFIX wkg: <https://w3id.org/welfare-kg/ontology/>" in turtle and "ns1:" not in turtle


@pytest.mark.parametrize("argv, name, starts", [
    (["query", "cq10-method-taxonomy"], "answer.csv", b"method,methodLabel,"),
    (["query", "cq10-method-taxonomy"], "answer.JSON", b'{"results"'),
    (["export", "--public"], "graph.nt", b"<"),
    (["export", "--public"], "graph.jsonld", b"["),
    (["network", "overview"], "nodes.csv", b"iri,"),
    (["viz", "overview"], "picture.svg", b"<?xml"),
])
def test_the_output_files_extension_chooses_the_format(capsys, cache_dir, tmp_path, argv, name, starts):
    """`-o answer.csv` writes CSV: a spreadsheet given the fixed-width table lost data silently."""
    target = tmp_path / name
    assert run_cli(capsys, cache_dir, *argv, "-o", str(target))[0] == 0
    assert target.read_bytes().startswith(starts)


@pytest.mark.parametrize("name, fmt", [("g.nt", "nt"), ("g.json", "json-ld"), ("g.jsonld", "json-ld"),
                                       ("g.rdf", "xml"), ("g.ttl", "turtle")])
def test_a_graph_answer_is_written_in_the_rdf_format_its_file_names(capsys, cache_dir, tmp_path, monkeypatch,
                                                                    name, fmt):
    """`-o g.nt` had Turtle written into it, which N-Triples parsers refuse."""
    project = "<https://w3id.org/welfare-kg/ontology/Project>"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"CONSTRUCT {{ ?s a {project} }} WHERE {{ ?s a {project} }}"))
    assert main(["--cache-dir", str(cache_dir), "query", "-", "-o", str(tmp_path / name)]) == 0
    answer = Graph().parse(tmp_path / name, format=fmt)
    assert len(answer) == 5 and set(answer.objects()) == {URIRef(project[1:-1])}


@pytest.mark.parametrize("argv, name, message", [
    (["export"], "x.csv", "names the csv format, but export writes turtle, nt, jsonld, xml, trig"),
    (["export"], "x.gexf", "names the gexf format, but export writes turtle, nt, jsonld, xml, trig"),
    (["viz", "overview"], "x.csv", "names the csv format, but viz writes html, svg, png"),
    (["network", "overview"], "x.ttl", "names the turtle format, but network writes table, csv, json, graphml, gexf"),
    (["dcat"], "d.trig", "names the trig format, but dcat writes turtle, nt, jsonld, xml"),
    (["query", "cq10-method-taxonomy"], "r.ttl", "asks for turtle, which is for CONSTRUCT and DESCRIBE answers"),
])
def test_an_extension_naming_a_format_the_command_does_not_write_is_refused(capsys, cache_dir, tmp_path, argv,
                                                                           name, message):
    """`export -o x.csv` wrote Turtle, `viz -o x.csv` HTML, `query -o r.ttl` a text table."""
    target = tmp_path / name
    code, _, err = run_cli(capsys, cache_dir, *argv, "-o", str(target))
    assert code == 2 and message in err and err.count("\n") == 1
    assert not target.exists()


def test_dcat_writes_the_format_its_file_names(capsys, cache_dir, tmp_path):
    target = tmp_path / "dataset.jsonld"
    assert run_cli(capsys, cache_dir, "dcat", "-o", str(target))[0] == 0
    described = Graph().parse(target, format="json-ld")
    assert (dcat.DATASET, RDF.type, DCAT.Dataset) in described


@pytest.mark.parametrize("argv, name, message", [
    (["generate", "--projects", "1"], "g.jsonld", "names the jsonld format, but generate writes N-Triples (.nt): "
                                                  "give the file another extension"),
    (["generate", "--projects", "1"], "g.csv", "names the csv format, but generate writes N-Triples (.nt): "
                                               "give the file another extension"),
    (["viz", "overview"], "-", "viz writes a file (HTML, SVG or PNG), not standard output: give -o FILE"),
])
def test_an_output_the_command_cannot_write_is_refused(capsys, cache_dir, tmp_path, monkeypatch, argv, name,
                                                       message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, cache_dir, *argv, "-o", name)
    assert code == 2 and err.startswith("welfare-kg: ") and err.rstrip().endswith(message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, name, given, named", [
    (["query", "cq10-method-taxonomy"], "answer.csv", "json", "csv"),
    (["export"], "graph.nt", "turtle", "nt"),
    (["viz", "overview"], "picture.html", "svg", "html"),
])
def test_an_extension_naming_another_format_than_given_is_refused(capsys, cache_dir, tmp_path, argv, name,
                                                                  given, named):
    target = tmp_path / name
    code, _, err = run_cli(capsys, cache_dir, *argv, "--format", given, "-o", str(target))
    assert code == 2 and not target.exists()
    assert err == f"welfare-kg: -o {target} names the {named} format, but --format is {given}: change one of them\n"


def test_an_iri_parameter_may_be_given_by_its_label(capsys, cache_dir):
    """viz --focus took 'MVO Proxima'; query --param org= refused it."""
    code, out, _ = run_cli(capsys, cache_dir, "query", "cq02-partners-of", "--param", "org=MVO Proxima",
                           "--format", "csv")
    assert code == 0 and "https://w3id.org/welfare-kg/id/organisation/mops-gdynia," in out
    code, _, err = run_cli(capsys, cache_dir, "query", "cq02-partners-of", "--param", "org=ośrodek")
    assert code == 2 and err.startswith("welfare-kg: --param org: 'ośrodek' matches ") and err.count("\n") == 1


def test_an_iri_parameter_that_names_nothing_is_pointed_out(capsys, cache_dir):
    """A typo in an IRI looked like "no partners"; the answer stays empty, and stderr says why."""
    code, out, err = run_cli(capsys, cache_dir, "query", "cq02-partners-of", "--param", "org=organisation:mops-gdnyia",
                             "--format", "csv")
    assert (code, out) == (0, "partner,partnerLabel,role,country,countryLabel,project,ownRole\r\n")
    assert err == ("welfare-kg: note: parameter org: <https://w3id.org/welfare-kg/id/organisation/mops-gdnyia> "
                   "is in no triple of the graph, so nothing can match it (a typo?)\n")
    code, out, err = run_cli(capsys, cache_dir, "query", "cq02-partners-of", "--format", "csv")
    assert code == 0 and "mvo-proxima" in out and err == ""


@pytest.mark.parametrize("text, value", [
    ("SELECT (COUNT(*) AS ?n) WHERE { ?s ?_p_iri ?o }", "rdf:type"),  # a predicate
    ("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?_g_iri { ?s ?p ?o } }",  # a graph
     "https://w3id.org/welfare-kg/graph/graph/shared"),
])
def test_an_iri_named_as_predicate_or_graph_is_no_typo(capsys, cache_dir, monkeypatch, text, value):
    name = "p" if "_p_iri" in text else "g"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code, out, err = run_cli(capsys, cache_dir, "query", "-", "--param", f"{name}={value}", "--format", "csv")
    assert code == 0 and int(out.splitlines()[1]) > 0 and err == ""


def test_a_parameter_given_twice_is_refused(capsys, cache_dir):
    code, out, err = run_cli(capsys, cache_dir, "query", "cq05-active-in-year", "--param", "year=2006",
                             "--param", "year=2019")
    assert (code, out) == (2, "")
    assert err == "welfare-kg: --param year is given twice; a query takes one value per parameter\n"


def test_a_picture_left_empty_by_its_filters_says_so(capsys, cache_dir, tmp_path):
    code, out, err = run_cli(capsys, cache_dir, "viz", "overview", "--year", "1990", "-o", str(tmp_path / "v.html"))
    assert code == 0 and "(0 nodes, 0 edges)" in out
    assert err == "welfare-kg: note: nothing to show: --year 1990 leaves no node\n"


def test_hops_without_focus_is_refused(capsys, cache_dir, tmp_path):
    """It used to be ignored silently: the whole view was drawn."""
    code, _, err = run_cli(capsys, cache_dir, "viz", "overview", "--hops", "2", "-o", str(tmp_path / "v.html"))
    assert (code, err) == (2, "welfare-kg: --hops counts steps around --focus; give --focus too\n")
    assert not (tmp_path / "v.html").exists()
