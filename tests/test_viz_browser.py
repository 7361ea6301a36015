"""The viz page in a real browser: Debian's Chromium, driven by playwright, opened from disk.

Skipped (with the reason) when the playwright package or /usr/bin/chromium is missing;
.ci/run installs Chromium so that CI always runs these.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from welfare_kg import page as viz_page
from welfare_kg import views

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
DIMMED = "#eceef0"

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def overview_html(overview, tmp_path_factory) -> Path:
    view, graph = overview
    path = tmp_path_factory.mktemp("page") / "overview.html"
    viz_page.write(graph, view, path, fmt="html", lang="pl")
    return path


class OpenPage:
    """A page opened from disk that records console errors and every request leaving the file."""

    def __init__(self, browser, path: Path, viewport: tuple[int, int] = (1600, 1000)):
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", lambda request: None if request.url.startswith("file:") else
                     self.outside.append(request.url))
        self.page.goto(path.as_uri())
        self.page.wait_for_function("window.pageState && window.pageState.ready", timeout=30_000)

    def _route(self, route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    def empty_spot(self) -> tuple[float, float]:
        """Page coordinates of a canvas point with neither node nor edge under it."""
        spot = self.js("""() => {
            const box = document.getElementById('network').getBoundingClientRect();
            for (let y = 10; y < box.height; y += 23) {
              for (let x = 10; x < box.width; x += 23) {
                if (network.getNodeAt({x, y}) === undefined && network.getEdgeAt({x, y}) === undefined) {
                  return [box.left + x, box.top + y];
                }
              }
            }
            return null; }""")
        assert spot, "no empty spot on the canvas"
        return spot[0], spot[1]

    def close(self):
        self.context.close()


@pytest.fixture
def opened(browser, overview_html):
    page = OpenPage(browser, overview_html)
    yield page
    page.close()


def neighbours(graph, node) -> list[str]:
    return sorted((set(graph.predecessors(node)) | set(graph.successors(node))) - {node})


def test_page_loads_offline_without_errors_and_holds_every_node(opened, overview, tmp_path):
    _, graph = overview
    assert opened.errors == []
    assert opened.outside == []
    assert opened.js("window.network.body.data.nodes.length") == graph.number_of_nodes()
    groups = {data["group"] for _, data in graph.nodes(data=True)}
    assert set(opened.js("Array.from(document.querySelectorAll('#legend li')).map(li => li.dataset.class)")) == groups
    assert "pośrednictwo" in opened.page.inner_text("#legend")
    screenshot = tmp_path / "overview.png"
    opened.page.screenshot(path=str(screenshot))
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_clicking_the_empty_canvas_first_does_not_throw(opened):
    x, y = opened.empty_spot()
    opened.page.mouse.click(x, y)
    opened.page.wait_for_timeout(100)
    assert opened.errors == []
    assert opened.js("window.pageState.highlighted") is None


def test_search_by_label_selects_the_node_and_dims_all_but_its_neighbours(opened, overview):
    _, graph = overview
    hub = max(sorted(graph), key=lambda n: len(neighbours(graph, n)))
    label = graph.nodes[hub]["label"]
    around = neighbours(graph, hub)
    stranger = next(n for n in sorted(graph) if n != hub and n not in around)

    opened.page.fill("#search", label.upper())  # matching ignores case
    opened.page.press("#search", "Enter")
    opened.page.wait_for_timeout(100)
    assert opened.js("network.getSelectedNodes()") == [hub]
    assert opened.js("window.pageState.neighbours") == around
    colour = "id => network.body.data.nodes.get(id).color.background"
    assert opened.js(colour, stranger) == DIMMED
    assert all(opened.js(colour, n) != DIMMED for n in around + [hub])
    assert str(len(around)) in opened.page.inner_text("#search-status")

    x, y = opened.empty_spot()  # the empty background restores every colour
    opened.page.mouse.click(x, y)
    opened.page.wait_for_timeout(100)
    assert opened.js("window.pageState.highlighted") is None
    assert opened.js(colour, stranger) != DIMMED
    assert opened.errors == []


def test_search_offers_labels_not_iris(opened, overview):
    _, graph = overview
    options = opened.js("Array.from(document.querySelectorAll('#node-labels option')).map(o => o.value)")
    assert len(options) == graph.number_of_nodes()
    assert not any(option.startswith("http") for option in options)
    assert {data["label"] for _, data in graph.nodes(data=True)} <= set(options) | {
        option.rsplit(" — ", 1)[0] for option in options}


def test_class_filter_hides_and_shows_a_class(opened, overview):
    _, graph = overview
    concepts = sorted(n for n, d in graph.nodes(data=True) if d["group"] == "Method")
    hidden = "cls => network.body.data.nodes.get({filter: n => n.cls === cls && n.hidden}).length"
    opened.page.uncheck('.class-filter[value="Method"]')
    assert opened.js(hidden, "Method") == len(concepts)
    assert opened.js(hidden, "Project") == 0
    assert opened.js("window.network.body.data.nodes.length") == graph.number_of_nodes()
    touching = opened.js("network.body.data.edges.get({filter: e => e.hidden}).length")
    assert touching == sum(1 for u, v in {(u, v) for u, v in graph.edges()}
                           if graph.nodes[u]["group"] == "Method" or graph.nodes[v]["group"] == "Method")
    opened.page.check('.class-filter[value="Method"]')
    assert opened.js(hidden, "Method") == 0
    assert opened.errors == []


def test_physics_toggle_switches_the_simulation_and_it_stops_by_itself(opened):
    toggle = "() => { document.getElementById('physics').click(); return network.physics.options.enabled; }"
    assert opened.js("network.physics.options.enabled") is False
    assert opened.js(toggle) is True  # same task: no frame of simulation in between
    assert opened.js(toggle) is False
    assert opened.js(toggle) is True
    opened.page.wait_for_function("!network.physics.options.enabled && !document.getElementById('physics').checked",
                                  timeout=30_000)  # settles, or is switched off after PHYSICS_SECONDS
    assert opened.errors == []


def test_tooltip_is_plain_text(opened, overview):
    _, graph = overview
    node = sorted(graph)[0]
    x, y = opened.js("""id => { const p = network.canvasToDOM(network.getPosition(id));
        const box = document.getElementById('network').getBoundingClientRect();
        return [box.left + p.x, box.top + p.y]; }""", node)
    opened.page.mouse.move(x, y)
    opened.page.wait_for_selector("div.vis-tooltip", state="visible", timeout=5_000)
    tooltip = opened.js("document.querySelector('div.vis-tooltip').innerText")
    assert tooltip.splitlines()[0] == graph.nodes[node]["label"]
    assert opened.js("document.querySelector('div.vis-tooltip').children.length") in (0, tooltip.count("\n"))


def test_english_page_and_a_focused_view(browser, dataset, tmp_path):
    view = views.load_view("overview")
    graph = views.build(dataset, view, lang="en", focus="MVO Proxima", hops=2)
    path = tmp_path / "proxima.html"
    viz_page.write(graph, view, path, fmt="html", lang="en")
    opened = OpenPage(browser, path)
    try:
        assert opened.errors == [] and opened.outside == []
        assert opened.js("window.network.body.data.nodes.length") == graph.number_of_nodes()
        assert "node size = betweenness" in opened.page.inner_text("#legend")
        offered = opened.js("Array.from(document.querySelectorAll('#node-labels option')).map(o => o.value)")
        assert "MVO Proxima" in offered
    finally:
        opened.close()



@pytest.mark.parametrize("name", views.view_names())
@pytest.mark.parametrize("viewport", [(1366, 680), (800, 600), (700, 900)])
def test_every_label_is_in_sight_when_the_page_opens(browser, dataset, tmp_path, name, viewport):
    """On a small screen long names ("Fundacja Instytut Spraw Publicznych") ran off the canvas:
    the first fit took the discs only (the partnerships view at 800×600 and 700×900)."""
    view = views.load_view(name)
    path = tmp_path / f"{name}.html"
    viz_page.write(views.build(dataset, view), view, path, fmt="html", lang="pl")
    opened = OpenPage(browser, path, viewport)
    try:
        cut = opened.js("""() => {
            const box = document.getElementById('network').getBoundingClientRect();
            return network.body.data.nodes.getIds().filter(id => {
              const b = network.getBoundingBox(id);
              const a = network.canvasToDOM({x: b.left, y: b.top}), z = network.canvasToDOM({x: b.right, y: b.bottom});
              return a.x < 0 || a.y < 0 || z.x > box.width || z.y > box.height;
            }); }""")
        assert cut == []
    finally:
        opened.close()
