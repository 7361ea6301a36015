"""The query page at / in a real browser: YASGUI served by ``welfare-kg serve`` itself, driven in
Debian's Chromium by playwright. Offline: every request must go to the server under test.

Skipped (with the reason) when the playwright package, /usr/bin/chromium or the YASGUI build
(``npm ci --prefix web``) is missing.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from welfare_kg import queries, resources, store

from test_server import Server, fetch

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
GDYNIA_LABEL = "Miejski Ośrodek Pomocy Społecznej w Gdyni"

try:
    from playwright import sync_api
except ImportError:
    sync_api = None

needs_yasgui = pytest.mark.skipif(resources.yasgui_dir() is None, reason="the YASGUI build is missing: "
                                  "run `npm ci --prefix web --ignore-scripts --no-audit --no-fund`")
needs_playwright = pytest.mark.skipif(sync_api is None, reason="the playwright package is not installed")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason=f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)")


def home_page(monkeypatch, build) -> str:
    """GET / from the application itself (no query pool is needed for it)."""
    import asyncio

    from welfare_kg import server as server_module

    monkeypatch.setattr(resources, "yasgui_dir", lambda: build)
    app = server_module.create_app(None, public=False, timeout=1.0, max_rows=10, triples=1)
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "path": "/",
             "raw_path": b"/", "root_path": "", "query_string": b"", "headers": [],
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    return b"".join(m.get("body", b"") for m in sent[1:]).decode("utf-8")


def test_without_yasgui_the_home_page_stays_the_plain_catalogue(monkeypatch):
    page = home_page(monkeypatch, None)
    assert "cq01-projects" in page and "npm ci --prefix web" in page and "yasgui.min.js" not in page


@needs_yasgui
def test_with_yasgui_the_home_page_is_the_editor_with_a_tab_per_query(monkeypatch):
    page = home_page(monkeypatch, resources.yasgui_dir())
    assert '<script src="/static/yasgui/yasgui.min.js">' in page and "npm ci" not in page
    assert "https://cdn" not in page and "//unpkg" not in page
    for item in queries.catalogue():
        assert f'"name": "{item.name}"' in page


@pytest.fixture(scope="module")
def server(cache_dir, tmp_path_factory):
    store.build_store(cache_dir)
    with Server(cache_dir, tmp_path_factory.mktemp("logs") / "query-page.log") as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    assert sync_api is not None
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def opened(browser, server):
    """The query page, recording console errors and aborting every request not to the server."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    outside: list[str] = []
    own = urlsplit(server.url).netloc

    def route(request_route):
        if urlsplit(request_route.request.url).netloc == own:
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/")
    page.wait_for_function("window.pageState && window.pageState.ready", timeout=15_000)
    yield page, errors, outside
    context.close()


@needs_yasgui
def test_static_files_are_served(server):
    status, headers, body = fetch(server.url + "/static/yasgui/yasgui.min.js")
    assert status == 200 and len(body) > 100_000 and "javascript" in headers["Content-Type"]
    assert fetch(server.url + "/static/yasgui/yasgui.min.css")[0] == 200


@needs_yasgui
@needs_playwright
@needs_chromium
def test_query_page_runs_a_catalogue_tab_and_opens_an_entity(opened, server, tmp_path):
    page, errors, outside = opened
    names = [item.name for item in queries.catalogue()]
    tabs = page.evaluate("Array.from(document.querySelectorAll('.yasgui .tabsList .tab a[role=tab] > span'))"
                         ".map(t => t.textContent.trim())")
    assert tabs == names
    assert page.evaluate("window.pageState.endpoint") == server.url + "/sparql"

    page.click("#tab-cq07-timeline")
    assert page.evaluate("window.pageState.yasgui.getTab().getId()") == "cq07-timeline"
    panel = page.locator(".yasgui .tabPanel.active")
    panel.locator(".yasqe_queryButton").click()
    rows = panel.locator(".yasr table.dataTable tbody tr")
    rows.first.wait_for(timeout=10_000)
    assert rows.count() == 5  # the five projects
    assert "Gdynia" in panel.locator(".yasr").inner_text() or "gdynia" in panel.locator(".yasr").inner_text()
    page.screenshot(path=str(tmp_path / "query-page.png"), full_page=True)

    # an IRI in the results opens its page on this server, not on w3id.org
    cell = panel.locator(".yasr table.dataTable tbody tr").first.locator("td .expandable").first
    cell.click(timeout=5_000)  # YASR shortens long IRIs: the first click expands the cell
    first = cell.locator("a[href^='https://w3id.org/']")
    iri = first.get_attribute("href")
    assert iri.startswith("https://w3id.org/welfare-kg/id/project/")
    with page.expect_navigation():
        first.click(timeout=5_000)
    assert page.url == server.url + "/" + iri.removeprefix("https://w3id.org/welfare-kg/")
    assert "Gdyni" in page.inner_text("body")

    page.goto(server.url + "/id/organisation/mops-gdynia")  # a browser asks for text/html
    assert GDYNIA_LABEL in page.inner_text("body")
    assert errors == []
    assert outside == []


@needs_yasgui
@needs_playwright
@needs_chromium
def test_editor_autocompletion_stays_offline(opened):
    """Typing a prefixed class name would make YASGUI's default completers ask lov.linkeddata.es."""
    page, errors, outside = opened
    page.evaluate("window.pageState.yasgui.getTab().getYasqe().setValue("
                  "'PREFIX foaf: <http://xmlns.com/foaf/0.1/>\\nSELECT * WHERE {\\n  ?s a foaf:')")
    page.click(".yasgui .tabPanel.active .CodeMirror")
    page.keyboard.press("Control+End")
    page.keyboard.type("Pers ; foaf:na", delay=30)
    page.keyboard.press("Control+Space")
    page.keyboard.type("\n  ?s ?p ?", delay=30)
    page.keyboard.press("Control+Space")
    page.wait_for_timeout(500)
    assert outside == []
    assert errors == []
