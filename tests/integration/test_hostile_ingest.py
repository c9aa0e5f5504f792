"""Generated hostile pushes on the three ingest endpoints: never a 5xx, never a partial write.

Lengths at and past every column size, NUL and control characters, lone surrogates, times at
and past the edges of the calendar, integers past every integer type, ten thousand labels,
bodies that are not UTF-8. Each push is either stored whole, and then listed by the API, or
refused with a 4xx and a JSON error body, and then nothing of it is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

AM = "/api/v1/webhooks/alertmanager"
V2 = "/api/v2/alerts"
GRAFANA = "/api/v1/webhooks/grafana"
Query = Callable[[str], list[Any]]

# The sizes of the columns and identifiers label values end up in (String(16), (32), (64),
# (200), (300), the 1,024-byte service and 2,048-byte group key, PostgreSQL's ~2.7 kB index
# entry), one under, at and one past each.
_EDGES = [16, 32, 64, 200, 300, 1024, 2048, 2712]
LENGTHS = sorted({n + d for n in _EDGES for d in (-1, 0, 1)} | {0, 1, 10_000})

_hostile_chars = st.sampled_from(
    ["a", "Z", "_", " ", '"', "'", "\\", ",", "=", "{", "}", "~", "\x01", "\t", "\n",
     "\r", "\x7f", "\u0085", "\u2028", "é", "支", "😀", "\ufeff", "\uffff"]
)  # fmt: skip
_sized_text = st.builds(
    lambda n, c: c * n, st.sampled_from(LENGTHS), st.sampled_from(["a", "é", "支", "😀"])
)
_ordinary = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30
)
# Mostly values a sender could store, so that pushes get stored too, and then the hostile ones.
_clean_texts = st.one_of(_ordinary, _sized_text)
texts = st.one_of(*[_clean_texts] * 4, st.text(_hostile_chars, min_size=1, max_size=40))
_prometheus_names = st.one_of(
    st.sampled_from(["alertname", "service", "severity", "instance", "job", "level"]),
    st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True),
)
# Mostly label sets a sender could store, so that pushes get stored too; then hostile ones, with
# names Prometheus refuses (Alertmanager's webhook carries any name) and any text as values.
label_sets = st.one_of(
    *[st.dictionaries(_prometheus_names, _clean_texts, max_size=8)] * 3,
    st.dictionaries(st.one_of(_prometheus_names, texts), texts, max_size=8),
)

_EDGE_TIMES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "2026-11-21T22:00:00Z",
    "2026-11-21T22:00:00.123456789+08:00",
    "2262-04-10T23:59:59Z",
    "2262-04-11T00:00:00Z",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999999Z",
    "2026-02-30T00:00:00Z",
    "2026-11-21T22:00:00",
    "",
]
_ordinary_times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2262, 4, 9), timezones=st.timezones()
).map(lambda moment: moment.isoformat())
times = st.one_of(
    *[_ordinary_times] * 10,
    st.just("0001-01-01T00:00:00Z"),
    st.sampled_from(_EDGE_TIMES),
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.none(),
)
_EDGE_INTEGERS = [-1, 0, 2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30]
integers = st.one_of(
    *[st.integers(min_value=0, max_value=2**63 - 1)] * 10,
    st.sampled_from(_EDGE_INTEGERS),
    st.integers(),
    st.floats(),
    texts,
)


@st.composite
def webhook_alerts(draw: st.DrawFn) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": draw(st.sampled_from(["firing", "resolved"] * 8 + ["FIRING", ""])),
        "labels": {"alertname": "Hostile", **draw(label_sets)},
        "annotations": draw(label_sets),
        "startsAt": draw(times),
        "endsAt": draw(times),
        "generatorURL": draw(texts),
    }
    if draw(st.booleans()):
        alert["fingerprint"] = draw(
            st.one_of(texts, *[st.from_regex(r"[0-9a-f]{16}", fullmatch=True)] * 4)
        )
    return alert


@st.composite
def webhooks(draw: st.DrawFn, version: str) -> dict[str, Any]:
    return {
        "version": version,
        "status": draw(st.sampled_from(["firing", "resolved"])),
        "receiver": draw(texts),
        "groupKey": draw(texts),
        "externalURL": draw(texts),
        "truncatedAlerts": draw(integers),
        "groupLabels": draw(label_sets),
        "commonLabels": draw(label_sets),
        "alerts": draw(st.lists(webhook_alerts(), max_size=4)),
    }


@st.composite
def postable_alerts(draw: st.DrawFn) -> list[dict[str, Any]]:
    alerts = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        alerts.append(
            {
                "labels": {"alertname": "Hostile", **draw(label_sets)},
                "annotations": draw(label_sets),
                "startsAt": draw(times),
                "endsAt": draw(times),
                "generatorURL": draw(texts),
            }
        )
    return alerts


# What neither database can hold as text: NUL, and lone surrogates (which JSON can escape).
POISON = ["\x00", "\ud800", "\udfff", "\udc00\ud800"]


def _strings(node: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every string value in `node`."""
    found: list[tuple[Any, Any]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        if isinstance(value, str):
            found.append((node, key))
        elif isinstance(value, dict | list):
            found.extend(_strings(value))
    return found


@st.composite
def poisoned(draw: st.DrawFn, payloads: st.SearchStrategy[Any]) -> Any:
    """A payload, and one time in four one of its strings holding what cannot be stored."""
    payload = draw(payloads)
    strings = _strings(payload)
    if strings and draw(st.sampled_from([False, False, False, True])):
        container, key = draw(st.sampled_from(strings))
        at = draw(st.integers(min_value=0, max_value=len(container[key])))
        container[key] = container[key][:at] + draw(st.sampled_from(POISON)) + container[key][at:]
    return payload


PUSHES = {
    AM: poisoned(webhooks("4")),
    GRAFANA: poisoned(webhooks("1")),
    V2: poisoned(postable_alerts()),
}


def _stored(query: Query) -> tuple[int, int, int]:
    alerts, incidents, deliveries = query(
        "SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM incidents),"
        " (SELECT count(*) FROM deliveries)"
    )[0]
    return alerts, incidents, deliveries


def _push(client: TestClient, query: Query, path: str, body: bytes) -> int:
    before = _stored(query)
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code < 500, f"{response.status_code} {response.text[:500]}"
    assert response.is_success or "error" in response.json(), response.text[:500]
    if response.is_success:
        # What was stored can be listed and read back.
        for listing in ("/api/v1/alerts?limit=500", "/api/v1/incidents?limit=500"):
            read = client.get(listing)
            assert read.status_code == 200, f"{listing}: {read.status_code} {read.text[:500]}"
    else:
        assert response.status_code in {400, 413, 415, 422}, response.text[:500]
        assert _stored(query) == before, f"a refused push wrote rows: {response.text[:300]}"
    status: int = response.status_code
    return status


def _encode(payload: Any) -> bytes:
    # ensure_ascii keeps lone surrogates as JSON escapes, which is what a hostile sender writes.
    return json.dumps(payload).encode()


@pytest.mark.parametrize("path", list(PUSHES))
def test_generated_hostile_pushes_are_stored_or_refused(
    client: TestClient, query: Query, path: str
) -> None:
    statuses: dict[int, int] = {}

    @given(payload=PUSHES[path])
    @settings(
        max_examples=120,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def push(payload: Any) -> None:
        status = _push(client, query, path, _encode(payload))
        statuses[status] = statuses.get(status, 0) + 1

    push()
    print(f"{path}: responses by status {dict(sorted(statuses.items()))}")
    # The generator reaches both sides: pushes stored and pushes refused.
    assert statuses.get(200, 0) > 0 and sum(n for s, n in statuses.items() if s >= 400) > 0


@pytest.mark.parametrize("path", list(PUSHES))
def test_bodies_that_are_not_utf8_json_are_refused(
    client: TestClient, query: Query, path: str
) -> None:
    @given(body=st.one_of(st.binary(max_size=200), st.text().map(lambda t: t.encode("utf-16"))))
    @settings(max_examples=60, derandomize=True, deadline=None, database=None)
    def push(body: bytes) -> None:
        try:
            json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            assert _push(client, query, path, body) in {400, 415, 422}

    push()
    latin1 = json.dumps({"version": "4", "alerts": [{"labels": {"s": "é"}}]}).replace(
        "\\u00e9", "é"
    )
    assert _push(client, query, path, latin1.encode("latin-1")) in {400, 422}


def test_ten_thousand_labels_are_stored_whole(client: TestClient, query: Query) -> None:
    labels = {f"label_{n}": f"value {n}" for n in range(10_000)}
    alert = {
        "status": "firing",
        "labels": {"alertname": "Wide", "service": "wide", **labels},
        "startsAt": "2026-11-21T22:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
    }
    body = _encode({"version": "4", "status": "firing", "receiver": "r", "alerts": [alert]})
    assert _push(client, query, AM, body) == 200
    (stored,) = client.get("/api/v1/alerts", params={"service": "wide"}).json()["items"]
    assert len(stored["labels"]) == 10_002 and stored["labels"]["label_9999"] == "value 9999"
