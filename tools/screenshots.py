"""The console's screenshots in docs/screenshots/ (`make screenshots`): the demo's months loaded
into a fresh SQLite database, `slakeeper serve` on a free loopback port, and Chromium signed
in as a manager looking at the queue, an incident, the services and last month (closed,
adjusted, disputed), in English and Chinese.

`python tools/screenshots.py months` makes only the pages named. Chinese pages need a CJK
font installed (Debian: fonts-wqy-microhei)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from access.accounts import NewAccount, create_account
from access.roles import Kind, Role
from access.tokens import issue_token
from core.database import create_database_engine, writing_session

OUT = Path(__file__).parents[1] / "docs" / "screenshots"
PASSWORD = "screenshots are public"
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _prepare(database_url: str) -> str:
    env = {**os.environ, "SLAKEEPER_DATABASE_URL": database_url}
    subprocess.run([BIN / "slakeeper", "db", "upgrade"], env=env, check=True)
    subprocess.run([BIN / "slakeeper", "demo", "--quiet"], env=env, check=True)
    engine = create_database_engine(database_url)
    with writing_session(engine) as session:
        account = create_account(
            session,
            NewAccount(
                username="li.na",
                kind=Kind.PERSON,
                role=Role.MANAGER,
                display_name="Li Na",
                timezone="Asia/Shanghai",
                password=PASSWORD,
            ),
            by="screenshots",
            now=datetime.now(UTC),
        )
        _, token = issue_token(
            session,
            account,
            name="screenshots",
            scope=None,
            expires_at=None,
            by="screenshots",
            now=datetime.now(UTC),
        )
    engine.dispose()
    return token


# Incidents phoned in while the demo's month runs: the queue has something to show.
REPORTED = (
    ("Card payments fail for some customers", "payments", "P1", "outage", 50),
    ("Search results are slow", "search", "P2", "degraded", 95),
    ("Order confirmation e-mails are late", "notifications", "P3", "degraded", 20),
    ("Catalog images missing for one brand", "catalog", "P4", "none", 240),
)


def _report_incidents(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    now = datetime.now(UTC)
    for title, service, priority, impact, minutes_ago in REPORTED:
        made = httpx.post(
            f"{url}/api/v1/incidents",
            json={
                "title": title,
                "service": service,
                "priority": priority,
                "impact": impact,
                "reporter": "Service desk",
                "channel": "phone",
                "started_at": (now - timedelta(minutes=minutes_ago)).isoformat(),
            },
            headers=headers,
        )
        made.raise_for_status()
        if priority == "P2":
            ack = {"note": "Index rebuild running; watching latency"}
            httpx.post(f"{url}/api/v1/incidents/{made.json()['id']}/ack", json=ack, headers=headers)


def _last_month() -> str:
    """The demo's last month, the one the months page shows closed."""
    now = datetime.now(UTC)
    year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    return f"{year:04d}-{month:02d}"


def _sign_last_month(url: str, token: str) -> None:
    """Close the demo's last month, add the downtime a customer reported, record a dispute."""
    headers = {"Authorization": f"Bearer {token}"}
    month = f"{url}/api/v1/months/{_last_month()}"
    httpx.post(f"{month}/close", json={}, headers=headers).raise_for_status()
    day = f"{_last_month()}-12"
    adjusted = httpx.post(
        f"{month}/adjustments",
        json={
            "service": "checkout",
            "action": "add",
            "start": f"{day}T02:00:00Z",
            "end": f"{day}T02:20:00Z",
            "category": "agreed_with_customer",
            "reason": "Card payments failed for the customer; the probes saw nothing",
        },
        headers=headers,
    )
    adjusted.raise_for_status()
    disputed = httpx.post(
        f"{month}/disputes",
        json={
            "service": "search",
            "start": f"{_last_month()}-20T06:00:00Z",
            "end": f"{_last_month()}-20T06:45:00Z",
            "contact": "li.wei@customer.example",
            "reason": "Our users saw no slow searches that morning",
        },
        headers=headers,
    )
    disputed.raise_for_status()


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"slakeeper serve exited with {server.returncode}")
        try:
            ready = httpx.get(f"{url}/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            ready = False  # not listening yet
        if ready:
            return
        time.sleep(0.2)
    raise SystemExit("slakeeper serve did not become ready")


def _shoot(url: str, only: set[str]) -> list[Path]:
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/login")
        page.get_by_label("Username").fill("li.na")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_selector("table.queue")
        first = (
            page.locator("table.queue tbody tr[data-incident]")
            .nth(1)
            .get_attribute("data-incident")
        )
        pages = {
            "queue": "/",
            "incident": f"/incidents/{first}",
            "services": "/services",
            "months": f"/months/{_last_month()}",
        }
        for language in ("en", "zh-CN"):
            for name, path in pages.items():
                if only and name not in only:
                    continue
                page.goto(f"{url}{path}?lang={language}")
                page.wait_for_load_state("networkidle")
                target = OUT / f"{name}-{language}.png"
                page.screenshot(path=str(target), full_page=name != "incident")
                written.append(target)
        browser.close()
    return written


def main(only: set[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{folder}/screenshots.db"
        token = _prepare(database_url)
        port = _free_port()
        env = {**os.environ, "SLAKEEPER_DATABASE_URL": database_url}
        server = subprocess.Popen(
            [BIN / "slakeeper", "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, server)
            _report_incidents(url, token)
            _sign_last_month(url, token)
            for path in _shoot(url, only):
                print(path.relative_to(OUT.parents[1]))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main(set(sys.argv[1:]))
