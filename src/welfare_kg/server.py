"""``welfare-kg serve``: a read-only SPARQL 1.1 Protocol endpoint and dereferenceable IRIs.

Starlette routes the requests, uvicorn serves them; every query and every entity lookup
runs in a worker process (:mod:`welfare_kg.query_pool`) so that the time limit can be
enforced by killing the worker. This module only reads requests, refuses what the server
never does (updates, SERVICE, oversized bodies), negotiates formats, and writes answers.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import gzip
import hashlib
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import Future
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, quote

import pyoxigraph as ox
from rdflib.namespace import OWL

from . import cores, dcat, docs, export, queries, remote, resources, store
from . import sparql_protocol as sp
from .errors import UsageError
from .query_pool import PoolBusy, QueryPool, QueryTimeout, WorkerDied

MAX_BODY = 64 * 1024
# Seconds a client is asked to wait when the dataset description is not ready yet
# (it takes about 40 s after start-up on a national graph).
DESCRIPTION_RETRY = 10
TEXT = "text/plain; charset=utf-8"
ENTITY_FORMATS = {**sp.HTML, **sp.RDF_FORMATS}
# The ontology IRI and its namespace IRI (vann:preferredNamespaceUri) both stand for the
# ontology; so does its version IRI (owl:versionIRI), read from the file at start-up.
ONTOLOGY_PATHS = ("/ontology", "/ontology/")
# Answers from this size on go gzipped to a client that accepts it (JSON results shrink about
# tenfold or more); level 5 packs a 7 MB answer in 0.04 s.
GZIP_FROM, GZIP_LEVEL = 1400, 5
# Response headers a page on another origin may read besides the CORS-safelisted ones.
EXPOSED_HEADERS = ("X-SPARQL-MaxRows", "Preference-Applied", "Retry-After", "Link")
# The download URLs of the DCAT description: the public export in each format.
DOWNLOADS = {f"welfare-kg-public{suffix}": (fmt, media) for fmt, (suffix, media) in export.FORMATS.items()}
# What else the DCAT description names under the base: a 303 leads to that description.
DESCRIBED_BY_DATASET = ("/catalogue", "/dataset/{rest:path}", "/distribution/{rest:path}",
                        "/service/{rest:path}", "/agent/{rest:path}")
# Origins of pages served from this machine: the only ones that may read a server's full data.
LOOPBACK_ORIGIN = r"https?://(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?"


# --------------------------------------------------------------------------- the application

def create_app(pool: QueryPool, *, public: bool, timeout: float, max_rows: int, triples: int,
               description: Future | None = None, docs_dir: Path | None = None,
               downloads: PublicDownloads | None = None, dataset=None):
    """The application; ``description`` (of :func:`describe_in_background`) is served at
    /dataset and /.well-known/void once it is ready."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, Response
    from starlette.responses import RedirectResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    def plain(status: int, text: str, headers: dict | None = None) -> Response:
        return Response(text.rstrip("\n") + "\n", status_code=status, media_type=TEXT, headers=headers)

    def not_acceptable(text: str) -> Response:
        return plain(406, text, {"Vary": "Accept"})

    async def ask_pool(request: Request, request_data: dict, vary: tuple[str, ...] = ("Accept",)) -> Response:
        try:
            status, media, body, headers = await pool.call(request_data, timeout=timeout)
        except QueryTimeout:
            return plain(503, f"the request ran longer than the time limit of {timeout:g} s and was stopped; "
                              "narrow the query (LIMIT, more specific patterns) or ask the operator for "
                              "a longer --timeout")
        except PoolBusy:
            return plain(503, f"all query workers stayed busy for {timeout:g} s; try again shortly",
                         {"Retry-After": "1"})
        except WorkerDied:
            return plain(503, "the query worker ended while answering (probably out of memory); "
                              "narrow the query")
        headers = varied(headers, (*vary, "Accept-Encoding"))
        if len(body) >= GZIP_FROM and sp.accepts_gzip(request.headers.get("accept-encoding")):
            # In a thread: a large answer would hold up every other request while it is packed.
            body = await asyncio.to_thread(gzip.compress, body, GZIP_LEVEL, mtime=0)  # same bytes, same ETag
            headers["Content-Encoding"] = "gzip"
        return Response(body, status_code=status, media_type=media, headers=headers)

    async def read_body(request: Request) -> bytes | None:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            return None
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def refuse_update(operation: str = "update") -> Response:
        return plain(403, f"this endpoint is read-only: SPARQL Update ({operation}) is refused")

    async def sparql(request: Request) -> Response:
        params = {k: request.query_params.getlist(k) for k in request.query_params.keys()}
        if request.method == "POST":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type == "application/sparql-update":
                return refuse_update()
            body = await read_body(request)
            if body is None:
                return plain(413, f"request body over the limit of {MAX_BODY // 1024} KiB")
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return plain(400, "the request body is not UTF-8")
            if content_type == "application/x-www-form-urlencoded":
                for key, values in parse_qs(text, keep_blank_values=True).items():
                    params.setdefault(key, []).extend(values)
            elif content_type == "application/sparql-query":
                if "query" in params:
                    return plain(400, "give the query either in the body or as a parameter, not both")
                params["query"] = [text]
            else:
                return plain(415, "POST a query as application/sparql-query or as an "
                                  "application/x-www-form-urlencoded form with a query parameter")
        if "update" in params:
            return refuse_update()
        if "query" not in params:
            if request.method == "POST":
                return plain(400, "missing the query parameter")
            return await service_description(request, params)
        if len(params["query"]) != 1:
            return plain(400, "exactly one query parameter is allowed")
        text = params["query"][0]
        if len(text.encode("utf-8")) > MAX_BODY:
            return plain(413, f"query over the limit of {MAX_BODY // 1024} KiB")
        readings = sp.store_readings(text, decoding_store=pool.remote is not None)
        update = next((reading for reading in readings if sp.classify(reading) == "UPDATE"), None)
        if update is not None:
            return refuse_update(sp.update_keyword(update))
        if any(sp.uses_service(reading) for reading in readings):
            return plain(403, "federated queries (SERVICE) are refused: this server never fetches URLs "
                              "on a client's behalf")
        kind = sp.classify(text)
        requested = (params.get("format") or [None])[0]
        accept = request.headers.get("accept")
        results_format, rdf_format = "json", "turtle"
        applied = {}
        if kind == "SELECT" and sp.prefers_csv(request.headers.get("prefer")):
            results_format, applied = "csv", {"Preference-Applied": sp.CSV_PREFERENCE}
        elif kind in ("SELECT", "ASK"):
            # A browser (text/html first) gets a table; HTML last, so a tie goes to the SPARQL formats.
            results_format = sp.negotiate(accept, {**sp.RESULT_FORMATS, **sp.HTML}, requested)
            if results_format is None:
                return not_acceptable(f"{kind} results are available as: "
                                      f"{sp.supported({**sp.RESULT_FORMATS, **sp.HTML})} "
                                      "(Accept header, or format=json|xml|csv|tsv|html)")
        elif kind in ("CONSTRUCT", "DESCRIBE"):
            rdf_format = sp.negotiate(accept, sp.RDF_FORMATS, requested)
            if rdf_format is None:
                return not_acceptable(f"{kind} results are available as: {sp.supported(sp.RDF_FORMATS)} "
                                      "(Accept header, or format=turtle|nt|jsonld|xml)")
        answer = await ask_pool(request, {"op": "sparql", "query": text, "results_format": results_format,
                                 "rdf_format": rdf_format, "max_rows": max_rows,
                                 "default_graphs": params.get("default-graph-uri", []),
                                 "named_graphs": params.get("named-graph-uri", [])},
                                vary=("Accept", "Prefer") if kind == "SELECT" else ("Accept",))
        if answer.status_code == 200:
            answer.headers.update(applied)
        return answer

    async def service_description(request: Request, params: dict) -> Response:
        # RDF first: a client that takes anything (curl) gets Turtle, a browser the query page.
        fmt = sp.negotiate(request.headers.get("accept"), {**sp.RDF_FORMATS, **sp.HTML},
                           (params.get("format") or [None])[0])
        if fmt is None:
            return not_acceptable(f"the service description is available as: {sp.supported(sp.RDF_FORMATS)}")
        if fmt == "html":
            return RedirectResponse("/", status_code=303, headers={"Vary": "Accept"})
        endpoint = str(request.url.replace(query=""))
        body = describe_service(endpoint, fmt, public=public, triples=triples, max_rows=max_rows)
        return Response(body, media_type=rdf_media(fmt), headers={"Vary": "Accept"})

    async def when_made(made: Future, what: str) -> Response | None:
        """None once ``made`` is done; else, like a query waiting for a free worker, wait up to
        the time limit, then 503 with Retry-After."""
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(made)), timeout)
        except TimeoutError:
            return plain(503, f"{what} is still being computed; try again shortly",
                         {"Retry-After": str(DESCRIPTION_RETRY)})
        except Exception:  # noqa: BLE001 - its thread has logged why
            return plain(500, f"{what} could not be computed; the server log says why")
        return None

    async def dataset_description(request: Request) -> Response:
        # Turtle unless asked otherwise: portals harvest DCAT-AP as RDF/XML or JSON-LD too.
        fmt = sp.negotiate(request.headers.get("accept"), sp.RDF_FORMATS, request.query_params.get("format"))
        if fmt is None:
            return not_acceptable(f"the dataset description is given as: {sp.supported(sp.RDF_FORMATS)}")
        waiting = await when_made(description, "the dataset description")
        if waiting:
            return waiting
        body = dcat.in_format(description.result(), fmt)
        return Response(body, media_type=rdf_media(fmt), headers={"Vary": "Accept"})

    async def named_graph(request: Request) -> Response:
        """A source file's graph: its triples (without personal data when public), as in a TriG export."""
        fmt = sp.negotiate(request.headers.get("accept"), sp.RDF_FORMATS, request.query_params.get("format"))
        if fmt is None:
            return not_acceptable(f"graphs are given as: {sp.supported(sp.RDF_FORMATS)}")
        path = path_as_sent(request)
        iri = BASE_IRI + path.lstrip("/")
        try:
            body = await asyncio.to_thread(graph_document, dataset, iri, fmt, public)
        except remote.RemoteError as error:
            return plain(502, str(error))
        if body is None:
            return plain(404, f"no graph {iri} in this dataset", {"Vary": "Accept"})
        return Response(body, media_type=rdf_media(fmt),
                        headers={"Vary": "Accept", **alternates(path, fmt, sp.RDF_FORMATS)})

    async def described_by_dataset(request: Request) -> Response:
        return RedirectResponse("/dataset", status_code=303)

    async def download(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in DOWNLOADS:
            return plain(404, f"no such download; there are: {', '.join(DOWNLOADS)}")
        fmt, media = DOWNLOADS[name]
        made = downloads.made(fmt)
        waiting = await when_made(made, f"the download {name}")
        if waiting:
            return waiting
        path = made.result()
        answer = FileResponse(path, media_type=media, filename=name, stat_result=os.stat(path))
        if sp.not_modified(request.headers.get("if-none-match"), request.headers.get("if-modified-since"),
                           answer.headers["etag"], answer.headers["last-modified"]):
            # Answered here, not by ConditionalGet: the file would be read through only to be dropped.
            return Response(status_code=304, headers={header: answer.headers[header]
                                                      for header in ("etag", "last-modified")})
        return answer

    def moved(request: Request, path: str) -> Response:
        """301 to ``path``, with the request's query string."""
        query = request.url.query
        return RedirectResponse(path + (f"?{query}" if query else ""), status_code=301)

    async def entity(request: Request) -> Response:
        path = path_as_sent(request)
        canonical = without_needless_escapes(path)
        if canonical != path:  # the same IRI (RFC 3986, 6.2.2.2), told where it is written canonically
            return moved(request, canonical)
        iri = BASE_IRI + path.lstrip("/")
        fmt = sp.negotiate(request.headers.get("accept"), ENTITY_FORMATS, request.query_params.get("format"))
        if fmt is None:
            return not_acceptable(f"entities are described as: {sp.supported(ENTITY_FORMATS)}")
        if path in ontology_paths and fmt == "html" and docs_dir is not None:
            # For people, the ontology IRI stands for its documentation (`welfare-kg docs`).
            return RedirectResponse("/docs/index.html", status_code=303, headers={"Vary": "Accept"})
        if path in ontology_paths and fmt in ontology:
            # For RDF clients (owl:imports, Protégé, LOV) it is the whole ontology document, not the
            # description of its owl:Ontology node; the same with --public, as it holds no personal data.
            return Response(ontology[fmt], media_type=rdf_media(fmt),
                            headers={"Vary": "Accept", **alternates(path, fmt)})
        lang = sp.page_language(request.query_params.get("lang"), request.headers.get("accept-language"))
        vary = ("Accept", "Accept-Language") if fmt == "html" else ("Accept",)
        answer = await ask_pool(request, {"op": "entity", "iri": iri, "format": fmt, "lang": lang}, vary)
        if answer.status_code == 200:
            answer.headers.update(alternates(path, fmt))
        elif answer.status_code == 404 and path.endswith("/"):
            # An IRI copied with a slash too many: sent where it is described, if it is.
            described = path.rstrip("/")
            found = await ask_pool(request, {"op": "entity", "iri": BASE_IRI + described.lstrip("/"),
                                             "format": fmt, "lang": lang}, vary)
            if found.status_code == 200:
                return moved(request, described)
        return answer

    ontology = {fmt: ontology_document(fmt) for fmt in sp.RDF_FORMATS}
    ontology_paths = (*ONTOLOGY_PATHS, "/" + ontology_version_iri().removeprefix(BASE_IRI))
    editor_dir = resources.yasgui_dir()
    index_html = render_home(editor=editor_dir is not None, public=public, timeout=timeout, max_rows=max_rows,
                             triples=triples, described=description is not None, downloads=downloads is not None)

    async def index(request: Request) -> Response:
        return HTMLResponse(index_html)

    routes = [
        Route("/", index),
        Route("/sparql", sparql, methods=["GET", "POST"]),
        Route("/ontology", entity),
        Route("/ontology/{rest:path}", entity),
        Route("/id/{rest:path}", entity),
        Route("/vocab/{rest:path}", entity),
    ]
    if description is not None:
        routes += [Route("/dataset", dataset_description), Route("/.well-known/void", dataset_description)]
        routes += [Route(path, described_by_dataset) for path in DESCRIBED_BY_DATASET]
    if downloads is not None:
        routes.append(Route("/dist/{name}", download))
    if dataset is not None:
        routes.append(Route("/graph/{rest:path}", named_graph))
    if docs_dir is not None:
        routes.append(Mount("/docs", app=StaticFiles(directory=str(docs_dir), html=True)))
    if editor_dir is not None:
        routes.append(Mount("/static/yasgui", app=StaticFiles(directory=str(editor_dir))))
    # Any page may read public data, as from DBpedia or Wikidata; full data, personal data
    # included, only a page served from this machine, lest any site a user visits read it.
    origins = {"allow_origins": ["*"]} if public else {"allow_origin_regex": LOOPBACK_ORIGIN}
    cors = Middleware(CORSMiddleware, **origins, allow_methods=["GET", "HEAD", "POST"],
                      allow_headers=["Accept", "Content-Type", "Prefer"], expose_headers=list(EXPOSED_HEADERS))
    # A remote store may change under a running server; the embedded one never does. (With
    # --public the workers hold the public export, but graph IRIs still read the remote store.)
    fixed_data = (pool is None or pool.remote is None) and not remote.is_remote(dataset)
    app = Starlette(routes=routes, middleware=[cors, Middleware(ConditionalGet, private=not public,
                                                                fixed_data=fixed_data)])
    return AccessLog(app if public else LoopbackHostOnly(app))


def varied(headers: dict, names: tuple[str, ...]) -> dict:
    """``headers`` whose Vary also names ``names``, keeping the values it had."""
    kept = [value.strip() for value in headers.get("Vary", "").split(",") if value.strip()]
    return {**headers, "Vary": ", ".join(kept + [name for name in names if name not in kept])}


def rdf_media(fmt: str) -> str:
    media = sp.RDF_FORMATS[fmt][0]
    return media + ("; charset=utf-8" if media.startswith("text/") else "")


def alternates(path: str, served: str, formats: dict = ENTITY_FORMATS) -> dict:
    """A Link to the same description in each other format, for clients that read headers only."""
    links = [f'<{path}?format={name}>; rel="alternate"; type="{media}"'
             for name, (media, _) in formats.items() if name != served]
    return {"Link": ", ".join(links)}


# What makes a resource personal data, in any graph: a graph's public document leaves out a
# person marked or typed in another.
PERSONAL_MARKS = ("CONSTRUCT { ?s ?personalPredicate ?personalObject } WHERE { "
                  f"{export.PERSONAL_VALUES} GRAPH ?g {{ ?s ?personalPredicate ?personalObject }} }}")


def graph_document(dataset, iri: str, fmt: str, public: bool) -> bytes | None:
    """The named graph ``iri`` of the dataset in ``fmt``, or None when there is no such graph;
    ``public``: without what the dataset marks as personal data in any of its graphs."""
    if remote.is_remote(dataset):
        endpoint = remote.endpoint_of(dataset)
        if endpoint.graphs and iri not in endpoint.graphs:
            return None
        triples = remote.construct(endpoint, f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}")
        marks = remote.construct(endpoint, PERSONAL_MARKS) if public and triples else []
    else:
        try:
            graph = ox.NamedNode(iri)
        except ValueError:  # no IRI, so no graph of ours
            return None
        oxigraph = store.oxigraph(dataset)
        triples = oxigraph.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=graph)
        marks = list(oxigraph.query(PERSONAL_MARKS)) if public and triples else []
    if not triples:
        return None
    return export.serialize({iri: triples}, fmt, public=public, marked_elsewhere=marks)


