"""Delivering the outbox: each claimed message to its contact's channels, worded for whoever
reads it — for a rotation, the person on shift at the moment it is sent.

A message is claimed and leased (`incident.outbox.claim_due`), its readers are looked up, each
of its channels that has not taken it yet is tried with no transaction open, and the attempts
are recorded with the timeline entry of each delivery ("notified": contact, channel, person)
and the counters. A failure is logged at WARNING with the contact, the channel and the reason
(never a webhook's URL, which may carry a token) and retried with back-off.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from access.models import Account
from core.counters import CounterKey, add_to_counters, counter_key
from core.database import writing_session
from incident.outbox import Attempt, Claimed, claim_due, record_attempts
from incident.store import SYSTEM
from incident.timeline import NewEvent, add_events
from oncall.acklinks import AckGrant, sign_grant
from oncall.acks import signing_key
from oncall.channels import HttpChannel, check_answer, http_request
from oncall.channels.base import ChannelRefused, Message, Recipient
from oncall.channels.email import SmtpSettings, send_email
from oncall.channels.email import compose as compose_email
from oncall.messages import Links, Reader, compose
from oncall.metrics import NOTIFICATIONS_SENT
from oncall.roster import UnknownCalendar, build_rotation
from oncall.rotation import on_call
from oncall.store import active_people, overrides_between, rotation_entries
from rules.policy import RuleFile
from rules.reaching import ChannelSpec, ContactSpec, EmailChannel, WebhookChannel

__all__ = ["Delivery", "Outbound", "Route", "Transport", "routes_of", "send_due"]

log = logging.getLogger(__name__)

# Kinds of message that ask for an acknowledgement: they carry the link.
_ASKING = ("opened", "raised", "escalation", "breach")


@dataclass(frozen=True, slots=True)
class Outbound:
    """How messages leave, as configured: SMTP (None: e-mail is not configured), the
    console's address for links (None: no links), the zone of messages to groups and of
    people without one, and how long an acknowledgement link works."""

    smtp: SmtpSettings | None = None
    public_url: str | None = None
    default_zone: str = "UTC"
    ack_link_lifetime: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Transport:
    """`outbound` with the HTTP client the robots and webhooks are posted with."""

    client: httpx.Client
    outbound: Outbound = Outbound()


@dataclass(frozen=True, slots=True)
class Route:
    """One channel of a contact: `name` in the rule file's `channels` ("" for the contact's
    own `webhook`)."""

    name: str
    spec: ChannelSpec


@dataclass(frozen=True, slots=True)
class _Plan:
    """A claimed message: the channels still to try, its reader, or why it cannot go;
    `nowhere`: its contact has no channel at all (the message is only recorded)."""

    message: Claimed
    routes: tuple[Route, ...]
    reader: Reader | None
    problem: str | None
    nowhere: bool = False


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one round did: messages claimed, and each attempt on a channel."""

    messages: int
    attempts: list[Attempt]


def send_due(
    engine: Engine, *, rules: RuleFile, transport: Transport, now: datetime, limit: int
) -> Delivery:
    """Deliver the messages due at `now` (at most `limit`) and record how each went."""
    with writing_session(engine) as session:
        claimed = claim_due(session, now=now, limit=limit)
        key = signing_key(session, now=now) if claimed and transport.outbound.public_url else None
    if not claimed:
        return Delivery(0, [])
    with Session(engine) as session:
        plans = _plans(session, rules, claimed, transport, now)
    attempts: list[Attempt] = []
    for plan in plans:
        attempts.extend(_deliver(plan, transport, key, now))
    recorded_only = [plan.message.id for plan in plans if plan.nowhere]
    with writing_session(engine) as session:
        record_attempts(session, claimed, attempts, recorded_only=recorded_only, now=now)
        _count_and_tell(session, plans, attempts, now)
    return Delivery(len(claimed), attempts)


