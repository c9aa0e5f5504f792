"""The rule file's sections on reaching people: contacts, their channels, and on-call rotations.

A contact is who hears of an incident: a rotation (whoever is on shift when the message is
sent), a person, or nobody in particular (a group); and the channels it is reached on, named in
the `channels` section. Channel settings may take secrets from the environment: `${NAME}` in a
string is replaced by the variable's value when the file is loaded, so the file itself can be
kept in version control.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from jinja2 import Environment, TemplateSyntaxError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    WithJsonSchema,
    model_validator,
)

from rules.durations import Duration, parse_duration
from rules.fields import TimeZoneName

__all__ = [
    "KINDS",
    "LANGUAGES",
    "ChannelSpec",
    "ContactSpec",
    "DingTalkChannel",
    "EmailChannel",
    "FeishuChannel",
    "LayerSpec",
    "RotationSpec",
    "SlackChannel",
    "WeComChannel",
    "WebhookChannel",
    "expand_environment",
    "reference_problems",
]

# What a message is about; a channel's `templates` may override the layout of each.
KINDS = ("opened", "raised", "escalation", "breach", "resolved", "closed", "reopened")
LANGUAGES = ("en", "zh-CN")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}\Z")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\Z")


def expand_environment(value: Any) -> Any:
    """`value` with every `${NAME}` in its strings replaced by the environment variable."""
    if isinstance(value, str):

        def variable(found: re.Match[str]) -> str:
            name = found.group(1)
            if name not in os.environ:
                raise ValueError(f"environment variable {name} is not set")
            return os.environ[name]

        return _VARIABLE.sub(variable, value)
    if isinstance(value, dict):
        return {key: expand_environment(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_environment(item) for item in value]
    return value


def _username(value: str) -> str:
    if not _USERNAME.match(value):
        raise ValueError(f"invalid username {value!r}: 1-100 letters, digits, '.', '_', '@' or '-'")
    return value


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"invalid e-mail address {value!r}")
    return value


def _shift(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a duration such as 12h, 1d or 1w, got {value!r}")
    duration = parse_duration(value)
    if duration.business_days is not None or duration.value.total_seconds() < 3600:
        raise ValueError(
            f"a shift is at least an hour of wall-clock time (12h, 1d, 1w), got {value}"
        )
    if duration.value.total_seconds() % 60:
        raise ValueError(f"a shift is whole minutes, got {value}")
    if duration.value.days > 366:
        raise ValueError(f"a shift is at most a year, got {value}")
    return duration


def _local_time(value: Any) -> datetime:
    """A hand-off as the rotation's zone reads it: `2026-11-02T09:00`, no offset."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if not 1970 <= moment.year <= 2200:
        raise ValueError(f"a hand-off between 1970 and 2200, got {moment.isoformat()}")
    if moment.tzinfo is not None:
        raise ValueError(
            "a hand-off is a local time without an offset (2026-11-02T09:00): "
            "the rotation's timezone says where"
        )
    return moment


Username = Annotated[str, AfterValidator(_username)]
Address = Annotated[str, AfterValidator(_address)]
Url = Annotated[str, Field(pattern=r"^https?://[^\s/]+", max_length=2000)]
Shift = Annotated[Duration, BeforeValidator(_shift), PlainSerializer(str)]
LocalTime = Annotated[
    datetime,
    BeforeValidator(_local_time),
    # A local time has no offset: not an RFC 3339 date-time, whatever pydantic would say.
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$",
            "examples": ["2026-11-02T09:00"],
            "description": "a local time in the rotation's zone, without an offset",
        }
    ),
]
TemplateName = Literal[
    "opened", "raised", "escalation", "breach", "resolved", "closed", "reopened", "default"
]
Templates = dict[TemplateName, str]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Channel(_Section):
    # Jinja text that replaces the shipped layout of a message kind ("default": of every kind).
    templates: Templates = Field(default_factory=dict)


class EmailChannel(_Channel):
    """E-mail through the SMTP server of the settings: to the person, and to `to`."""

    type: Literal["email"]
    to: list[Address] = Field(default_factory=list)


