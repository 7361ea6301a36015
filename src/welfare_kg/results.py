"""Query results as a readable table or in the SPARQL 1.1 results formats (JSON, CSV, TSV)."""

from __future__ import annotations

import csv
import io
import json
from typing import NamedTuple

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import NamespaceManager
from rdflib.query import Result

FORMATS = ("table", "csv", "tsv", "json")
ANSWER_FORMATS = ("csv", "tsv", "json")  # what format_answer writes; a table needs rdflib's prefixed names
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def rows(result: Result) -> list[tuple]:
    return [tuple(row) for row in result]


def format_result(result: Result, fmt: str, namespaces: NamespaceManager) -> str:
    if result.type == "ASK":
        return format_ask(bool(result.askAnswer), fmt)
    if result.type != "SELECT":
        raise ValueError("only SELECT and ASK results have a tabular form")
    if fmt == "json":
        return result.serialize(format="json").decode("utf-8") + "\n"
    if fmt == "csv":
        return result.serialize(format="csv").decode("utf-8")
    variables = [str(v) for v in result.vars]
    data = rows(result)
    if fmt == "tsv":
        return _tsv(variables, [[None if term is None else term.n3() for term in row] for row in data])
    return _table(variables, data, namespaces)


def format_ask(answer: bool, fmt: str) -> str:
    if fmt == "json":
        return '{"head": {}, "boolean": %s}\n' % ("true" if answer else "false")
    return ("true" if answer else "false") + "\n"


def _tsv(variables: list[str], data: list[list[str | None]]) -> str:
    """SPARQL 1.1 TSV of terms already in Turtle/N-Triples syntax, unbound (None) as empty fields."""
    lines = ["\t".join("?" + v for v in variables)]
    for row in data:
        lines.append("\t".join("" if text is None else text.replace("\t", "\\t").replace("\n", "\\n")
                               for text in row))
    return "\n".join(lines) + "\n"


def format_answer(answer: dict, fmt: str) -> str:
    """A SPARQL JSON results document (parsed) in csv, tsv or json, byte for byte as
    :func:`format_result` writes rdflib's reading of the same document, without an rdflib
    term per value: those took 8 of the 9 s of a 100,000-row answer.

    IRIs, blank nodes and literals without a datatype (or xsd:string) go out as they came.
    rdflib rewrites typed literals ("01"^^xsd:integer is 1, a dateTime's Z is +00:00), so each
    distinct one becomes an rdflib Literal once. A malformed document raises an exception.
    """
    if "boolean" in answer:  # how rdflib's parser tells an ASK
        return format_ask(bool(answer["boolean"]), fmt)
    variables, solutions = answer["head"]["vars"], answer["results"]["bindings"]
    read = _term_reader()
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)  # as rdflib's CSV serializer: excel dialect, CRLF line ends
        writer.writerow(variables)
        writer.writerows([_csv_cell(read(row[v])) if v in row else "" for v in variables] for row in solutions)
        return out.getvalue()
    if fmt == "tsv":  # rdflib's rows, as format_result reads them, leave out solutions binding nothing
        return _tsv(variables, [[_n3(read(row[v])) if v in row else None for v in variables]
                                for row in solutions if row])
    if fmt != "json":
        raise ValueError(f"format_answer writes {', '.join(ANSWER_FORMATS)}, not {fmt}")
    # rdflib's JSON serializer: "results" before "head", a row's variables in the answer's order.
    bindings = [{v: _json_term(read(term)) for v, term in row.items()} for row in solutions]
    return json.dumps({"results": {"bindings": bindings}, "head": {"vars": variables}},
                      allow_nan=False, ensure_ascii=False) + "\n"


class _Term(NamedTuple):
    kind: str  # uri, bnode or literal
    value: str  # for a literal its lexical form as rdflib has it
    datatype: str | None = None
    lang: str | None = None
    literal: Literal | None = None  # rdflib's, for a typed literal


def _term_reader():
    """A function reading a JSON term as rdflib's JSON parser does: typed literals through
    rdflib, once per distinct one."""
    typed: dict[tuple, _Term] = {}
    languages: set[str] = set()

    def read(term: dict) -> _Term:
        kind, value = term["type"], term["value"]
        if kind in ("uri", "bnode"):
            return _Term(kind, value)
        datatype, lang = term.get("datatype"), term.get("xml:lang") or None
        if kind == "literal" and datatype in (None, XSD_STRING) and not (datatype and lang):
            if lang is not None and lang not in languages:
                Literal("", lang=lang)  # a malformed tag raises ValueError, as in rdflib's parser
                languages.add(lang)
            return _Term(kind, value, datatype, lang)
        key = (kind, value, datatype, lang)
        if key not in typed:
            literal = _literal(term)
            datatype = None if literal.datatype is None else str(literal.datatype)
            typed[key] = _Term("literal", str(literal), datatype, literal.language, literal)
        return typed[key]
    return read


def _literal(term: dict) -> Literal:
    """The Literal rdflib's JSON results parser makes of a term (its SPARQL results module
    would import rdflib's whole SPARQL engine, a tenth of a second at every start)."""
    if term["type"] == "typed-literal":  # SPARQL 1.0's JSON
        return Literal(term["value"], datatype=URIRef(term["datatype"]))
    if term["type"] != "literal":
        raise ValueError(f"unknown JSON term type {term['type']!r}")
    return Literal(term["value"], datatype=term.get("datatype"), lang=term.get("xml:lang"))


def _csv_cell(term: _Term) -> str:
    return "_:" + term.value if term.kind == "bnode" else term.value


def _n3(term: _Term) -> str:
    """As rdflib's ``n3()`` writes the term."""
    if term.kind == "uri":
        return f"<{term.value}>"
    if term.kind == "bnode":
        return "_:" + term.value
    if term.literal is not None:
        return term.literal.n3()
    # rdflib's own quoting (a private method; a plain str is all it reads), so TSV stays identical
    quoted = Literal._quote_encode(term.value)  # noqa: SLF001
    return f"{quoted}@{term.lang}" if term.lang else f"{quoted}^^<{term.datatype}>" if term.datatype else quoted


def _json_term(term: _Term) -> dict:
    out = {"type": term.kind, "value": term.value}
    if term.datatype is not None:
        out["datatype"] = term.datatype
    if term.lang is not None:
        out["xml:lang"] = term.lang
    return out


def display(term, namespaces: NamespaceManager) -> str:
    """A term as a person reads it: prefixed name for IRIs, lexical form for literals."""
    if term is None:
        return ""
    if isinstance(term, URIRef):
        try:
            prefix, _, local = namespaces.compute_qname(term, generate=False)
        except (KeyError, ValueError):
            return str(term)
        return f"{prefix}:{local}"
    if isinstance(term, Literal):
        return str(term)
    if isinstance(term, BNode):
        return "_:" + str(term)
    return str(term)


def _table(variables: list[str], data: list[tuple], namespaces: NamespaceManager) -> str:
    cells = [[display(term, namespaces) for term in row] for row in data]
    widths = [len(v) for v in variables]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = min(max(widths[i], len(cell)), 70)

    def line(values: list[str]) -> str:
        return "  ".join(_clip(v, w).ljust(w) for v, w in zip(values, widths)).rstrip()

    out = [line(variables), line(["-" * w for w in widths])]
    out += [line(row) for row in cells]
    out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(out) + "\n"


def _clip(value: str, width: int) -> str:
    """The value cut in the middle to ``width``: IRIs of one kind differ at their end."""
    if len(value) <= width:
        return value
    head = (width - 1) // 2
    return value[:head] + "…" + value[len(value) - (width - 1 - head):]
