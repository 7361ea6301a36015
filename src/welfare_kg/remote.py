"""A remote SPARQL 1.1 store in place of the embedded Oxigraph: query it, push the graph into it.

The dataset rule. ``push`` puts each source file into its own named graph, with the same
IRI the embedded store gives it (:func:`named_graph_for`), or everything into the
one graph ``--graph IRI``. Every query sent names exactly those graphs with the protocol
parameters ``default-graph-uri`` (their merge is the default graph, as the embedded store's
union default graph) and ``named-graph-uri`` (what ``GRAPH ?g`` ranges over). Server
defaults never matter: Virtuoso's default graph is the union of all its graphs, system
graphs included, and Oxigraph's is not a union at all unless started so.

The wire. Queries go as GET, or as a form-encoded POST when the URL would be too long,
never as a POST of ``application/sparql-query`` (Virtuoso never answers that). Every
request has a client-side time limit. Data goes as N-Triples, never Turtle (Virtuoso's
Turtle loader mangles escaped prefixed names). Given :class:`Credentials`, every request
carries a bearer token, or answers the Basic or Digest challenge its server made: the first
request to a server goes without a login and is sent again in answer to the 401, later ones
answer the server's last challenge up front (:func:`login_opener`). HTTP errors and
connection failures become one-line :class:`RemoteError` messages.
"""

from __future__ import annotations

import base64
import functools
import gzip
import http.client
import io
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import (HTTPBasicAuthHandler, HTTPDigestAuthHandler, HTTPPasswordMgrWithDefaultRealm,
                            OpenerDirector, Request, build_opener, parse_http_list, parse_keqv_list)

import pyoxigraph as ox
from rdflib import Dataset, Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from rdflib.query import Result

from . import export, resources, results, store
from . import sparql_protocol as sp
from .errors import LoadError, UsageError
from .namespaces import bind_prefixes

MAX_GET_URL = 4000  # longer requests go as a form POST; some proxies refuse URLs over 4-8 KiB
UPDATE_CHUNK = 500  # triples per INSERT request: Virtuoso compiles one to at most 10,000 lines of SQL
PASSWORD_VARIABLE = "WELFARE_KG_PASSWORD"  # where --user's password comes from: ps shows command lines
RESULTS_JSON = "application/sparql-results+json"
JSON_MEDIA = (RESULTS_JSON, "application/json")
N_TRIPLES = "application/n-triples"
NO_GRAPH = "urn:welfare-kg:no-graph"  # named to make a dataset's set of named graphs empty
BNODE_SUBJECT = re.compile(r"(_:[A-Za-z0-9_-]+) ")
BNODE_OBJECT = re.compile(r" (_:[A-Za-z0-9_-]+) \.$")


