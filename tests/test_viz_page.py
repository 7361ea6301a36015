"""The viz page without a browser: self-contained, deterministic, complete; static pictures; size limit."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import networkx as nx
import pytest
from rdflib import Graph
from rdflib.namespace import DCTERMS

from welfare_kg import __version__, dcat, layout, page, resources, views
from welfare_kg.cli import main
from welfare_kg.errors import UsageError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def overview_html(overview, tmp_path_factory) -> str:
    view, graph = overview
    path = tmp_path_factory.mktemp("html") / "overview.html"
    page.write(graph, view, path, fmt="html", lang="pl")
    return path.read_text(encoding="utf-8")


def embedded(html: str) -> dict:
    match = re.search(r'<script id="graph-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries its data as JSON"
    return json.loads(match.group(1))


def snapshot(graph: nx.MultiDiGraph):
    return (dict(graph.graph), sorted((n, sorted(d.items())) for n, d in graph.nodes(data=True)),
            sorted((u, v, k, sorted(d.items())) for u, v, k, d in graph.edges(keys=True, data=True)))


def test_page_is_self_contained(overview_html):
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc=", overview_html, re.I)
    assert not re.search(r"<link[^>]*\shref=", overview_html, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", overview_html, re.I)
    assert "@import" not in overview_html
    assert "cdn." not in overview_html and "cdnjs" not in overview_html
    assert "vis-network" in overview_html and "@version 9.1.2" in overview_html  # inlined, not linked
    assert "lib/" not in re.sub(r"<script>.*?</script>", "", overview_html, flags=re.S)


def test_page_holds_every_node_with_position_size_and_plain_tooltip(overview, overview_html):
    _, graph = overview
    nodes = embedded(overview_html)["nodes"]
    assert [n["id"] for n in nodes] == sorted(graph)
    for node in nodes:
        assert math.isfinite(node["x"]) and math.isfinite(node["y"])
        assert layout.MIN_RADIUS <= node["size"] <= layout.MAX_RADIUS
        assert node["title"] == graph.nodes[node["id"]]["title"]
        assert node["full"] == graph.nodes[node["id"]]["label"]
    assert len({(n["x"], n["y"]) for n in nodes}) == len(nodes)


def test_page_edges_join_page_nodes(overview, overview_html):
    _, graph = overview
    data = embedded(overview_html)
    ids = {n["id"] for n in data["nodes"]}
    assert {(e["from"], e["to"]) for e in data["edges"]} == {(u, v) for u, v in graph.edges()}
    assert all(e["from"] in ids and e["to"] in ids for e in data["edges"])


def test_legend_lists_the_classes_present_with_colours_counts_and_the_measure(overview, overview_html):
    _, graph = overview
    legend = re.findall(r'<li data-class="([^"]+)">.*?background: (#[0-9A-Fa-f]{6}).*?'
                        r'<span class="count">(\d+)</span>', overview_html)
    groups = {}
    for _, data in graph.nodes(data=True):
        groups[data["group"]] = groups.get(data["group"], 0) + 1
    assert {name: int(count) for name, _, count in legend} == groups
    palette = views.palette()
    assert all(colour == palette[name] for name, colour, _ in legend)
    assert "rozmiar węzła = pośrednictwo (betweenness)" in overview_html
    assert "Przegląd: instytucje" in overview_html
    assert f"wersja danych {__version__}" in re.sub(r"<[^>]+>", "", overview_html)
    modified = Graph().parse(resources.ontology_dir() / "welfare.ttl").value(dcat.ONTOLOGY, DCTERMS.modified)
    assert str(modified) in overview_html


def test_english_page(dataset, tmp_path):
    view = views.load_view("methods")
    graph = views.build(dataset, view, lang="en")
    path = tmp_path / "methods.html"
    page.write(graph, view, path, fmt="html", lang="en")
    html = path.read_text(encoding="utf-8")
    assert '<html lang="en">' in html
    assert "node size = degree (number of neighbours)" in html and "Find a node" in html
    assert "Methods: methods" in html


def test_two_writes_are_byte_identical(overview, tmp_path):
    view, graph = overview
    for fmt in page.FORMATS:
        first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        page.write(graph, view, first, fmt=fmt, lang="pl")
        page.write(graph, view, second, fmt=fmt, lang="pl")
        assert first.read_bytes() == second.read_bytes(), fmt


def _viz_in_fresh_process(cache_dir: Path, view: str, fmt: str, hash_seed: int, target: Path) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    subprocess.run([sys.executable, "-m", "welfare_kg.cli", "--cache-dir", str(cache_dir), "viz", view,
                    "--format", fmt, "-o", str(target)], check=True, env=env, capture_output=True)
    return target.read_bytes()


@pytest.mark.parametrize("view, fmt", [("overview", "html"), ("overview", "svg"), ("funding", "html")])
def test_pages_do_not_depend_on_string_hashing(cache_dir, dataset, tmp_path, view, fmt):
    # regression: a subgraph view of a few nodes iterates a set, which turned edges around between runs
    first = _viz_in_fresh_process(cache_dir, view, fmt, 1, tmp_path / f"a.{fmt}")
    second = _viz_in_fresh_process(cache_dir, view, fmt, 2, tmp_path / f"b.{fmt}")
    assert first == second


def test_write_leaves_no_temporary_files_and_does_not_touch_the_graph(overview, tmp_path):
    view, graph = overview
    before = snapshot(graph)
    for fmt in page.FORMATS:
        page.write(graph, view, tmp_path / f"overview.{fmt}", fmt=fmt, lang="pl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["overview.html", "overview.png", "overview.svg"]
    assert snapshot(graph) == before
    assert not list(Path.cwd().glob("lib")), "pyvis's lib/ folder must not appear"


def test_unknown_format_is_a_usage_error(overview, tmp_path):
    view, graph = overview
    with pytest.raises(UsageError, match="--format"):
        page.write(graph, view, tmp_path / "x.pdf", fmt="pdf")


def test_png_and_svg_with_legend(overview, tmp_path):
    view, graph = overview
    page.write(graph, view, tmp_path / "o.png", fmt="png", lang="pl")
    assert (tmp_path / "o.png").read_bytes()[:8] == PNG_MAGIC
    page.write(graph, view, tmp_path / "o.svg", fmt="svg", lang="pl")
    svg = (tmp_path / "o.svg").read_text(encoding="utf-8")
    texts = " ".join(t.text or "" for t in ElementTree.fromstring(svg).iter("{http://www.w3.org/2000/svg}text"))
    for label in {d["group_label"] for _, d in graph.nodes(data=True)}:
        assert label in texts
    assert "Klasy węzłów" in texts and "pośrednictwo" in texts and "Przegląd" in texts
    assert "<dc:date>" not in svg


@pytest.mark.parametrize("name", ["overview", "partnerships", "methods", "funding", "timeline"])
def test_every_view_lays_out_finite_distinct_positions_deterministically(dataset, name):
    view = views.load_view(name)
    graph = views.build(dataset, view, lang="en")
    positions = page.layout(graph, view)
    assert sorted(positions) == sorted(graph)
    assert all(math.isfinite(x) and math.isfinite(y) for x, y in positions.values())
    assert len(set(positions.values())) == len(positions)
    assert page.layout(graph.copy(), view) == positions


def test_hierarchical_layout_puts_funds_above_projects_above_organisations(dataset):
    view = views.load_view("funding")
    graph = views.build(dataset, view, lang="en")
    positions = page.layout(graph, view)
    rows = {}
    for node, (_, y) in positions.items():
        rows.setdefault(graph.nodes[node]["group"], set()).add(y)
    assert max(rows["Fund"]) < min(rows["FundingProgramme"]) < min(rows["Project"])
    assert max(rows["Project"]) < min(rows["SocialWelfareCentre"])


def test_timeline_orders_projects_by_start(dataset):
    view = views.load_view("timeline")
    graph = views.build(dataset, view, lang="en")
    positions = page.layout(graph, view)
    projects = sorted((d["start"], positions[n][0]) for n, d in graph.nodes(data=True) if d["group"] == "Project")
    assert [x for _, x in projects] == sorted(x for _, x in projects)


@pytest.mark.parametrize("lang, name", [("pl", "pod projektami, których dotyczą (bez dat)"),
                                        ("en", "under the projects they touch (not dated)")])
def test_timeline_year_ticks_stop_above_what_is_placed_under_the_projects(dataset, lang, name):
    view = views.load_view("timeline")
    graph = views.build(dataset, view, lang=lang)
    positions, guides = layout.positions(graph, view, layout.radii(page.measure(graph, view.size_by)))
    undated = [y for node, (_, y) in positions.items() if graph.nodes[node]["group"] != "Project"]
    projects = [y for node, (_, y) in positions.items() if graph.nodes[node]["group"] == "Project"]
    assert undated and guides["vertical"]
    assert all(max(projects) < tick["y1"] < min(undated) for tick in guides["vertical"])
    [band] = guides["horizontal"]  # the time axis names the projects' band
    assert band["label"] == name and max(projects) < band["y"] <= min(undated)


def test_timeline_puts_undated_projects_under_a_tick_of_their_own_after_the_last_year():
    graph = nx.MultiDiGraph(lang="en")
    for node, start in [("p1", "2015-03"), ("p2", "2020-01-15"), ("p3", None)]:
        graph.add_node(node, label=node, group="Project", group_label="project", title=node,
                       **({"start": start} if start else {}))
        graph.add_edge(node, "org", key="lead", label="lead")
    graph.add_node("org", label="org", group="NGO", group_label="NGO", title="org")
    view = views.View(name="t", title_pl="t", title_en="t", query_path=Path("t.rq"), size_by="degree",
                      layout="timeline")
    positions, guides = layout.positions(graph, view, layout.radii(page.measure(graph, view.size_by)))
    ticks = {tick["label"]: tick["x"] for tick in guides["vertical"]}
    assert list(ticks) == [str(year) for year in range(2015, 2022)] + ["no date"]  # 2021 closes 2020-01-15
    assert ticks["2020"] < positions["p2"][0] < ticks["2021"] < ticks["no date"] == positions["p3"][0]
    assert [guide["label"] for guide in guides["horizontal"]] == ["under the projects they touch (not dated)"]
    only_undated = graph.subgraph(["p3", "org"])
    _, guides = layout.positions(only_undated, view, layout.radii(page.measure(only_undated, view.size_by)))
    assert [tick["label"] for tick in guides["vertical"]] == ["no date"]
    assert [guide["label"] for guide in guides["horizontal"]] == ["under the projects they touch (not dated)"]
    no_projects = graph.subgraph(["org"])
    _, guides = layout.positions(no_projects, view, layout.radii(page.measure(no_projects, view.size_by)))
    assert guides == {"horizontal": [], "vertical": []}


@pytest.mark.parametrize("starts, ticks", [
    (["1990-03", "2022-06"], [str(year) for year in range(1990, 2026, 5)]),  # every 5 years, 2025 after 2022.4
    (["2001", "2030-11"], [str(year) for year in range(2001, 2032, 2)]),  # every 2 years, 2031 after 2030.9
    (["2010"], ["2010"])])  # a year alone: its one tick
def test_timeline_ticks_reach_the_last_start_and_the_undated_come_one_step_later(starts, ticks):
    graph = nx.MultiDiGraph(lang="pl")
    for i, start in enumerate(starts + [None]):
        graph.add_node(f"p{i}", label=f"p{i}", group="Project", group_label="projekt", title=f"p{i}",
                       **({"start": start} if start else {}))
    view = views.View(name="t", title_pl="t", title_en="t", query_path=Path("t.rq"), size_by="degree",
                      layout="timeline")
    positions, guides = layout.positions(graph, view, layout.radii(page.measure(graph, view.size_by)))
    assert [tick["label"] for tick in guides["vertical"]] == ticks + ["bez daty"]
    xs = [tick["x"] for tick in guides["vertical"]]
    assert max(positions[f"p{i}"][0] for i in range(len(starts))) <= xs[-2], "the last tick closes the last start"
    assert positions[f"p{len(starts)}"][0] == xs[-1] > xs[-2], "the undated after it"
    if len(ticks) > 1:
        assert xs[-1] - xs[-2] == xs[1] - xs[0], "one tick step later"


def test_large_graph_layout_is_fast_path_deterministic_and_spread():
    graph = nx.MultiDiGraph(lang="en")
    for i in range(600):  # stars of small nodes around hubs: the mesh repulsion path
        graph.add_node(f"n{i:04d}", label=f"node {i}", group="Concept", group_label="concept", title=f"node {i}")
        if i >= 20:
            graph.add_edge(f"n{i:04d}", f"n{i % 20:04d}", key="p", label="p")
    view = views.View(name="t", title_pl="t", title_en="t", query_path=Path("t.rq"), size_by="betweenness")
    positions = page.layout(graph, view)
    assert page.layout(graph, view) == positions
    assert all(math.isfinite(x) and math.isfinite(y) for x, y in positions.values())
    assert len(set(positions.values())) == len(positions)


def test_forceatlas2_keeps_neighbours_closer_than_strangers():
    # two dense clusters joined by one edge
    edges = [(a, b) for a in range(10) for b in range(a + 1, 10)] + \
            [(a, b) for a in range(10, 20) for b in range(a + 1, 20)] + [(0, 10)]
    ei, ej = zip(*edges)
    import numpy as np

    positions = layout.forceatlas2(20, np.array(ei), np.array(ej), np.ones(len(edges)))
    centre_a, centre_b = positions[:10].mean(axis=0), positions[10:].mean(axis=0)
    spread_a = np.linalg.norm(positions[:10] - centre_a, axis=1).mean()
    assert np.linalg.norm(centre_a - centre_b) > 2 * spread_a


def test_check_size_refuses_above_the_limit_naming_counts_and_filters(overview):
    _, graph = overview
    page.check_size(graph, graph.number_of_nodes())
    page.check_size(graph)
    with pytest.raises(UsageError) as error:
        page.check_size(graph, 10)
    message = str(error.value)
    assert "\n" not in message
    assert f"{graph.number_of_nodes()} nodes" in message and "limit of 10" in message
    for option in ("--focus ENTITY --hops N", "--types", "--year", "--max-nodes"):
        assert option in message


def test_cli_viz_writes_each_format_and_refuses_large_graphs(cache_dir, tmp_path, capsys):
    target = tmp_path / "o.html"
    assert main(["--cache-dir", str(cache_dir), "viz", "overview", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["--cache-dir", str(cache_dir), "viz", "timeline", "--format", "svg", "--lang", "en",
                 "-o", str(tmp_path / "t.svg")]) == 0
    assert main(["--cache-dir", str(cache_dir), "viz", "overview", "--max-nodes", "5",
                 "-o", str(tmp_path / "refused.html")]) == 2
    assert "more than the limit of 5" in capsys.readouterr().err
    assert not (tmp_path / "refused.html").exists()


def test_filtered_views_still_draw(dataset, tmp_path):
    view = views.load_view("overview")
    for graph in (views.build(dataset, view, focus="MVO Proxima", hops=2),
                  views.build(dataset, view, year=2010),
                  views.build(dataset, view, year=1900)):
        page.write(graph, view, tmp_path / "f.html", fmt="html", lang="pl")
        assert len(embedded((tmp_path / "f.html").read_text(encoding="utf-8"))["nodes"]) == graph.number_of_nodes()
        page.write(graph, view, tmp_path / "f.png", fmt="png", lang="pl")


def test_no_two_classes_share_a_colour():
    """Identical swatches with different names in a legend cannot be told apart on the picture."""
    colours = views.palette()
    assert len(set(map(str.lower, colours.values()))) == len(colours)
