"""Shared fixtures: the real store, built once per test session in a private cache."""

from __future__ import annotations

import contextlib
import http.server
import threading
import urllib.parse
from pathlib import Path

import pytest
from rdflib import Graph, Namespace

from welfare_kg import store

TESTS_DIR = Path(__file__).parent
DATA_DIR = TESTS_DIR / "data"

BASE = "https://w3id.org/welfare-kg/"
PROJECT = Namespace(BASE + "id/project/")
ORG = Namespace(BASE + "id/organisation/")
METHOD = Namespace(BASE + "vocab/method/")
ROLE = Namespace(BASE + "vocab/role/")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def dataset(cache_dir):
    return store.open_dataset(cache_dir)


@pytest.fixture(scope="session")
def graph(dataset) -> Graph:
    """Ontology, vocabularies and curated graph as one in-memory graph (read-only by convention)."""
    return store.union_graph(dataset)


@pytest.fixture(scope="module")
def overview(dataset):
    """The overview view and its projected graph, in Polish (the default language)."""
    from welfare_kg import views

    view = views.load_view("overview")
    return view, views.build(dataset, view, lang="pl")


def ask(graph_or_dataset, query: str) -> bool:
    """Run an ASK query with the project's prefixes."""
    return bool(graph_or_dataset.query(query).askAnswer)


def rows(graph_or_dataset, query: str) -> list:
    """Run a SELECT query with the project's prefixes and return its rows."""
    return list(graph_or_dataset.query(query))


@contextlib.contextmanager
def answering(respond, media: str = "application/sparql-results+json"):
    """A loopback HTTP server answering every GET or POST with 200 and ``respond``: bytes, or a
    function of the request (its path and body, decoded) giving them. A store gone wrong;
    yields its SPARQL URL."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self):
            sent = self.path + self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("ascii")
            body = respond(urllib.parse.unquote_plus(sent)) if callable(respond) else respond
            self.send_response(200)
            self.send_header("Content-Type", media)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *args):
            pass

    with in_thread(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as url:
        yield url + "/sparql"


@contextlib.contextmanager
def in_thread(httpd: http.server.HTTPServer):
    """``httpd`` (bound to loopback) serving from a thread of its own until the block ends;
    yields its base URL."""
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