class RemoteError(LoadError):
    """The remote store could not be reached or answered with an error; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Credentials:
    """A user and password (HTTP Basic or Digest, as the server's challenge asks) or a bearer
    token. The secrets stay out of reprs and messages."""

    user: str | None = None
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)


@dataclass(frozen=True)
class Endpoint:
    query_url: str
    update_url: str | None = None
    gsp_url: str | None = None
    graph: str | None = None  # one graph for everything instead of one graph per source file
    timeout: float = 60.0
    graphs: tuple[str, ...] = field(default=())  # the dataset every query names
    credentials: Credentials | None = None  # for every request: some stores protect reads too


def endpoint_for(query_url: str, *, files: list[Path] | None = None, graph: str | None = None,
                 update_url: str | None = None, gsp_url: str | None = None, timeout: float = 60.0,
                 credentials: Credentials | None = None, whole_store: bool = False) -> Endpoint:
    """An endpoint whose dataset is the graphs ``push`` writes for these files (default: the
    sources), or with ``whole_store`` the endpoint's own default dataset (no graph named)."""
    for url in filter(None, (query_url, update_url, gsp_url)):
        _check_url(url)
    files = resources.source_files() if files is None else files
    if whole_store:
        graphs = ()
    else:
        graphs = (graph,) if graph else tuple(str(store.named_graph_for(path)) for path in files)
    return Endpoint(query_url=query_url, update_url=update_url, gsp_url=gsp_url, graph=graph,
                    timeout=timeout, graphs=graphs, credentials=credentials)


def _check_url(url: str) -> None:
    """A URL this client can use, else a UsageError that never repeats a password in it."""
    if "@" in url.split("?", 1)[0]:  # checked first: a password holding '/' or '#' breaks the parse
        raise UsageError(f"{_short(url)}: a user or password in the URL is not sent; give --user NAME with "
                         f"the password in {PASSWORD_VARIABLE}, or --token-env VAR")
    try:
        urlsplit(url).port  # a port that is not a number raises here
    except ValueError as error:
        raise UsageError(f"{_short(url)}: not a valid URL ({error})") from None


# --------------------------------------------------------------------------- HTTP

# Virtuoso repeats every default-graph-uri and named-graph-uri of a request as a response
# header: two per source file. http.client refuses a response with more than 100 headers,
# so a dataset of more than about 48 files could not be queried.
http.client._MAXHEADERS = max(http.client._MAXHEADERS, 100_000)  # noqa: SLF001 - no public setting


class RememberingDigest(HTTPDigestAuthHandler):
    """HTTP Digest that answers the last challenge it met up front, so that a request goes
    once, not once without a login and again after the 401. A server that refuses the
    answer (a stale nonce) sends a new challenge, which urllib answers as usual."""

    def __init__(self, passwords):
        self.local = threading.local()  # before urllib's __init__ sets self.retried
        super().__init__(passwords)
        self.challenge: dict | None = None
        self.lock = threading.Lock()

    # urllib counts a request's retries on its handler, which here serves every thread:
    # counted per thread, as when each request had a handler of its own.
    @property
    def retried(self) -> int:
        return getattr(self.local, "retried", 0)

    @retried.setter
    def retried(self, value: int) -> None:
        self.local.retried = value

    def http_error_401(self, req, fp, code, msg, headers):
        # urllib resets the count only when the retry returns: after a refusal (its HTTPError
        # once the count passes 5) the next 401 of this long-lived handler would fail at once.
        try:
            return super().http_error_401(req, fp, code, msg, headers)
        finally:
            self.reset_retry_count()

    def retry_http_digest_auth(self, req, auth):
        # Remembered before the retry: a retry refused as stale records the newer challenge.
        self.challenge = parse_keqv_list(filter(None, parse_http_list(auth.partition(" ")[2])))
        # An answer to a challenge of this very exchange was refused, and not for a stale nonce:
        # the password is wrong. urllib would send the request (and its body) five times more.
        if self.retried >= 2 and self.challenge.get("stale", "").lower() != "true":
            raise HTTPError(req.full_url, 401, "the credentials were refused", {}, None)  # not passed on to Basic
        return super().retry_http_digest_auth(req, auth)

    def get_authorization(self, req, chal):
        with self.lock:  # it counts the requests made with a nonce; `queries --run` sends from several threads
            return super().get_authorization(req, chal)

    def http_request(self, req):
        if self.challenge and not req.has_header("Authorization"):
            answer = self.get_authorization(req, self.challenge)  # None for a URL the password is not for
            if answer:
                req.add_unredirected_header("Authorization", f"Digest {answer}")
        return req

    https_request = http_request


class RememberingBasic(HTTPBasicAuthHandler):
    """HTTP Basic sent up front, but only once the server has asked for Basic: never to a
    server that asks for Digest, never before its first challenge."""

    def __init__(self, passwords):
        super().__init__(passwords)
        self.realm: str | None = None

    def retry_http_basic_auth(self, host, req, realm):
        self.realm = realm
        return super().retry_http_basic_auth(host, req, realm)

    def http_request(self, req):
        if self.realm is not None and not req.has_header("Authorization"):
            user, password = self.passwd.find_user_password(self.realm, req.full_url)
            if password is not None:
                login = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
                req.add_unredirected_header("Authorization", f"Basic {login}")
        return req

    https_request = http_request


@functools.cache
def login_opener(origin: str, credentials: Credentials) -> OpenerDirector:
    """The opener for every request of the process to one origin (scheme://host:port) with
    these credentials: what the server asked for once is answered up front afterwards. The
    password is registered for the origin's root, so that the query, update and GSP
    endpoints of a server share it, and for no other origin."""
    passwords = HTTPPasswordMgrWithDefaultRealm()
    passwords.add_password(None, origin + "/", credentials.user, credentials.password)
    return build_opener(RememberingDigest(passwords), RememberingBasic(passwords))


def request(url: str, *, timeout: float, data: bytes | None = None, headers: dict | None = None,
            method: str | None = None, credentials: Credentials | None = None) -> tuple[bytes, str]:
    """One HTTP exchange: the body and its media type, or a one-line RemoteError."""
    headers = dict(headers or {})
    if credentials and credentials.token:
        headers["Authorization"] = f"Bearer {credentials.token}"
    try:
        if not sp.is_loopback(urlsplit(url).hostname or ""):
            headers["Accept-Encoding"] = "gzip"  # a JSON answer shrinks about tenfold; here it would only cost
        prepared = Request(url, data=data, headers=headers, method=method)
    except ValueError:
        prepared = None
    if prepared is None or prepared.type not in ("http", "https"):  # urllib would also read file:// and ftp://
        raise RemoteError(f"{_short(url)}: not an http:// or https:// URL")
    if credentials and not credentials.token:
        # The password goes out only in answer to a challenge this server made, Digest or Basic.
        opener = login_opener(f"{prepared.type}://{prepared.host}".lower(), credentials)
    else:
        opener = build_opener()
    deadline = time.monotonic() + timeout
    try:
        with opener.open(prepared, timeout=timeout) as response:
            body = _decoded(_read_until(response, deadline, url, timeout), response.headers, url)
            # Virtuoso's "anytime" queries answer 200 with a partial result when they run out of time.
            if response.headers.get("X-SQL-State"):
                raise RemoteError(f"{_short(url)}: the store returned a partial result "
                                  f"({response.headers['X-SQL-State']}: {response.headers.get('X-SQL-Message', '')})")
            # Virtuoso (ResultSetMaxRows) and welfare-kg serve (--max-rows) say only here that they cut.
            if response.headers.get("X-SPARQL-MaxRows"):
                raise RemoteError(f"{_short(url)}: the store cut the answer at its row limit of "
                                  f"{response.headers['X-SPARQL-MaxRows']} (Virtuoso: [SPARQL] ResultSetMaxRows; "
                                  f"welfare-kg serve: --max-rows)")
            return body, response.headers.get("Content-Type", "").split(";")[0].strip()
    except HTTPError as error:
        try:
            text = _decoded(_read_until(error, deadline, url, timeout, limit=1 << 16), error.headers, url)[:2000]
        except (RemoteError, OSError, http.client.HTTPException):
            text = b""
        detail = " ".join(text.decode("utf-8", "replace").split())[:300]
        if error.code in (401, 403):
            # The body is often a whole HTML page; a plain-text 403 says why (welfare-kg serve's does).
            plain = error.code == 403 and (error.headers or {}).get("Content-Type", "").startswith("text/plain")
            raise RemoteError(_refusal(url, error.code, credentials, detail if plain else ""), error.code) from None
        reason = " ".join(str(error.reason).split())  # urllib's redirect-loop reason spans three lines
        raise RemoteError(f"{_short(url)}: HTTP {error.code} {reason}" + (f": {detail}" if detail else ""),
                          error.code) from None
    except TimeoutError:
        raise RemoteError(f"{_short(url)}: no answer within {timeout:g} s (--remote-timeout)") from None
    except URLError as error:
        reason = getattr(error.reason, "strerror", None) or error.reason
        raise RemoteError(f"{_short(url)}: cannot connect: {reason}") from None
    except (OSError, http.client.HTTPException) as error:
        raise RemoteError(f"{_short(url)}: connection failed: {error}") from None
    except ValueError:  # http.client refuses the token as a header, or urllib meets another login scheme
        if credentials and credentials.token:
            raise RemoteError(f"{_short(url)}: the bearer token cannot be sent as a header") from None
        raise RemoteError(f"{_short(url)}: the store asks for a login other than HTTP Basic or Digest; "
                          f"--token-env sends a bearer token") from None


def _decoded(body: bytes, headers, url: str) -> bytes:
    """The body without the gzip the store applied at our asking."""
    if headers.get("Content-Encoding", "").strip().lower() not in ("gzip", "x-gzip"):
        return body
    try:
        return gzip.decompress(body)
    except (OSError, EOFError) as error:
        raise RemoteError(f"{_short(url)}: the store's gzipped answer is damaged ({error})") from None


def _read_until(response, deadline: float, url: str, timeout: float, limit: int | None = None) -> bytes:
    """The whole body (its first ``limit`` bytes at most), or a RemoteError once ``deadline``
    passes: the socket's timeout holds for each read only, and a server sending a byte now
    and then would never time out."""
    chunks, size = [], 0
    while (limit is None or size < limit) and (chunk := response.read1(1 << 16)):
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() > deadline:
            raise RemoteError(f"{_short(url)}: no whole answer within {timeout:g} s (--remote-timeout)")
    return b"".join(chunks)


def _refusal(url: str, code: int, credentials: Credentials | None, reason: str = "") -> str:
    """What a 401 or 403 means here, with the store's own ``reason`` when it gave one in plain text."""
    if reason:
        return f"{_short(url)}: the store refused the request (HTTP {code}): {reason}"
    if credentials is None:
        return (f"{_short(url)}: the store needs credentials (HTTP {code}): give --user NAME with the "
                f"password in {PASSWORD_VARIABLE}, or --token-env VAR")
    given = f"the credentials of user '{credentials.user}'" if credentials.user else "the bearer token"
    if code == 401:
        return f"{_short(url)}: the store refused {given} (HTTP 401)"
    return f"{_short(url)}: the store refused the request with {given} (HTTP 403): wrong credentials or no permission"


def _short(url: str) -> str:
    """The URL for a message: no query string, and nothing of a user or password (up to the last '@')."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://).*@", r"\1…@", url.split("?", 1)[0])


def send_query(endpoint: Endpoint, text: str, accept: str, *,
               dataset: tuple[list[str], list[str]] | None = None,
               timeout: float | None = None, prefer: str | None = None) -> tuple[bytes, str]:
    """Send a query naming the dataset's graphs, or the given ``dataset`` (default graphs,
    named graphs); GET unless the URL would be too long."""
    params = [("query", text)] + _dataset_parameters(endpoint, text, dataset)
    encoded = urlencode(params)
    headers = {"Accept": accept, **({"Prefer": prefer} if prefer else {})}
    timeout = endpoint.timeout if timeout is None else timeout
    separator = "&" if "?" in endpoint.query_url else "?"
    if len(endpoint.query_url) + 1 + len(encoded) <= MAX_GET_URL:
        return request(endpoint.query_url + separator + encoded, timeout=timeout, headers=headers,
                       credentials=endpoint.credentials)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return request(endpoint.query_url, timeout=timeout, data=encoded.encode("ascii"), headers=headers,
                   credentials=endpoint.credentials)


def _dataset_parameters(endpoint: Endpoint, text: str,
                        dataset: tuple[list[str], list[str]] | None) -> list[tuple[str, str]]:
    """The protocol's graph parameters: ``dataset``'s default and named graphs, or else all of
    the endpoint's graphs as both. A query's own FROM clauses are sent that way too, since
    the parameters replace them, and only when they name graphs of this dataset: a query
    reads this dataset and nothing else the store holds (with ``--whole-store``, any)."""
    if dataset is not None:
        default, named = dataset
    elif sp.declares_dataset(text):
        if not endpoint.graphs:
            return []
        # Either refusal is the query's fault, not the store's: status 400.
        try:
            default, named = sp.dataset_clauses(text)
        except ValueError as error:
            raise RemoteError(f"{_short(endpoint.query_url)}: {error}", 400) from None
        outside = sorted(set(default + named) - set(endpoint.graphs))
        if outside:
            raise RemoteError(f"{_short(endpoint.query_url)}: FROM names a graph outside this dataset: "
                              f"{outside[0]} (its graphs: {', '.join(endpoint.graphs)})", 400)
    else:
        default = named = endpoint.graphs
    # A store given no graph of one kind uses its own: Virtuoso's default graph and its named
    # graphs are every graph it holds. An empty graph named instead keeps the dataset ours.
    if default and not named:
        named = [NO_GRAPH]
    elif named and not default:
        default = [NO_GRAPH]
    return [("default-graph-uri", g) for g in default] + [("named-graph-uri", g) for g in named]


def accept_for(text: str) -> str:
    return N_TRIPLES if sp.classify(text) in ("CONSTRUCT", "DESCRIBE") else RESULTS_JSON


# --------------------------------------------------------------------------- rdflib side (CLI commands)

class RemoteStore(SPARQLStore):
    """rdflib's read-only SPARQL store, sending every query through :func:`send_query`."""

    def __init__(self, endpoint: Endpoint):
        super().__init__(endpoint.query_url)
        self.endpoint = endpoint

    def _query(self, query: str, default_graph=None, named_graph=None) -> Result:  # noqa: ARG002 - our dataset rule
        kind = sp.classify(query)
        body, media = send_query(self.endpoint, query, accept_for(query))
        result = parsed_answer(self.endpoint, body, media)
        # A SELECT answered with a boolean (or a graph) would fail later, in the caller's hands.
        expected = "CONSTRUCT" if kind == "DESCRIBE" else kind
        if expected is not None and result.type != expected:
            raise RemoteError(f"{self.endpoint.query_url}: answered a {expected} query with a result of type "
                              f"{result.type}")
        return result


