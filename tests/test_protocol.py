"""SPARQL protocol details, on the command line and through the server.

A query's FROM and FROM NAMED make its dataset: every source file is a named graph, and
without a dataset clause the default graph is their union. Oxigraph's union option
overrides FROM, which then selected every graph without a word. A ``format`` parameter that
does not fit the query's form leaves the choice to Accept.
"""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
import urllib.request

import pyoxigraph as ox
import pytest
from rdflib import Graph
from SPARQLWrapper import JSON, SPARQLWrapper

from test_server import Server
from welfare_kg import handlers, store
from welfare_kg import sparql_protocol as sp
from welfare_kg.cli import main

SHARED = str(store.named_graph_for(store.resources.graph_dir() / "shared.ttl"))
COUNT = "SELECT (COUNT(*) AS ?n) {} WHERE {{ {} }}"


def shared_triples(dataset) -> int:
    (row,) = dataset.query(COUNT.format("", f"GRAPH <{SHARED}> {{ ?s ?p ?o }}"))
    return int(row.n)


@pytest.mark.parametrize("text, declares", [
    ("SELECT * FROM <g> WHERE { ?s ?p ?o }", True),
    ("select * from named <g> { graph ?g { ?s ?p ?o } }", True),
    ("SELECT ?from WHERE { ?from ?p ?o }", False),
    ('PREFIX from: <https://e.org/> SELECT * { ?s from:x "FROM" } # FROM <g>', False),
    ("PREFIX e: <https://e.org/> SELECT ?a { ?a e:p e:learning-from-peers }", False),
    ("PREFIX e: <https://e.org/> SELECT * { ?s e:x\\&from ?o }", False),
    ("PREFIX from.x: <https://e.org/> SELECT * { ?s from.x:p ?o }", False),
    ('SELECT * { ?s ?p "a"@from }', False),
    ("SELECT * FROM<g> FROM NAMED<h> { ?s ?p ?o }", True),
    ("PREFIX g: <https://e.org/> SELECT * FROM g:x WHERE { ?s ?p ?o }", True),
    ("PREFIX e: <u:> SELECT * { ?s ?p ?o FILTER(?o != e:a\u00b7from) }", False),
    ("PREFIX e: <u:> SELECT * { ?s ?p ?o FILTER(?o != e:a\u203ffrom) }", False),
    ("PREFIX e: <u:> SELECT * { ?s ?p ?o FILTER(?o != e:a\u200cfrom) }", False),
    ("PREFIX e: <u:> SELECT * { ?s ?p ?o FILTER(?o != e:a\u2100from) }", False),
    # an escape in a name is neither a comment's nor a string's start
    ("PREFIX e: <u:> SELECT (e:f\\#(1) AS ?y) FROM <g> WHERE { ?s ?p ?o }", True),
    ("PREFIX e: <u:> SELECT (e:f\\'(1) AS ?y) FROM <g> WHERE { ?s ?p '?o' }", True),
])
def test_a_dataset_clause_is_told_from_a_variable_a_prefix_a_string_or_a_comment(text, declares):
    assert sp.declares_dataset(text) is declares


def test_a_graph_given_by_a_prefixed_name_is_quoted_as_written():
    with pytest.raises(ValueError, match=r"^FROM e:g\\-1: give the graph as a full IRI"):
        sp.dataset_clauses("PREFIX e: <u:> SELECT * FROM e:g\\-1 WHERE { ?s ?p ?o }")


def test_a_hyphenated_name_holding_from_reads_the_whole_dataset(dataset):
    """e:learning-from-peers is no FROM clause: the default graph stays the union of all graphs."""
    text = ("PREFIX org: <http://www.w3.org/ns/org#> PREFIX e: <urn:> SELECT (COUNT(*) AS ?n) "
            "WHERE { ?unit org:unitOf ?parent FILTER(?parent != e:learning-from-peers) }")
    status, _, body, _ = handlers.handle(store.oxigraph(dataset), {
        "op": "sparql", "query": text, "results_format": "json", "rdf_format": "turtle", "max_rows": 10,
        "default_graphs": [], "named_graphs": []})
    assert status == 200 and int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) > 0


@pytest.mark.parametrize("output_format", ["csv", "table"])  # Oxigraph's CSV, and rdflib's results
def test_from_narrows_a_command_line_query_to_that_graph(capsys, monkeypatch, cache_dir, dataset, output_format):
    expected = shared_triples(dataset)
    (union,) = dataset.query(COUNT.format("", "?s ?p ?o"))
    assert 0 < expected < int(union.n)
    monkeypatch.setattr("sys.stdin", io.StringIO(COUNT.format(f"FROM <{SHARED}>", "?s ?p ?o")))
    assert main(["--cache-dir", str(cache_dir), "query", "-", "--format", output_format]) == 0
    assert str(expected) in capsys.readouterr().out.split()


