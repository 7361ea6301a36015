"""Network analysis of a view graph: degree, betweenness, communities, and Gephi/Cytoscape export.

All functions take the ``networkx.MultiDiGraph`` that :func:`welfare_kg.views.build` returns
(node key = IRI) and never change it.

Design decisions, kept in one place:

* **Degree** is the node's degree in the view graph itself (``graph.degree``): every relation
  counts, in either direction, so a project that names an organisation both as lead and as
  participant adds two.
* **Betweenness** is computed on the *undirected simple* graph (direction and parallel
  relations ignored), normalised to 0..1 by networkx (``2 / ((n-1)(n-2))``) and measured in
  hops. Edge weights are deliberately not used: in the collapsed views a weight counts shared
  projects, i.e. the *strength* of a tie, while shortest paths would read it as a *length*.
* **Communities** come from Louvain (``louvain_communities``, ``seed=0``) on the same undirected
  simple graph with nodes and edges inserted in sorted order, so the result does not depend on
  how the graph was built. Here weights are used as strengths: a pair's weight is the largest
  ``weight`` among its relations (1 when none is given). Communities are numbered 0, 1, ... by
  size (largest first), ties broken by their smallest IRI. Modularity uses the same weights.
* Floats are rounded to six decimals, so sorting and output are stable across platforms.
* **GraphML/GEXF** are written from a copy: nodes and edges sorted, only strings and numbers as
  attributes, edges re-keyed ``e0``, ``e1``, ... (the predicate IRI stays an attribute; an IRI is
  not a valid GraphML/GEXF edge id). The facts ``start``/``end`` are written as ``period_start``/
  ``period_end`` because GEXF reserves ``start``/``end`` for dynamic graphs and would reject
  year-months such as ``2019-12``.
"""

from __future__ import annotations

import csv
import io
import json
import re

import networkx as nx

from .errors import UsageError
from .namespaces import BASE, PREFIXES
from .projection import FACT_NAMES

FORMATS = ("table", "csv", "json", "graphml", "gexf")

#: Node groups (class local names) that are organisations or organisational units: the
#: ontology's subclasses of org:FormalOrganization, org:OrganizationalUnit and cv:PublicOrganisation.
ORGANISATION_GROUPS = frozenset({
    "SocialWelfareCentre", "DistrictWelfareCentre", "SpecialisedTeam", "CitizenInformationPoint",
    "LocalAnimatorGroup", "NonGovernmentalOrganisation", "SupranationalOrganisation",
})
METHOD_SPACE = BASE + "vocab/method/"
TOP = 5
SEED = 0
DIGITS = 6
BETWEENNESS_EXACT_LIMIT = 500
BETWEENNESS_SAMPLES = 100

NODE_FIELDS = ("iri", "label", "group", "degree", "betweenness", "community")
FACTS = tuple(FACT_NAMES["en"])  # start, end, budget, cofinancing, count, place, source
EXPORT_NAMES = {"start": "period_start", "end": "period_end"}


def is_organisation(node: dict) -> bool:
    return node.get("group") in ORGANISATION_GROUPS


def is_method(node: dict) -> bool:
    return node.get("iri", "").startswith(METHOD_SPACE)


def simple_graph(graph: nx.MultiDiGraph) -> nx.Graph:
    """The undirected simple graph, built in sorted order; a pair's weight is its largest weight."""
    simple = nx.Graph()
    simple.add_nodes_from(sorted(graph))
    weights: dict[tuple[str, str], float] = {}
    for u, v, data in graph.edges(data=True):
        if u == v:
            continue
        pair = (u, v) if u < v else (v, u)
        weights[pair] = max(weights.get(pair, 0), data.get("weight", 1) or 1)
    simple.add_weighted_edges_from((u, v, w) for (u, v), w in sorted(weights.items()))
    return simple


def betweenness(simple: nx.Graph) -> dict[str, float]:
    """Normalised betweenness in hops; exact up to BETWEENNESS_EXACT_LIMIT nodes, above that
    estimated from a seeded sample of pivots (exact betweenness is O(nodes × edges))."""
    if len(simple) == 0:
        return {}
    sample = None if len(simple) <= BETWEENNESS_EXACT_LIMIT else BETWEENNESS_SAMPLES
    return nx.betweenness_centrality(simple, normalized=True, k=sample, seed=SEED if sample else None)


def communities(simple: nx.Graph) -> list[list[str]]:
    """Louvain communities (seed 0), largest first, ties by smallest IRI; members sorted."""
    if simple.number_of_nodes() == 0:
        return []
    found = nx.community.louvain_communities(simple, weight="weight", seed=SEED)
    return sorted((sorted(c) for c in found), key=lambda members: (-len(members), members[0]))