def parsed_answer(endpoint: Endpoint, body: bytes, media: str) -> Result:
    """The server's answer as rdflib reads it."""
    if media in JSON_MEDIA:
        body = repaired_json(body, endpoint)
    try:
        return Result.parse(io.BytesIO(body), content_type=media or None)
    except Exception as error:  # noqa: BLE001 - any parser failure is the server's answer's fault
        raise RemoteError(_unreadable(endpoint, media, error)) from None


def _unreadable(endpoint: Endpoint, media: str, error: Exception) -> str:
    return (f"{endpoint.query_url}: unreadable answer ({media or 'no media type'}): "
            f"{str(error).splitlines()[0] if str(error) else type(error).__name__}")


def select_text(dataset: Dataset, text: str, fmt: str) -> str:
    """A SELECT on the remote dataset in one of :data:`results.ANSWER_FORMATS`, byte for byte
    as ``results.format_result`` writes what the dataset's ``query`` returns, but written
    straight from the server's JSON (:func:`results.format_answer`): rdflib's terms for every
    value took 8 of the 9 s of a 100,000-row answer. Answers in other media go through rdflib.
    For CSV, ``welfare-kg serve`` sends Oxigraph's CSV when asked (:data:`sp.CSV_PREFERENCE`),
    the bytes the embedded store gives: that spares the client 0.2 s of CPU at 13,000 rows.
    """
    endpoint = endpoint_of(dataset)
    # The text as rdflib's SPARQLStore.query sends it: the dataset's prefixes first.
    prologue = "".join(f"PREFIX {prefix}: <{namespace}>\n" for prefix, namespace in dataset.namespaces())
    body, media = send_query(endpoint, f"{prologue}\n{text}", RESULTS_JSON,
                             prefer=sp.CSV_PREFERENCE if fmt == "csv" else None)
    if media == "text/csv":  # `welfare-kg serve` applied the preference: Oxigraph's CSV, as embedded
        return body.decode("utf-8")
    if media not in JSON_MEDIA:
        return results.format_result(parsed_answer(endpoint, body, media), fmt, dataset.namespace_manager)
    answer = repaired_answer(body, endpoint)
    if "boolean" in answer:
        raise RemoteError(f"{endpoint.query_url}: answered a SELECT query with a result of type ASK")
    try:
        return results.format_answer(answer, fmt)
    except Exception as error:  # noqa: BLE001 - as in parsed_answer: the answer's fault
        raise RemoteError(_unreadable(endpoint, media, error)) from None


