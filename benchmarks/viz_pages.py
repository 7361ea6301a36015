"""How fast do viz pages become interactive? Not a test: run it by hand, it prints a table.

    .venv/bin/python benchmarks/viz_pages.py                 # 100, 1,000 and 3,000 synthetic nodes
    .venv/bin/python benchmarks/viz_pages.py --sizes 500 5000
    .venv/bin/python benchmarks/viz_pages.py --screenshot overview dist/overview.png [--lang en]

Synthetic graphs look like the real ones: a few hubs (organisations, projects) with many
small nodes (methods, units) around them, classes taken from viz/palette.toml. Each page
is written with welfare_kg.page.write and opened from disk in headless Chromium
(/usr/bin/chromium, driven by playwright). "python s" is page.write (measure, layout,
page); "interactive s" the time from navigation until vis-network has drawn once and the
page answers a script call; "redraw s" one full frame (what each pan or zoom step costs);
"select s" typing a label into the search box until the node and its neighbours are
highlighted. The screenshot mode renders
a real view's page and saves what the browser shows (``make run`` puts dist/overview.png).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx

from welfare_kg import page, views

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
BASE = "https://w3id.org/welfare-kg/id/"
HUB_GROUPS = ("SocialWelfareCentre", "NonGovernmentalOrganisation", "Project", "FundingProgramme")
SMALL_GROUPS = ("Concept", "DistrictWelfareCentre", "SpecialisedTeam", "Project", "ProgrammeMeasure")


def synthetic_graph(nodes: int, *, seed: int = 1) -> nx.MultiDiGraph:
    """A projection-like graph: about one hub per 30 nodes, every other node hanging off hubs."""
    rng = random.Random(seed)
    graph = nx.MultiDiGraph(lang="en", view="synthetic", title=f"Synthetic graph, {nodes} nodes")
    hubs = max(3, nodes // 30)
    for i in range(nodes):
        group = HUB_GROUPS[i % len(HUB_GROUPS)] if i < hubs else rng.choice(SMALL_GROUPS)
        label = f"{group} {i:05d} " + rng.choice(("municipal centre", "regional project", "method of work",
                                                   "district unit", "local partnership programme"))
        graph.add_node(f"{BASE}{group.lower()}/n{i}", label=label, group=group, group_label=group.lower(),
                       title=f"{label}\n[{group}]")
    keys = list(graph)
    for h in range(1, hubs):
        graph.add_edge(keys[h], keys[rng.randrange(h)], key="related", label="related to")
    for i in range(hubs, nodes):
        graph.add_edge(keys[i], keys[rng.randrange(hubs)], key="partOf", label="part of")
        draw = rng.random()
        if draw < 0.25:
            graph.add_edge(keys[i], keys[rng.randrange(hubs)], key="uses", label="uses")
        elif draw < 0.4:
            graph.add_edge(keys[i], keys[rng.randrange(hubs, nodes)], key="related", label="related to")
    return graph


def synthetic_view(size_by: str) -> views.View:
    return views.View(name="synthetic", title_pl="Graf syntetyczny", title_en="Synthetic graph",
                      query_path=Path("synthetic.rq"), size_by=size_by, layout="forceatlas2", physics=False)


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)


def open_page(browser, path: Path, viewport=(1600, 1000)):
    """Open a page from disk; return it with the seconds until it was drawn and answering."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda message: message.type == "error" and errors.append(message.text))
    tab.on("pageerror", lambda error: errors.append(str(error)))
    start = time.perf_counter()
    tab.goto(path.resolve().as_uri(), wait_until="commit")
    tab.wait_for_function("window.pageState && window.pageState.ready", timeout=120_000, polling=20)
    tab.evaluate("1")  # returns only once the main thread is free again
    seconds = time.perf_counter() - start
    return context, tab, seconds, errors


def benchmark(sizes: list[int], size_by: str) -> int:
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = launch(playwright)
        for count in sizes:
            graph = synthetic_graph(count)
            view = synthetic_view(size_by)
            target = Path(folder) / f"synthetic-{count}.html"
            start = time.perf_counter()
            page.write(graph, view, target, fmt="html", lang="en")
            python_seconds = time.perf_counter() - start
            context, tab, seconds, errors = open_page(browser, target)
            held = tab.evaluate("window.network.body.data.nodes.length")
            frame_seconds = tab.evaluate("""async () => {  // one full redraw, as when panning or zooming
                const start = performance.now();
                await new Promise(done => { network.once('afterDrawing', done); network.redraw(); });
                return (performance.now() - start) / 1000; }""")
            hub = max(sorted(graph), key=graph.degree)
            start = time.perf_counter()
            tab.fill("#search", graph.nodes[hub]["label"])
            tab.press("#search", "Enter")
            tab.wait_for_function("window.pageState.highlighted !== null", polling=10)
            select_seconds = time.perf_counter() - start
            context.close()
            rows.append((count, graph.number_of_edges(), python_seconds, seconds, frame_seconds, select_seconds,
                         target.stat().st_size / 1e6, "ok" if held == count and not errors else f"{held} {errors}"))
        browser.close()
    print(f"size_by = {size_by}; Chromium headless; page.DEFAULT_MAX_NODES = {page.DEFAULT_MAX_NODES}")
    print(f"{'nodes':>6} {'edges':>6} {'python s':>9} {'interactive s':>14} {'redraw s':>9} {'select s':>9} "
          f"{'MB':>5}  check")
    for count, edges, python_seconds, seconds, frame_seconds, select_seconds, size, check in rows:
        print(f"{count:>6} {edges:>6} {python_seconds:>9.2f} {seconds:>14.2f} {frame_seconds:>9.2f} "
              f"{select_seconds:>9.2f} {size:>5.1f}  {check}")
    return 0


def screenshot(view_name: str, output: Path, *, lang: str, cache_dir: Path | None, html: Path | None) -> int:
    from playwright.sync_api import sync_playwright

    from welfare_kg import store

    view = views.load_view(view_name)
    graph = views.build(store.open_dataset(cache_dir), view, lang=lang)
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        target = html or Path(folder) / f"{view_name}.html"
        page.write(graph, view, target, fmt="html", lang=lang)
        browser = launch(playwright)
        context, tab, seconds, errors = open_page(browser, target)
        tab.wait_for_timeout(300)
        output.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(output))
        context.close()
        browser.close()
    if errors:
        print(f"console errors: {errors}", file=sys.stderr)
        return 1
    print(f"wrote {output} ({graph.number_of_nodes()} nodes, interactive after {seconds:.2f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000])
    parser.add_argument("--size-by", choices=page.MEASURES, default="betweenness")
    parser.add_argument("--screenshot", nargs=2, metavar=("VIEW", "OUT.png"))
    parser.add_argument("--html", type=Path, help="with --screenshot: keep the page here")
    parser.add_argument("--lang", choices=("pl", "en"), default="pl")
    parser.add_argument("--cache-dir", type=Path)
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 2
    if args.screenshot:
        return screenshot(args.screenshot[0], Path(args.screenshot[1]), lang=args.lang, cache_dir=args.cache_dir,
                          html=args.html)
    return benchmark(args.sizes, args.size_by)


if __name__ == "__main__":
    sys.exit(main())
