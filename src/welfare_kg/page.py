"""Draw a view: one self-contained, offline HTML page (vis-network via pyvis), or SVG/PNG.

Positions are computed here, in Python, before the page is written: the browser only
draws them (physics is off unless the view asks for it), so even a few thousand nodes
are interactive within seconds. The page is rendered from our own template
(``templates/page.html``) with the vis-network script that ships inside pyvis inlined:
nothing is fetched from the network and no ``lib/`` folder is written. The same view
drawn with ``fmt="svg"`` or ``"png"`` uses the same positions, colours and legend
(networkx + matplotlib, no browser).

Everything is deterministic: the same graph gives byte-identical files.
"""

from __future__ import annotations

import functools
import io
import textwrap
from importlib import resources as importlib_resources
from pathlib import Path

import networkx as nx
import numpy as np

from . import __version__, export, resources
from .errors import UsageError
from .layout import font_size, label_boxes, positions, radii, short_label
from .network import BETWEENNESS_EXACT_LIMIT, BETWEENNESS_SAMPLES, betweenness, simple_graph
from .views import palette

# Measured with benchmarks/viz_pages.py (headless Debian Chromium 156, 2 CPUs, synthetic
# hub-and-leaves graphs sized by betweenness): pages with positions computed here and
# physics off were interactive after 0.6 s (100 nodes), 1.3 s (1,000), 1.4 s (3,000) and
# 1.7 s (5,000); Python needed 0.5, 1.6, 3.2 and 6.9 s to write them; selecting a node
# from the search box took 0.6, 0.9, 2.1 and 2.8 s. The budget is 2 s at 1,000 and
# 5 s at 3,000 nodes; 3,000 keeps every step within a few seconds, and a picture with more
# nodes cannot be read anyway: narrow it with the filters instead.
DEFAULT_MAX_NODES = 3000

FORMATS = ("html", "svg", "png")
MEASURES = ("degree", "betweenness")
DEFAULT_COLOUR = "#BBBBBB"

TEXTS = {
    "pl": {
        "classes": "Klasy węzłów",
        "size": {"degree": "rozmiar węzła = stopień (liczba sąsiadów)",
                 "betweenness": "rozmiar węzła = pośrednictwo (betweenness)"},
        "sampled": "oszacowane z {k} losowych węzłów",
        "search": "Znajdź węzeł",
        "search_placeholder": "wpisz nazwę…",
        "matches": "pasujące: {n}",
        "no_match": "brak węzła o takiej nazwie",
        "selected": "{label} — sąsiedzi: {n}",
        "physics": "fizyka (węzły się przesuwają)",
        "fit": "pokaż całość",
        "hint": "Najedź na węzeł, by zobaczyć szczegóły; kliknij, by wyróżnić sąsiadów; "
                "kliknij puste tło, by wrócić. Odznacz klasę, by ją ukryć.",
        "version": "wersja danych",
        "date": "stan na",
        "counts": "węzły: {nodes}, krawędzie: {edges}",
        "empty": "Ten widok nie ma żadnego węzła: poluzuj filtry.",
    },
    "en": {
        "classes": "Node classes",
        "size": {"degree": "node size = degree (number of neighbours)",
                 "betweenness": "node size = betweenness centrality"},
        "sampled": "estimated from {k} sampled nodes",
        "search": "Find a node",
        "search_placeholder": "type a name…",
        "matches": "matching: {n}",
        "no_match": "no node has that name",
        "selected": "{label} — neighbours: {n}",
        "physics": "physics (nodes move)",
        "fit": "show all",
        "hint": "Hover over a node for details; click it to highlight its neighbours; "
                "click the empty background to go back. Untick a class to hide it.",
        "version": "dataset version",
        "date": "as of",
        "counts": "nodes: {nodes}, edges: {edges}",
        "empty": "This view has no nodes: loosen the filters.",
    },
}


# --------------------------------------------------------------------------- size limit

def check_size(graph: nx.Graph, max_nodes: int | None = None) -> None:
    """Refuse a graph too large to draw usefully, saying how to narrow it down."""
    limit = DEFAULT_MAX_NODES if max_nodes is None else max_nodes
    count = graph.number_of_nodes()
    if count > limit:
        view = graph.graph.get("view", "this")
        raise UsageError(
            f"the '{view}' view would draw {count} nodes, more than the limit of {limit}; narrow it with "
            f"--focus ENTITY --hops N, --types CLASS,... or --year YYYY, or raise the limit with --max-nodes {count}")


