"""Driving Debian's Chromium with Playwright for the console's tests (and its screenshots):
missing Chromium or Playwright fails under CI=true, as every real part does."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import missing
from tests.integration.people import PASSWORD


def chromium_path() -> str:
    executable = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    if executable is None:
        missing("chromium not installed")
    return executable


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright not installed (pip install -e '.[dev]')")
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def signed_in(browser: Any, url: str, username: str, **page_options: Any) -> Any:
    """A new page of `browser` signed in at `url` as `username` (the test password)."""
    from playwright.sync_api import expect

    page = browser.new_page(**{"viewport": {"width": 1280, "height": 800}, **page_options})
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Incident queue")).to_be_visible()
    return page
