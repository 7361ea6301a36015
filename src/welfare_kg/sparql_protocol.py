"""The pure parts of the SPARQL 1.1 Protocol: content negotiation, telling a query from an
update or a federated query, and cutting the results Oxigraph writes at the row cap.

Nothing here touches a store or a socket, so all of it is easy to test on its own.
"""

from __future__ import annotations

import ipaddress
import re
from email.utils import parsedate_to_datetime
from typing import NamedTuple

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
    # application/xml only as a fallback (below): a browser sends it (q=0.9, above */*) and
    # would get RDF/XML to download instead of Turtle to read.
    "xml": ("application/rdf+xml", ()),
}
# Generic media types a format answers to only when the client takes no format otherwise.
FALLBACKS = {"xml": ("application/xml", "text/xml")}
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
    """The format name to answer with, or None (406). ``requested`` is the ``format`` parameter;
    one that does not fit the query's form leaves the choice to Accept, as Fuseki and Virtuoso
    do (SPARQLWrapper sends ``format=json`` for every query form, with ``Accept: */*``)."""
    if requested:
        wanted = requested.strip().lower()
        name = FORMAT_ALIASES.get(wanted)
        if name is None:  # a media type given as the format parameter
            name = next((n for n, (media, others) in formats.items() if wanted in (media, *others)),
                        next((n for n, media in FALLBACKS.items() if n in formats and wanted in media), None))
        if name == "json" and "json" not in formats:
            name = "jsonld"  # JSON for a graph
        if name in formats:
            return name
    ranges = parse_accept(accept)
    for kinds in ({name: (media, *others) for name, (media, others) in formats.items()},
                  {name: media for name, media in FALLBACKS.items() if name in formats}):
        best_name, best_q = None, 0.0
        for name, media_types in kinds.items():  # dict order = the server's preference on ties
            q = _quality(media_types, ranges)
            if q > best_q:
                best_name, best_q = name, q
        if best_name is not None:
            return best_name
    return None


def page_language(asked: str | None, accept_language: str | None, offered: tuple[str, ...] = ("pl", "en")) -> str:
    """The language of a page: the ``lang`` parameter if it is offered, else the offered one
    ``Accept-Language`` ranks highest (``en-GB`` counts for ``en``), else the first offered."""
    if asked in offered:
        return asked
    best, best_q = offered[0], 0.0
    for tag, q in parse_accept(accept_language) if accept_language and accept_language.strip() else []:
        primary = tag.split("-")[0]
        if primary in offered and q > best_q:
            best, best_q = primary, q
    return best


def accepts_gzip(header: str | None) -> bool:
    """Whether ``Accept-Encoding`` takes gzip (named or by ``*``, with q above 0)."""
    qualities = dict(parse_accept(header)) if header and header.strip() else {}
    return qualities.get("gzip", qualities.get("x-gzip", qualities.get("*", 0.0))) > 0


