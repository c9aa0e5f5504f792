"""Messages about incidents as people read them: worded in the reader's language with times in
their zone (in Python, from the `oncall` catalogue), then laid out for the channel by a
template: the files in `oncall/templates`, or a channel's `templates` in the rule file, which
replace them for one kind of message or all ("default").

Every template gets the same context: `kind`, `headline` (one line), `facts` (label, value
pairs), `link` and `ack_link` (may be None) with their labels `open_label` and `ack_label`,
`incident` and `details` (the queued JSON), `recipient` (None for a group), `language`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from core.humane import catalogue, duration, local_time
from oncall.channels.base import Message, Recipient

__all__ = ["LAYOUTS", "Links", "Reader", "compose", "slack_escape"]

# The shipped layout of each kind of channel; `html` is e-mail's second part.
LAYOUTS = {
    "dingtalk": "markdown.j2",
    "wecom": "markdown.j2",
    "feishu": "feishu.j2",
    "slack": "slack.j2",
    "email": "email.txt.j2",
    "webhook": "email.txt.j2",
}
Gettext = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads a message: a person (`recipient`) or a group, in a language and a zone."""

    recipient: Recipient | None
    language: str
    zone: str


@dataclass(frozen=True, slots=True)
class Links:
    """The incident's console page, and the link that acknowledges it as the reader."""

    console: str | None = None
    ack: str | None = None


def compose(
    *,
    kind: str,
    payload: Mapping[str, Any],
    channel_type: str,
    reader: Reader,
    key: str,
    links: Links,
    now: datetime,
    overrides: Mapping[str, str] | None = None,
) -> Message:
    """The message of `kind` about the queued `payload`, for `reader`, on a channel of
    `channel_type` (whose rule-file `overrides` replace the shipped layout)."""
    gettext = _gettext(reader.language)
    context = _context(kind, payload, reader, links, now, gettext)
    override = (overrides or {}).get(kind) or (overrides or {}).get("default")
    if override is not None:
        text, html = _override(override).render(context), None
    else:
        text = _layouts().get_template(LAYOUTS[channel_type]).render(context)
        html = (
            _html_layouts().get_template("email.html.j2").render(context)
            if channel_type == "email"
            else None
        )
    # What a webhook without a template sends: the queued JSON as it always was, and beside
    # it the words, the reader and the links.
    sent = {
        "title": context["headline"],
        "text": text,
        "person": reader.recipient.username if reader.recipient else None,
        "links": {"console": links.console, "acknowledge": links.ack},
        **payload,
    }
    return Message(
        kind=kind,
        title=context["headline"],
        text=text.strip() + "\n",
        key=key,
        payload=sent,
        recipient=reader.recipient,
        html=html,
        link=links.console,
        ack_link=links.ack,
        link_label=context["open_label"],
        ack_label=context["ack_label"],
    )


@cache
def _gettext(language: str) -> Gettext:
    return cache(catalogue("oncall", "messages", language).gettext)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark, do not translate here"
    return message


# Values worded from the queued JSON, listed so that `make messages` extracts them.
VALUES = (
    *(N_("open"), N_("acknowledged"), N_("resolved"), N_("closed")),
    *(N_("phone"), N_("email"), N_("portal"), N_("chat"), N_("other")),
    *(N_("%(days)d d %(hours)d h"), N_("%(hours)d h %(minutes)02d min")),
    *(N_("%(minutes)d min"), N_("%(seconds)d s")),
)


