"""``welfare-kg serve`` tested as it runs: a real server process on a free loopback port,
queried by independent clients (SPARQLWrapper, rdflib's SPARQLStore, curl, urllib)."""

from __future__ import annotations

import csv
import gzip
import http.client
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, OWL, RDF, RDFS

from conftest import answering
from welfare_kg import dcat, export, resources, store
from welfare_kg import sparql_protocol as sp
from welfare_kg.cli import main as cli_main

BASE = "https://w3id.org/welfare-kg/"
GDYNIA = BASE + "id/organisation/mops-gdynia"
PERSON = BASE + "id/person/sylwia-wojtysiak"
PHONE = "(81) 53-50-716"
TIMEOUT = 2.0
MAX_ROWS = 1000
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
PROJECTS = ("PREFIX wkg: <https://w3id.org/welfare-kg/ontology/> "
            "SELECT ?project WHERE { ?project a wkg:Project } ORDER BY ?project")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, cache_dir: Path, log: Path, *extra: str, program: tuple[str, ...] = ("-m", "welfare_kg.cli")):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, *program, "--cache-dir", str(cache_dir), "serve",
             "--port", str(self.port), "--timeout", str(TIMEOUT), *extra],
            stdout=subprocess.DEVNULL, stderr=log.open("wb"))

    def wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "Server":
        """Started and answering; stopped however the ``with`` block ends."""
        try:
            self.wait()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def sparql(self) -> str:
        return self.url + "/sparql"


@pytest.fixture(scope="module")
def servers(cache_dir, tmp_path_factory):
    store.build_store(cache_dir)  # once, before two servers open it
    logs = tmp_path_factory.mktemp("logs")
    full = Server(cache_dir, logs / "full.log", "--max-rows", str(MAX_ROWS))
    public = Server(cache_dir, logs / "public.log", "--public", "--max-rows", "100000")
    try:
        full.wait()
        public.wait()
        yield full, public
    finally:
        full.stop()
        public.stop()


@pytest.fixture(scope="module")
def server(servers):
    return servers[0]


@pytest.fixture(scope="module")
def public_server(servers):
    return servers[1]


def fetch(url: str, *, data: bytes | None = None, headers: dict | None = None, method: str | None = None):
    """(status, headers, body) without raising on 4xx/5xx."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def exchange(server: Server, method: str, path: str, headers: dict | None = None) -> tuple:
    """(status, headers, body) of one request as sent, a redirect not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def listed(headers, name: str) -> list[str]:
    """The values of a comma-separated header, over all its fields."""
    return [value.strip() for field in headers.get_all(name) or [] for value in field.split(",") if value.strip()]


def get_query(server: Server, query: str, **params) -> tuple:
    headers = {"Accept": params.pop("accept")} if "accept" in params else {}
    return fetch(server.sparql + "?" + urllib.parse.urlencode({"query": query, **params}), headers=headers)


def curl(*args: str) -> str:
    done = subprocess.run(["curl", "-sS", "--max-time", "30", *args], capture_output=True, check=True)
    return done.stdout.decode("utf-8")


# --------------------------------------------------------------------------- protocol, formats

def test_sparqlwrapper_select_in_json_xml_and_csv_by_get_and_post(server):
    from SPARQLWrapper import CSV, JSON, POST, POSTDIRECTLY, XML, SPARQLWrapper

    expected = None
    for method in ("GET", POST, POSTDIRECTLY):
        client = SPARQLWrapper(server.sparql)
        client.setQuery(PROJECTS)
        if method != "GET":
            client.setMethod(POST)
            if method == POSTDIRECTLY:
                client.setRequestMethod(POSTDIRECTLY)
        client.setReturnFormat(JSON)
        rows = [b["project"]["value"] for b in client.queryAndConvert()["results"]["bindings"]]
        assert rows and all(r.startswith(BASE + "id/project/") for r in rows)
        expected = expected or rows
        assert rows == expected
    client = SPARQLWrapper(server.sparql)
    client.setQuery(PROJECTS)
    client.setReturnFormat(XML)
    document = client.queryAndConvert()  # a DOM
    assert [u.firstChild.data for u in document.getElementsByTagName("uri")] == expected
    client.setReturnFormat(CSV)
    lines = client.queryAndConvert().decode("utf-8").splitlines()
    assert lines[0] == "project" and lines[1:] == expected


def test_tsv_and_ask_and_format_parameter_with_curl(server):
    tsv = curl("-H", "Accept: text/tab-separated-values", "--data-urlencode", f"query={PROJECTS}", server.sparql)
    lines = tsv.splitlines()
    assert lines[0] == "?project" and lines[1].startswith(f"<{BASE}id/project/")
    ask = "ASK { <%s> ?p ?o }" % GDYNIA
    assert json.loads(curl("-G", "--data-urlencode", f"query={ask}", server.sparql)) == {"head": {}, "boolean": True}
    xml = curl("-G", "--data-urlencode", f"query={ask}", "--data-urlencode", "format=xml", server.sparql)
    assert "<boolean>true</boolean>" in xml
    status, headers, body = get_query(server, PROJECTS, format="csv", accept="application/json")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")  # the parameter wins


def test_construct_in_every_rdf_format_parses_back(server):
    query = f"CONSTRUCT {{ <{GDYNIA}> ?p ?o }} WHERE {{ <{GDYNIA}> ?p ?o }}"
    parsed = {}
    for media, rdflib_format in (("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                 ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml")):
        status, headers, body = get_query(server, query, accept=media)
        assert status == 200 and headers["Content-Type"].startswith(media)
        parsed[media] = Graph().parse(data=body, format=rdflib_format)
    sizes = {len(g) for g in parsed.values()}
    assert len(sizes) == 1 and sizes.pop() > 5
    assert (URIRef(GDYNIA), RDFS.label, Literal("Miejski Ośrodek Pomocy Społecznej w Gdyni", lang="pl")) \
        in parsed["text/turtle"]


def test_sparqlwrapper_construct_turtle(server):
    from SPARQLWrapper import TURTLE, SPARQLWrapper

    client = SPARQLWrapper(server.sparql)
    client.setQuery(f"DESCRIBE <{GDYNIA}>")
    client.setReturnFormat(TURTLE)
    graph = Graph().parse(data=client.queryAndConvert(), format="turtle")
    assert (URIRef(GDYNIA), None, None) in graph


def test_rdflib_sparqlstore_select_and_construct(server):
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    remote = Graph(store=SPARQLStore(server.sparql))  # XML: results XML or RDF/XML
    rows = list(remote.query(PROJECTS))
    assert rows and all(str(r[0]).startswith(BASE + "id/project/") for r in rows)
    constructed = remote.query(f"CONSTRUCT WHERE {{ <{GDYNIA}> ?p ?o }}").graph
    assert (URIRef(GDYNIA), RDFS.label, None) in constructed


