"""Builders of source payloads for integration tests (the captured fixtures, varied)."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import fixture_json


def webhook(fixture: str = "webhook_firing_critical.json", **changes: Any) -> dict[str, Any]:
    """A captured Alertmanager webhook, with top-level fields changed."""
    payload: dict[str, Any] = fixture_json(f"alertmanager-0.25/{fixture}")
    payload.update(changes)
    return payload


def webhook_alert(
    alertname: str,
    *,
    status: str = "firing",
    starts_at: str = "2026-11-21T22:00:00Z",
    ends_at: str = "0001-01-01T00:00:00Z",
    **labels: str,
) -> dict[str, Any]:
    """One alert of an Alertmanager webhook, without fingerprint (computed from labels)."""
    return {
        "status": status,
        "labels": {"alertname": alertname, **labels},
        "annotations": {"summary": f"{alertname} summary"},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus.local/graph",
    }


def webhook_with(*alerts: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A webhook envelope around `alerts`."""
    return webhook(alerts=list(alerts), **changes)


def dumps(payload: Any) -> str:
    return json.dumps(payload)
