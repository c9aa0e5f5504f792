"""`/docs` works offline: every asset is the package's own, served by slakeeper itself."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from slakeeper.app import create_app
from slakeeper.settings import Settings
from tests.conftest import missing
from tests.integration.conftest import Clock, live_server


@pytest.fixture
def docs_app(sqlite_template: Path, tmp_path: Path, clock: Clock) -> FastAPI:
    # The documentation touches no database: SQLite alone is enough.
    target = tmp_path / "slakeeper.db"
    shutil.copy(sqlite_template, target)
    return create_app(Settings(database_url=f"sqlite:///{target}"), clock=clock)


@pytest.fixture
def docs(docs_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(docs_app) as client:
        yield client


class _References(HTMLParser):
    """Every URL a page makes the browser load: src and href attributes, and the spec."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)


def references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    # Swagger UI is handed its spec in a script: `url: '/openapi.json'`.
    parser.urls += re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", html)
    return parser.urls


def test_the_docs_page_loads_only_what_slakeeper_serves(docs: TestClient) -> None:
    page = "/docs"
    response = docs.get(page)
    assert response.status_code == 200
    urls = references(response.text)
    assert any(url.endswith(".js") for url in urls), urls
    assert "/openapi.json" in urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page} loads {url} from elsewhere"
        assert url.startswith("/"), url
        asset = docs.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
    assert "cdn." not in response.text and "fonts.googleapis" not in response.text


def test_there_is_no_redoc_page_to_reach_a_cdn_from(docs: TestClient) -> None:
    # ReDoc's bundle loads its logo from Redocly's CDN: /docs is the documentation.
    assert docs.get("/redoc").status_code == 404


def test_the_swagger_ui_script_and_style_are_the_real_ones(docs: TestClient) -> None:
    [script] = [url for url in references(docs.get("/docs").text) if url.endswith(".js")]
    [style] = [url for url in references(docs.get("/docs").text) if url.endswith(".css")]
    assert (
        docs.get(script)
        .headers["content-type"]
        .startswith(("application/javascript", "text/javascript"))
    )
    assert b"SwaggerUIBundle" in docs.get(script).content
    assert b".swagger-ui" in docs.get(style).content


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    if found is None:
        missing("chromium not installed")
    return found


def test_chromium_shows_the_operations_with_every_request_kept_on_slakeeper(
    docs_app: FastAPI,
) -> None:
    executable = _chromium()
    try:
        from playwright.sync_api import Route, sync_playwright
    except ImportError:
        missing("playwright not installed (pip install -e '.[dev]')")
    refused: list[str] = []

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with live_server(docs_app) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/*", only_local)
            page.goto(f"{server.url}/docs")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            paths = {
                text.strip() for text in page.locator(".opblock-summary-path").all_inner_texts()
            }
            page.get_by_text("Report a manual incident").first.wait_for(timeout=10_000)
        finally:
            browser.close()
    assert {"/api/v1/incidents", "/api/v1/alerts", "/api/v1/webhooks/alertmanager"} <= paths
    assert refused == []