# --------------------------------------------------------------------------- measures

def measure(graph: nx.Graph, size_by: str) -> dict[str, float]:
    """The network measure that sizes the nodes: degree (distinct neighbours) or betweenness."""
    if size_by not in MEASURES:
        raise UsageError(f"size_by must be one of {', '.join(MEASURES)}, not '{size_by}'")
    simple = simple_graph(graph)
    if size_by == "degree":
        return {node: float(degree) for node, degree in simple.degree()}
    return betweenness(simple)


def layout(graph: nx.Graph, view) -> dict[str, tuple[float, float]]:
    """Positions in page pixels (y grows downwards), the same for the same graph and view."""
    return positions(graph, view, radii(measure(graph, view.size_by)))[0]


# --------------------------------------------------------------------------- page data

@functools.cache
def dataset_date() -> str:
    """The ontology's dcterms:modified, the date the dataset was last revised."""
    from rdflib import Graph
    from rdflib.namespace import DCTERMS, OWL, RDF

    ontology = Graph().parse(resources.ontology_dir() / "welfare.ttl", format="turtle")
    for subject in sorted(ontology.subjects(RDF.type, OWL.Ontology)):
        modified = ontology.value(subject, DCTERMS.modified)
        if modified is not None:
            return str(modified)
    return ""


def _darker(colour: str, factor: float = 0.7) -> str:
    value = colour.lstrip("#")
    if len(value) != 6:
        return colour
    r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    return "#{:02x}{:02x}{:02x}".format(*(int(c * factor) for c in (r, g, b)))


def describe(graph: nx.Graph, view, lang: str) -> dict:
    """Everything both renderers need: positions, sizes, colours, legend, texts."""
    lang = lang if lang in TEXTS else "en"
    texts = TEXTS[lang]
    colours = palette()
    radius = radii(measure(graph, view.size_by))
    placed, guides = positions(graph, view, radius)
    groups: dict[str, dict] = {}
    for node in sorted(graph):
        data = graph.nodes[node]
        name = data.get("group", "Resource")
        entry = groups.setdefault(name, {"name": name, "label": data.get("group_label", name),
                                         "colour": colours.get(name, colours.get("Resource", DEFAULT_COLOUR)),
                                         "count": 0})
        entry["count"] += 1
    legend = sorted(groups.values(), key=lambda g: (-g["count"], g["label"].lower(), g["name"]))
    size_note = texts["size"][view.size_by]
    if view.size_by == "betweenness" and graph.number_of_nodes() > BETWEENNESS_EXACT_LIMIT:
        size_note += " (" + texts["sampled"].format(k=BETWEENNESS_SAMPLES) + ")"
    title = graph.graph.get("title") or view.title(lang)
    return {"lang": lang, "texts": texts, "title": title, "positions": placed, "radius": radius,
            "guides": guides, "groups": groups, "legend": legend, "size_note": size_note,
            "version": __version__, "date": dataset_date(),
            "directed": not view.collapse}


# --------------------------------------------------------------------------- writing

def write(graph: nx.Graph, view, output: Path, *, fmt: str = "html", lang: str = "pl") -> None:
    """Draw ``graph`` (a view's projection) into ``output``, atomically; the graph is not changed."""
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not '{fmt}'")
    if fmt == "html":
        data = render_html(graph, view, lang=lang).encode("utf-8")
    else:
        data = render_static(graph, view, fmt=fmt, lang=lang)
    export.write_atomic(Path(output), data)


def _vis_script() -> str:
    return (importlib_resources.files("pyvis") / "templates" / "lib" / "vis-9.1.2" / "vis-network.min.js") \
        .read_text(encoding="utf-8")


