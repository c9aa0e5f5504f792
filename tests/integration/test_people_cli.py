"""`slakeeper users` and `slakeeper tokens` as an admin runs them, against a running server,
on SQLite and PostgreSQL; and no token or password ever reaches the server's log."""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.integration.processes import SLAKEEPER, Server, clean_environment, run

PASSWORD = "a long enough passphrase"
Serve = Callable[..., Server]
Query = Callable[[str], list[Any]]


def cli(
    database_url: str, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [SLAKEEPER, *args, "--database-url", database_url],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(),
    )
    assert result.returncode == 0, result.stderr
    return result


def eventually_refused(url: str, headers: dict[str, str], timeout: float = 15) -> float:
    """Seconds until `url` answers 401 with `headers` (a revocation reaching the server)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if httpx.get(url, headers=headers).status_code == 401:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"still accepted after {timeout} s")


def test_the_first_admin_a_tool_and_their_tokens_from_the_command_line(
    database_url: str, serve: Serve, tmp_path: Path, query: Query
) -> None:
    cli(
        database_url, "users", "add", "root", "--role", "admin", "--password", stdin=PASSWORD + "\n"
    )
    cli(database_url, "users", "add", "alertmanager", "--service", "--may-ingest")
    admin_token = cli(database_url, "tokens", "create", "--user", "root", "--name", "laptop").stdout
    admin_token = admin_token.strip()
    ingest = cli(database_url, "tokens", "create", "--user", "alertmanager", "--name", "am")
    ingest_token = ingest.stdout.strip()
    assert "scope ingest" in ingest.stderr and ingest_token not in ingest.stderr
    listing = cli(database_url, "users", "list").stdout
    assert "root" in listing and "alertmanager" in listing and "service" in listing

    server = serve("--database-url", database_url, "--log-level", "debug", "--access-log")
    admin = {"Authorization": f"Bearer {admin_token}"}
    me = httpx.get(f"{server.url}/api/v1/me", headers=admin)
    assert me.status_code == 200 and me.json()["role"] == "admin"
    assert httpx.get(f"{server.url}/api/v1/incidents").status_code == 401
    # Alertmanager's basic_auth: the password is the token.
    basic = base64.b64encode(f"alertmanager:{ingest_token}".encode()).decode()
    push = httpx.post(
        f"{server.url}/api/v2/alerts",
        json=[{"labels": {"alertname": "DiskFull", "service": "payments"}}],
        headers={"Authorization": f"Basic {basic}"},
    )
    assert push.status_code == 200, push.text
    login = httpx.post(
        f"{server.url}/api/v1/login", json={"username": "root", "password": PASSWORD}
    )
    assert login.status_code == 200
    wrong = httpx.post(
        f"{server.url}/api/v1/login", json={"username": "root", "password": "x" * 20}
    )
    assert wrong.status_code == 401

    tokens = cli(database_url, "tokens", "list").stdout
    assert admin_token not in tokens and ingest_token not in tokens
    assert "slk_" + admin_token[4:16] in tokens
    [(ingest_id,)] = query("SELECT id FROM api_tokens WHERE name = 'am'")
    cli(database_url, "tokens", "revoke", str(ingest_id))
    refused = httpx.post(
        f"{server.url}/api/v2/alerts", json=[], headers={"Authorization": f"Basic {basic}"}
    )
    # The server had verified it a moment ago: the revocation reaches it within 10 s.
    assert refused.status_code in (200, 401)
    cli(database_url, "users", "disable", "root")
    waited = eventually_refused(f"{server.url}/api/v1/me", admin)
    assert waited < 12
    actions = query("SELECT actor, action FROM audit_events ORDER BY id")
    assert ("cli:" + actions[0][0].split(":", 1)[1], "user.create") == actions[0]
    assert ("root", "login") in actions
    assert [a for _, a in actions].count("token.revoke") == 1

    server.process.terminate()
    server.process.wait(15)
    log = "".join(path.read_text() for path in tmp_path.glob("serve-*.log"))
    assert "GET /api/v1/me" in log  # the access log ran
    for secret in (admin_token, ingest_token, PASSWORD, basic, admin_token[17:]):
        assert secret not in log


def test_users_add_refuses_a_short_password_and_a_taken_name(database_url: str) -> None:
    cli(database_url, "users", "add", "ana", "--role", "operator")
    again = run("users", "add", "ana", "--role", "viewer", "--database-url", database_url)
    assert again.returncode != 0 and "exists already" in again.stderr
    short = subprocess.run(
        [
            SLAKEEPER,
            "users",
            "add",
            "bo",
            "--role",
            "viewer",
            "--password",
            "--database-url",
            database_url,
        ],
        input="short\n",
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=60,
    )
    assert short.returncode != 0 and "at least 12 characters" in short.stderr
    missing = run(
        "tokens", "create", "--user", "nobody", "--name", "x", "--database-url", database_url
    )
    assert missing.returncode != 0 and "no account named 'nobody'" in missing.stderr