def ontology_version_iri() -> str:
    (version,) = {triple.object.value for triple in ox.parse(path=resources.ontology_dir() / "welfare.ttl")
                  if triple.predicate.value == str(OWL.versionIRI)}
    return version


def ontology_document(fmt: str) -> bytes:
    """The ontology file the documentation at /docs is made from, written as entity answers are."""
    triples = ox.parse(path=resources.ontology_dir() / "welfare.ttl", format=ox.RdfFormat.TURTLE)
    return export.serialize({BASE_IRI + "ontology": triples}, fmt)


_ESCAPED_UNRESERVED = re.compile(r"%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])")


def path_as_sent(request) -> str:
    """The request's path with its percent-escapes as the client wrote them: an IRI's own."""
    return request.scope.get("raw_path", request.url.path.encode()).decode("latin-1").split("?")[0]


def without_needless_escapes(path: str) -> str:
    """``path`` with percent-encoded unreserved characters (letters, digits, ``-._~``) decoded."""
    return _ESCAPED_UNRESERVED.sub(lambda escape: chr(int(escape[1], 16)), path)


def loggable(text: str) -> str:
    """``text`` with spaces, "%" and anything non-printable (line breaks above all) percent-encoded:
    a logged request is one line of space-separated fields whatever the client sent."""
    return "".join(char if char.isprintable() and char not in " %" else quote(char, safe="") for char in text)