class DingTalkChannel(_Channel):
    """A DingTalk group robot; `secret` turns on its signing (加签)."""

    type: Literal["dingtalk"]
    url: Url
    secret: SecretStr | None = None


class WeComChannel(_Channel):
    """A WeCom (企业微信) group robot."""

    type: Literal["wecom"]
    url: Url


class FeishuChannel(_Channel):
    """A Feishu (飞书) / Lark custom bot; `secret` turns on its signature check."""

    type: Literal["feishu"]
    url: Url
    secret: SecretStr | None = None


class SlackChannel(_Channel):
    """A Slack incoming webhook."""

    type: Literal["slack"]
    url: Url


class WebhookChannel(_Channel):
    """A JSON webhook: the message as JSON, or the body `template` renders, with `headers`."""

    type: Literal["webhook"]
    url: Url
    headers: dict[str, str] = Field(default_factory=dict)
    template: str | None = None


ChannelSpec = Annotated[
    EmailChannel | DingTalkChannel | WeComChannel | FeishuChannel | SlackChannel | WebhookChannel,
    Field(discriminator="type"),
]


class ContactSpec(_Section):
    """Who hears of an incident, and on which channels (names of the `channels` section).

    `rotation`: whoever is on shift when a message is sent; `person`: one person; neither: a
    group. `webhook` (and `headers`) is the older form of one webhook channel. Without a
    channel, notifications are only recorded.
    """

    rotation: str | None = Field(default=None, max_length=64)
    person: Username | None = None
    channels: list[str] = Field(default_factory=list)
    # The language of messages to a group; a person gets theirs.
    language: Literal["en", "zh-CN"] = "en"
    webhook: Url | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_recipient(self) -> ContactSpec:
        if self.rotation is not None and self.person is not None:
            raise ValueError("a contact is a rotation or a person, not both")
        return self


class LayerSpec(_Section):
    """Participants taking turns: each holds a `shift`, the first from `handoff` on, in the
    rotation's zone; with `calendar`, the layer covers only while that calendar is open."""

    participants: list[Username] = Field(min_length=1)
    shift: Shift
    handoff: LocalTime
    calendar: str | None = Field(default=None, max_length=64)


class RotationSpec(_Section):
    """A rotation: its layers, the later covering the earlier where both have someone."""

    timezone: TimeZoneName | None = None
    layers: list[LayerSpec] = Field(min_length=1)


Location = tuple[str | int, ...]


def reference_problems(
    contacts: dict[str, ContactSpec],
    channels: dict[str, Any],
    rotations: dict[str, RotationSpec],
    calendars: list[str],
) -> list[tuple[Location, str]]:
    """Channels and calendars named but not defined, and templates that do not parse.

    A contact's rotation is not checked here: rotations may also be created through the API,
    so an unknown one is reported when a message for it is sent (and at start).
    """
    problems: list[tuple[Location, str]] = []
    defined = list(channels)
    for name, contact in contacts.items():
        for index, channel in enumerate(contact.channels):
            if channel not in defined:
                known = ", ".join(defined) or "none"
                problems.append(
                    (
                        ("contacts", name, "channels", index),
                        f"unknown channel {channel!r}; defined: {known}",
                    )
                )
    for name, rotation in rotations.items():
        for index, layer in enumerate(rotation.layers):
            if layer.calendar is not None and layer.calendar not in calendars:
                problems.append(
                    (
                        ("rotations", name, "layers", index, "calendar"),
                        f"unknown calendar {layer.calendar!r}; defined: {', '.join(calendars)}",
                    )
                )
    for name, channel in channels.items():
        texts = {f"templates.{kind}": text for kind, text in channel.templates.items()}
        if getattr(channel, "template", None) is not None:
            texts["template"] = channel.template
        for where, text in texts.items():
            try:
                _TEMPLATES.parse(text)
            except TemplateSyntaxError as error:
                location = ("channels", name, *where.split("."))
                problems.append(
                    (location, f"invalid template: {error.message} (line {error.lineno})")
                )
    return problems


_TEMPLATES = Environment(autoescape=False)