def test_service_description_without_query(server):
    graph = Graph().parse(data=curl(server.sparql), format="turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert (URIRef(server.sparql), URIRef(sd + "endpoint"), URIRef(server.sparql)) in graph
    assert (URIRef(server.sparql), URIRef(sd + "supportedLanguage"), URIRef(sd + "SPARQL11Query")) in graph


def test_the_csv_preference_of_our_client_is_applied_to_select_only(server):
    """`query --endpoint … --format csv` asks for Oxigraph's CSV with `Prefer`; JSON stays the
    answer without it, and for ASK."""
    status, headers, body = fetch(server.sparql + "?" + urllib.parse.urlencode({"query": PROJECTS}),
                                  headers={"Accept": "application/sparql-results+json",
                                           "Prefer": "return=minimal, " + sp.CSV_PREFERENCE})
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["Preference-Applied"] == sp.CSV_PREFERENCE
    status, headers, answer = get_query(server, PROJECTS)
    assert headers["Content-Type"].startswith("application/sparql-results+json")
    assert "Preference-Applied" not in headers
    projects = [binding["project"]["value"] for binding in json.loads(answer)["results"]["bindings"]]
    assert projects and list(csv.reader(io.StringIO(body.decode("utf-8"), newline=""))) == \
        [["project"]] + [[project] for project in projects]
    status, headers, _ = fetch(server.sparql + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"}),
                               headers={"Accept": "application/sparql-results+json", "Prefer": sp.CSV_PREFERENCE})
    assert status == 200 and headers["Content-Type"].startswith("application/sparql-results+json")


def test_result_cap_is_announced(server):
    status, headers, body = get_query(server, "SELECT * WHERE { ?s ?p ?o }")
    assert status == 200 and headers["X-SPARQL-MaxRows"] == str(MAX_ROWS)
    assert len(json.loads(body)["results"]["bindings"]) == MAX_ROWS
    status, headers, _ = get_query(server, PROJECTS)
    assert "X-SPARQL-MaxRows" not in headers


# Text that breaks a careless row count in every results format.
AWKWARD = ' line\nbreak, "quoted"\ttab\r\nreturn },{"x": <result> żółw 5" disk \\'
RESULTS_OX = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
              "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV}


def rows_query(n: int) -> str:
    """A SELECT of n rows of awkward literals, language-tagged and typed ones, IRIs and unbound values."""
    return ("PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
            "SELECT ?i ?text ?pl ?typed ?iri ?maybe WHERE {\n"
            f"  VALUES ?i {{ {' '.join(str(i) for i in range(1, n + 1))} }}\n"
            f"  BIND(CONCAT(STR(?i), {json.dumps(AWKWARD, ensure_ascii=False)}) AS ?text)\n"
            '  BIND(STRLANG(?text, "pl") AS ?pl)\n'
            "  BIND(STRDT(STR(?i), xsd:decimal) AS ?typed)\n"
            '  BIND(IRI(CONCAT("https://example.org/item?n=", STR(?i))) AS ?iri)\n'
            "  BIND(IF(?i > 2, ?text, ?unbound) AS ?maybe)\n"
            "} ORDER BY ?i")


def read_rows(body: bytes, fmt: str) -> tuple[list[str], list[tuple]]:
    """Variables and rows of an answer; for CSV the strings, since CSV keeps only lexical forms."""
    if fmt == "csv":
        header, *rows = csv.reader(io.StringIO(body.decode("utf-8"), newline=""))
        return header, [tuple(row) for row in rows]
    answer = ox.parse_query_results(body, format=RESULTS_OX[fmt])
    variables = [v.value for v in answer.variables]
    return variables, [tuple(solution[v] for v in variables) for solution in answer]


def comma_iris_query(n: int) -> str:
    return ('SELECT ?i ?iri WHERE { VALUES ?i { %s } '
            'BIND(IRI(CONCAT("https://example.org/a,b?n=", STR(?i))) AS ?iri) } ORDER BY ?i'
            % " ".join(str(i) for i in range(1, n + 1)))


def test_csv_is_sound_counts_fields_per_record():
    assert sp.csv_is_sound('i,iri\r\n1,"x,y"\r\n2,"multi\r\nline"\r\n', 2)
    assert sp.csv_is_sound("only\r\n\r\nvalue\r\n", 1)  # a row whose one variable is unbound
    assert sp.csv_is_sound('i,text\r\n1,"say ""a, b""\r\nthen,"\r\n', 2)  # escaped quotes, commas, a line end
    assert not sp.csv_is_sound("i,iri\r\n1,https://example.org/a,b\r\n", 2)
    assert not sp.csv_is_sound('i,text\r\n1,"never closed\r\n', 2)


def test_csv_quotes_an_iri_holding_a_comma(server):
    """Oxigraph's CSV writer leaves such an IRI unquoted, splitting its field: the server
    notices and writes that answer itself, cut at the cap all the same."""
    for n in (2, MAX_ROWS + 1):
        status, headers, body = fetch(server.sparql + "?format=csv", data=comma_iris_query(n).encode(),
                                      headers={"Content-Type": "application/sparql-query"})
        assert status == 200, body
        assert headers.get("X-SPARQL-MaxRows") == (str(MAX_ROWS) if n > MAX_ROWS else None), n
        kept = range(1, min(n, MAX_ROWS) + 1)
        assert read_rows(body, "csv") == (["i", "iri"], [(str(i), f"https://example.org/a,b?n={i}") for i in kept])


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_the_row_cap_is_exact_and_every_term_comes_back(server, fmt):
    """Just under, at and just over the cap: whole answers, then one cut at exactly MAX_ROWS rows,
    announced in X-SPARQL-MaxRows; newlines, quotes, commas, tabs, tags and datatypes survive."""
    for n in (MAX_ROWS - 1, MAX_ROWS, MAX_ROWS + 1):
        query = rows_query(n)
        status, headers, body = fetch(server.sparql + "?format=" + fmt, data=query.encode("utf-8"),
                                      headers={"Content-Type": "application/sparql-query"})
        assert status == 200, body
        assert headers.get("X-SPARQL-MaxRows") == (str(MAX_ROWS) if n > MAX_ROWS else None), n
        whole = ox.Store().query(query)
        variables = [v.value for v in whole.variables]
        expected = [tuple(solution[v] for v in variables) for solution in whole][:MAX_ROWS]
        if fmt == "csv":
            expected = [tuple("" if term is None else term.value for term in row) for row in expected]
        assert read_rows(body, fmt) == (variables, expected), n
    assert "1" + AWKWARD in {term if fmt == "csv" else term.value for term in expected[0] if term}


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_a_cut_answer_is_what_oxigraph_writes_for_its_rows_wherever_its_writes_split(fmt):
    """The cut counts rows in the serializer's writes, which may split a row, an escape or a
    row separator anywhere: byte for byte, a cut answer is the whole answer of its rows."""
    empty = ox.Store()
    for query, n in ((rows_query(12), 12), ("SELECT ?x ?y WHERE { VALUES ?x { UNDEF UNDEF UNDEF } }", 3)):
        whole = empty.query(query).serialize(format=RESULTS_OX[fmt])
        for max_rows in range(1, n + 2):
            limited = empty.query(query + f" LIMIT {max_rows}").serialize(format=RESULTS_OX[fmt])
            for size in (1, 2, 3, 5, 8192):
                def write(sink, size=size):
                    for start in range(0, len(whole), size):
                        sink.write(whole[start:start + size])

                assert sp.capped_solutions(write, fmt, max_rows) == (limited, max_rows < n), (max_rows, size)


def test_a_cut_stops_the_serializer_at_the_first_row_past_the_cap():
    written = []

    def endless(sink):
        sink.write(b"?x\n")
        for i in range(1_000_000):
            written.append(i)
            sink.write(b"<urn:x:%d>\n" % i)

    body, cut = sp.capped_solutions(endless, "tsv", 10)
    assert cut and body.count(b"\n") == 11 and len(written) == 11


def test_unacceptable_format_gets_406_with_the_list(server):
    status, _, body = get_query(server, PROJECTS, accept="image/png")
    assert status == 406 and b"application/sparql-results+json" in body
    status, _, body = get_query(server, f"DESCRIBE <{GDYNIA}>", accept="text/csv")
    assert status == 406 and b"text/turtle" in body


# --------------------------------------------------------------------------- entity IRIs

@pytest.mark.parametrize("media, rdflib_format", [("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
                                                  ("application/n-triples", "nt"), ("application/rdf+xml", "xml")])
def test_entity_iri_dereferences_as_rdf(server, media, rdflib_format):
    status, headers, body = fetch(server.url + "/id/organisation/mops-gdynia", headers={"Accept": media})
    assert status == 200 and headers["Content-Type"].startswith(media) and "Accept" in headers["Vary"]
    graph = Graph().parse(data=body, format=rdflib_format)
    assert set(graph.subjects()) >= {URIRef(GDYNIA)}
    assert (URIRef(GDYNIA), RDFS.label, Literal("Municipal Social Welfare Centre in Gdynia", lang="en")) in graph


def test_entity_description_includes_its_blank_node_closure(server):
    project = curl("-H", "Accept: text/turtle",
                   server.url + "/id/project/mops-gdynia-cal-community-organising-2002")
    graph = Graph().parse(data=project, format="turtle")
    temporal = URIRef("http://purl.org/dc/terms/temporal")
    periods = list(graph.objects(None, temporal))
    assert periods and all(len(list(graph.predicate_objects(p))) > 0 for p in periods)


def test_entity_iri_as_html_page(server):
    page = curl("-H", "Accept: text/html", server.url + "/id/organisation/mops-gdynia")
    assert "Miejski Ośrodek Pomocy Społecznej w Gdyni" in page and "@en" in page
    assert 'href="/ontology/SocialWelfareCentre"' in page  # class, linked to this server
    assert 'href="/id/project/' in page  # incoming links
    assert "000_b867f87ad8e13151" in page  # the source document
    assert 'src="data:image/svg+xml;base64,' in page  # the neighbourhood picture


def test_an_entity_page_names_every_property_in_the_readers_language(server):
    """dcterms:description, skos:editorialNote and the other reused annotation properties were
    shown by their prefixed names, while the ontology's own properties had words."""
    count = "/id/indicator/standardy-uslug-pomocy-i-integracji-2009-social-workers"
    for lang, description, note in (("pl", "opis", "nota redakcyjna"), ("en", "description", "editorial note")):
        page = curl("-H", "Accept: text/html", f"{server.url}{count}?lang={lang}")
        assert f'title="http://purl.org/dc/terms/description">{description}</a>' in page, lang
        assert f'title="http://www.w3.org/2004/02/skos/core#editorialNote">{note}</a>' in page, lang
        assert not re.search(r">(dcterms|skos|rdfs):[A-Za-z]+</a>", page), lang


def test_an_entity_page_names_the_licence_and_publisher_in_the_readers_language(server):
    """CC BY asks for attribution; a page showed the data with neither."""
    licence = 'rel="license" href="http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"'
    for lang, words in (("pl", "Creative Commons Uznanie autorstwa 4.0"), ("en", "Creative Commons Attribution 4.0")):
        page = curl("-H", "Accept: text/html", f"{server.url}/id/organisation/mops-gdynia?lang={lang}")
        footer = page[page.index("<footer>"):]
        assert licence in footer and words in footer and "welfare-kg developers" in footer, lang


def test_an_entity_page_speaks_the_language_the_browser_asks_for(server):
    """Accept-Language was ignored: only ?lang=en gave English."""
    url = server.url + "/id/organisation/mops-gdynia"
    status, headers, body = fetch(url, headers={"Accept": "text/html", "Accept-Language": "en-GB,en;q=0.9,pl;q=0.5"})
    assert status == 200 and "<h2>Properties</h2>" in body.decode("utf-8")
    assert "Accept-Language" in listed(headers, "Vary")
    # the English page's tag, just sent, never answers a request for the Polish page with 304
    polish = fetch(url, headers={"Accept": "text/html", "Accept-Language": "pl", "If-None-Match": headers["ETag"]})
    assert polish[0] == 200 and "<h2>Właściwości</h2>" in polish[2].decode("utf-8")
    assert "<h2>Właściwości</h2>" in fetch(url + "?lang=pl", headers={"Accept": "text/html", "Accept-Language": "en"})[2].decode("utf-8")
    assert "Accept-Language" not in listed(fetch(url, headers={"Accept": "text/turtle"})[1], "Vary")


def test_an_entity_page_shows_a_period_s_start_before_its_end(server):
    for lang, start, end in (("pl", ">początek</a>", ">koniec</a>"), ("en", ">start date</a>", ">end date</a>")):
        page = curl("-H", "Accept: text/html", f"{server.url}/id/project/sami-sobie-2006?lang={lang}")
        assert start in page and end in page and page.index(start) < page.index(end), lang


def test_ontology_and_vocabulary_iris_dereference(server):
    for path in ("/ontology", "/ontology/Project", "/vocab/method/job-shadowing"):
        status, _, body = fetch(server.url + path, headers={"Accept": "text/turtle"})
        assert status == 200, path
        assert len(Graph().parse(data=body, format="turtle")) > 0
    status, headers, _ = fetch(server.url + "/ontology/Project", headers={"Accept": "text/html"})
    assert status == 200 and headers["Content-Type"].startswith("text/html")


def test_an_entity_answer_links_its_description_in_the_other_formats(server):
    status, headers, _ = exchange(server, "GET", "/id/organisation/mops-gdynia", {"Accept": "text/turtle"})
    links = dict(re.findall(r'<([^>]+)>; rel="alternate"; type="([^"]+)"', headers["Link"]))
    assert status == 200 and sorted(links.values()) == ["application/ld+json", "application/n-triples",
                                                         "application/rdf+xml", "text/html"]
    for url, media in links.items():
        status, headers, _ = exchange(server, "GET", url, {"Accept": "text/turtle"})
        assert status == 200 and headers["Content-Type"].startswith(media), url


@pytest.mark.parametrize("media, rdflib_format", [("text/turtle", "turtle"), ("application/ld+json", "json-ld"),
                                                  ("application/n-triples", "nt"), ("application/rdf+xml", "xml")])
def test_the_ontology_iri_gives_rdf_clients_the_whole_ontology(servers, media, rdflib_format):
    """owl:imports, Protégé and LOV read the ontology at its IRI: every triple of ontology/welfare.ttl,
    at the namespace IRI (vann:preferredNamespaceUri) too, and the same from a --public server."""
    ontology = Graph().parse(resources.ontology_dir() / "welfare.ttl", format="turtle")
    bodies = set()
    for running in servers:
        for path in ("/ontology", "/ontology/", "/ontology/version/0.1.0"):
            status, headers, body = fetch(running.url + path, headers={"Accept": media})
            assert status == 200 and headers["Content-Type"].startswith(media), path
            assert "Accept" in listed(headers, "Vary")
            assert isomorphic(Graph().parse(data=body, format=rdflib_format), ontology), path
            bodies.add(body)
    assert len(bodies) == 1


def test_rdflib_reads_the_ontology_at_its_iri(server):
    assert len(Graph().parse(server.url + "/ontology")) == len(
        Graph().parse(resources.ontology_dir() / "welfare.ttl", format="turtle"))


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_opening_a_query_gets_its_answer_as_a_table(server):
    """It got SPARQL XML (application/xml;q=0.9 outranked the rest), shown as an XML tree."""
    query = ("PREFIX wkg: <https://w3id.org/welfare-kg/ontology/> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
             "SELECT ?project ?label ?missing WHERE { ?project a wkg:Project ; rdfs:label ?label . "
             "FILTER(LANG(?label) = 'pl') } ORDER BY ?project")
    status, headers, body = get_query(server, query, accept=BROWSER_ACCEPT)
    page = body.decode("utf-8")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8" and "Accept" in listed(headers, "Vary")
    assert "<p>5 rows</p>" in page and "<th>?project</th><th>?label</th><th>?missing</th>" in page
    assert ('<a href="/id/project/mops-gdynia-cal-community-organising-2002" title="https://w3id.org/welfare-kg/id/'
            'project/mops-gdynia-cal-community-organising-2002">project:mops-gdynia-cal-community-organising-2002</a>'
            ) in page
    assert '<sup class="tag">@pl</sup>' in page and page.count('<span class="unbound">') == 5
    assert 'href="/sparql?query=' in page and "&amp;format=csv" in page and "CC_BY_4_0" in page
    # a client that takes anything, and one that asks for SPARQL formats, still get those
    assert get_query(server, query, accept="*/*")[1]["Content-Type"] == "application/sparql-results+json"
    assert get_query(server, query, format="html")[1]["Content-Type"] == "text/html; charset=utf-8"


def test_the_results_page_escapes_what_the_data_holds_and_says_when_it_is_cut(server):
    status, _, body = get_query(server, 'SELECT ?x WHERE { BIND("<script>alert(1)</script>" AS ?x) }', format="html")
    assert status == 200 and b"<script>alert" not in body and b"&lt;script&gt;alert(1)&lt;/script&gt;" in body
    _, headers, body = get_query(server, "SELECT ?s WHERE { ?s ?p ?o }", format="html")
    assert headers["X-SPARQL-MaxRows"] == str(MAX_ROWS)
    assert f"<p>{MAX_ROWS} rows <span class=\"note\">— cut at this server's limit of {MAX_ROWS} rows</span>".encode() in body
    _, _, body = get_query(server, "ASK { ?s a <https://w3id.org/welfare-kg/ontology/Project> }", accept="text/html")
    assert b"Answer: <strong>true</strong>" in body


def test_an_iri_never_runs_script_on_the_results_or_entity_pages(server):
    """A javascript: IRI in an answer became a link that ran script on this server's site,
    which holds personal data."""
    status, headers, body = get_query(server, 'SELECT ?x WHERE { BIND(IRI("javascript:alert(1)") AS ?x) }',
                                      format="html")
    assert status == 200 and b'href="javascript:' not in body
    assert b'<span title="javascript:alert(1)">javascript:alert(1)</span>' in body
    for answered in (headers, fetch(server.url + "/id/organisation/mops-gdynia", headers={"Accept": "text/html"})[1]):
        assert answered["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def test_the_results_page_links_the_same_graphs_in_csv_and_json(server):
    source = BASE + "graph/graph/004_f019134a6906dbe2"
    _, _, body = get_query(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", format="html",
                           **{"default-graph-uri": source})
    links = [link.replace("&amp;", "&") for link in re.findall(r'href="(/sparql\?[^"]+)"', body.decode("utf-8"))]
    assert len(links) == 2
    counts = {fetch(server.url + link)[2].decode("utf-8").split()[-1] for link in links if "format=csv" in link}
    expected = get_query(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", format="csv",
                         **{"default-graph-uri": source})[2].decode("utf-8").split()[-1]
    everything = get_query(server, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", format="csv")[2].decode("utf-8").split()[-1]
    assert counts == {expected} and expected != everything


def test_a_browser_opening_the_endpoint_gets_the_query_page(server):
    """It downloaded the service description as RDF/XML (Accept: …, application/xml;q=0.9, */*;q=0.8)."""
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    status, headers, _ = exchange(server, "GET", "/sparql", {"Accept": browser})
    assert (status, headers["Location"]) == (303, "/") and "Accept" in listed(headers, "Vary")
    status, headers, _ = exchange(server, "GET", "/sparql", {"Accept": "*/*"})
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")


@pytest.mark.parametrize("path", ["/dataset", "/graph/graph/shared"])
def test_a_browser_gets_turtle_where_there_is_no_page(server, path):
    """Its application/xml;q=0.9 named RDF/XML (to download) ahead of what it takes by */*."""
    fetch_made(server.url + "/dataset")
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    status, headers, _ = exchange(server, "GET", path, {"Accept": browser})
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    status, headers, _ = exchange(server, "GET", path, {"Accept": "application/rdf+xml"})
    assert status == 200 and headers["Content-Type"].startswith("application/rdf+xml")
    # a client that takes XML and nothing else still gets RDF/XML, not 406
    for accept in ("application/xml", "text/xml;q=0.5"):
        status, headers, _ = exchange(server, "GET", path, {"Accept": accept})
        assert status == 200 and headers["Content-Type"].startswith("application/rdf+xml"), accept


def test_a_large_answer_goes_gzipped_to_a_client_that_takes_it(server):
    path = "/sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 500", "format": "json"})
    _, _, plain_body = exchange(server, "GET", path)
    status, headers, body = exchange(server, "GET", path, {"Accept-Encoding": "br, gzip;q=0.8"})
    assert status == 200 and headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in listed(headers, "Vary")
    assert gzip.decompress(body) == plain_body and len(body) * 5 < len(plain_body)
    small = "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }", "format": "json"})
    status, headers, _ = exchange(server, "GET", small, {"Accept-Encoding": "gzip"})
    assert status == 200 and "Content-Encoding" not in headers
    status, headers, _ = exchange(server, "GET", path, {"Accept-Encoding": "gzip;q=0"})
    assert status == 200 and "Content-Encoding" not in headers