def is_loopback(host: str) -> bool:
    """Whether a host name or address (without port or brackets) is this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str,
                 last_modified: str | None = None) -> bool:
    """Whether the client's copy is current (RFC 9110, 13.1.2 and 13.2.2): ``If-None-Match``
    names this ETag (compared weakly) or is ``*``; without it, ``If-Modified-Since`` is not
    before ``Last-Modified``. A date that does not parse never matches."""
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    if not if_modified_since or not last_modified:
        return False
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False


def supported(formats: dict[str, tuple[str, tuple[str, ...]]]) -> str:
    return ", ".join(media for media, _ in formats.values())


# --------------------------------------------------------------------------- query classification

# IRIs, long and short strings, comments: masked so that words inside them are never read as
# keywords. A prefixed name's escapes (ex:a\#, ex:a\') go first: read as a comment's or a
# string's start, they would hide the clauses after them.
_LEXICAL = re.compile("|".join((
    r"\\[_~.\-!$&'()*+,;=/?#@%]",                # escape in a prefixed name's local part
    r'<[^<>"{}|^`\\\x00-\x20]*>',              # IRI
    r'"""(?:[^"\\]|\\.|"(?!""))*"""',           # long strings
    r"'''(?:[^'\\]|\\.|'(?!''))*'''",
    r'"(?:[^"\\\n\r]|\\.)*"',                 # short strings
    r"'(?:[^'\\\n\r]|\\.)*'",
    r"#[^\n\r]*",                                 # comments
)), re.DOTALL)
_PROLOGUE = re.compile(r"(?:\s*(?:BASE\s*<x*>|PREFIX\s*[^\s:<]*:\s*<x*>))*\s*", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[A-Za-z]+")
# A keyword, not part of a variable (?service), a prefixed name (ex:service, service:x,
# ex:learning-from-peers, ex:a\&from, from.x:y, ex:a·from), a language tag or a longer word.
# \w, and what it leaves out of SPARQL's name characters (PN_CHARS)
_NAME_CHARS = (r"\w:\-\u00b7\u0300-\u036f\u203f\u2040\u200c\u200d\u2070-\u218f\u2c00-\u2fef"
               r"\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff")
_AFTER, _BEFORE = rf"(?<![{_NAME_CHARS}?$@])", rf"(?![{_NAME_CHARS}.])"
# Anything else that spells SERVICE counts, erring on refusal: after a dot too (ex:a.service
# is a name, but "?o .SERVICE <…>" a clause).
_SERVICE = re.compile(_AFTER + "SERVICE" + _BEFORE, re.IGNORECASE)
# Functions whose value differs at every run (SPARQL 1.1, 17.4): such an answer is never the same twice.
_VOLATILE = re.compile(_AFTER + r"(?:NOW|RAND|UUID|STRUUID|BNODE)\s*\(", re.IGNORECASE)
# FROM, or FROM NAMED, and the graph: an IRI or a prefixed name. No clause follows a dot.
_FROM_CLAUSE = re.compile(_AFTER + r"(?<!\.)FROM" + _BEFORE + r"\s*(?P<named>NAMED" + _BEFORE + r"\s*)?"
                          r"(?:(?P<iri><x*>)|(?P<name>[^\s<{]\S*))", re.IGNORECASE)


def mask(text: str) -> str:
    """The query with IRIs as ``<xx…>``, strings as ``"xx…"``, a name's escapes as ``xx`` and
    comments as blanks (same length)."""
    def hide(match: re.Match) -> str:
        token = match.group()
        if token.startswith("#"):
            return " " * len(token)
        if token.startswith("\\"):
            return "xx"
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


def is_volatile(text: str) -> bool:
    """Whether the query calls NOW(), RAND(), UUID(), STRUUID() or BNODE()."""
    return _VOLATILE.search(mask(text)) is not None


_CODEPOINT_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def store_readings(text: str, *, decoding_store: bool) -> tuple[str, ...]:
    """The query as Oxigraph reads it and, with ``decoding_store`` (a remote store behind
    ``serve --endpoint``), as a store that decodes ``\\u`` escapes anywhere in the text
    before parsing (SPARQL 1.1, 19.2) would: a check for SERVICE or an update must hold for both."""
    if not decoding_store:
        return (text,)

    def decode(match: re.Match) -> str:
        code = int(match[1] or match[2], 16)
        return chr(code) if code <= 0x10FFFF else match[0]
    return text, _CODEPOINT_ESCAPE.sub(decode, text)


_PARSER_POSITION = re.compile(r"^error at (\d+):(\d+): ")
_PREFIXED_NAME_END = re.compile(r"([^\s{}()\[\];,.<>?$\"']*):[^\s:]*$")  # the prefix of the name just read


def syntax_message(error: SyntaxError, text: str) -> str:
    """Oxigraph's message for a malformed query, on one line. For an undefined prefix the
    parser lists every character a name may hold, over several lines; say it plainly."""
    message = " ".join((error.msg or str(error)).split())
    position = _PARSER_POSITION.match(message)
    if "Prefix not found" not in message or position is None:
        return message
    line, column = int(position[1]), int(position[2])
    lines = text.splitlines()
    name = _PREFIXED_NAME_END.search(lines[line - 1][:column - 1]) if line <= len(lines) else None
    if name is None:
        return f"{position[0]}a prefixed name whose prefix is not declared"
    return f"{position[0]}undefined prefix {name[1]}: (declare it: PREFIX {name[1]}: <…>)"


def declares_dataset(text: str) -> bool:
    """Whether the query names its own dataset (``FROM``, ``FROM NAMED``): then the default
    graph must not be the union of all graphs, which in Oxigraph overrides them."""
    return _FROM_CLAUSE.search(mask(text)) is not None


def dataset_clauses(text: str) -> tuple[list[str], list[str]]:
    """The IRIs of the query's ``FROM`` and ``FROM NAMED`` clauses; ValueError for a graph
    given by a prefixed name (expanding it is the parser's work)."""
    masked = mask(text)
    default, named = [], []
    for clause in _FROM_CLAUSE.finditer(masked):
        if clause["iri"] is None:
            name = text[clause.start("name"):clause.end("name")]  # as written, not as masked
            raise ValueError(f"FROM {name}: give the graph as a full IRI in <…>")
        start, end = clause.span("iri")
        (named if clause["named"] else default).append(text[start + 1:end - 1])
    return default, named


# --------------------------------------------------------------------------- results formats

class Layout(NamedTuple):
    """How Oxigraph's serializer lays out the rows of a SELECT answer in one results format."""

    mark: bytes  # the bytes between two rows, wherever they stand outside quoted text
    nth: int  # the kept text of max_rows rows ends at mark number max_rows + nth...
    after: bool  # ...just after it (a line end) or just before it (the next row's start)
    close: bytes  # what a cut answer needs after its last row, as a whole answer has it
    quoting: str | None  # "csv": "..." fields with "" inside; "json": "..." strings with \ escapes


LAYOUTS = {
    "json": Layout(b",{", 0, False, b"]}}", "json"),  # the first row follows "[", the others ","
    "xml": Layout(b"<result>", 1, False, b"</results></sparql>", None),  # text escapes "<"
    "csv": Layout(b"\r\n", 1, True, b"", "csv"),  # one header line; a field may hold line breaks
    "tsv": Layout(b"\n", 1, True, b"", None),  # one header line; line breaks are written as \n
}


class _Enough(Exception):
    """Stops the serializer once a row past the cap has begun."""


class _RowCut:
    """A binary file for Oxigraph's serializer that keeps the text of the first ``max_rows`` rows.

    It stops the serializer as soon as the next row begins, so a query over millions of
    triples never builds a huge answer to be thrown away.
    """

    def __init__(self, fmt: str, max_rows: int):
        self.layout = LAYOUTS[fmt]
        self.nth = max_rows + self.layout.nth
        self.data = bytearray()
        self.anywhere = 0  # marks counted without telling quoted text apart: never fewer than the real ones
        self.scanned = 0  # the real marks are counted up to here,
        self.quoted = False  # where quoted text is open or not,
        self.marks = 0
        self.end: int | None = None  # and the kept text ends here once mark number nth is found

    def write(self, chunk) -> int:
        start = len(self.data)
        self.data += chunk
        mark = self.layout.mark
        self.anywhere += self.data.count(mark, max(0, start - len(mark) + 1))
        # Telling quoted text apart costs Python work per row: done only once the cap is near.
        if self.end is None and self.anywhere >= self.nth:
            self._scan()
        if self.end is not None and len(self.data) > self.end:
            raise _Enough
        return len(chunk)

    def flush(self) -> None:  # the serializer calls it
        pass

    def _scan(self) -> None:
        mark, quoting = self.layout.mark, self.layout.quoting
        end = len(self.data)
        # Leave for the next write a mark that may go on in it, and a JSON escape (\" or \\) too.
        held = self.data.rfind(mark[:1], max(self.scanned, end - len(mark) + 1), end)
        if held != -1:
            end = held
        while quoting == "json" and end > self.scanned and self.data[end - 1] == ord("\\"):
            end -= 1
        text = self.data[self.scanned:end]
        if quoting == "json":  # blanked, not removed, so that positions stay
            text = text.replace(b"\\\\", b"  ").replace(b'\\"', b"  ")
        counted = 0
        at = text.find(mark)
        while at != -1:
            if quoting:
                self.quoted ^= text.count(b'"', counted, at) % 2 == 1
                counted = at
            if not self.quoted:
                self.marks += 1
                if self.marks == self.nth:
                    self.end = self.scanned + at + (len(mark) if self.layout.after else 0)
                    return
            at = text.find(mark, at + len(mark))
        if quoting:
            self.quoted ^= text.count(b'"', counted) % 2 == 1
        self.scanned = end

    def answer(self) -> tuple[bytes, bool]:
        if self.end is not None and len(self.data) > self.end:
            return bytes(self.data[:self.end]) + self.layout.close, True
        return bytes(self.data), False


def capped_solutions(serialize, fmt: str, max_rows: int) -> tuple[bytes, bool]:
    """What ``serialize(file)`` writes (Oxigraph's ``QuerySolutions.serialize`` in the
    results format ``fmt``) cut after ``max_rows`` rows, and whether it was cut."""
    sink = _RowCut(fmt, max_rows)
    try:
        serialize(sink)
    except _Enough:
        pass
    return sink.answer()


# A preference (RFC 7240 ``Prefer``) our client sends with ``query --format csv``: a server
# that knows it answers a SELECT as the CSV Oxigraph writes, which is what the embedded store
# gives, and says so in ``Preference-Applied``; any other server ignores it and sends JSON.
CSV_PREFERENCE = "welfare-kg-csv"


def prefers_csv(prefer: str | None) -> bool:
    return prefer is not None and CSV_PREFERENCE in {token.split("=")[0].strip().lower()
                                                     for part in prefer.split(",") for token in part.split(";")}


def csv_is_sound(text: str, width: int) -> bool:
    """Whether every record of a CSV answer has ``width`` fields: pyoxigraph 0.5.13 writes an
    IRI that holds a comma unquoted, which splits its field in two.

    Oxigraph writes ``width - 1`` separators a record, and such an IRI adds one: so the commas
    outside quoted fields are counted against the line ends outside them (a tenth of the time
    ``csv.reader`` took over a 33 MB answer). ``"a""b"`` reads as two quoted parts, as it should.
    """
    commas, records = text.count(","), text.count("\n")
    start = text.find('"')
    while start != -1:
        end = text.find('"', start + 1)
        if end == -1:
            return False
        commas -= text.count(",", start, end)
        records -= text.count("\n", start, end)
        start = text.find('"', end + 1)
    return commas == records * max(width - 1, 0)


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
