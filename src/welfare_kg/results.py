"""Query results as a readable table or in the SPARQL 1.1 results formats (JSON, CSV, TSV)."""

from __future__ import annotations

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import NamespaceManager
from rdflib.query import Result

FORMATS = ("table", "csv", "tsv", "json")


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
        return _tsv(variables, data)
    return _table(variables, data, namespaces)


def format_ask(answer: bool, fmt: str) -> str:
    if fmt == "json":
        return '{"head": {}, "boolean": %s}\n' % ("true" if answer else "false")
    return ("true" if answer else "false") + "\n"


def _tsv(variables: list[str], data: list[tuple]) -> str:
    """SPARQL 1.1 TSV: terms in Turtle/N-Triples syntax, unbound as empty fields."""
    lines = ["\t".join("?" + v for v in variables)]
    for row in data:
        lines.append("\t".join(_tsv_term(term) for term in row))
    return "\n".join(lines) + "\n"


def _tsv_term(term) -> str:
    if term is None:
        return ""
    text = term.n3()
    return text.replace("\t", "\\t").replace("\n", "\\n")


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
    return value if len(value) <= width else value[: width - 1] + "…"