def test_every_answer_that_depends_on_accept_says_so(server):
    """Caches must not hand an answer negotiated for one Accept to a client sending another."""
    for path in ("/ontology", "/ontology/"):
        status, headers, _ = exchange(server, "GET", path, {"Accept": "text/html"})
        assert status == 303 and headers["Location"] == "/docs/index.html", path
        assert "Accept" in listed(headers, "Vary"), path
    select = "/sparql?" + urllib.parse.urlencode({"query": PROJECTS})
    for path in (select, "/sparql", "/id/organisation/mops-gdynia"):
        status, headers, _ = exchange(server, "GET", path, {"Accept": "image/png"})
        assert status == 406 and "Accept" in listed(headers, "Vary"), path
    status, headers, _ = exchange(server, "GET", select, {"Accept": "text/csv", "Origin": "http://localhost:8080"})
    assert status == 200 and {"Accept", "Prefer", "Origin"} <= set(listed(headers, "Vary"))  # CORS's kept too


def test_an_iri_with_needless_escapes_leads_to_its_canonical_form(server):
    """%2D is "-" (RFC 3986, 6.2.2.2): the same entity, not a 404."""
    status, headers, _ = exchange(server, "GET", "/id/organisation/mops%2Dgdynia?lang=en", {"Accept": "text/turtle"})
    assert (status, headers["Location"]) == (301, "/id/organisation/mops-gdynia?lang=en")
    assert exchange(server, "GET", "/id/organisation/mops%20gdynia")[0] == 404  # a space is no unreserved character


