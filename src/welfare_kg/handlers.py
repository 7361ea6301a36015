"""What a query worker does with a request: run a SPARQL query, describe an entity, count.

Runs inside a worker process (see :mod:`welfare_kg.query_pool`); every answer is a tuple
``(status, content type, body bytes, extra headers)`` ready for the HTTP layer.
"""

from __future__ import annotations

import csv
import io
import json

import pyoxigraph as ox

from . import remote
from . import sparql_protocol as sp
from .namespaces import PREFIXES

TEXT = "text/plain; charset=utf-8"
RESULT_OX_FORMATS = {"json": ox.QueryResultsFormat.JSON, "xml": ox.QueryResultsFormat.XML,
                     "csv": ox.QueryResultsFormat.CSV, "tsv": ox.QueryResultsFormat.TSV}
RDF_OX_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES,
                  "jsonld": ox.RdfFormat.JSON_LD, "xml": ox.RdfFormat.RDF_XML}
MEDIA = {
    "results": {name: media for name, (media, _) in sp.RESULT_FORMATS.items()},
    "rdf": {name: media for name, (media, _) in sp.RDF_FORMATS.items()},
}
CHARSET = {"text/csv", "text/tab-separated-values", "text/turtle", "application/n-triples"}


def _media(kind: str, fmt: str) -> str:
    media = MEDIA[kind][fmt]
    return media + "; charset=utf-8" if media in CHARSET else media


def message(status: int, text: str, headers: dict | None = None) -> tuple:
    return status, TEXT, (text.rstrip("\n") + "\n").encode("utf-8"), headers or {}


def warm_up(store) -> None:
    """Import and cache what the first entity page would otherwise pay for."""
    from . import entity_page

    entity_page.warm_up(store)


def handle(store, request: dict) -> tuple:
    op = request["op"]
    try:
        if op == "sparql":
            return run_sparql(store, request)
        if op == "entity":
            from . import entity_page

            iri = request["iri"]
            if isinstance(store, remote.RemoteOxStore):
                store = remote.entity_store(store.endpoint, iri)
            return entity_page.answer(store, iri, request["format"], request.get("lang", "pl"))
        if op == "stats":
            return 200, "application/json", str(count_triples(store)).encode(), {}
    except remote.RemoteError as error:
        # The remote store's 400 is the client's malformed query; anything else is the store's fault.
        return message(400 if error.status == 400 else 502, str(error))
    raise ValueError(f"unknown op {op!r}")


def count_triples(store) -> int:
    result = store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", use_default_graph_as_union=True)
    return int(next(iter(result))["n"].value)


def _dataset_arguments(request: dict) -> dict:
    """The query's RDF dataset, as the SPARQL protocol composes it: the request's
    default-graph-uri and named-graph-uri when it has either (those graphs only, in place of
    the query's FROM clauses), else the query's own FROM and FROM NAMED, else every source
    file's graph together as the default graph."""
    default_graphs = _graph_names(request.get("default_graphs"), "default-graph-uri")
    named_graphs = _graph_names(request.get("named_graphs"), "named-graph-uri")
    if default_graphs or named_graphs:
        return {"default_graph": default_graphs, "named_graphs": named_graphs}
    if sp.declares_dataset(request["query"]):
        return {}
    return {"use_default_graph_as_union": True}


class _BadParameter(ValueError):
    """A protocol parameter the query cannot run with; the message names it."""


def _graph_names(iris, parameter: str) -> list[ox.NamedNode]:
    names = []
    for iri in iris or ():
        try:
            names.append(ox.NamedNode(iri))
        except ValueError as error:
            raise _BadParameter(f"{parameter}: {iri!r} is not an absolute IRI ({error})") from None
    return names


def write_csv(solutions, max_rows: int) -> tuple[bytes, bool]:
    """pyoxigraph ``solutions`` as CSV written here, every field quoted as it needs, cut after
    ``max_rows`` rows, and whether it was cut: for the rare answer ``sp.csv_is_sound`` rejects."""
    variables = [variable.value for variable in solutions.variables]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(variables)
    for count, solution in enumerate(solutions):
        if count == max_rows:
            return buffer.getvalue().encode("utf-8"), True
        writer.writerow(["" if term is None else "_:" + term.value if isinstance(term, ox.BlankNode)
                         else term.value if isinstance(term, (ox.NamedNode, ox.Literal)) else str(term)
                         for term in (solution[name] for name in variables)])
    return buffer.getvalue().encode("utf-8"), False


def run_sparql(store, request: dict) -> tuple:
    """Run one query; answer at most ``max_rows`` rows or triples and say when there were more."""
    max_rows = request["max_rows"]
    try:
        result = store.query(request["query"], **_dataset_arguments(request))
        fmt = request.get("results_format")
        if fmt == "html":
            from . import results_page  # with the entity pages' code, which a worker imports when first asked
        if isinstance(result, ox.QueryBoolean):
            if fmt == "html":
                return results_page.answer(request, {"boolean": bool(result)}, truncated=False)
            return 200, _media("results", fmt), sp.write_boolean(bool(result), fmt), {}
        if isinstance(result, ox.QuerySolutions) and fmt == "html":  # a browser's: a table made from the JSON
            body, truncated = sp.capped_solutions(
                lambda sink: result.serialize(sink, format=ox.QueryResultsFormat.JSON), "json", max_rows)
            status, media, page, headers = results_page.answer(request, json.loads(body), truncated=truncated)
            return status, media, page, {**headers, **({"X-SPARQL-MaxRows": str(max_rows)} if truncated else {})}
        items, truncated = [], False
        if isinstance(result, ox.QuerySolutions):
            body, truncated = sp.capped_solutions(
                lambda sink: result.serialize(sink, format=RESULT_OX_FORMATS[fmt]), fmt, max_rows)
            if fmt == "csv" and not sp.csv_is_sound(body.decode("utf-8"), len(result.variables)):
                body, truncated = write_csv(store.query(request["query"], **_dataset_arguments(request)),
                                            max_rows)
        else:
            kept = set()  # a graph is a set; Oxigraph repeats a triple made again if it holds a blank node
            for triple in result:
                if triple in kept:
                    continue
                if len(items) >= max_rows:
                    truncated = True
                    break
                kept.add(triple)
                items.append(triple)
    except SyntaxError as error:
        return message(400, f"malformed query: {sp.syntax_message(error, request['query'])}")
    except _BadParameter as error:
        return message(400, str(error))
    except (OSError, ValueError, RuntimeError, TypeError) as error:
        return message(400, f"query failed: {error}")
    headers = {"X-SPARQL-MaxRows": str(max_rows)} if truncated else {}
    if isinstance(result, ox.QuerySolutions):
        return 200, _media("results", fmt), body, headers
    fmt = request["rdf_format"]
    body = ox.serialize(items, format=RDF_OX_FORMATS[fmt],
                        prefixes=PREFIXES if fmt in ("turtle", "jsonld", "xml") else None)
    return 200, _media("rdf", fmt), body, headers
