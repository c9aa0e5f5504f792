"""A generic JSON webhook: the message's payload, or the body the channel's template renders
(pure: builds the request, reads the answer).

The template is Jinja in a sandbox, autoescape off, undefined names an error, with `message`,
`payload`, `recipient` and `incident` (`payload["incident"]`) and a `tojson` filter that
writes any value as JSON (non-ASCII kept, dates as ISO strings), as in
`{"title": {{ message.title | tojson }}}`.
The body is checked to be JSON unless the channel's headers name another Content-Type. Every
request carries the channel's headers and `Idempotency-Key: <message key>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from oncall.channels.answers import refuse_http_error
from oncall.channels.base import HttpRequest, Message
from rules.reaching import WebhookChannel

__all__ = ["WebhookTemplateFailed", "check", "render_body", "request"]

_JSON = "application/json"


class WebhookTemplateFailed(ValueError):
    """The channel's body template did not render, or did not render JSON."""


def request(channel: WebhookChannel, message: Message, *, now: datetime) -> HttpRequest:
    """The POST of `message` to the webhook: its payload as JSON, or its template's body."""
    headers = {
        name: value for name, value in channel.headers.items() if name.lower() != "idempotency-key"
    }
    content_type = next(
        (value for name, value in headers.items() if name.lower() == "content-type"), None
    )
    if content_type is None:
        headers["Content-Type"] = content_type = _JSON
    headers["Idempotency-Key"] = message.key
    if channel.template is None:
        return HttpRequest(url=channel.url, headers=headers, json=dict(message.payload))
    body = render_body(channel.template, message)
    if content_type.split(";")[0].strip().lower() == _JSON:
        try:
            json.loads(body)
        except ValueError as error:
            raise WebhookTemplateFailed(f"the template did not render JSON: {error}") from None
    return HttpRequest(url=channel.url, headers=headers, content=body.encode())


def render_body(template: str, message: Message) -> str:
    """The body `template` renders for `message`."""
    payload: Mapping[str, Any] = message.payload
    try:
        return _compiled(template).render(
            message=message,
            payload=payload,
            recipient=message.recipient,
            incident=payload.get("incident"),
        )
    except TemplateError as error:
        raise WebhookTemplateFailed(f"the template failed: {error}") from None


def _tojson(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_plain)


def _plain(value: Any) -> Any:
    """What JSON can write for a value it cannot: a mapping's dict, a dataclass's fields."""
    if isinstance(value, Mapping):
        return dict(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in fields(value)}
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _environment() -> SandboxedEnvironment:
    environment = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
    environment.filters["tojson"] = _tojson
    return environment


_ENVIRONMENT = _environment()


@lru_cache(maxsize=64)
def _compiled(template: str) -> Template:
    try:
        return _ENVIRONMENT.from_string(template)
    except TemplateError as error:
        raise WebhookTemplateFailed(f"the template does not parse: {error}") from None


def check(status: int, body: bytes) -> None:
    """Raise `ChannelRefused` for an HTTP status of 300 or more; any 2xx is taken."""
    refuse_http_error(status, body)