def host_name(header: str) -> str:
    """The name or address of a Host header, without its port (``[::1]:8000`` → ``::1``)."""
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


class LoopbackHostOnly:
    """Refuse requests not addressed to this machine by name: a page on another site can make
    its own name resolve to 127.0.0.1 (DNS rebinding) and so read what the full server holds,
    personal data included, as its own origin. A --public server holds none and needs no guard."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            if host and not sp.is_loopback(host_name(host)):  # browsers always send one
                body = b"this server holds personal data and answers only requests addressed to this machine " \
                       b"(Host: localhost, 127.0.0.1 or [::1]); serve with --public to publish\n"
                headers = [(b"content-type", TEXT.encode()), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 403, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


class ConditionalGet:
    """An ETag on every whole 200 answer to GET or HEAD, and 304 Not Modified when the client's
    copy is current: harvesters and caches fetch descriptions, entity pages and downloads again
    and again, and the data only changes with a new store. Files (downloads, the query page's
    scripts) answer for their own validators. Every answer may be stored but must be
    revalidated (``no-cache``); the full server's, which may hold personal data, only by the
    client itself (``private``).

    With ``fixed_data`` (the embedded store, which a running server never sees change) the
    ETag of the last answer to each request is remembered, so a client revalidating a query
    answer or a page gets its 304 without the answer being computed again."""

    # What a 304 must not carry: it has no body.
    BODY_HEADERS = ("content-length", "content-type", "content-encoding", "content-range", "content-disposition")
    REMEMBERED = 10_000  # requests whose last ETag is kept, the least recently asked dropped first
    # Besides the URL, what the answer may depend on (the handlers read no other header).
    REQUEST_HEADERS = ("accept", "accept-encoding", "accept-language", "prefer")

    def __init__(self, app, *, private: bool, fixed_data: bool = False):
        self.app = app
        self.cache_control = "private, no-cache" if private else "no-cache"
        self.fixed_data = fixed_data
        # request → (its last answer's ETag, the headers a 304 for it carries)
        self.answered: collections.OrderedDict[bytes, tuple[str, list]] = collections.OrderedDict()

    async def __call__(self, scope, receive, send):
        from starlette.datastructures import Headers, MutableHeaders

        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        if_none_match = Headers(scope=scope).get("if-none-match")
        request = self.request_key(scope) if self.fixed_data and not self.volatile(scope) else None
        tag, unchanged_headers = self.answered.get(request, (None, None))  # None: never remembered
        if tag is not None and sp.not_modified(if_none_match, None, tag):
            self.answered.move_to_end(request)
            await send({"type": "http.response.start", "status": 304, "headers": unchanged_headers})
            return await send({"type": "http.response.body", "body": b""})
        held: dict = {}  # the start of the answer being buffered
        body: list[bytes] = []

        async def answer(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message["headers"]))
                if message["status"] in (200, 206, 304):
                    headers.setdefault("cache-control", self.cache_control)
                if message["status"] == 200 and "etag" not in headers:
                    held["start"] = {**message, "headers": headers.raw}
                    return
                return await send({**message, "headers": headers.raw})
            if "start" not in held:
                return await send(message)
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            whole = b"".join(body)
            headers = MutableHeaders(raw=held["start"]["headers"])
            headers["etag"] = await asyncio.to_thread(entity_tag, whole) if len(whole) > 2 ** 20 \
                else entity_tag(whole)
            unchanged = MutableHeaders(raw=list(headers.raw))
            for name in self.BODY_HEADERS:
                del unchanged[name]
            if request is not None and scope["method"] == "GET":  # a HEAD's body may be left out
                self.remember(request, headers["etag"], unchanged.raw)
            if sp.not_modified(if_none_match, None, headers["etag"]):
                held["start"], whole = {**held["start"], "status": 304, "headers": unchanged.raw}, b""
            await send(held["start"])
            await send({"type": "http.response.body", "body": whole})

        await self.app(scope, receive, answer)

    def remember(self, request: bytes, tag: str, headers: list) -> None:
        self.answered[request] = (tag, headers)
        self.answered.move_to_end(request)
        if len(self.answered) > self.REMEMBERED:
            self.answered.popitem(last=False)

    @staticmethod
    def volatile(scope) -> bool:
        """A query whose answer changes at every run (NOW(), RAND() …): never answered from memory."""
        queries = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("query", [])
        return any(sp.is_volatile(text) for text in queries)

    @classmethod
    def request_key(cls, scope) -> bytes:
        """The request's URL (scheme, Host, path as sent, query) and the headers its answer depends on."""
        from starlette.datastructures import Headers

        headers = Headers(scope=scope)
        parts = [scope.get("scheme", "http"), headers.get("host", ""),
                 scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
                 scope.get("query_string", b"").decode("latin-1"),
                 *(",".join(headers.getlist(name)) for name in cls.REQUEST_HEADERS)]
        return hashlib.blake2b("\n".join(parts).encode("utf-8", "surrogateescape"), digest_size=16).digest()


