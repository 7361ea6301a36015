"""The pure parts of the SPARQL 1.1 Protocol: content negotiation, telling a query from an
update or a federated query, and writing results in the four SPARQL results formats.

Nothing here touches a store or a socket, so all of it is easy to test on its own.
"""

from __future__ import annotations

import csv
import io
import json
import re
from xml.sax.saxutils import escape, quoteattr

# name: (media type, other media types it answers to)
RESULT_FORMATS = {
    "json": ("application/sparql-results+json", ("application/json",)),
    "xml": ("application/sparql-results+xml", ("application/xml", "text/xml")),
    "csv": ("text/csv", ()),
    "tsv": ("text/tab-separated-values", ()),
}
RDF_FORMATS = {
    "turtle": ("text/turtle", ("application/x-turtle", "application/turtle")),
    "nt": ("application/n-triples", ()),
    "jsonld": ("application/ld+json", ("application/json",)),
    "xml": ("application/rdf+xml", ("application/xml", "text/xml")),
}
HTML = {"html": ("text/html", ("application/xhtml+xml",))}

# Values of the ``format`` parameter (SPARQLWrapper sends ``format=json`` / ``format=xml``).
FORMAT_ALIASES = {
    "json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv",
    "turtle": "turtle", "ttl": "turtle", "nt": "nt", "ntriples": "nt", "n-triples": "nt",
    "jsonld": "jsonld", "json-ld": "jsonld", "rdfxml": "xml", "rdf": "xml", "rdf+xml": "xml",
    "html": "html",
}

QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_FORMS = ("INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")


# --------------------------------------------------------------------------- negotiation

def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """``Accept`` as (media range, q) pairs; a missing or empty header accepts anything."""
    if not header or not header.strip():
        return [("*/*", 1.0)]
    ranges = []
    for part in header.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((media, q))
    return ranges


def _quality(media_types: tuple[str, ...], ranges: list[tuple[str, float]]) -> float:
    """The q of the most specific range that matches any of the format's media types."""
    best, best_specificity = 0.0, -1
    for media in media_types:
        major = media.split("/")[0]
        for pattern, q in ranges:
            if pattern == media:
                specificity = 2
            elif pattern == f"{major}/*":
                specificity = 1
            elif pattern == "*/*":
                specificity = 0
            else:
                continue
            if specificity > best_specificity or (specificity == best_specificity and q > best):
                best, best_specificity = q, specificity
    return best


def negotiate(accept: str | None, formats: dict[str, tuple[str, tuple[str, ...]]],
              requested: str | None = None) -> str | None:
    """The format name to answer with, or None (406). ``requested`` is the ``format`` parameter."""
    if requested:
        wanted = requested.strip().lower()
        name = FORMAT_ALIASES.get(wanted)
        if name is None:  # a media type given as the format parameter
            name = next((n for n, (media, others) in formats.items() if wanted in (media, *others)), None)
        return name if name in formats else None
    ranges = parse_accept(accept)
    best_name, best_q = None, 0.0
    for name, (media, others) in formats.items():  # dict order = the server's preference on ties
        q = _quality((media, *others), ranges)
        if q > best_q:
            best_name, best_q = name, q
    return best_name


def supported(formats: dict[str, tuple[str, tuple[str, ...]]]) -> str:
    return ", ".join(media for media, _ in formats.values())


# --------------------------------------------------------------------------- query classification