def test_from_named_alone_leaves_the_default_graph_empty(capsys, monkeypatch, cache_dir):
    monkeypatch.setattr("sys.stdin", io.StringIO(COUNT.format(f"FROM NAMED <{SHARED}>", "?s ?p ?o")))
    assert main(["--cache-dir", str(cache_dir), "query", "-", "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "0"]


def test_a_construct_cap_counts_each_triple_once():
    """Oxigraph leaves out a triple it has already made, unless it holds a blank node."""
    memory = ox.Store()
    graph = ox.NamedNode("https://e.org/g")
    memory.add(ox.Quad(ox.BlankNode("period"), ox.NamedNode("https://e.org/start"), ox.Literal("2008"), graph))
    for n in range(5):
        memory.add(ox.Quad(ox.NamedNode(f"https://e.org/x{n}"), ox.NamedNode("https://e.org/q"), ox.Literal(n), graph))
    request = {"max_rows": 2, "rdf_format": "nt", "results_format": "json"}
    # Five solutions making one triple: the answer is whole, not cut at two.
    request["query"] = "CONSTRUCT { ?period <https://e.org/seen> 1 } WHERE { ?period <https://e.org/start> ?s . ?x ?q ?y }"
    status, _, body, headers = handlers.run_sparql(memory, request)
    assert (status, body.count(b"\n"), headers) == (200, 1, {})
    # Five solutions making five triples: cut at two, and said so.
    request["query"] = "CONSTRUCT { ?x <https://e.org/seen> ?period } WHERE { ?period <https://e.org/start> ?s . ?x ?q ?y }"
    status, _, body, headers = handlers.run_sparql(memory, request)
    assert (status, body.count(b"\n"), headers) == (200, 2, {"X-SPARQL-MaxRows": "2"})


@pytest.mark.parametrize("parameter, key, iri", [("default-graph-uri", "default_graphs", "not an iri"),
                                                   ("named-graph-uri", "named_graphs", "")])
def test_a_graph_parameter_that_is_no_iri_is_named_in_the_answer(parameter, key, iri):
    request = {"query": "SELECT * WHERE { ?s ?p ?o }", "max_rows": 5, "results_format": "json", key: [iri]}
    status, _, body, _ = handlers.run_sparql(ox.Store(), request)
    assert status == 400 and body.decode("utf-8").startswith(f"{parameter}: {iri!r} is not an absolute IRI (")


def test_an_undefined_prefix_is_named_on_one_line(capsys, monkeypatch, cache_dir):
    """The parser listed every character a name may hold, over several lines."""
    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT * WHERE {\n  ?s ?p ?o .\n  ?s źródło:nazwa ?o }"))
    assert main(["--cache-dir", str(cache_dir), "query", "-"]) == 2
    assert capsys.readouterr().err == ("welfare-kg: stdin: invalid SPARQL: error at 3:18: undefined prefix źródło: "
                                       "(declare it: PREFIX źródło: <…>)\n")


@pytest.fixture(scope="module")
def server(cache_dir, tmp_path_factory):
    with Server(cache_dir, tmp_path_factory.mktemp("protocol") / "server.log") as running:
        yield running


def ask_count(server: Server, query: str, **dataset: list[str]) -> int:
    params = [("query", query)] + [(name.replace("_", "-"), iri) for name, iris in dataset.items() for iri in iris]
    request = urllib.request.Request(server.sparql + "?" + urllib.parse.urlencode(params),
                                     headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        (binding,) = json.load(answer)["results"]["bindings"]
    return int(binding["n"]["value"])


def test_the_server_names_an_undefined_prefix_on_one_line(server):
    query = urllib.parse.urlencode({"query": "SELECT * WHERE { ?s foo:bar ?o }"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.sparql}?{query}", timeout=10)
    assert refused.value.code == 400
    assert refused.value.read().decode("utf-8") == (
        "malformed query: error at 1:28: undefined prefix foo: (declare it: PREFIX foo: <…>)\n")


def test_the_server_takes_a_query_dataset_and_lets_the_protocol_replace_it(server, dataset):
    expected = shared_triples(dataset)
    assert ask_count(server, COUNT.format(f"FROM <{SHARED}>", "?s ?p ?o")) == expected
    assert ask_count(server, COUNT.format("FROM <https://e.org/no-such-graph>", "?s ?p ?o")) == 0
    assert ask_count(server, COUNT.format(f"FROM NAMED <{SHARED}>", "?s ?p ?o")) == 0
    # default-graph-uri and named-graph-uri replace the query's clauses, and make the whole dataset.
    assert ask_count(server, COUNT.format("FROM <https://e.org/no-such-graph>", "?s ?p ?o"),
                     default_graph_uri=[SHARED]) == expected
    assert ask_count(server, COUNT.format("", "?s ?p ?o"), named_graph_uri=[SHARED]) == 0
    assert ask_count(server, COUNT.format("", "GRAPH ?g { ?s ?p ?o }"), default_graph_uri=[SHARED]) == 0


@pytest.mark.filterwarnings("ignore:Sending Accept header:RuntimeWarning")  # SPARQLWrapper's, for this case
def test_sparqlwrapper_asking_json_of_a_graph_gets_json_ld(server):
    """It sends format=json for a CONSTRUCT too, and got 406."""
    client = SPARQLWrapper(server.sparql)
    client.setQuery("CONSTRUCT { ?s a ?type } WHERE { ?s a ?type } LIMIT 3")
    client.setReturnFormat(JSON)
    answer = client.query()
    assert answer.response.headers["Content-Type"].startswith("application/ld+json")
    graph = Graph().parse(data=answer.response.read(), format="json-ld")
    assert len(graph) == 3


def test_a_format_that_does_not_fit_the_query_leaves_the_choice_to_accept(server):
    query = urllib.parse.urlencode({"query": "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1", "format": "turtle"})
    request = urllib.request.Request(f"{server.sparql}?{query}", headers={"Accept": "text/csv"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("text/csv")
        assert answer.read().decode("utf-8").splitlines()[0] == "s"


@pytest.mark.parametrize("if_none_match, if_modified_since, current", [
    ('"a"', None, True),
    ('"x", W/"a"', None, True),      # weak comparison, any tag of the list
    ("*", None, True),
    ('"x"', "Tue, 24 Nov 2026 10:00:00 GMT", False),  # If-None-Match decides alone
    (None, "Tue, 24 Nov 2026 09:00:00 GMT", True),    # not modified since then
    (None, "Tue, 24 Nov 2026 08:59:59 GMT", False),
    (None, "yesterday", False),
])
def test_a_copy_is_current_when_its_etag_or_date_says_so(if_none_match, if_modified_since, current):
    assert sp.not_modified(if_none_match, if_modified_since, '"a"', "Tue, 24 Nov 2026 09:00:00 GMT") is current


def test_a_store_across_a_network_is_asked_for_gzip_and_its_answer_reads_the_same(server, monkeypatch):
    """Over a network a JSON answer shrinks about tenfold, so the client asks for gzip; on this
    machine packing would only cost time, so it does not."""
    from welfare_kg import remote

    endpoint = remote.endpoint_for(server.sparql, timeout=30)
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 300"
    encodings = []
    decoded = remote._decoded

    def recording(body, headers, url):
        encodings.append(headers.get("Content-Encoding"))
        return decoded(body, headers, url)

    monkeypatch.setattr(remote, "_decoded", recording)
    here = remote.send_query(endpoint, query, remote.RESULTS_JSON)
    monkeypatch.setattr(remote.sp, "is_loopback", lambda host: False)
    assert remote.send_query(endpoint, query, remote.RESULTS_JSON) == here
    assert encodings == [None, "gzip"]
    assert len(json.loads(here[0])["results"]["bindings"]) == 300


@pytest.mark.parametrize("host, loopback", [("localhost", True), ("127.0.0.9", True), ("::1", True),
                                            ("192.168.1.5", False), ("example.org", False), ("", False)])
def test_which_hosts_are_this_machine(host, loopback):
    assert sp.is_loopback(host) is loopback


def test_a_remote_store_gets_default_and_named_graphs_apart(monkeypatch):
    from welfare_kg import remote

    sent = []
    monkeypatch.setattr(remote, "request", lambda url, **options: sent.append(urllib.parse.parse_qsl(
        urllib.parse.urlsplit(url).query)) or (b'{"head": {}, "boolean": true}', remote.RESULTS_JSON))
    proxied = remote.RemoteOxStore(remote.endpoint_for("http://127.0.0.1:9/sparql"))
    proxied.query("ASK {}", named_graphs=[ox.NamedNode(SHARED)])
    proxied.query("ASK {}", default_graph=[ox.NamedNode(SHARED)])
    assert [[(k, v) for k, v in params if k != "query"] for params in sent] == [
        [("default-graph-uri", remote.NO_GRAPH), ("named-graph-uri", SHARED)],
        [("default-graph-uri", SHARED), ("named-graph-uri", remote.NO_GRAPH)]]


@pytest.mark.parametrize("asked, header, language", [
    (None, None, "pl"), (None, "en-GB,en;q=0.9", "en"), (None, "de,en;q=0.5,pl;q=0.8", "pl"),
    ("en", "pl", "en"), ("xx", "en", "en"), (None, "*", "pl"), (None, "fr", "pl"), (None, "EN", "en"),
])
def test_a_page_s_language_is_the_parameter_else_the_best_offered_in_accept_language(asked, header, language):
    assert sp.page_language(asked, header) == language