def test_an_iri_copied_with_a_trailing_slash_leads_to_the_entity(server):
    status, headers, _ = exchange(server, "GET", "/id/organisation/mops-gdynia/?lang=en", {"Accept": "text/turtle"})
    assert (status, headers["Location"]) == (301, "/id/organisation/mops-gdynia?lang=en")
    assert exchange(server, "GET", "/id/organisation/no-such-thing/")[0] == 404


@pytest.mark.parametrize("path, headers", [
    ("/id/organisation/mops-gdynia", {"Accept": "text/turtle"}),
    ("/id/organisation/mops-gdynia", {"Accept": "text/turtle", "Accept-Encoding": "gzip"}),
    ("/sparql?" + urllib.parse.urlencode({"query": PROJECTS, "format": "json"}), {"Accept-Encoding": "gzip"}),
    ("/dataset", {"Accept": "application/ld+json"}),
    ("/ontology", {"Accept": "text/turtle"}),
])
def test_a_client_with_a_current_copy_gets_304_without_the_body(server, path, headers):
    """Harvesters and caches revalidate: the same answer has the same ETag (gzipped ones too),
    and If-None-Match naming it gets 304 with no body; full data is for the client's cache only."""
    fetch_made(server.url + "/dataset")
    status, first, body = exchange(server, "GET", path, headers)
    assert status == 200 and first["ETag"].startswith('"') and first["Cache-Control"] == "private, no-cache"
    assert exchange(server, "GET", path, headers)[1]["ETag"] == first["ETag"]
    status, again, body = exchange(server, "GET", path, {**headers, "If-None-Match": f'"other", W/{first["ETag"]}'})
    assert (status, body, again["ETag"]) == (304, b"", first["ETag"])
    assert "Content-Length" not in again and "Accept" in listed(again, "Vary")
    assert exchange(server, "GET", path, {**headers, "If-None-Match": '"other"'})[0] == 200
    status, _, body = exchange(server, "HEAD", path, {**headers, "If-None-Match": first["ETag"]})
    assert (status, body) == (304, b"")