# IRIs, long and short strings, comments: masked so that words inside them are never read as keywords.
_LEXICAL = re.compile("|".join((
    r'<[^<>"{}|^`\\\x00-\x20]*>',              # IRI
    r'"""(?:[^"\\]|\\.|"(?!""))*"""',           # long strings
    r"'''(?:[^'\\]|\\.|'(?!''))*'''",
    r'"(?:[^"\\\n\r]|\\.)*"',                 # short strings
    r"'(?:[^'\\\n\r]|\\.)*'",
    r"#[^\n\r]*",                                 # comments
)), re.DOTALL)
_PROLOGUE = re.compile(r"(?:\s*(?:BASE\s*<x*>|PREFIX\s*[^\s:<]*:\s*<x*>))*\s*", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[A-Za-z]+")
# The SERVICE keyword, not part of a variable (?service), a prefixed name (ex:service,
# service:x) or a longer word. Anything else that spells SERVICE counts, erring on refusal.
_SERVICE = re.compile(r"(?<![\w?$:])SERVICE(?![\w:])", re.IGNORECASE)


def mask(text: str) -> str:
    """The query with IRIs as ``<xx…>``, strings as ``"xx…"`` and comments as blanks (same length)."""
    def hide(match: re.Match) -> str:
        token = match.group()
        if token.startswith("#"):
            return " " * len(token)
        return token[0] + "x" * (len(token) - 2) + token[-1]
    return _LEXICAL.sub(hide, text)


def classify(text: str) -> str | None:
    """``SELECT``, ``ASK``, ``CONSTRUCT``, ``DESCRIBE``, ``UPDATE`` or None (let the parser say why)."""
    masked = mask(text)
    start = _PROLOGUE.match(masked).end()
    word = _FIRST_WORD.match(masked, start)
    if word is None:
        return None
    keyword = word.group().upper()
    if keyword in QUERY_FORMS:
        return keyword
    if keyword in UPDATE_FORMS:
        return "UPDATE"
    return None


def update_keyword(text: str) -> str:
    masked = mask(text)
    word = _FIRST_WORD.match(masked, _PROLOGUE.match(masked).end())
    return word.group().upper() if word else "update"


def uses_service(text: str) -> bool:
    return _SERVICE.search(mask(text)) is not None


# --------------------------------------------------------------------------- results formats

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


def _kind(term) -> str:
    return type(term).__name__  # NamedNode, BlankNode, Literal, Triple (pyoxigraph)


def _json_term(term) -> dict:
    kind = _kind(term)
    if kind == "NamedNode":
        return {"type": "uri", "value": term.value}
    if kind == "BlankNode":
        return {"type": "bnode", "value": term.value}
    if kind == "Literal":
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                        "predicate": _json_term(term.predicate),
                                        "object": _json_term(term.object)}}


def _xml_term(term) -> str:
    kind = _kind(term)
    if kind == "NamedNode":
        return f"<uri>{escape(term.value)}</uri>"
    if kind == "BlankNode":
        return f"<bnode>{escape(term.value)}</bnode>"
    if kind == "Literal":
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}"
            f"</predicate><object>{_xml_term(term.object)}</object></triple>")


def _csv_term(term) -> str:
    if term is None:
        return ""
    kind = _kind(term)
    if kind == "BlankNode":
        return "_:" + term.value
    if kind in ("NamedNode", "Literal"):
        return term.value
    return str(term)


def _tsv_term(term) -> str:
    if term is None:
        return ""
    return str(term).replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def write_solutions(variables: list[str], rows: list[tuple], fmt: str) -> bytes:
    """SELECT results (``rows`` of pyoxigraph terms or None) in a SPARQL results format."""
    if fmt == "json":
        bindings = [{v: _json_term(t) for v, t in zip(variables, row) if t is not None} for row in rows]
        return json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}},
                          ensure_ascii=False).encode("utf-8")
    if fmt == "xml":
        out = ['<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">',
               "<head>" + "".join(f"<variable name={quoteattr(v)}/>" for v in variables) + "</head>", "<results>"]
        for row in rows:
            out.append("<result>" + "".join(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>"
                                            for v, t in zip(variables, row) if t is not None) + "</result>")
        out.append("</results>\n</sparql>\n")
        return "\n".join(out).encode("utf-8")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(variables)
        writer.writerows([_csv_term(t) for t in row] for row in rows)
        return buffer.getvalue().encode("utf-8")
    if fmt == "tsv":
        lines = ["\t".join("?" + v for v in variables)]
        lines += ["\t".join(_tsv_term(t) for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode("utf-8")
    raise ValueError(f"unknown results format {fmt!r}")


def write_boolean(answer: bool, fmt: str) -> bytes:
    word = "true" if answer else "false"
    if fmt == "json":
        return ('{"head":{},"boolean":%s}' % word).encode()
    if fmt == "xml":
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
                f"<head/><boolean>{word}</boolean></sparql>\n").encode()
    if fmt == "csv":
        return f"_askResult\r\n{word}\r\n".encode()
    return f"?_askResult\n{word}\n".encode()