def slack_escape(text: object) -> str:
    """`text` as Slack's mrkdwn needs it: &, < and > escaped (they delimit its links)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@cache
def _layouts() -> Environment:
    environment = Environment(
        loader=PackageLoader("oncall", "templates"),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["slack"] = slack_escape
    return environment


@cache
def _html_layouts() -> Environment:
    return Environment(
        loader=PackageLoader("oncall", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )


_SANDBOX = SandboxedEnvironment(autoescape=False, trim_blocks=True, lstrip_blocks=True)
_SANDBOX.filters["slack"] = slack_escape


@cache
def _override(source: str) -> Template:
    return _SANDBOX.from_string(source)


def _context(
    kind: str,
    payload: Mapping[str, Any],
    reader: Reader,
    links: Links,
    now: datetime,
    gettext: Gettext,
) -> dict[str, Any]:
    _ = gettext
    incident = _mapping(payload.get("incident"))
    details = _mapping(payload.get("details"))
    event = _event(kind, incident, details, gettext)
    headline = _("[%(priority)s] %(event)s: %(service)s — %(title)s") % {
        "priority": incident.get("priority", "?"),
        "event": event,
        "service": incident.get("service", "?"),
        "title": incident.get("title", ""),
    }
    return {
        "kind": kind,
        "headline": headline,
        "facts": _facts(kind, incident, details, reader.zone, now, gettext),
        "link": links.console,
        "ack_link": links.ack,
        "open_label": _("Open in the console"),
        "ack_label": _("Acknowledge"),
        "incident": incident,
        "details": details,
        "recipient": reader.recipient,
        "language": reader.language,
    }


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _event(
    kind: str, incident: Mapping[str, Any], details: Mapping[str, Any], gettext: Gettext
) -> str:
    _ = gettext
    if kind == "raised":
        return _("Raised to %(level)s") % {"level": incident.get("level")}
    if kind == "escalation":
        return _("Escalation step %(step)s") % {"step": details.get("step", "?")}
    if kind == "breach":
        if details.get("kind") == "response":
            return _("Response target missed")
        return _("Resolution target missed")
    events = {
        "opened": _("Opened"),
        "resolved": _("Resolved"),
        "closed": _("Closed"),
    }
    return events.get(kind, kind)


def _facts(
    kind: str,
    incident: Mapping[str, Any],
    details: Mapping[str, Any],
    zone: str,
    now: datetime,
    gettext: Gettext,
) -> list[tuple[str, str]]:
    _ = gettext

    def when(field: str) -> str:
        return local_time(incident.get(field), zone)

    facts = [
        (_("Service"), str(incident.get("service", ""))),
        (_("Priority"), f"{incident.get('priority')} ({incident.get('level') or '—'})"),
        (_("State"), _(str(incident.get("state", "")))),
        (_("Opened at"), when("opened_at")),
    ]
    if incident.get("acknowledged_at"):
        facts.append(
            (_("Acknowledged"), f"{when('acknowledged_at')} · {incident.get('acknowledged_by')}")
        )
    elif incident.get("response_due_at"):
        facts.append((_("Response due"), _clock(incident["response_due_at"], zone, now, gettext)))
    if incident.get("resolved_at"):
        facts.append((_("Resolved at"), f"{when('resolved_at')} · {incident.get('resolved_by')}"))
    elif incident.get("resolution_due_at"):
        facts.append(
            (_("Resolution due"), _clock(incident["resolution_due_at"], zone, now, gettext))
        )
    if kind == "closed" and incident.get("closed_by"):
        facts.append((_("Confirmed by"), str(incident["closed_by"])))
    if kind == "escalation":
        facts.append(
            (
                _("Escalation"),
                _("step %(step)s, %(after)s after opening")
                % {"step": details.get("step", "?"), "after": details.get("after", "?")},
            )
        )
    if incident.get("reporter"):
        facts.append(
            (
                _("Reported by"),
                f"{incident['reporter']} ({_(str(incident.get('channel') or 'other'))})",
            )
        )
    elif incident.get("alert_count"):
        facts.append((_("Alerts"), str(incident["alert_count"])))
    return facts


def _clock(due: str, zone: str, now: datetime, gettext: Gettext) -> str:
    _ = gettext
    left = datetime.fromisoformat(due) - now
    span = duration(left, gettext)
    relative = (_("overdue by %(span)s") if left < timedelta(0) else _("in %(span)s")) % {
        "span": span
    }
    return f"{local_time(due, zone)} ({relative})"