def test_answers_in_other_formats_or_encodings_have_other_etags(server):
    path = "/id/organisation/mops-gdynia"
    tags = {exchange(server, "GET", path, headers)[1]["ETag"]
            for headers in ({"Accept": "text/turtle"}, {"Accept": "application/n-triples"},
                            {"Accept": "text/turtle", "Accept-Encoding": "gzip"})}
    assert len(tags) == 3
    status, headers, _ = exchange(server, "GET", path + "/no-such", {"If-None-Match": "*"})
    assert status == 404 and "ETag" not in headers


def test_a_download_is_revalidated_by_its_etag_or_date(public_server):
    """The public server's exports may be kept by shared caches; a current copy is not sent again."""
    url = "/dist/welfare-kg-public.ttl"
    fetch_made(public_server.url + url)
    status, first, body = exchange(public_server, "GET", url)
    assert status == 200 and body and first["Cache-Control"] == "no-cache"
    status, headers, body = exchange(public_server, "GET", url, {"If-None-Match": first["ETag"]})
    assert (status, body, headers["ETag"], headers["Cache-Control"]) == (304, b"", first["ETag"], "no-cache")
    assert exchange(public_server, "GET", url, {"If-Modified-Since": first["Last-Modified"]})[:3:2] == (304, b"")
    assert exchange(public_server, "GET", url, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200


def test_a_graph_iri_gives_that_source_file_s_triples(server, public_server, dataset):
    """As in a TriG export: a graph per source file, without personal data from a public server."""
    source = "graph/graph/002_f8c82852a6f100af"
    expected = len(list(store.oxigraph(dataset).quads_for_pattern(None, None, None, ox.NamedNode(BASE + source))))
    status, headers, body = fetch(f"{server.url}/{source}", headers={"Accept": "text/turtle"})
    assert status == 200 and headers["Content-Type"].startswith("text/turtle") and "Accept" in listed(headers, "Vary")
    assert len(Graph().parse(data=body, format="turtle")) == expected and PHONE.encode() in body
    status, _, body = fetch(f"{public_server.url}/{source}", headers={"Accept": "application/n-triples"})
    kept = Graph().parse(data=body, format="nt")
    assert status == 200 and 0 < len(kept) < expected and PHONE.encode() not in body and b"Wojtysiak" not in body
    for missing in ("graph/graph/no-such-file", "graph/graph/a%20b"):
        assert fetch(f"{server.url}/{missing}", headers={"Accept": "text/turtle"})[0] == 404, missing


def test_a_public_server_reads_from_and_graph_as_the_full_one(server, public_server):
    """Its workers keep a graph per source file, so FROM and GRAPH find the public part of it."""
    source = BASE + "graph/graph/002_f8c82852a6f100af"
    for query in (f"SELECT (COUNT(*) AS ?n) FROM <{source}> WHERE {{ ?s ?p ?o }}",
                  f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{source}> {{ ?s ?p ?o }} }}"):
        (full,), (public,) = ([int(row["n"]) for row in csv.DictReader(io.StringIO(
            get_query(running, query, format="csv")[2].decode()))] for running in (server, public_server))
        assert 0 < public < full, query
    status, _, body = get_query(public_server, f"SELECT * FROM <{source}> WHERE {{ ?s ?p ?o }}", format="csv")
    assert status == 200 and PHONE.encode() not in body


def test_a_public_graph_document_leaves_out_people_marked_in_another_graph():
    from rdflib import Dataset

    from welfare_kg.server import graph_document

    dataset = Dataset(store="Oxigraph")
    person, marks, names = ox.NamedNode("urn:person"), ox.NamedNode("urn:marks"), ox.NamedNode("urn:names")
    store.oxigraph(dataset).extend([
        ox.Quad(person, ox.NamedNode(BASE + "ontology/isPersonalData"), ox.Literal(True), marks),
        ox.Quad(person, ox.NamedNode("urn:phone"), ox.Literal(PHONE), names),
        ox.Quad(ox.NamedNode("urn:centre"), ox.NamedNode("urn:contact"), person, names),
        ox.Quad(ox.NamedNode("urn:centre"), ox.NamedNode("urn:label"), ox.Literal("MOPS"), names)])
    assert PHONE.encode() in graph_document(dataset, "urn:names", "nt", public=False)
    public = graph_document(dataset, "urn:names", "nt", public=True)
    assert b"MOPS" in public and b"urn:person" not in public


def test_a_public_graph_document_leaves_out_a_contact_person_typed_in_another_graph_unmarked():
    from rdflib import Dataset

    from welfare_kg.server import graph_document

    dataset = Dataset(store="Oxigraph")
    person, types, names = ox.NamedNode("urn:person"), ox.NamedNode("urn:types"), ox.NamedNode("urn:names")
    store.oxigraph(dataset).extend([
        ox.Quad(person, ox.NamedNode(str(RDF.type)), ox.NamedNode(BASE + "ontology/ContactPerson"), types),
        ox.Quad(person, ox.NamedNode("urn:phone"), ox.Literal(PHONE), names),
        ox.Quad(ox.NamedNode("urn:centre"), ox.NamedNode("urn:label"), ox.Literal("MOPS"), names)])
    public = graph_document(dataset, "urn:names", "nt", public=True)
    assert b"MOPS" in public and PHONE.encode() not in public


def test_unknown_iri_is_404_and_unknown_type_406(server):
    assert fetch(server.url + "/id/organisation/no-such-thing")[0] == 404
    assert fetch(server.url + "/id/organisation/mops-gdynia", headers={"Accept": "image/png"})[0] == 406


# --------------------------------------------------------------------------- safety

