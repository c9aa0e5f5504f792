"""The alerts slakeeper holds as firing, in the shapes of Alertmanager 0.25's read API.

What `GET /api/v2/alerts` and `GET /api/v2/status` answer, as `amtool` and dashboards such as
karma expect them (the captured answers of the real Alertmanager are
tests/fixtures/alertmanager_v2_alerts.json and alertmanager_v2_status.json). slakeeper holds no
silences or inhibitions and routes nothing, so every alert it lists is `active`, and its
receiver is the one that delivered it.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rules.matchers import Matcher, MatcherError, Regex, compile_regex, parse_matcher

__all__ = [
    "RESOLVE_TIMEOUT",
    "AlertSelection",
    "HeldAlert",
    "InvalidSelection",
    "alertmanager_status",
    "alertmanager_timestamp",
    "expected_end",
    "gettable_alert",
    "parse_filters",
    "receiver_name",
]

# Alertmanager's default `global.resolve_timeout`: how long it keeps an alert that was posted
# without `endsAt` after it last heard of it.
RESOLVE_TIMEOUT = timedelta(minutes=5)


def receiver_name(origin_receiver: str | None, source: str) -> str:
    """The Alertmanager receiver whose webhook delivered an alert, else its source."""
    return origin_receiver or source


@dataclass(frozen=True, slots=True)
class HeldAlert:
    """A firing instance, with what Alertmanager's list shows of it."""

    fingerprint: str
    starts_at: datetime
    last_received_at: datetime
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    generator_url: str
    receiver: str


class InvalidSelection(ValueError):
    """A query parameter of an alert list that does not parse; `parameter` names it."""

    def __init__(self, parameter: str, error: MatcherError) -> None:
        super().__init__(str(error))
        self.parameter = parameter


def parse_filters(filters: Sequence[str]) -> tuple[Matcher, ...]:
    """The label matchers of a `filter` query parameter; InvalidSelection for a bad one."""
    try:
        return tuple(parse_matcher(text) for text in filters)
    except MatcherError as error:
        raise InvalidSelection("filter", error) from None


@dataclass(frozen=True, slots=True)
class AlertSelection:
    """The query of `GET /api/v2/alerts`: its states, label matchers and receiver regex.

    slakeeper holds no silences or inhibitions, so `silenced=false` and `inhibited=false`
    exclude nothing, and `active=false` excludes everything. Alertmanager 0.25 ignores
    `unprocessed`; no alert slakeeper holds is unprocessed either.
    """

    active: bool = True
    matchers: tuple[Matcher, ...] = ()
    receiver: Regex | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, *, active: bool, filters: Sequence[str], receiver: str | None) -> AlertSelection:
        """From the query parameters; InvalidSelection for a bad matcher or receiver regex."""
        matchers = parse_filters(filters)
        try:
            # An empty `receiver` is no filter: Alertmanager's parameter binding drops it.
            regex = compile_regex(receiver) if receiver else None
        except MatcherError as error:
            raise InvalidSelection("receiver", error) from None
        return cls(active=active, matchers=matchers, receiver=regex)

    @property
    def excludes_everything(self) -> bool:
        return not self.active

    @property
    def equality_matchers(self) -> tuple[Matcher, ...]:
        """The matchers a database can apply itself: `=` and `!=`."""
        return tuple(matcher for matcher in self.matchers if not matcher.is_regex)

    def admits(self, alert: HeldAlert) -> bool:
        """Whether `alert` is listed; a receiver regex must match the whole name, as in AM."""
        if self.excludes_everything:
            return False
        if self.receiver is not None and self.receiver.fullmatch(alert.receiver) is None:
            return False
        return all(matcher.matches(alert.labels) for matcher in self.matchers)


def alertmanager_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC at millisecond precision, as Alertmanager's `strfmt.DateTime` writes."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def expected_end(alert: HeldAlert, *, now: datetime) -> datetime:
    """The `endsAt` of a firing alert: one resolve timeout past now, never past due.

    Alertmanager shows the `endsAt` its sender gave, or, for an alert posted without one, the
    moment it last heard of it plus `resolve_timeout`; and it lists no alert whose `endsAt`
    has passed. slakeeper keeps no sender's `endsAt` for a firing alert and holds it firing
    until a resolution arrives, while an Alertmanager webhook repeats a firing only every
    `repeat_interval` (4 h by default): `last_received_at + resolve_timeout` would show most
    held alerts as ended, and a reader such as slakeeper's own reconciliation takes a listed
    alert whose `endsAt` has passed as resolved. So: what Alertmanager would show for an alert
    heard of now, or later if it was heard of later (a sender's clock ahead of ours).
    """
    return max(alert.last_received_at, now) + RESOLVE_TIMEOUT


def gettable_alert(alert: HeldAlert, *, now: datetime) -> dict[str, Any]:
    """`alert` as Alertmanager's `gettableAlert`, its keys in Alertmanager's order."""
    body: dict[str, Any] = {
        "annotations": dict(alert.annotations),
        "endsAt": alertmanager_timestamp(expected_end(alert, now=now)),
        "fingerprint": alert.fingerprint,
        "receivers": [{"name": alert.receiver}],
        "startsAt": alertmanager_timestamp(alert.starts_at),
        "status": {"inhibitedBy": [], "silencedBy": [], "state": "active"},
        "updatedAt": alertmanager_timestamp(alert.last_received_at),
    }
    # Alertmanager omits an empty `generatorURL` (`omitempty`).
    if alert.generator_url:
        body["generatorURL"] = alert.generator_url
    body["labels"] = dict(alert.labels)
    return body


# What `amtool config show` prints. Alertmanager's `config.original` is its configuration file;
# readers such as Grafana parse it as one, so this is a valid Alertmanager configuration (with
# comments for the operator) rather than slakeeper's rule file, whose contacts may carry
# credentials in their headers.
_PRESENTED_CONFIG = """\
# slakeeper {version} answers Alertmanager's read API (GET /api/v2/alerts, GET /api/v2/status)
# with the alerts it holds as firing. It sends no notifications and holds no silences or
# inhibitions: every alert is active. An alert's receiver is the Alertmanager receiver whose
# webhook delivered it, or its source (prometheus, grafana) when it was pushed directly.
route:
  receiver: slakeeper
receivers:
- name: slakeeper
"""


def alertmanager_status(*, version: str, started_at: datetime) -> dict[str, Any]:
    """Alertmanager's `alertmanagerStatus` for a slakeeper of `version` up since `started_at`."""
    return {
        "cluster": {"peers": [], "status": "disabled"},
        "config": {"original": _PRESENTED_CONFIG.format(version=version)},
        "uptime": alertmanager_timestamp(started_at),
        "versionInfo": {
            "branch": "",
            "buildDate": "",
            "buildUser": "",
            "goVersion": f"python{platform.python_version()}",
            "revision": "",
            "version": version,
        },
    }