def _analyse(graph: nx.MultiDiGraph) -> tuple[list[dict], list[list[str]], nx.Graph]:
    simple = simple_graph(graph)
    centrality = betweenness(simple)
    groups = communities(simple)
    community_of = {node: index for index, members in enumerate(groups) for node in members}
    rows = []
    for node, data in graph.nodes(data=True):
        rows.append({
            "iri": node,
            "label": str(data.get("label", node)),
            "group": str(data.get("group", "Resource")),
            "degree": int(graph.degree(node)),
            "betweenness": round(float(centrality.get(node, 0.0)), DIGITS) + 0.0,
            "community": community_of[node],
        })
    rows.sort(key=_rank)
    return rows, groups, simple


def _rank(row: dict):
    return (-row["betweenness"], -row["degree"], row["iri"])


def measures(graph: nx.MultiDiGraph) -> list[dict]:
    """Per node: iri, label, group, degree, betweenness, community; most central first.

    Sorted by betweenness, then degree (both descending), then IRI.
    """
    return _analyse(graph)[0]


def summary(graph: nx.MultiDiGraph) -> dict:
    """Size, connectedness, density, communities and the most central organisations and methods.

    The central organisations and methods are the top five by betweenness, then degree, then IRI.
    """
    return _summary(graph, *_analyse(graph))


def _summary(graph: nx.MultiDiGraph, rows: list[dict], groups: list[list[str]], simple: nx.Graph) -> dict:
    components = sorted((len(c) for c in nx.weakly_connected_components(graph)), reverse=True)
    modularity = None
    if simple.number_of_edges():
        modularity = round(nx.community.modularity(simple, groups, weight="weight"), DIGITS) + 0.0
    by_iri = {row["iri"]: row for row in rows}
    details = []
    for index, members in enumerate(groups):
        hub = min((by_iri[m] for m in members), key=_rank)
        kinds: dict[str, int] = {}
        for member in members:
            kinds[by_iri[member]["group"]] = kinds.get(by_iri[member]["group"], 0) + 1
        details.append({"community": index, "size": len(members), "hub": hub["iri"], "hub_label": hub["label"],
                        "groups": dict(sorted(kinds.items(), key=lambda item: (-item[1], item[0])))})
    return {
        "view": graph.graph.get("view"),
        "title": graph.graph.get("title"),
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "components": len(components),
        "component_sizes": components,
        "density": round(nx.density(simple), DIGITS) + 0.0,
        "communities": len(groups),
        "modularity": modularity,
        "weighted": any("weight" in data for _, _, data in graph.edges(data=True)),
        "community_algorithm": f"louvain (seed {SEED}) on the undirected simple graph",
        "betweenness": "normalised, unweighted (hops), on the undirected simple graph; "
                       f"estimated from {BETWEENNESS_SAMPLES} sampled pivots above {BETWEENNESS_EXACT_LIMIT} nodes",
        "central_organisations": [row for row in rows if is_organisation(row)][:TOP],
        "central_methods": [row for row in rows if is_method(row)][:TOP],
        "community_details": details,
    }


