"""Named views (``viz/*.toml`` + CONSTRUCT queries) turned into networkx graphs."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
from rdflib import Dataset, Literal

from . import generate, projection, remote, resources
from .errors import UsageError
from .queries import expand_iri, with_bindings


@dataclass(frozen=True)
class View:
    name: str
    title_pl: str
    title_en: str
    query_path: Path
    size_by: str = "degree"
    layout: str = "forceatlas2"
    physics: bool = False
    collapse: str | None = None
    collapse_label_pl: str = ""
    collapse_label_en: str = ""

    def title(self, lang: str) -> str:
        return self.title_pl if lang == "pl" else self.title_en

    def collapse_label(self, lang: str) -> str:
        return self.collapse_label_pl if lang == "pl" else self.collapse_label_en


def view_names() -> list[str]:
    return sorted(p.stem for p in resources.viz_dir().glob("*.toml") if p.stem != "palette")


def load_view(name: str) -> View:
    path = resources.viz_dir() / f"{name}.toml"
    if name == "palette" or not path.is_file():
        raise UsageError(f"unknown view '{name}'; the views are: {', '.join(view_names())}")
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"{path}: {error}") from None
    query = spec.pop("query")
    try:
        return View(name=name, query_path=path.parent / query, **spec)
    except TypeError as error:
        raise UsageError(f"{path}: {error}") from None


def palette() -> dict[str, str]:
    spec = tomllib.loads((resources.viz_dir() / "palette.toml").read_text(encoding="utf-8"))
    return dict(spec["colours"])


def resolve_entity(dataset: Dataset, text: str, drawn=(), option: str = "--focus") -> str:
    """An IRI, a prefixed name, or a label (case-insensitive) matching exactly one resource,
    or exactly one of those ``drawn`` (a project's name is also in its source page's label);
    a complaint names ``option``."""
    if ":" in text and " " not in text:
        try:
            return str(expand_iri(text, "focus"))
        except UsageError:
            pass
    query = """
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
        SELECT DISTINCT ?entity ?label WHERE {
          ?entity rdfs:label|skos:prefLabel|skos:altLabel ?label .
          FILTER(isIRI(?entity) && CONTAINS(LCASE(STR(?label)), LCASE(?_text_literal)))
        } ORDER BY ?entity"""
    rows = list(dataset.query(with_bindings(query, {"_text_literal": Literal(text)})))
    exact = {str(e) for e, label in rows if str(label).lower() == text.lower()}
    candidates = exact or {str(e) for e, _ in rows}
    if len(candidates) > 1 and len(candidates & set(drawn)) == 1:
        candidates &= set(drawn)
    if len(candidates) == 1:
        return candidates.pop()
    if not candidates:
        raise UsageError(f"{option}: nothing is labelled '{text}'")
    listing = "; ".join(sorted(candidates)[:12])
    raise UsageError(f"{option}: '{text}' matches {len(candidates)} resources, say which: {listing}")


def build(dataset: Dataset, view: View, *, lang: str = "pl", focus: str | None = None, hops: int = 1,
          types: list[str] | None = None, year: int | None = None) -> nx.MultiDiGraph:
    """Run the view's query, project it, then apply the filters in the order year, types, focus."""
    result = dataset.query(view.query_path.read_text(encoding="utf-8"))
    # A remote store is asked once for what the projection reads, not once per node and fact.
    context = remote.context_graph(dataset, result.graph) if remote.is_remote(dataset) else dataset
    graph = projection.project(result.graph, context, lang=lang)
    if view.collapse:
        graph = projection.collapse(graph, view.collapse, edge_label=view.collapse_label(lang))
    if types:  # a misspelt class would silently leave nothing to draw
        known = {data.get("group") for _, data in graph.nodes(data=True)}
        unknown = [name for name in types if name not in known]
        if unknown:
            raise UsageError(f"--types: no {', '.join(unknown)} in the '{view.name}' view; its classes are: "
                             f"{', '.join(sorted(known))}")
    whole = graph
    if year is not None:
        graph = projection.active_in(graph, year)
    if types:
        graph = projection.of_types(graph, types)
    if focus is not None:
        centre = resolve_entity(dataset, focus, drawn=whole)
        if centre not in whole:
            raise UsageError(f"--focus: {centre} is not in the '{view.name}' view")
        if centre not in graph:
            narrowed = " and ".join(f"{flag} {value}" for flag, value in
                                    (("--year", year), ("--types", ",".join(types or ()))) if value)
            raise UsageError(f"--focus: {centre} is in the '{view.name}' view, but {narrowed} leaves it out")
        graph = projection.neighbourhood(graph, centre, hops)
    filters = describe_filters(lang, focus=focus, hops=hops, types=types, year=year)
    heading = " · ".join(part for part in (view.title(lang), filters, synthetic_mark(graph, lang)) if part)
    graph.graph.update(view=view.name, filters=filters, title=heading)
    return graph


def synthetic_mark(graph: nx.MultiDiGraph, lang: str) -> str:
    """Words for a title whose picture holds generated nodes (``generate``), which would
    otherwise pass for real centres and projects."""
    synthetic = sum(1 for node in graph if f"/{generate.SYN}" in node)
    if not synthetic:
        return ""
    if lang == "en":
        return f"including {synthetic} synthetic node{'' if synthetic == 1 else 's'} (welfare-kg generate)"
    if synthetic == 1:
        nodes = "węzeł syntetyczny"
    elif synthetic % 10 in (2, 3, 4) and synthetic % 100 not in (12, 13, 14):
        nodes = "węzły syntetyczne"
    else:
        nodes = "węzłów syntetycznych"
    return f"w tym {synthetic} {nodes} (welfare-kg generate)"


def describe_filters(lang: str, *, focus: str | None, hops: int, types: list[str] | None,
                     year: int | None) -> str:
    """The filters in words, for titles: what a picture or report leaves out."""
    words = {"pl": ("wokół", "kroki", "klasy", "rok"), "en": ("around", "hops", "classes", "year")}[lang]
    parts = []
    if focus is not None:
        parts.append(f"{words[0]} {focus} ({hops} {words[1]})")
    if types:
        parts.append(f"{words[2]}: {', '.join(types)}")
    if year is not None:
        parts.append(f"{words[3]} {year}")
    return "; ".join(parts)