def _network(graph: nx.Graph, info: dict):
    """A pyvis Network holding copies of the nodes and edges, styled for the page."""
    from pyvis.network import Network

    large = graph.number_of_nodes() > 1000
    net = Network(height="100%", width="100%", directed=True, cdn_resources="in_line",
                  heading=info["title"])
    placed, radius, groups = info["positions"], info["radius"], info["groups"]
    for node in sorted(graph):
        data = graph.nodes[node]
        group = groups[data.get("group", "Resource")]
        colour = group["colour"]
        x, y = placed[node]
        size = radius[node]
        full = str(data.get("label", node))
        net.add_node(
            node, label=short_label(full), shape="dot", size=round(size, 1), x=round(x, 1), y=round(y, 1),
            title=str(data.get("title", full)), full=full, cls=group["name"],
            color={"background": colour, "border": _darker(colour),
                   "highlight": {"background": colour, "border": "#000000"},
                   "hover": {"background": colour, "border": "#000000"}},
            font={"size": font_size(size), "color": "#222222",
                  "strokeWidth": 3, "strokeColor": "#ffffff"})
    merged: dict[tuple[str, str], dict] = {}
    for u, v, key, data in sorted(graph.edges(keys=True, data=True), key=lambda e: (e[0], e[1], str(e[2]))):
        entry = merged.setdefault((u, v), {"labels": [], "weight": 0.0})
        label = str(data.get("label", key))
        if label not in entry["labels"]:
            entry["labels"].append(label)
        entry["weight"] += float(data.get("weight", 1))
    arrows = {"to": {"enabled": info["directed"], "scaleFactor": 0.5}}
    for number, ((u, v), entry) in enumerate(sorted(merged.items())):
        net.add_edge(u, v, id=f"e{number}", title="\n".join(entry["labels"]), relation=" · ".join(entry["labels"]),
                     width=round(min(1.0 + 1.5 * (entry["weight"] - 1), 8.0), 1), arrows=arrows)
    net.options = {
        "autoResize": True,
        "layout": {"improvedLayout": False, "randomSeed": 0, "hierarchical": {"enabled": False}},
        "physics": {
            "enabled": bool(getattr(info["view"], "physics", False)),
            "solver": "forceAtlas2Based",
            "forceAtlas2Based": {"gravitationalConstant": -60, "centralGravity": 0.005, "springLength": 110,
                                 "springConstant": 0.06, "avoidOverlap": 0.4},
            "stabilization": {"enabled": False},
            "maxVelocity": 30, "minVelocity": 1, "timestep": 0.4,
        },
        "interaction": {"hover": not large, "tooltipDelay": 120, "hideEdgesOnDrag": large,
                        "hideEdgesOnZoom": large, "multiselect": False, "navigationButtons": False},
        "nodes": {"shape": "dot", "borderWidth": 1.5, "borderWidthSelected": 3,
                  "scaling": {"label": {"drawThreshold": 6}}},
        "edges": {"smooth": False if large else {"enabled": True, "type": "continuous", "roundness": 0.2},
                  "color": {"color": "#9aa3ad", "highlight": "#333333", "hover": "#555555", "opacity": 0.8},
                  "selectionWidth": 1.5, "hoverWidth": 0.5},
    }
    return net