def report(graph: nx.MultiDiGraph, fmt: str) -> bytes:
    """The analysis of ``graph`` as table, csv, json, graphml or gexf (UTF-8 bytes)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown network format '{fmt}'; use one of {', '.join(FORMATS)}")
    rows, groups, simple = _analyse(graph)
    if fmt == "csv":
        return _csv(rows)
    if fmt in ("graphml", "gexf"):
        return _xml(export_graph(graph, rows), fmt)
    facts = _summary(graph, rows, groups, simple)
    if fmt == "json":
        return (json.dumps({"summary": facts, "nodes": rows}, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    return _table(facts, rows).encode("utf-8")


def _csv(rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=NODE_FIELDS)  # RFC 4180: CRLF line ends, like SPARQL CSV
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


# --- GraphML / GEXF ---------------------------------------------------------------------------

def export_graph(graph: nx.MultiDiGraph, rows: list[dict] | None = None) -> nx.MultiDiGraph:
    """A new graph for Gephi/Cytoscape: sorted, plain str/int/float attributes, edges keyed e0, e1, ..."""
    rows = measures(graph) if rows is None else rows
    by_iri = {row["iri"]: row for row in rows}
    title = graph.graph.get("title")
    meta = {"name": title, "view": graph.graph.get("view"), "lang": graph.graph.get("lang")}
    result = nx.MultiDiGraph(**{k: str(v) for k, v in meta.items() if v is not None})
    for node in sorted(graph):
        data, row = graph.nodes[node], by_iri[node]
        attributes = {"iri": node, "label": row["label"], "group": row["group"],
                      "group_label": str(data.get("group_label") or row["group"]),
                      "degree": row["degree"], "betweenness": row["betweenness"], "community": row["community"]}
        for fact in FACTS:
            if data.get(fact) is not None:
                attributes[EXPORT_NAMES.get(fact, fact)] = str(data[fact])
        result.add_node(node, **attributes)
    edges = sorted((u, v, str(data.get("predicate", key)), str(data.get("label", "")), data.get("weight", 1))
                   for u, v, key, data in graph.edges(keys=True, data=True))
    for index, (u, v, predicate, label, weight) in enumerate(edges):
        weight = weight if isinstance(weight, int) else float(weight)
        result.add_edge(u, v, key=f"e{index}", label=label, predicate=predicate, weight=weight)
    return result


def _xml(graph: nx.MultiDiGraph, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "graphml":
        nx.write_graphml(graph, out)
        return out.getvalue()
    for _, _, key, data in graph.edges(keys=True, data=True):
        data["id"] = key  # the same edge ids as in GraphML
    nx.write_gexf(graph, out, version="1.2draft")
    # networkx stamps today's date into <meta>; drop it so the same graph gives the same bytes.
    return re.sub(rb' lastmodifieddate="[^"]*"', b"", out.getvalue(), count=1)


# --- table ------------------------------------------------------------------------------------

def compact(iri: str) -> str:
    """``organisation:mops-gdynia`` for an IRI in one of the project's namespaces (usable in --focus)."""
    best = max((ns for ns in PREFIXES.values() if iri.startswith(ns)), key=len, default=None)
    if best is None:
        return iri
    prefix = next(p for p, ns in PREFIXES.items() if ns == best)
    return f"{prefix}:{iri[len(best):]}"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(facts: dict, rows: list[dict]) -> str:
    out = []
    heading = facts["title"] or "network"
    if facts["view"]:
        heading += f"  [view {facts['view']}]"
    out.append(heading)
    if not rows:
        out.append("empty graph: no nodes to analyse (do --focus, --types or --year leave anything?)")
        return "\n".join(out) + "\n"
    sizes = ", ".join(str(s) for s in facts["component_sizes"][:8]) + (", …" if facts["components"] > 8 else "")
    modularity = "n/a" if facts["modularity"] is None else f"{facts['modularity']:.3f}"
    out += [
        f"nodes {facts['nodes']}, edges {facts['edges']}, density {facts['density']:.3f} (undirected, simple)",
        f"weakly connected components {facts['components']} (sizes {sizes})",
        f"communities {facts['communities']} (Louvain, seed {SEED}), modularity {modularity}",
        "betweenness: normalised 0–1, shortest paths in hops on the undirected graph",
    ]
    if facts["weighted"]:
        out.append("edge weights (e.g. shared projects) count as tie strength for communities, not for paths")
    for title, chosen, wanted in (("most central organisations", facts["central_organisations"], is_organisation),
                                  ("most central methods", facts["central_methods"], is_method)):
        out += ["", f"{title} (betweenness, degree, community):"]
        if not chosen:
            out.append("  (none in this view)")
        for row in chosen:
            out.append(f"  {row['betweenness']:.3f}  {row['degree']:3d}  c{row['community']:<3d} "
                       f"{_clip(row['label'], 60)}  ({compact(row['iri'])})")
        if chosen:
            last = chosen[-1]
            tied = [r for r in rows if wanted(r) and r not in chosen
                    and (r["betweenness"], r["degree"]) == (last["betweenness"], last["degree"])]
            if tied:
                out.append(f"  … and {len(tied)} more with the same betweenness and degree (ties broken by IRI)")
    out += ["", "communities (size, most central member, classes):"]
    for item in facts["community_details"]:
        kinds = ", ".join(f"{group} {count}" for group, count in item["groups"].items())
        hub = _clip(item["hub_label"], 45)
        out.append(f"  c{item['community']:<3d} {item['size']:3d}  {hub}  [{_clip(kinds, 70)}]")
    out.append("")
    header = ("betweenness", "degree", "community", "group", "label", "id")
    cells = [(f"{r['betweenness']:.4f}", str(r["degree"]), f"c{r['community']}", r["group"], _clip(r["label"], 50),
              compact(r["iri"])) for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    right = (True, True, False, False, False, False)

    def line(values) -> str:
        return "  ".join(v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)).rstrip()

    out += [line(header), line(["-" * w for w in widths])]
    out += [line(c) for c in cells]
    out.append(f"({len(rows)} node{'s' if len(rows) != 1 else ''})")
    return "\n".join(out) + "\n"
