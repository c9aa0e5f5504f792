"""A signed-in admin's browser visits another site whose page posts a form to slakeeper's
`/-/reload` (a write that needs no body, so only the session guards it): real Chromium, a real
server, and nothing happens. The same browser on slakeeper's own origin, with the session's
CSRF token, reloads."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from access.roles import Role
from tests.conftest import missing
from tests.integration.conftest import AppFactory, live_server
from tests.integration.people import PASSWORD, add_account

EVIL_PAGE = """<!doctype html><html><body>
<form id="f" method="post" action="{target}"></form>
<script>document.getElementById("f").submit()</script></body></html>"""


@pytest.fixture
def evil_site() -> Iterator[tuple[ThreadingHTTPServer, dict[str, str]]]:
    """Another site (`localhost`, not `127.0.0.1`): it serves the page it is given."""
    page: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.get("html", "").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, page
    finally:
        server.shutdown()


def test_a_cross_site_form_post_from_a_signed_in_browser_changes_nothing(
    make_app: AppFactory,
    database_url: str,
    evil_site: tuple[ThreadingHTTPServer, dict[str, str]],
) -> None:
    executable = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    if executable is None:
        missing("chromium not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright not installed (pip install -e '.[dev]')")
    root = add_account(database_url, "root", Role.ADMIN)
    evil, page_of = evil_site
    with live_server(make_app()) as server, sync_playwright() as playwright:
        target = f"{server.url}/-/reload"
        page_of["html"] = EVIL_PAGE.format(target=target)
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            context = browser.new_context()
            login = context.request.post(
                f"{server.url}/api/v1/login", data={"username": "root", "password": PASSWORD}
            )
            assert login.ok, login.text()
            csrf = login.json()["csrf_token"]
            page = context.new_page()
            with page.expect_response(target) as answered:
                page.goto(f"http://localhost:{evil.server_address[1]}/")
            forged = answered.value
            assert forged.status in (401, 403), forged.text()
            reloads = audit_of(server.url, root.headers)
            assert reloads == []
            # On slakeeper's own page, the console's way: the session and its token.
            page.goto(f"{server.url}/healthz")
            status = page.evaluate(
                """async ([url, csrf]) => (await fetch(url, {method: "POST",
                    headers: {"X-CSRF-Token": csrf}})).status""",
                [target, csrf],
            )
            assert status == 200
        finally:
            browser.close()
        reloads = audit_of(server.url, root.headers)
    assert [(event["actor"], event["method"]) for event in reloads] == [("root", "session")]


def audit_of(url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = httpx.get(f"{url}/api/v1/audit", params={"action": "rules.reload"}, headers=headers)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items