def open_dataset(endpoint: Endpoint) -> Dataset:
    """The remote dataset as a read-only rdflib Dataset (queries, value(), objects())."""
    dataset = Dataset(store=RemoteStore(endpoint), default_union=True)
    bind_prefixes(dataset)
    return dataset


def is_remote(dataset) -> bool:
    return isinstance(getattr(dataset, "store", None), RemoteStore)


def endpoint_of(dataset: Dataset) -> Endpoint:
    return dataset.store.endpoint


def construct(endpoint: Endpoint, text: str) -> Graph:
    body, _ = send_query(endpoint, text, N_TRIPLES)
    graph = Graph()
    try:
        graph.parse(data=body.decode("utf-8"), format="nt")
    except Exception as error:  # noqa: BLE001 - any parser failure is the server's answer's fault
        raise RemoteError(f"{endpoint.query_url}: unreadable N-Triples answer: {type(error).__name__}") from None
    return graph


def graph_sizes(endpoint: Endpoint) -> dict[str, int]:
    text = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    try:
        return {row["g"].value: int(row["n"].value) for row in solutions(endpoint, text)}
    except (SyntaxError, ValueError, KeyError, TypeError) as error:  # pyoxigraph reads the rows lazily
        raise RemoteError(_unreadable(endpoint, RESULTS_JSON, error)) from None