def routes_of(contact: ContactSpec, rules: RuleFile) -> tuple[Route, ...]:
    """The channels of `contact`: its own webhook first, then its named channels."""
    routes = []
    if contact.webhook is not None:
        routes.append(
            Route("", WebhookChannel(type="webhook", url=contact.webhook, headers=contact.headers))
        )
    routes.extend(Route(name, rules.spec.channels[name]) for name in contact.channels)
    return tuple(routes)


def _plans(
    session: Session,
    rules: RuleFile,
    claimed: Sequence[Claimed],
    transport: Transport,
    now: datetime,
) -> list[_Plan]:
    """Each message with its remaining channels and reader, or why it cannot be sent."""
    by_contact = _persons(session, rules, {message.contact for message in claimed}, now)
    persons = {message.id: by_contact[message.contact] for message in claimed}
    people = active_people(session, [p for p, _ in persons.values() if p is not None])
    plans = []
    for message in claimed:
        contact = rules.contacts.get(message.contact)
        if contact is None:
            plans.append(
                _Plan(message, (), None, f"contact {message.contact!r} is not in the rule file")
            )
            continue
        every = routes_of(contact, rules)
        routes = tuple(r for r in every if r.name not in message.channels_done)
        person, problem = persons[message.id]
        reader = None
        if person is not None:
            account = people.get(person)
            if account is None:
                problem = f"{person!r} has no active account"
            else:
                reader = _reader_of(account, transport.outbound.default_zone)
        elif problem is None:
            reader = Reader(None, contact.language, transport.outbound.default_zone)
        plans.append(_Plan(message, routes, reader, problem if routes else None, not every))
    return plans


def _persons(
    session: Session, rules: RuleFile, contacts: set[str], now: datetime
) -> dict[str, tuple[str | None, str | None]]:
    """Whom each contact's messages are for now (None: a group), or why nobody can be found:
    the rotations read once for all the messages of a round."""
    found: dict[str, tuple[str | None, str | None]] = {}
    wanted = {}
    for name in contacts:
        contact = rules.contacts.get(name)
        if contact is not None and contact.person is not None:
            found[name] = (contact.person, None)
        elif contact is not None and contact.rotation is not None:
            wanted[name] = contact.rotation
        else:
            found[name] = (None, None)
    if not wanted:
        return found
    entries = rotation_entries(session, rules)
    day = timedelta(days=1)
    overrides = overrides_between(session, sorted(set(wanted.values())), now - day, now + day)
    for name, rotation_name in wanted.items():
        entry = entries.get(rotation_name)
        if entry is None:
            found[name] = (None, f"no rotation named {rotation_name!r}")
            continue
        try:
            rotation = build_rotation(rotation_name, entry.spec, rules)
        except UnknownCalendar as error:
            found[name] = (None, str(error))
            continue
        current = on_call(rotation, overrides[rotation_name], now, horizon=timedelta(hours=1))
        if current.current is None:
            found[name] = (None, f"nobody is on call in rotation {rotation_name!r}")
        else:
            found[name] = (current.current.person, None)
    return found


def _reader_of(account: Account, default_zone: str) -> Reader:
    recipient = Recipient(
        username=account.username,
        display_name=account.display_name or account.username,
        language=account.language or "en",
        email=account.email,
        phone=account.phone,
        chat_ids=dict(account.chat_ids or {}),
    )
    return Reader(recipient, recipient.language, account.timezone or default_zone)