def entity_tag(body: bytes) -> str:
    """A strong ETag: the hash of the bytes sent (so a gzipped answer has its own)."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


class AccessLog:
    """One line per request on standard error: ``METHOD PATH STATUS MS``."""

    def __init__(self, app, stream=None):
        self.app = app
        self.stream = stream or sys.stderr

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = [500]

        async def capture(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            print(f"{loggable(scope['method'])} {loggable(scope['path'])} {status[0]} {elapsed:.0f}",
                  file=self.stream, flush=True)


BASE_IRI = "https://w3id.org/welfare-kg/"


# --------------------------------------------------------------------------- static texts

def describe_service(endpoint: str, fmt: str, *, public: bool, triples: int, max_rows: int) -> bytes:
    """The SPARQL 1.1 Service Description of this endpoint."""
    from rdflib import BNode, Graph, Literal, Namespace, URIRef
    from rdflib.namespace import DCTERMS, RDF, XSD

    SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
    VOID = Namespace("http://rdfs.org/ns/void#")
    FORMATS = Namespace("http://www.w3.org/ns/formats/")
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("void", VOID)
    graph.bind("dcterms", DCTERMS)
    service = URIRef(endpoint)
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, service))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    for name in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                 "Turtle", "N-Triples", "JSON-LD", "RDF_XML"):
        graph.add((service, SD.resultFormat, FORMATS[name]))
    note = ("Read-only: SPARQL Update and SERVICE are refused. "
            f"Results are capped at {max_rows} rows (header X-SPARQL-MaxRows when cut). ")
    note += ("Public data only: resources marked wkg:isPersonalData or typed wkg:ContactPerson are left out."
             if public
             else "Full data, personal data included; the default graph is the union of the named graphs.")
    graph.add((service, DCTERMS.description, Literal(note, lang="en")))
    dataset, default = BNode("dataset"), BNode("default")
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    graph.add((default, VOID.triples, Literal(triples, datatype=XSD.integer)))
    graph.add((dataset, DCTERMS.source, URIRef(BASE_IRI)))
    rdflib_format = {"turtle": "longturtle", "nt": "nt", "jsonld": "json-ld", "xml": "xml"}[fmt]
    return graph.serialize(format=rdflib_format, encoding="utf-8")


def catalogue_tabs() -> list[dict]:
    """One ready-to-run tab per catalogue query: parameters bound to their defaults."""
    tabs = []
    for item in queries.catalogue():
        try:
            text = queries.with_bindings(item.text, queries.bindings_for(item, {}))
        except UsageError:
            text = item.text
        tabs.append({"name": item.name, "summary": item.summary, "description": item.description,
                     "query": text, **{key: f"/sparql?query={quote(text, safe='')}&format={fmt}"
                                       for key, fmt in (("href", "html"), ("json", "json"), ("csv", "csv"))}})
    return tabs


def render_home(*, editor: bool, public: bool, timeout: float, max_rows: int, triples: int,
                described: bool = False, downloads: bool = False) -> str:
    """The home page: YASGUI with the catalogue as tabs or, without the editor installed, a plain
    list; the licence and publisher, and links to the dataset's description and downloads
    where this server has them."""
    return resources.html_template("query.html" if editor else "index.html").render(
        tabs=catalogue_tabs(), public=public, timeout=timeout, max_rows=max_rows, triples=triples,
        terms=dcat.terms_of_use()["en"], described=described,
        downloads=sorted(DOWNLOADS) if downloads else [])


# --------------------------------------------------------------------------- running

def public_export(dataset, folder: Path) -> Path:
    """Write the public export (no personal data) as TriG for the workers to load: a graph per
    source file, as in the full store, so that FROM and GRAPH work alike on both."""
    data = export.serialize(remote.named_graphs_of(dataset), "trig", public=True)
    target = folder / "public.trig"
    target.write_bytes(data)
    return target


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def default_workers() -> int:
    return max(2, min(4, cores.usable()))


def describe_in_background(dataset, store_dir: Path | None = None) -> Future:
    """``dcat.description(dataset)``, computed in a thread of its own so that serving need not
    wait for it (about 40 s on a national graph). The store's queries run outside the GIL,
    so the server keeps answering meanwhile. The embedded store at ``store_dir`` keeps it for
    the next start (:func:`dcat.cached_description`)."""
    future: Future = Future()

    def compute() -> None:
        try:
            future.set_result(dcat.description(dataset) if store_dir is None else
                              dcat.cached_description(store_dir, dataset))
        except remote.RemoteError as error:  # complete in one line: the store, and what went wrong
            print(f"welfare-kg: no dataset description: {error}", file=sys.stderr, flush=True)
            future.set_exception(error)
        except Exception as error:  # noqa: BLE001 - logged once here; the route answers 500
            traceback.print_exc()
            future.set_exception(error)

    # A daemon: Ctrl-C during start-up must not wait for it.
    threading.Thread(target=compute, name="welfare-kg-description", daemon=True).start()
    return future


class PublicDownloads:
    """The public export in each format, as the DCAT description's download URLs promise it:
    made on its first request, in a thread of its own (a minute on a national graph), then
    kept as a file beside the embedded store for the next start, or in ``scratch``.

    ``graphs()`` gives the named graphs to export. One export is made at a time: each holds
    the whole graph in memory while it is written.
    """

    def __init__(self, graphs: Callable[[], dict], store_dir: Path | None, scratch: Path):
        self.graphs, self.store_dir, self.scratch = graphs, store_dir, scratch
        self.futures: dict[str, Future] = {}
        self.lock = threading.Lock()
        self.exporting = threading.Lock()

    def made(self, fmt: str) -> Future:
        """The path of the export in ``fmt``, once it is made."""
        with self.lock:
            if fmt not in self.futures:
                self.futures[fmt] = Future()
                threading.Thread(target=self._make, args=(fmt,), name=f"welfare-kg-download-{fmt}",
                                 daemon=True).start()
            return self.futures[fmt]

    def _make(self, fmt: str) -> None:
        future = self.futures[fmt]
        try:
            future.set_result(self._file(fmt))
        except Exception as error:  # noqa: BLE001 - logged once here; the route answers 500
            traceback.print_exc()
            with self.lock:  # the next request tries again: the cause (a full disk, say) may have gone
                del self.futures[fmt]
            future.set_exception(error)

    def _file(self, fmt: str) -> Path:
        name, key = f"public-{fmt}", dcat.code_digest()
        if self.store_dir is None:
            data = self._export(fmt)
        else:
            kept = store.derived_path(self.store_dir, name, key)
            if kept.is_file():
                return kept
            data = store.derived(self.store_dir, name, key, lambda: self._export(fmt))  # kept, if it can be
            if kept.is_file():
                return kept
        target = self.scratch / name
        export.write_atomic(target, data)
        return target

    def _export(self, fmt: str) -> bytes:
        with self.exporting:
            return export.serialize(self.graphs(), fmt, public=True)


def run(*, cache_dir: Path | None, files: list[Path] | None = None, host: str = "127.0.0.1", port: int = 8000,
        public: bool = False, timeout: float = 5.0, max_rows: int = 10_000, workers: int | None = None,
        endpoint: remote.Endpoint | None = None, in_memory: bool = False) -> None:
    """Serve until interrupted (Ctrl-C). A non-loopback ``host`` always serves public data only.

    ``files`` (default: the curated sources) are what the embedded store is built from;
    with ``in_memory`` each worker parses them into memory instead of opening that store.
    With ``endpoint`` the workers forward queries and entity lookups to that remote store;
    with ``public`` too, the public part of it is copied into the workers at start-up, since
    no query rewriting could reliably keep personal data out of arbitrary SPARQL.
    """
    import uvicorn

    if timeout <= 0 or max_rows <= 0:
        raise UsageError("--timeout and --max-rows must be positive")
    if not sp.is_loopback(host) and not public:
        public = True
        print(f"welfare-kg: {host} is not a loopback address: serving public data only", file=sys.stderr)
    if endpoint is not None:
        remote.solutions(endpoint, "ASK {}")  # a store that cannot be reached is a one-line error, before any work
    store_path = store.build_store(cache_dir, files=files) if endpoint is None else None
    dataset = store.open_dataset(cache_dir, files=files) if endpoint is None else remote.open_dataset(endpoint)
    sock = listen(host, port)
    scratch = Path(tempfile.mkdtemp(prefix="welfare-kg-serve-"))
    pool = None
    try:
        docs_dir = docs.generate(scratch / "docs").parent
        pool = QueryPool(store_path=None if public or store_path is None else str(store_path),
                         public_trig=str(public_export(dataset, scratch)) if public else None,
                         remote=endpoint if not public else None, size=workers or default_workers(),
                         memory_files=[str(f) for f in files or resources.source_files()]
                         if in_memory and store_path is not None and not public else None)
        description = describe_in_background(dataset, store_path)  # after public_export, the dataset's other reader
        # As `export` does: parsing the files again is faster than reading the store back.
        graphs = (functools.partial(export.load_named_graphs, store.memory_copy, files or resources.source_files())
                  if endpoint is None else functools.partial(remote.named_graphs_of, dataset))
        downloads = PublicDownloads(graphs, store_path, scratch)
        asyncio.run(_serve(pool, sock, host=host, public=public, timeout=timeout, max_rows=max_rows,
                           uvicorn=uvicorn, description=description, docs_dir=docs_dir, downloads=downloads,
                           dataset=dataset))
    except KeyboardInterrupt:
        pass
    finally:
        if pool is not None:
            pool.close()
        sock.close()
        shutil.rmtree(scratch, ignore_errors=True)


async def _serve(pool: QueryPool, sock: socket.socket, *, host: str, public: bool, timeout: float,
                 max_rows: int, uvicorn, description: Future, docs_dir: Path, downloads: PublicDownloads,
                 dataset) -> None:
    await pool.start()
    status, _, body, _ = await pool.call({"op": "stats"}, timeout=max(timeout, 30))
    if status != 200:  # the remote store failed the workers' first query: its message, once
        raise remote.RemoteError(body.decode("utf-8", "replace").strip())
    app = create_app(pool, public=public, timeout=timeout, max_rows=max_rows, triples=int(body),
                     description=description, docs_dir=docs_dir, downloads=downloads, dataset=dataset)
    config = uvicorn.Config(app, log_level="warning", access_log=False, limit_concurrency=200,
                            timeout_graceful_shutdown=3, server_header=False)
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host
    port = sock.getsockname()[1]
    print(f"welfare-kg: serving {'public data (no personal data)' if public else 'all data'} on "
          f"http://{shown}:{port}/ (SPARQL at /sparql; {pool.size} workers, {timeout:g} s limit, "
          f"{max_rows} rows cap); Ctrl-C stops", file=sys.stderr, flush=True)
    with contextlib.suppress(asyncio.CancelledError):
        await server.serve(sockets=[sock])
