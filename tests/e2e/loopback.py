"""In-process HTTP endpoints on loopback that the real processes talk to.

- `ScrapeTarget`: what Prometheus scrapes; a test sets a gauge per label set (an error ratio,
  a switch), so Prometheus' own rule evaluation fires and resolves alerts;
- `WebhookRelay`: a hop between Alertmanager and slakeeper that can swallow a notification
  (answering 200, as a broken proxy would), so that the sender believes it delivered it;
- `contact_messages`: what slakeeper's notifications brought to the contacts' webhooks (a
  `tests.integration.receiver.WebhookReceiver`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.e2e.support import LOOPBACK
from tests.integration.receiver import WebhookReceiver

__all__ = ["Relayed", "ScrapeTarget", "WebhookRelay", "contact_messages"]

Labels = tuple[tuple[str, str], ...]


class _LoopbackServer:
    """A threading HTTP server on a free loopback port, serving until `close()`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self._server = ThreadingHTTPServer((LOOPBACK, 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class _QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass

    def reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class ScrapeTarget(_LoopbackServer):
    """Serves gauges in the text exposition format; `set` and `remove` change them."""

    def __init__(self) -> None:
        self._values: dict[str, dict[Labels, float]] = {}
        self._lock = threading.Lock()
        target = self

        class Handler(_QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                self.reply(200, target.exposition(), "text/plain; version=0.0.4")

        super().__init__(Handler, "e2e-scrape-target")

    def set(self, name: str, labels: Mapping[str, str], value: float) -> None:
        with self._lock:
            self._values.setdefault(name, {})[tuple(sorted(labels.items()))] = value

    def remove(self, name: str, labels: Mapping[str, str]) -> None:
        """Drop the series: Prometheus marks it stale, and alerts on it resolve."""
        with self._lock:
            self._values.get(name, {}).pop(tuple(sorted(labels.items())), None)

    def exposition(self) -> bytes:
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self._values.items()):
                lines.append(f"# TYPE {name} gauge")
                for labels, value in series.items():
                    pairs = ",".join(f'{key}="{_escaped(text)}"' for key, text in labels)
                    lines.append(f"{name}{{{pairs}}} {value!r}")
        return "".join(f"{line}\n" for line in lines).encode()


@dataclass(frozen=True)
class Relayed:
    """One webhook the relay received, and whether it went on (`dropped` False) or not."""

    path: str
    payload: Any
    dropped: bool


class WebhookRelay(_LoopbackServer):
    """Forwards `POST /<name>` to `targets[name]`, answering what the target answers (502 if
    it cannot be reached, so the sender retries); a payload `drop_when` accepts is answered
    200 and goes nowhere."""

    def __init__(self) -> None:
        self.targets: dict[str, str] = {}
        self.log: list[Relayed] = []
        self._drop_when: Callable[[Any], bool] = lambda _payload: False
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=10, trust_env=False)
        relay = self

        class Handler(_QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, answer = relay.forward(self.path, body, self.headers.get("Content-Type"))
                self.reply(status, answer)

        super().__init__(Handler, "e2e-webhook-relay")

    def drop_when(self, predicate: Callable[[Any], bool]) -> None:
        with self._lock:
            self._drop_when = predicate

    def forward(self, path: str, body: bytes, content_type: str | None) -> tuple[int, bytes]:
        payload = json.loads(body or b"null")
        with self._lock:
            dropped = self._drop_when(payload)
            self.log.append(Relayed(path, payload, dropped))
            target = self.targets.get(path.strip("/"))
        if dropped:
            return 200, b"dropped"
        if target is None:
            return 404, f"no target for {path}".encode()
        try:
            response = self._client.post(
                target, content=body, headers={"Content-Type": content_type or "application/json"}
            )
        except httpx.TransportError as error:
            return 502, str(error).encode()
        return response.status_code, response.content

    def received(self, predicate: Callable[[Relayed], bool]) -> list[Relayed]:
        with self._lock:
            return [entry for entry in self.log if predicate(entry)]

    def close(self) -> None:
        super().close()
        self._client.close()


def contact_messages(
    receiver: WebhookReceiver, path_prefix: str, **fields: Any
) -> list[dict[str, Any]]:
    """Bodies of the notifications posted under `path_prefix` whose top-level `fields` (and
    `incident_id`, matched against `incident.id`) have the given values."""
    incident_id = fields.pop("incident_id", None)
    return [
        message.body
        for message in list(receiver.received)
        if message.path.startswith(path_prefix)
        and all(message.body.get(key) == value for key, value in fields.items())
        and (incident_id is None or message.body["incident"]["id"] == incident_id)
    ]