def _deliver(plan: _Plan, transport: Transport, key: bytes | None, now: datetime) -> list[Attempt]:
    message = plan.message
    person = plan.reader.recipient.username if plan.reader and plan.reader.recipient else None
    if plan.problem is not None or plan.reader is None:
        problem = plan.problem or "no reader"
        _warn(message, "-", "-", problem)
        return [Attempt(message.id, message.contact, None, person, False, None, problem, 0.0)]
    attempts = []
    links = _links(message, plan.reader, transport, key, now)
    for route in plan.routes:
        started = time.perf_counter()
        status: int | None = None
        try:
            composed = compose(
                kind=message.reason,
                payload=message.payload,
                channel_type=route.spec.type,
                reader=plan.reader,
                key=message.dedupe_key,
                links=links,
                now=now,
                overrides={str(kind): text for kind, text in route.spec.templates.items()},
            )
            status = _send(route.spec, composed, transport, now)
            error = None
        except (ChannelRefused, httpx.HTTPError, ValueError) as failure:
            status = failure.status if isinstance(failure, _Answered) else None
            kind = "ChannelRefused" if isinstance(failure, _Answered) else type(failure).__name__
            error = f"{kind}: {failure}"[:500]
            _warn(message, route.name or "webhook", route.spec.type, error)
        elapsed = time.perf_counter() - started
        attempts.append(
            Attempt(
                message.id,
                message.contact,
                route.name,
                person,
                error is None,
                status,
                error,
                elapsed,
            )
        )
    return attempts


def _send(spec: ChannelSpec, message: Message, transport: Transport, now: datetime) -> int | None:
    """Deliver `message` on `spec`; the HTTP status (None for e-mail); ChannelRefused if not."""
    if isinstance(spec, EmailChannel):
        if transport.outbound.smtp is None:
            raise ChannelRefused("e-mail is not configured: set SLAKEEPER_SMTP_HOST")
        send_email(
            transport.outbound.smtp,
            compose_email(spec, message, sender=transport.outbound.smtp.sender, now=now),
        )
        return None
    channel: HttpChannel = spec
    request = http_request(channel, message, now=now)
    headers = {**request.headers, "Idempotency-Key": message.key}
    if request.json is not None:
        response = transport.client.post(request.url, json=request.json, headers=headers)
    else:
        response = transport.client.post(request.url, content=request.content, headers=headers)
    try:
        check_answer(channel, response.status_code, response.content)
    except ChannelRefused as refused:
        raise _Answered(response.status_code, str(refused)) from None
    return response.status_code


class _Answered(ChannelRefused):
    """The service answered, and refused: its status is kept with the attempt."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def _links(
    message: Claimed, reader: Reader, transport: Transport, key: bytes | None, now: datetime
) -> Links:
    if transport.outbound.public_url is None or message.incident_id is None:
        return Links()
    base = transport.outbound.public_url.rstrip("/")
    console = f"{base}/incidents/{message.incident_id}"
    state = (message.payload.get("incident") or {}).get("state")
    if key is None or reader.recipient is None or message.reason not in _ASKING or state != "open":
        return Links(console)
    grant = AckGrant.new(
        message.incident_id,
        reader.recipient.username,
        message.id,
        now + transport.outbound.ack_link_lifetime,
    )
    return Links(console, f"{base}/ack/{sign_grant(key, grant)}")


def _warn(message: Claimed, channel: str, kind: str, error: str) -> None:
    log.warning(
        "notification %d (%s, incident %s) to contact %s on channel %s (%s) failed, "
        "retrying with back-off: %s",
        message.id,
        message.reason,
        message.incident_id,
        message.contact,
        channel,
        kind,
        error,
    )


def _count_and_tell(
    session: Session, plans: Sequence[_Plan], attempts: Sequence[Attempt], now: datetime
) -> None:
    """Count each delivery by kind of channel, and write it on the incident's timeline."""
    kinds = {
        (plan.message.id, route.name): route.spec.type for plan in plans for route in plan.routes
    }
    incidents = {plan.message.id: plan.message.incident_id for plan in plans}
    sent: Counter[CounterKey] = Counter()
    events = []
    for attempt in attempts:
        if not attempt.ok or attempt.channel is None:
            continue
        kind = kinds[(attempt.notification_id, attempt.channel)]
        sent[counter_key(NOTIFICATIONS_SENT, channel=kind)] += 1
        incident_id = incidents[attempt.notification_id]
        if incident_id is not None:
            after = {
                "contact": attempt.contact,
                "channel": attempt.channel or kind,
                "person": attempt.person,
            }
            events.append(NewEvent(incident_id, now, SYSTEM, "notified", after=after))
    add_events(session, events)
    add_to_counters(session, sent)