def named_graphs(endpoint: Endpoint) -> dict[URIRef, Graph]:
    """Each graph of the dataset as an rdflib Graph, keyed by IRI.

    A cut answer that says so (``X-SPARQL-MaxRows``) fails in :func:`request`; one that does
    not would still be short, so each graph's size is checked against a count first.
    """
    sizes = graph_sizes(endpoint)
    graphs: dict[URIRef, Graph] = {}
    for name in sorted(sizes):
        graph = construct(endpoint, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{name}> {{ ?s ?p ?o }} }}")
        if len(graph) != sizes[name]:
            raise RemoteError(f"{endpoint.query_url}: graph <{name}> has {sizes[name]} triples but the store sent "
                              f"{len(graph)} (a result-size cap such as Virtuoso's ResultSetMaxRows?)")
        graphs[URIRef(name)] = graph
    return graphs


def named_graphs_of(dataset: Dataset) -> dict:
    """Each graph of an embedded or a remote dataset, for :func:`export.serialize`: keyed by
    IRI, an rdflib Graph from a remote store, N-Triples bytes from the embedded one."""
    if is_remote(dataset):
        return named_graphs(endpoint_of(dataset))
    return export.named_graphs(store.oxigraph(dataset))


# The context a picture needs about its nodes: their own triples, those of the blank nodes
# they point to (periods, amounts), and how the resources they point to are named and typed.
CONTEXT = """
CONSTRUCT { ?s ?p ?o } WHERE {
  VALUES ?term { %s }
  { ?term ?p ?o . BIND(?term AS ?s) }
  UNION { ?term ?link ?s . FILTER(isBlank(?s)) ?s ?p ?o . }
  UNION { ?term ?link ?s . FILTER(isIRI(?s)) ?s ?p ?o . FILTER(?p IN (%s)) }
}"""
NAMING = ("http://www.w3.org/2004/02/skos/core#prefLabel", "http://www.w3.org/2000/01/rdf-schema#label",
          "https://schema.org/name", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
          "http://www.w3.org/2000/01/rdf-schema#subClassOf", "http://purl.org/dc/terms/identifier")