def test_updates_are_refused(server):
    insert = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    status, _, body = fetch(server.sparql, data=insert.encode(), headers={"Content-Type": "application/sparql-update"})
    assert status == 403 and b"read-only" in body
    status, _, body = fetch(server.sparql, data=urllib.parse.urlencode({"update": insert}).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403
    for text in (insert, "PREFIX x: <urn:x#>\n# comment\nDELETE WHERE { ?s ?p ?o }", "LOAD <http://127.0.0.1:9/x>",
                 "CLEAR ALL", "DROP GRAPH <urn:g>"):
        status, _, body = get_query(server, text)
        assert status == 403, text
    assert get_query(server, "ASK { ?s ?p ?o }")[0] == 200  # nothing changed, still answering


def test_federated_service_is_refused_and_nothing_is_fetched(server):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    target = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    try:
        for query in (f"SELECT * WHERE {{ SERVICE <{target}> {{ ?s ?p ?o }} }}",
                      f"select * {{ ?x ?y ?z . service silent <{target}> {{ ?s ?p ?o }} }}",
                      f"SELECT * WHERE {{ ?s ?p ?o .SERVICE<{target}>{{ ?a ?b ?c }} }}",
                      # a name's escape is not a string's or a comment's start
                      f"PREFIX e: <urn:e:> SELECT * {{ ?s ?p ?o FILTER(?o != e:a\\') SERVICE <{target}> "
                      f"{{ ?a ?b ?o }} FILTER(?o != 'x') }}",
                      f"PREFIX e: <urn:e:> SELECT * {{ ?s ?p e:a\\# . SERVICE <{target}> {{ ?a ?b ?c }} }}"):
            status, _, body = get_query(server, query)
            assert status == 403 and b"SERVICE" in body, query
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()
    # the word in a string, an IRI, a comment or a variable is not a SERVICE clause
    harmless = 'SELECT ?service WHERE { BIND("SERVICE" AS ?service) } # SERVICE <http://x>'
    assert get_query(server, harmless)[0] == 200
    # nor, for Oxigraph, a string that a store decoding \u escapes would end early
    assert get_query(server, 'ASK { ?s ?p "\\u0022 SERVICE <x> {} \\u0022" }')[0] == 200


def test_classify_and_service_detection_ignore_strings_iris_and_comments():
    assert sp.classify("PREFIX a: <urn:SELECT>\nBASE <urn:x>\n# INSERT\nconstruct where { ?s ?p ?o }") == "CONSTRUCT"
    assert sp.classify('PREFIX a: <urn:x> WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }') == "UPDATE"
    assert sp.classify("SELCT * WHERE {}") is None
    assert not sp.uses_service('SELECT * { ?s ?p """multi\nSERVICE <x> {}""" . ?s ex:SERVICE ?SERVICE }')
    assert sp.uses_service("ASK { Service ?endpoint { ?s ?p ?o } }")
    assert sp.uses_service("ASK {SERVICE<http://127.0.0.1:9/>{ ?s ?p ?o }}")
    assert not sp.uses_service("PREFIX e: <urn:> ASK { ?s e:home-service-users ?o }")
    assert not sp.uses_service("PREFIX e: <urn:> ASK { ?s e:home\u00b7service ?o }")
    # a store that decodes \u escapes anywhere before parsing reads this as SERVICE; Oxigraph does not
    escaped = "ASK { \\u0053ERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"
    assert [sp.uses_service(text) for text in sp.store_readings(escaped, decoding_store=True)] == [False, True]
    assert sp.store_readings(escaped, decoding_store=False) == (escaped,)
    assert not sp.uses_service('ASK { ?s ?p "\\u0053ERVICE <x> {}" }')


def test_malformed_query_gets_400_with_position(server):
    status, headers, body = get_query(server, "SELECT ?x WHERE {\n  ?x ?p ?o .\n  FILTER(?o = ) }")
    assert status == 400 and headers["Content-Type"].startswith("text/plain")
    assert b"3:" in body and b"Traceback" not in body


def test_oversized_body_gets_413(server):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * (70 * 1024)
    status, _, _ = fetch(server.sparql, data=big.encode(), headers={"Content-Type": "application/sparql-query"})
    assert status == 413
    status, _, _ = fetch(server.sparql, data=b"query=ASK{}", headers={"Content-Type": "image/png"})
    assert status == 415


def test_slow_query_is_stopped_and_the_server_keeps_answering(server):
    started = time.monotonic()
    status, _, body = fetch(server.sparql, data=SLOW.encode(), headers={"Content-Type": "application/sparql-query"})
    elapsed = time.monotonic() - started
    assert status == 503 and b"time limit" in body
    assert TIMEOUT <= elapsed < TIMEOUT + 1.5
    status, _, body = get_query(server, "ASK { ?s ?p ?o }")
    assert status == 200 and json.loads(body)["boolean"] is True


def test_one_access_log_line_per_request(server):
    fetch(server.url + "/id/organisation/no-such-thing?marker=1")
    time.sleep(0.2)
    lines = server.log.read_text().splitlines()
    assert any(line.startswith("GET /id/organisation/no-such-thing 404 ") for line in lines)
    assert "Traceback" not in server.log.read_text()


def test_a_path_with_line_breaks_cannot_forge_a_log_line(server):
    """Line breaks (U+2028 too), spaces and "%" are logged percent-encoded, so a request stays
    one line and "%0A" in the log means a newline was sent."""
    forged = "/id/x-forged%0D%0AGET%20/forged-line%20200%201%E2%80%A8%250A"
    fetch(server.url + forged)
    time.sleep(0.2)
    lines = [line for line in server.log.read_text(encoding="utf-8").splitlines() if "forged" in line]
    assert len(lines) == 1 and lines[0].startswith(f"GET {forged} 404 ")


def test_home_page_lists_the_catalogue(server):
    status, _, body = fetch(server.url + "/")
    assert status == 200 and b"cq01-projects" in body and b'href="/sparql' in body
    # every catalogue link runs
    import re

    link = re.search(rb'href="(/sparql\?query=[^"]+)"', body).group(1).decode().replace("&amp;", "&")
    assert fetch(server.url + link)[0] == 200


def test_the_home_page_names_the_licence_and_links_the_description_and_downloads(server, public_server):
    """A portal's landing page showed no licence, publisher, description or downloads."""
    for running in (server, public_server):
        body = fetch(running.url + "/")[2].decode("utf-8")
        terms = body[body.index('<p id="terms">'):]
        terms = terms[:terms.index("</p>")]
        assert "Creative Commons Attribution 4.0 International" in terms and "welfare-kg developers" in terms
        assert 'href="/dataset"' in terms and fetch(running.url + "/dataset")[0] == 200
        links = re.findall(r'href="(/dist/[^"]+)"', terms)
        assert len(links) == len(export.FORMATS)
        assert all(fetch(running.url + link)[0] == 200 for link in links)


# --------------------------------------------------------------------------- --public

def test_public_server_leaks_no_personal_data(server, public_server):
    assert fetch(server.url + "/id/person/sylwia-wojtysiak", headers={"Accept": "text/turtle"})[0] == 200
    assert fetch(public_server.url + "/id/person/sylwia-wojtysiak", headers={"Accept": "text/turtle"})[0] == 404
    everything = curl("-H", "Accept: application/n-triples", "--data-urlencode",
                      "query=CONSTRUCT WHERE { ?s ?p ?o }", public_server.sparql)
    assert len(everything.splitlines()) > 1000
    assert PHONE not in everything and PERSON not in everything
    assert 'isPersonalData> "true"' not in everything  # the property is defined, never used
    status, _, body = get_query(public_server, "SELECT ?p WHERE { ?p a <https://w3id.org/welfare-kg/ontology/ContactPerson> }")
    assert status == 200 and json.loads(body)["results"]["bindings"] == []
    page = curl("-H", "Accept: text/html", public_server.url + "/id/project/sami-sobie-2006")
    assert PHONE not in page and "Wojtysiak" not in page


def test_the_full_server_answers_only_requests_addressed_to_this_machine(server, public_server):
    """A site whose name was made to resolve to 127.0.0.1 (DNS rebinding) would read personal data."""
    person = "/id/person/sylwia-wojtysiak"
    status, _, body = exchange(server, "GET", person, {"Host": f"evil.example:{server.port}", "Accept": "text/turtle"})
    assert status == 403 and PHONE.encode() not in body and b"--public" in body
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", f"[::1]:{server.port}", "LOCALHOST"):
        assert exchange(server, "GET", person, {"Host": host, "Accept": "text/turtle"})[0] == 200, host
    status, _, _ = exchange(public_server, "GET", "/id/organisation/mops-gdynia",
                            {"Host": "kg.example.org", "Accept": "text/turtle"})
    assert status == 200


# --------------------------------------------------------------------------- CORS

SITE = "https://example.org"
PREFLIGHT = {"Origin": SITE, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type, accept, prefer"}


@pytest.mark.parametrize("path", ["/sparql", "/id/organisation/mops-gdynia", "/ontology"])
def test_a_page_on_any_site_may_read_the_public_server(public_server, path):
    status, headers, _ = exchange(public_server, "OPTIONS", path, PREFLIGHT)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert {"GET", "HEAD", "POST"} <= set(listed(headers, "Access-Control-Allow-Methods"))
    assert {"accept", "content-type", "prefer"} <= {h.lower() for h in listed(headers, "Access-Control-Allow-Headers")}
    assert "Access-Control-Allow-Credentials" not in headers
    status, headers, _ = exchange(public_server, "GET", path, {"Origin": SITE, "Accept": "text/turtle"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert {"X-SPARQL-MaxRows", "Preference-Applied", "Retry-After", "Link"} <= set(
        listed(headers, "Access-Control-Expose-Headers"))


def test_a_page_on_another_site_reads_error_answers_too(public_server):
    status, headers, _ = exchange(public_server, "GET", "/id/organisation/no-such-thing", {"Origin": SITE})
    assert status == 404 and headers["Access-Control-Allow-Origin"] == "*"
    malformed = "/sparql?" + urllib.parse.urlencode({"query": "SELECT ?x WHERE {"})
    status, headers, _ = exchange(public_server, "GET", malformed, {"Origin": SITE})
    assert status == 400 and headers["Access-Control-Allow-Origin"] == "*"


def test_only_pages_from_this_machine_may_read_the_full_data(server):
    """The full server holds personal data: a site the user visits must not read it through the browser."""
    status, headers, _ = exchange(server, "GET", "/id/person/sylwia-wojtysiak",
                                  {"Origin": SITE, "Accept": "text/turtle"})
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    assert "Access-Control-Allow-Origin" not in exchange(server, "OPTIONS", "/sparql", PREFLIGHT)[1]
    for local in ("http://localhost:5173", "http://127.0.0.1:8080", "http://[::1]:3000"):
        status, headers, _ = exchange(server, "OPTIONS", "/sparql", {**PREFLIGHT, "Origin": local})
        assert status == 200 and headers["Access-Control-Allow-Origin"] == local
        status, headers, _ = exchange(server, "GET", "/id/person/sylwia-wojtysiak", {"Origin": local})
        assert status == 200 and headers["Access-Control-Allow-Origin"] == local


def test_curl_is_available():
    assert shutil.which("curl"), "the server tests use curl as an independent client"


# --------------------------------------------------------------------------- dataset description, docs


@pytest.mark.parametrize("path", ["/dataset", "/.well-known/void"])
def test_dataset_description_is_served(server, path):
    status, headers, body = fetch(server.url + path)
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    graph = Graph().parse(data=body, format="turtle")
    dataset = URIRef("https://w3id.org/welfare-kg/dataset")
    assert (dataset, RDF.type, DCAT.Dataset) in graph
    assert int(graph.value(dataset, URIRef("http://rdfs.org/ns/void#triples"))) > 1000


def fetch_made(url: str, **options) -> tuple:
    """``fetch``, asking again while the server answers 503 (still making it) as Retry-After says."""
    deadline = time.monotonic() + 60
    while True:
        status, headers, body = fetch(url, **options)
        if status != 503 or time.monotonic() > deadline:
            return status, headers, body
        time.sleep(min(float(headers.get("Retry-After", 1)), 1))


def served_path(iri: str) -> str:
    return "/" + iri.removeprefix(BASE)


def test_every_iri_the_description_names_under_the_base_answers(server):
    """A portal's link checker follows them all: the SPARQL service, the download URLs, the
    dataset's parts (a 303 to the description) and the entities."""
    _, _, body = fetch_made(server.url + "/dataset")
    description = Graph().parse(data=body, format="turtle")
    named = {str(term) for triple in description for term in triple
             if isinstance(term, URIRef) and str(term).startswith(BASE)}
    assert len(named) > 10
    for iri in sorted(named):
        status, _, _ = fetch_made(server.url + served_path(iri), headers={"Accept": "text/turtle"})
        assert status == 200, iri
    for part in ("catalogue", "distribution/turtle", "service/sparql", "agent/welfare-kg-developers"):
        status, headers, _ = exchange(server, "GET", "/" + part)
        assert (status, headers["Location"]) == (303, "/dataset"), part


@pytest.mark.parametrize("fmt", ["turtle", "nt", "jsonld", "xml", "trig"])
def test_a_download_url_gives_the_public_export_and_it_is_kept(server, cache_dir, tmp_path, fmt):
    _, _, body = fetch_made(server.url + "/dataset")
    description = Graph().parse(data=body, format="turtle")
    suffix, media = export.FORMATS[fmt]
    (url,) = [str(o) for o in description.objects(None, DCAT.downloadURL) if str(o).endswith(suffix)]
    status, headers, body = fetch_made(server.url + served_path(url))
    assert status == 200 and headers["Content-Type"].startswith(media)
    exported = tmp_path / ("public" + suffix)
    assert cli_main(["--cache-dir", str(cache_dir), "export", "--format", fmt, "--public", "-o", str(exported)]) == 0
    assert body == exported.read_bytes() and PHONE.encode() not in body
    assert [kept.read_bytes() for kept in cache_dir.glob(f"store-*/public-{fmt}-*")] == [body]


@pytest.mark.parametrize("media, rdflib_format", [("application/rdf+xml", "xml"), ("application/ld+json", "json-ld"),
                                                  ("application/n-triples", "nt")])
def test_the_dataset_description_comes_in_the_format_asked_for(server, media, rdflib_format):
    """Portals harvest DCAT-AP as RDF/XML or JSON-LD too; it was Turtle whatever Accept said."""
    _, _, turtle = fetch_made(server.url + "/dataset", headers={"Accept": "text/turtle"})
    status, headers, body = fetch_made(server.url + "/dataset", headers={"Accept": media})
    assert status == 200 and headers["Content-Type"].startswith(media) and "Accept" in listed(headers, "Vary")
    assert isomorphic(Graph().parse(data=body, format=rdflib_format), Graph().parse(data=turtle, format="turtle"))


# `welfare-kg serve` whose dataset description waits until a file appears.
HELD_DESCRIPTION = """
import pathlib, sys, time
from welfare_kg import cli, dcat
go, describe = pathlib.Path(sys.argv[1]), dcat.description
def held(dataset):
    while not go.exists():
        time.sleep(0.05)
    return describe(dataset)
dcat.description = held
sys.exit(cli.main(sys.argv[2:]))
"""


def test_queries_are_answered_while_the_dataset_description_is_computed(cache_dir, dataset, tmp_path):
    """serve starts before its DCAT description is ready; asked for meanwhile, the description is
    waited for up to the time limit (then 503 and Retry-After), and it is the same as before."""
    go = tmp_path / "go"
    for kept in cache_dir.glob("store-*/description-*"):  # kept by an earlier dcat or serve
        kept.unlink()
    held = Server(cache_dir, tmp_path / "held.log", program=("-c", HELD_DESCRIPTION, str(go)))
    try:
        held.wait()
        status, _, body = get_query(held, "ASK { ?s ?p ?o }")
        assert status == 200 and json.loads(body)["boolean"] is True
        started = time.monotonic()
        status, headers, _ = fetch(held.url + "/dataset")
        assert status == 503 and int(headers["Retry-After"]) > 0 and time.monotonic() - started >= TIMEOUT
        with ThreadPoolExecutor(1) as background:
            waiting = background.submit(fetch, held.url + "/.well-known/void")
            time.sleep(TIMEOUT / 4)
            go.touch()
            status, _, body = waiting.result()
    finally:
        held.stop()
    assert status == 200 and body == dcat.description(dataset)


def test_a_server_started_again_serves_the_kept_description_at_once(cache_dir, dataset, tmp_path):
    assert cli_main(["--cache-dir", str(cache_dir), "dcat", "-o", str(tmp_path / "dataset.ttl")]) == 0  # kept
    never = tmp_path / "never"  # the held description would wait for it forever
    held = Server(cache_dir, tmp_path / "held.log", program=("-c", HELD_DESCRIPTION, str(never)))
    try:
        held.wait()
        status, _, body = fetch(held.url + "/dataset")
    finally:
        held.stop()
    assert status == 200 and body == dcat.description(dataset)


def test_ontology_iri_gives_people_its_documentation(server):
    request = urllib.request.Request(server.url + "/ontology", headers={"Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=30) as response:  # follows the 303
        assert response.url.endswith("/docs/index.html")
        page = response.read().decode("utf-8")
    assert "SocialWelfareCentre" in page or "ośrodek pomocy społecznej" in page
    status, _, body = fetch(server.url + "/docs/vocab-method.html")
    assert status == 200 and "job shadowing" in body.decode("utf-8")
    status, headers, body = fetch(server.url + "/ontology", headers={"Accept": "text/turtle"})
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    assert (URIRef("https://w3id.org/welfare-kg/ontology"), RDF.type, OWL.Ontology) in Graph().parse(
        data=body, format="turtle")


def test_a_failed_start_leaves_no_scratch_folder_and_frees_the_port(cache_dir, tmp_path, monkeypatch):
    from welfare_kg import docs, server as server_module
    from welfare_kg.errors import UsageError

    def broken(folder):
        raise UsageError("docs: cannot write")

    monkeypatch.setattr(docs, "generate", broken)
    monkeypatch.setattr(server_module.tempfile, "tempdir", str(tmp_path))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UsageError, match="docs: cannot write"):
        server_module.run(cache_dir=cache_dir, port=port)
    assert list(tmp_path.iterdir()) == []
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))  # the listening socket was closed


def test_in_memory_workers_serve_the_given_data_with_the_same_answers(cache_dir, server, tmp_path):
    """serve --data FOLDER --in-memory: the workers parse the files (curated plus generated)
    into memory; answers match a server of the same data on its built store."""
    from welfare_kg import generate

    data = tmp_path / "generated"
    generate.write_folder(data, projects=30, seed=5)
    cache = tmp_path / "cache"
    on_disk = Server(cache, tmp_path / "disk.log", "--data", str(data))
    in_memory = Server(cache, tmp_path / "memory.log", "--data", str(data), "--in-memory")
    try:
        on_disk.wait()
        in_memory.wait()
        answers = [get_query(s, PROJECTS, accept="text/csv") for s in (on_disk, in_memory, server)]
        # What a user of a running server runs: the catalogue query by a welfare-kg process.
        timeline = ["query", "cq07-timeline", "--format", "csv"]
        served = cli_output([*timeline, "--endpoint", in_memory.sparql, "--whole-store"], cache)
        named = cli_output([*timeline, "--endpoint", in_memory.sparql, "--data", str(data)], cache)
    finally:
        on_disk.stop()
        in_memory.stop()
    assert [status for status, _, _ in answers] == [200, 200, 200]
    disk_rows, memory_rows, curated_rows = (body.decode("utf-8").splitlines() for _, _, body in answers)
    assert memory_rows == disk_rows
    assert len(disk_rows) == len(curated_rows) + 30, "the 30 generated projects are served"
    embedded = cli_output([*timeline, "--data", str(data)], cache)
    assert served == named == embedded
    assert len(embedded.splitlines()) == len(curated_rows) + 30


def cli_output(arguments: list[str], cache_dir: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "welfare_kg.cli", "--cache-dir", str(cache_dir), *arguments],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_cut_answer_is_an_error_for_the_client(server, tmp_path):
    """serve says it cut an answer only in a header: a welfare-kg client must not take it as whole."""
    query = tmp_path / "everything.rq"
    query.write_text("SELECT * WHERE { ?s ?p ?o }", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "welfare_kg.cli", "--cache-dir", str(tmp_path / "cache"),
                           "query", str(query), "--endpoint", server.sparql, "--whole-store", "--format", "csv"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (f"welfare-kg: {server.sparql}: the store cut the answer at its row limit of "
                                   f"{MAX_ROWS} (Virtuoso: [SPARQL] ResultSetMaxRows; welfare-kg serve: --max-rows)")


def test_sigterm_stops_the_server_as_ctrl_c_does(cache_dir, tmp_path, monkeypatch):
    """A service manager stops a server with SIGTERM; uvicorn used to send it again after its
    shutdown, which ended the process before its scratch folder (the docs pages) was removed."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where the server's tempfile makes its folder
    running = Server(cache_dir, tmp_path / "serve.log")
    try:
        running.wait()
        assert [p.name[:17] for p in scratch.iterdir()] == ["welfare-kg-serve-"]
    finally:
        running.process.terminate()
        code = running.process.wait(20)
    assert code == 0 and list(scratch.iterdir()) == []


def test_serving_a_store_that_cannot_be_reached_is_a_one_line_error(capsys):
    """The workers' first query failed, and its message reached int() as the triple count."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/sparql"  # closed again: nothing listens there
    assert cli_main(["serve", "--endpoint", url, "--port", "0"]) == 2
    assert capsys.readouterr().err == f"welfare-kg: {url}: cannot connect: Connection refused\n"


def test_serving_a_store_that_answers_only_ask_ends_without_a_traceback(capsys):
    def respond(sent: str) -> bytes:  # ASK {} passes; the workers' count is not SPARQL JSON
        return b'{"head": {}, "boolean": true}' if "ASK {}" in sent else b"[1]"

    with answering(respond) as url:
        assert cli_main(["serve", "--endpoint", url, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == f"welfare-kg: {url}: the answer is not SPARQL JSON: no results object"


def test_a_graph_iri_whose_remote_store_is_gone_is_a_one_line_502(monkeypatch):
    """serve --endpoint: the store failing under a graph IRI was a traceback and a bare 500."""
    import asyncio

    import httpx

    from welfare_kg import remote, server as serving

    def gone(*arguments):
        raise remote.RemoteError("http://127.0.0.1:9/sparql: cannot connect: Connection refused")

    monkeypatch.setattr(serving, "graph_document", gone)
    app = serving.create_app(None, public=True, timeout=5, max_rows=10, triples=0, dataset=object())

    async def ask():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            return await client.get("/graph/graph/shared", headers={"Accept": "text/turtle"})

    answer = asyncio.run(ask())
    assert answer.status_code == 502 and answer.text == "http://127.0.0.1:9/sparql: cannot connect: Connection refused\n"


def test_a_download_that_failed_is_made_again_on_the_next_request(tmp_path):
    """The cause (a full disk, a remote store down for a moment) may have gone: no 500 until restart."""
    from welfare_kg.server import PublicDownloads

    attempts = []

    def graphs() -> dict:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise OSError("No space left on device")
        return {"urn:g": b"<urn:a> <urn:b> <urn:c> .\n"}

    downloads = PublicDownloads(graphs, None, tmp_path)
    with pytest.raises(OSError):
        downloads.made("nt").result(timeout=30)
    assert b"<urn:a> <urn:b> <urn:c> ." in downloads.made("nt").result(timeout=30).read_bytes()
    assert len(attempts) == 2


class CountingPool:
    """Answers every SPARQL request with an empty answer in the format asked for, and counts the requests."""

    def __init__(self, remote=None):
        self.remote = remote
        self.calls = 0

    async def call(self, request_data: dict, timeout: float):
        self.calls += 1
        media, body = sp.RESULT_FORMATS[request_data["results_format"]][0], request_data["results_format"].encode()
        return 200, media, body, {}


@pytest.mark.parametrize("pool_remote, dataset_remote, query, computed_again", [
    (None, False, "SELECT * WHERE { ?s ?p ?o }", False),
    ("a remote store", False, "SELECT * WHERE { ?s ?p ?o }", True),
    (None, True, "SELECT * WHERE { ?s ?p ?o }", True),  # serve --endpoint --public: graph IRIs read it live
    (None, False, "SELECT (NOW() AS ?t) (STRUUID() AS ?u) WHERE {}", True),
], ids=["embedded", "remote", "public-over-remote", "volatile"])
def test_a_revalidated_query_answer_is_not_computed_again_while_the_data_cannot_change(
        monkeypatch, pool_remote, dataset_remote, query, computed_again):
    """The embedded store never changes under a running server: a current copy's 304 costs no
    query. A remote store may change at any time, and NOW() or STRUUID() change at every run,
    so there the answer is computed again."""
    import asyncio

    import httpx

    from welfare_kg import server as serving

    monkeypatch.setattr(serving.remote, "is_remote", lambda dataset: dataset_remote and dataset is not None)
    pool = CountingPool(pool_remote)
    app = serving.create_app(pool, public=True, timeout=5, max_rows=10, triples=0, dataset=object())
    path = "/sparql?" + urllib.parse.urlencode({"query": query})

    async def ask():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            first = await client.get(path, headers={"Accept": "application/sparql-results+json"})
            again = await client.get(path, headers={"Accept": "application/sparql-results+json",
                                                    "If-None-Match": first.headers["etag"]})
            head = await client.head(path, headers={"Accept": "application/sparql-results+json",
                                                    "If-None-Match": first.headers["etag"]})
            other = await client.get(path, headers={"Accept": "application/sparql-results+xml",
                                                    "If-None-Match": first.headers["etag"]})
            return first, again, head, other

    first, again, head, other = asyncio.run(ask())
    assert first.status_code == 200
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", first.headers["etag"])
    assert again.headers["cache-control"] == "no-cache" and "Accept" in again.headers["vary"]
    assert "content-type" not in again.headers and head.status_code == 304
    assert other.status_code == 200  # another format is another answer
    assert pool.calls == (4 if computed_again else 2)
