"""Reading an Alertmanager's API: `GET /api/v2/alerts` and `GET /api/v2/status`.

What Alertmanager 0.25 answers was checked against the real binary (the captured answer is
tests/fixtures/alertmanager_v2_alerts.json). Errors never quote credentials or queries of
the configured URL: a proxy's token may be in either.
"""

from __future__ import annotations

import httpx
from pydantic import (
    ValidationError,
)

from collector.alertmanager_answers import AlertmanagerSnapshot, parse_alerts, parse_started_at

__all__ = [
    "AlertmanagerUnavailable",
    "alertmanager_endpoint",
    "read_alertmanager",
    "scrubbed_error",
    "shown_url",
]


class AlertmanagerUnavailable(Exception):
    """Alertmanager could not be read (unreachable, an error status or an unreadable answer);
    reconciliation changed nothing."""


def alertmanager_endpoint(alertmanager_url: str, path: str) -> httpx.URL:
    """`path` under Alertmanager's URL, keeping its route prefix (`http://h/am` + `/api/v2/x`)."""
    try:
        base = httpx.URL(alertmanager_url)
    except httpx.InvalidURL:
        # The error would quote the URL, and with it any credentials.
        raise ValueError("the Alertmanager URL is not a valid URL") from None
    if base.scheme not in {"http", "https"} or not base.host:
        raise ValueError("the Alertmanager URL must be an http:// or https:// URL with a host")
    return base.copy_with(path=base.path.rstrip("/") + path)


def shown_url(url: httpx.URL) -> str:
    """`url` fit for a message: no credentials, no query (it may carry a token)."""
    return str(url.copy_with(userinfo=b"", query=None, fragment=None))


def read_alertmanager(client: httpx.Client, alertmanager_url: str) -> AlertmanagerSnapshot:
    """Alertmanager's alerts, then its start time; AlertmanagerUnavailable if it cannot say."""
    # Alerts first: if Alertmanager restarts between the two reads, the status shows the new
    # process' start and the grace protects a list that may be the new, empty one.
    alerts_url = alertmanager_endpoint(alertmanager_url, "/api/v2/alerts")
    every_state = dict.fromkeys(("active", "silenced", "inhibited", "unprocessed"), "true")
    alerts_body = _get(client, alerts_url, every_state)
    status_url = alertmanager_endpoint(alertmanager_url, "/api/v2/status")
    status_body = _get(client, status_url, {})
    try:
        return AlertmanagerSnapshot(parse_alerts(alerts_body), parse_started_at(status_body))
    except ValueError as error:
        raise AlertmanagerUnavailable(
            f"Alertmanager at {shown_url(alerts_url)} answered something that is not its API's: "
            f"{_first_problem(error)}"
        ) from None


def _get(client: httpx.Client, url: httpx.URL, params: dict[str, str]) -> bytes:
    try:
        # Merged, not replaced: a query in the configured URL (a proxy's token) is kept.
        response = client.get(url.copy_merge_params(params))
    except httpx.HTTPError as error:
        # `from None`: a chained traceback would show the request, credentials included.
        raise AlertmanagerUnavailable(
            f"cannot reach Alertmanager at {shown_url(url)}: {scrubbed_error(error, url)}"
        ) from None
    if not response.is_success:
        raise AlertmanagerUnavailable(
            f"Alertmanager at {shown_url(url)} answered HTTP {response.status_code}"
        )
    return response.content


def scrubbed_error(error: httpx.HTTPError, url: httpx.URL) -> str:
    """`error` as text, with `url`'s credentials and query values, should it quote them,
    hidden (whole first, then parts)."""
    text = f"{type(error).__name__}: {error}"
    parts = (url.query.decode(), url.userinfo.decode(), url.password, url.username)
    query_values = (value for _name, value in url.params.multi_items())
    for secret in (*parts, *query_values):
        if secret:
            text = text.replace(secret, "***")
    return text


def _first_problem(error: ValueError) -> str:
    if isinstance(error, ValidationError):
        # Pydantic's message would quote the input; its location and reason are enough.
        first = error.errors(include_input=False)[0]
        return f"{'.'.join(map(str, first['loc'])) or '(body)'}: {first['msg']}"
    return str(error)