CONTEXT_BATCH = 200  # terms per query; a blank node belongs to one subject, so batches never split one


def context_graph(dataset: Dataset, edges: Graph) -> Graph:
    """What :func:`projection.project` reads about the terms of ``edges``, fetched in a few queries."""
    endpoint = endpoint_of(dataset)
    terms = sorted({t for triple in edges for t in triple if isinstance(t, URIRef)})
    naming = ", ".join(f"<{iri}>" for iri in NAMING)
    context = Graph()
    for start in range(0, len(terms), CONTEXT_BATCH):
        values = " ".join(term.n3() for term in terms[start:start + CONTEXT_BATCH])
        context += construct(endpoint, CONTEXT % (values, naming))
    return context


# --------------------------------------------------------------------------- pyoxigraph side (serve)

def solutions(endpoint: Endpoint, text: str, **options):
    """A SELECT or ASK as pyoxigraph's QuerySolutions / QueryBoolean."""
    body, _ = send_query(endpoint, text, RESULTS_JSON, **options)
    return ox.parse_query_results(repaired_json(body, endpoint), format=ox.QueryResultsFormat.JSON)


def repaired_json(body: bytes, endpoint: Endpoint) -> bytes:
    """:func:`repaired_answer` as JSON again."""
    return json.dumps(repaired_answer(body, endpoint)).encode("utf-8")


def repaired_answer(body: bytes, endpoint: Endpoint) -> dict:
    """SPARQL JSON results, parsed, with two Virtuoso habits undone.

    Virtuoso answers an ASK as a one-row SELECT of ``__ASK_RETVAL``, and labels blank nodes
    ``nodeID://b10032``, which pyoxigraph refuses.
    """
    try:
        answer = json.loads(body)
    except ValueError as error:
        raise RemoteError(f"{endpoint.query_url}: the answer is not SPARQL JSON: {error}") from None
    try:
        bindings = answer.get("results", {}).get("bindings", [])
        if answer.get("head", {}).get("vars") == ["__ASK_RETVAL"]:
            return {"head": {}, "boolean": bool(bindings) and bindings[0]["__ASK_RETVAL"]["value"] != "0"}
        for row in bindings:
            for term in row.values():
                if term.get("type") == "bnode":
                    term["value"] = "b" + term["value"].encode("utf-8").hex()
    except (AttributeError, TypeError, KeyError, IndexError):  # JSON, but not shaped as SPARQL results
        raise RemoteError(f"{endpoint.query_url}: the answer is not SPARQL JSON: no results object") from None
    return answer


