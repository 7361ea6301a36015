"""A SPARQL SELECT or ASK answer as an HTML table, for a browser that opens a query's URL.

The worker writes the answer as SPARQL JSON (capped as every answer is), and this module
turns that into a page: IRIs as prefixed names linking to their page on this server (or
to themselves elsewhere), literals with their language or datatype, the query above.
"""

from __future__ import annotations

from urllib.parse import quote

from . import dcat, resources
from .entity_page import local_href, short

XSD = "http://www.w3.org/2001/XMLSchema#"


def render(query: str, answer: dict, *, truncated: bool, max_rows: int) -> bytes:
    """The page for ``answer`` (a parsed SPARQL JSON results document) to ``query``."""
    variables = answer.get("head", {}).get("vars", [])
    rows = [[_cell(binding.get(name)) for name in variables] for binding in answer.get("results", {}).get("bindings", [])]
    encoded = quote(query, safe="")
    return resources.html_template("results.html").render(
        query=query, variables=variables, rows=rows, boolean=answer.get("boolean"), truncated=truncated,
        max_rows=max_rows, csv=f"/sparql?query={encoded}&format=csv", json=f"/sparql?query={encoded}&format=json",
        terms=dcat.terms_of_use()["en"]).encode("utf-8")


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