def render_html(graph: nx.Graph, view, *, lang: str = "pl") -> str:
    """The page as text: our template, vis-network inlined, node data sorted."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    info = describe(graph, view, lang)
    info["view"] = view
    net = _network(graph, info)
    templates = resources.templates_dir()
    net.set_template_dir(str(templates) + "/", "page.html")
    net.templateEnv = Environment(loader=FileSystemLoader(str(templates)), autoescape=select_autoescape(["html"]),
                                  keep_trailing_newline=True)
    texts = info["texts"]
    net.templateEnv.globals["page"] = {
        "lang": info["lang"], "version": info["version"], "date": info["date"], "texts": texts,
        "legend": info["legend"], "size_note": info["size_note"], "vis_js": _vis_script(),
        "counts": texts["counts"].format(nodes=graph.number_of_nodes(), edges=graph.number_of_edges()),
        "script": {"texts": {k: texts[k] for k in ("matches", "no_match", "selected")},
                   "guides": _rounded_guides(info["guides"]), "options": net.options,
                   "view": view.name},
    }
    return net.generate_html(name="page.html")


def _rounded_guides(guides: dict) -> dict:
    return {kind: [{k: round(v, 1) if isinstance(v, float) else v for k, v in item.items()} for item in items]
            for kind, items in guides.items()}


# --------------------------------------------------------------------------- static pictures

def render_static(graph: nx.Graph, view, *, fmt: str, lang: str = "pl") -> bytes:
    """The same picture as SVG or PNG, drawn with matplotlib (no browser), legend included."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    info = describe(graph, view, lang)
    texts = info["texts"]
    nodes = sorted(graph)
    placed, radius = info["positions"], info["radius"]
    xy = np.array([placed[n] for n in nodes]) if nodes else np.zeros((0, 2))
    xy[:, 1] *= -1  # page y grows downwards, matplotlib's upwards
    with matplotlib.rc_context({"svg.hashsalt": "welfare-kg", "svg.fonttype": "none",
                                "font.family": "DejaVu Sans", "path.simplify": False}):
        width = 16.0
        if len(xy):  # the picture's extent: discs and the labels under them
            boxes = label_boxes(graph, radius)
            half = np.array([boxes[n][0][0] / 2 for n in nodes])
            below = np.array([boxes[n][0][1] - radius[n] for n in nodes])
            r = np.array([radius[n] for n in nodes])
            low = np.array([(xy[:, 0] - half).min(), (xy[:, 1] - below).min()]) - 20
            high = np.array([(xy[:, 0] + half).max(), (xy[:, 1] + r).max()]) + 20
            if info["guides"]["vertical"]:
                high[1] += 40
            span = high - low
            height = float(np.clip(width * 0.76 * span[1] / max(span[0], 1.0), 6.0, 14.0))
        else:
            height = 6.0
        figure = Figure(figsize=(width, height + 1.0), dpi=110)
        FigureCanvasAgg(figure)
        axes = figure.add_axes((0.01, 0.02, 0.76, 0.88 * height / (height + 1.0) + 0.04))
        axes.set_axis_off()
        axes.set_aspect("equal")
        if len(xy):
            axes.set_xlim(low[0], high[0])
            axes.set_ylim(low[1], high[1])
        figure.text(0.01, 0.985, info["title"], fontsize=15, fontweight="bold", va="top")
        figure.text(0.01, 0.985 - 0.42 / (height + 1.0),
                    f"welfare-kg · {texts['version']} {info['version']} · {texts['date']} {info['date']} · "
                    f"{texts['counts'].format(nodes=graph.number_of_nodes(), edges=graph.number_of_edges())}",
                    fontsize=10, color="#555555", va="top")
        if not nodes:
            axes.text(0.5, 0.5, texts["empty"], ha="center", va="center", transform=axes.transAxes, fontsize=12)
        else:
            figure.canvas.draw_idle()
            bbox = axes.get_window_extent()
            points_per_unit = (bbox.width * 72 / figure.dpi) / (axes.get_xlim()[1] - axes.get_xlim()[0])
            for guide in info["guides"]["vertical"]:
                axes.plot([guide["x"]] * 2, [-guide["y0"], -guide["y1"]], color="#e4e4e4", lw=0.8, zorder=0)
                axes.text(guide["x"], -guide["y0"] + 8, guide["label"], ha="center", va="bottom",
                          fontsize=8, color="#777777")
            for guide in info["guides"]["horizontal"]:
                axes.text(axes.get_xlim()[0], -guide["y"] + 14, guide["label"], ha="left", va="bottom",
                          fontsize=9, color="#777777", style="italic", zorder=3,
                          bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
            index = {n: i for i, n in enumerate(nodes)}
            segments = sorted({(index[u], index[v]) for u, v in graph.edges() if u != v})
            axes.add_collection(LineCollection([(xy[a], xy[b]) for a, b in segments], colors="#b5bcc4",
                                               linewidths=0.7, zorder=1))
            colour_of = {g["name"]: g["colour"] for g in info["legend"]}
            groups = [graph.nodes[n].get("group", "Resource") for n in nodes]
            diameters = np.array([2 * radius[n] * points_per_unit for n in nodes])
            axes.scatter(xy[:, 0], xy[:, 1], s=diameters ** 2, c=[colour_of[g] for g in groups],
                         edgecolors=[_darker(colour_of[g]) for g in groups], linewidths=0.6, zorder=2)
            shown = nodes if len(nodes) <= 150 else sorted(nodes, key=lambda n: (-radius[n], n))[:40]
            for node in sorted(shown):
                i = index[node]
                axes.text(xy[i, 0], xy[i, 1] - radius[node] - 4, short_label(str(graph.nodes[node].get("label", node))),
                          ha="center", va="top", fontsize=6.5, color="#222222", zorder=3, linespacing=1.0)
        handles = [Line2D([], [], marker="o", linestyle="", markersize=9, markerfacecolor=g["colour"],
                          markeredgecolor=_darker(g["colour"]), label=f"{g['label']} ({g['count']})")
                   for g in info["legend"]]
        legend = figure.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.78, 0.9), frameon=False,
                               title=texts["classes"], fontsize=9, title_fontsize=10, alignment="left")
        figure.canvas.draw()
        below = legend.get_window_extent().transformed(figure.transFigure.inverted())
        figure.text(below.x0 + 0.004, below.y0 - 0.01, "\n".join(textwrap.wrap(info["size_note"], 44)),
                    fontsize=9, color="#444444", va="top")
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        figure.savefig(buffer, format=fmt, metadata=metadata)
    return buffer.getvalue()