class RemoteOxStore:
    """The remote store with the part of pyoxigraph's ``Store.query`` the server's workers use."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint

    def query(self, text: str, *, default_graph=(), named_graphs=(), use_default_graph_as_union=False):
        """Without graphs: the query's own FROM clauses, else the whole dataset (the union the
        flag asks for is what the endpoint's graphs as default graph give)."""
        # A client may narrow the dataset to some of our graphs, never widen it to the server's others.
        owned = set(self.endpoint.graphs)
        default, named = [g.value for g in default_graph], [g.value for g in named_graphs]
        if any(g not in owned for g in default + named):
            raise ValueError("only this dataset's graphs can be named: " + ", ".join(sorted(owned)))
        dataset = (default, named) if default or named else None
        if accept_for(text) == N_TRIPLES:
            body, _ = send_query(self.endpoint, text, N_TRIPLES, dataset=dataset)
            return [quad.triple for quad in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
        return solutions(self.endpoint, text, dataset=dataset)


# Everything an entity page reads (see entity_page): the entity's triples and, through up to
# ENTITY_DEPTH blank nodes, those of its blank nodes; the triples pointing at it, and for
# those that come from a blank node, the triples pointing at that blank node.
ENTITY_DEPTH = 4
ENTITY = """
SELECT ?g ?s ?p ?o WHERE { GRAPH ?g {
  { <%(iri)s> ?p ?o . BIND(<%(iri)s> AS ?s) }
  %(closure)s
  UNION { ?s ?p <%(iri)s> . BIND(<%(iri)s> AS ?o) }
  UNION { ?o ?link <%(iri)s> . FILTER(isBlank(?o)) ?s ?p ?o . }
} }"""
ENTITY_NAMING = """
SELECT ?g ?s ?p ?o WHERE { VALUES ?term { %s } GRAPH ?g {
  { ?term ?p ?o . BIND(?term AS ?s) FILTER(?p IN (%s)) }
  UNION { ?term a ?s . ?s ?p ?o . FILTER(?p IN (%s)) }
} }"""


def entity_store(endpoint: Endpoint, iri: str) -> ox.Store:
    """A small in-memory store holding what :mod:`entity_page` reads about ``iri``, in a few queries.

    Blank nodes are only followed within one answer, and each answer's blank-node labels get
    their own prefix: labels of two answers never name the same node.
    """
    iri = ox.NamedNode(iri).value  # ValueError for text that is no IRI: it never reaches the query
    closure = []
    for depth in range(1, ENTITY_DEPTH + 1):
        chain = " . ".join(f"?n{i} ?l{i} ?n{i + 1}" for i in range(depth)).replace("?n0", f"<{iri}>")
        chain = chain.replace(f"?n{depth}", "?s")
        blanks = " && ".join(f"isBlank({node})" for node in [*(f"?n{i}" for i in range(1, depth)), "?s"])
        closure.append(f"UNION {{ {chain} . FILTER({blanks}) ?s ?p ?o . }}")
    local = ox.Store()
    quads = _quads(solutions(endpoint, ENTITY % {"iri": iri, "closure": "\n  ".join(closure)}), "a")
    local.extend(quads)
    terms = sorted({t.value for q in quads for t in (q.subject, q.predicate, q.object) if isinstance(t, ox.NamedNode)})
    naming = ", ".join(f"<{p}>" for p in NAMING)
    for start in range(0, len(terms), CONTEXT_BATCH):
        values = " ".join(f"<{t}>" for t in terms[start:start + CONTEXT_BATCH])
        local.extend(_quads(solutions(endpoint, ENTITY_NAMING % (values, naming, naming)), f"n{start}"))
    return local


def _quads(rows, prefix: str) -> list:
    def own(term):
        return ox.BlankNode(f"{prefix}{term.value}") if isinstance(term, ox.BlankNode) else term
    return [ox.Quad(own(row["s"]), row["p"], own(row["o"]), row["g"]) for row in rows]


# --------------------------------------------------------------------------- push

def graph_payloads(files: list[Path], graph: str | None = None) -> dict[str, bytes]:
    """N-Triples per graph to push: one graph per file, or all files into ``graph``."""
    local = ox.Store()
    store.load_files(local, files)
    payloads: dict[str, bytes] = {}
    names = [ox.NamedNode(str(store.named_graph_for(path))) for path in files]
    if graph:
        triples = dict.fromkeys(q.triple for name in names for q in local.quads_for_pattern(None, None, None, name))
        return {graph: ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES)}
    for name in names:
        triples = [q.triple for q in local.quads_for_pattern(None, None, None, name)]
        payloads[name.value] = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    return payloads


