"""A SPARQL SELECT or ASK answer as an HTML table, for a browser that opens a query's URL.

The worker writes the answer as SPARQL JSON (capped as every answer is), and this module
turns that into a page: IRIs as prefixed names linking to their page on this server (or
to themselves elsewhere), literals with their language or datatype, the query above.
"""

from __future__ import annotations

from urllib.parse import urlencode

from . import dcat, resources
from .entity_page import PAGE_POLICY, local_href, short

XSD = "http://www.w3.org/2001/XMLSchema#"


def answer(request: dict, results: dict, *, truncated: bool) -> tuple:
    """The worker's answer (status, type, body, headers): the page for ``results`` (a parsed
    SPARQL JSON results document) to the request's query."""
    query = request["query"]
    variables = results.get("head", {}).get("vars", [])
    rows = [[_cell(binding.get(name)) for name in variables]
            for binding in results.get("results", {}).get("bindings", [])]
    page = resources.html_template("results.html").render(
        query=query, variables=variables, rows=rows, boolean=results.get("boolean"), truncated=truncated,
        max_rows=request["max_rows"], csv=link(request, "csv"), json=link(request, "json"),
        terms=dcat.terms_of_use()["en"])
    return 200, "text/html; charset=utf-8", page.encode("utf-8"), dict(PAGE_POLICY)


def link(request: dict, fmt: str) -> str:
    """The same request in another format: its query and the graphs it was asked over."""
    params = [("query", request["query"]), *(("default-graph-uri", iri) for iri in request.get("default_graphs", ())),
              *(("named-graph-uri", iri) for iri in request.get("named_graphs", ())), ("format", fmt)]
    return "/sparql?" + urlencode(params)


def _cell(term: dict | None) -> dict:
    if term is None:
        return {"kind": "unbound"}
    if term["type"] == "uri":
        return {"kind": "iri", "iri": term["value"], "href": local_href(term["value"]), "label": short(term["value"])}
    if term["type"] == "bnode":
        return {"kind": "bnode", "text": "_:" + term["value"]}
    datatype = term.get("datatype")
    return {"kind": "literal", "text": term["value"], "lang": term.get("xml:lang", ""),
            "datatype": short(datatype) if datatype and datatype != XSD + "string" else ""}