def blank_node_groups(lines: list[str]) -> list[list[str]]:
    """N-Triples lines grouped so that lines sharing a blank node, directly or through others, stay together.

    INSERT DATA scopes blank-node labels to one request: a blank node split over two
    requests would become two nodes.
    """
    parent: dict[str, str] = {}

    def find(label: str) -> str:
        while parent.setdefault(label, label) != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    labels_per_line = []
    for line in lines:
        subject, obj = BNODE_SUBJECT.match(line), BNODE_OBJECT.search(line)
        labels = [match.group(1) for match in (subject, obj) if match]
        for other in labels[1:]:
            parent[find(other)] = find(labels[0])
        labels_per_line.append(labels)
    groups: dict[str, list[str]] = {}
    for index, (line, labels) in enumerate(zip(lines, labels_per_line)):
        groups.setdefault(find(labels[0]) if labels else f"line {index}", []).append(line)
    return list(groups.values())


def update_chunks(payload: bytes, size: int | None = None) -> list[str]:
    """N-Triples text cut into chunks of about ``size`` triples, blank-node groups never split."""
    size = size or UPDATE_CHUNK
    chunks, current = [], []
    for group in blank_node_groups([line for line in payload.decode("utf-8").splitlines() if line.strip()]):
        if current and len(current) + len(group) > size:
            chunks.append("\n".join(current))
            current = []
        current += group
    if current:
        chunks.append("\n".join(current))
    return chunks


def send_update(endpoint: Endpoint, text: str) -> None:
    request(endpoint.update_url, timeout=endpoint.timeout, data=urlencode({"update": text}).encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded"}, credentials=endpoint.credentials)


def push_update(endpoint: Endpoint, name: str, payload: bytes) -> None:
    """DROP the graph, then INSERT its triples in chunks.

    ``INSERT { … } WHERE {}`` rather than ``INSERT DATA``: Virtuoso 7.2 refuses blank nodes
    in INSERT DATA ("not allowed in a constant clause"); a template with one empty solution
    inserts the same triples, with fresh blank nodes per request, on every server.

    Not atomic: filling a staging graph and then MOVE-ing it would be, but Virtuoso 7.2's
    MOVE turns "116"^^xsd:decimal and "116"^^xsd:integer into one value. A failure after
    the DROP says that the graph is incomplete.
    """
    send_update(endpoint, f"DROP SILENT GRAPH <{name}>")
    chunks = update_chunks(payload)
    for number, chunk in enumerate(chunks):
        try:
            send_update(endpoint, f"INSERT {{ GRAPH <{name}> {{\n{chunk}\n}} }} WHERE {{}}")
        except RemoteError as error:
            raise RemoteError(f"{error}; graph <{name}> is incomplete on the server ({number} of "
                              f"{len(chunks)} requests went through): push again") from None


def push_gsp(endpoint: Endpoint, name: str, payload: bytes) -> None:
    separator = "&" if "?" in endpoint.gsp_url else "?"
    request(endpoint.gsp_url + separator + urlencode({"graph": name}), timeout=endpoint.timeout, data=payload,
            headers={"Content-Type": N_TRIPLES}, method="PUT", credentials=endpoint.credentials)


def push(endpoint: Endpoint, files: list[Path], *, method: str, log=print) -> int:
    """Replace each owned graph on the server with the files' triples; return the total pushed."""
    send = push_gsp if method == "gsp" else push_update
    total = 0
    for name, payload in graph_payloads(files, endpoint.graph).items():
        count = payload.count(b"\n")
        send(endpoint, name, payload)
        log(f"graph <{name}>: {count} triples ({method})")
        total += count
    stored = sum(graph_sizes(endpoint).values())
    log(f"total: {total} triples in {len(endpoint.graphs)} graphs; the store now holds {stored}")
    if stored != total:
        raise RemoteError(f"{endpoint.query_url}: pushed {total} triples but the store holds {stored} in these graphs")
    return total
