"""A year of alerts and incidents, generated: rows for the bulk loader, no I/O.

Incidents are spread evenly over the year, in time order, each with a handful of alert
instances (a few with hundreds) of one group (service + alert name) and a timeline; between
them come info-level alerts that open no incident. Ids are assigned in time order, as
ingestion assigns them. Times are whole seconds since the epoch; the loaders turn them into
each database's form. The same sizes and seed give the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "ALERT_COLUMNS",
    "EVENT_COLUMNS",
    "INCIDENT_COLUMNS",
    "ALERT_NAMES",
    "Chunk",
    "Sizes",
    "chunks",
    "service_name",
]

YEAR_S = 365 * 86_400
CHUNK_INCIDENTS = 5_000
INFO_SHARE = 0.05  # alerts of the info level: recorded, no incident
ACTIVE_INCIDENTS = 300  # the newest incidents still open or acknowledged

# alert name -> level, priority, category, impact, job (what the shipped rules would say)
ALERT_NAMES: dict[str, tuple[str, str, str, str, str]] = {
    "InstanceDown": ("critical", "P2", "hardware", "outage", "node"),
    "TargetDown": ("critical", "P2", "hardware", "outage", "blackbox"),
    "ServiceUnavailable": ("critical", "P1", "software", "outage", "blackbox"),
    "HighErrorRate": ("critical", "P2", "software", "degraded", "api"),
    "HighLatency": ("warning", "P3", "software", "degraded", "api"),
    "DiskFilling": ("warning", "P3", "hardware", "none", "node"),
    "MemoryPressure": ("warning", "P3", "hardware", "none", "node"),
    "CPUThrottling": ("warning", "P4", "configuration", "none", "node"),
    "CertificateExpiring": ("warning", "P4", "security", "none", "blackbox"),
    "PacketLoss": ("warning", "P3", "network", "degraded", "snmp"),
    "ReplicationLag": ("warning", "P3", "software", "none", "db"),
    "BackupFailed": ("warning", "P4", "other", "none", "cron"),
}
_INCIDENT_NAMES = tuple(ALERT_NAMES)
_INFO_NAMES = ("ConfigReloaded", "DeploymentRolledOut", "ScaleEvent")
_REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "ap-south-1")
_ACTORS = ("alice", "bob", "carol", "dave", "erin", "frank")
_RESPOND_S = {"P1": 3_600, "P2": 4 * 3_600, "P3": 8 * 3_600, "P4": 24 * 3_600}
_RESOLVE_S = {"P1": 24 * 3_600, "P2": 48 * 3_600, "P3": 72 * 3_600, "P4": 120 * 3_600}

ALERT_COLUMNS = (
    "id", "fingerprint", "starts_at", "ends_at", "status", "labels", "annotations",
    "generator_url", "source", "receive_count", "first_received_at", "last_received_at",
    "service", "level", "priority", "category", "impact", "group_key", "incident_id",
    "resolved_received_at", "origin_url", "origin_receiver", "listed_by",
)  # fmt: skip
INCIDENT_COLUMNS = (
    "id", "title", "service", "priority", "level", "category", "impact", "state", "source",
    "group_key", "started_at", "opened_at", "acknowledged_at", "resolved_at", "closed_at",
    "acknowledged_by", "resolved_by", "closed_by", "reporter", "channel", "response_due_at",
    "resolution_due_at", "response_breached", "resolution_breached", "response_seconds",
    "resolution_seconds", "flap_count", "updated_at",
)  # fmt: skip
EVENT_COLUMNS = ("id", "incident_id", "at", "actor", "via", "kind", "before", "after", "note")

# Which columns hold times (seconds since the epoch, or None) and JSON, per table.
TIME_COLUMNS = {
    "alerts": ("starts_at", "ends_at", "first_received_at", "last_received_at",
               "resolved_received_at"),
    "incidents": ("started_at", "opened_at", "acknowledged_at", "resolved_at", "closed_at",
                  "response_due_at", "resolution_due_at", "updated_at"),
    "incident_events": ("at",),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big a year to build, and when it ends (seconds since the epoch)."""

    alerts: int
    incidents: int
    services: int
    end: int

    def __post_init__(self) -> None:
        if self.services < 1 or self.incidents < 1:
            raise ValueError("a year needs at least one service and one incident")
        if self.alerts < self.incidents * 2:
            raise ValueError("--alerts must be at least twice --incidents")

    @property
    def start(self) -> int:
        return self.end - YEAR_S


@dataclass(slots=True)
class Chunk:
    """Rows of the three tables, for consecutive incidents."""

    incidents: list[tuple[object, ...]]
    events: list[tuple[object, ...]]
    alerts: list[tuple[object, ...]]


def service_name(index: int) -> str:
    """The name of service number `index`."""
    return f"svc-{index:04d}"


@dataclass(slots=True)
class _Ids:
    alert: int = 0
    event: int = 0


def chunks(sizes: Sizes, seed: int = 20) -> Iterator[Chunk]:
    """The whole year, a few thousand incidents at a time, in time order."""
    rng = random.Random(seed)
    ids = _Ids()
    info_total = round(sizes.alerts * INFO_SHARE)
    left = sizes.alerts - info_total  # alerts still to attach to incidents
    active_from = sizes.incidents - min(ACTIVE_INCIDENTS, sizes.incidents // 10)
    active_keys: set[str] = set()
    for first in range(1, sizes.incidents + 1, CHUNK_INCIDENTS):
        chunk = Chunk([], [], [])
        for number in range(first, min(first + CHUNK_INCIDENTS, sizes.incidents + 1)):
            count = _alert_count(left, sizes.incidents - number + 1, rng)
            active = number > active_from
            _incident(chunk, sizes, number, count, active, active_keys, ids, rng)
            left -= count
            # Info alerts come between incidents, evenly: exactly `info_total` in all.
            infos = (
                info_total * number // sizes.incidents
                - info_total * (number - 1) // sizes.incidents
            )
            _info_alerts(chunk, sizes, number, infos, ids, rng)
        yield chunk


def _alert_count(left: int, incidents_left: int, rng: random.Random) -> int:
    # Mostly a handful, sometimes a storm; scaled by what is left, so the total is exact.
    if incidents_left == 1:
        return left
    draw = rng.expovariate(1.0) + (rng.randint(30, 60) if rng.random() < 0.001 else 0)
    count = max(1, round(draw * left / incidents_left))
    return min(count, left - (incidents_left - 1))


def _pick_service(sizes: Sizes, rng: random.Random) -> int:
    # Some services are much noisier than others.
    return int(sizes.services * rng.random() ** 1.7)


def _when(sizes: Sizes, number: int, rng: random.Random) -> int:
    share = (number - rng.random()) / sizes.incidents
    return sizes.start + int(share * (YEAR_S - 3_600))


def _labels(name: str, service_index: int, instance: int, pod: int, severity: str, job: str) -> str:
    region = _REGIONS[instance % len(_REGIONS)]
    team = f"team-{service_index % 40:02d}"
    service = service_name(service_index)
    return (
        f'{{"alertname":"{name}","instance":"host-{instance:03d}:9100","job":"{job}",'
        f'"pod":"{name.lower()}-{pod:x}","region":"{region}","service":"{service}",'
        f'"severity":"{severity}","team":"{team}"}}'
    )


def _fingerprint(pod: int) -> str:
    # Every instance has its own pod (pods churn), so fingerprints never repeat.
    return f"{(pod * 0x9E3779B97F4A7C15) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


def _alert_row(
    ids: _Ids,
    spec: tuple[int, str, int, int, int | None],
    group_key: str,
    incident_id: int | None,
    level: tuple[str, str, str, str, str],
) -> tuple[object, ...]:
    service_index, name, instance, starts, ends = spec
    severity, priority, category, impact, job = level
    service = service_name(service_index)
    ids.alert += 1
    resolved = ends is not None
    last = ends + 2 if ends is not None else starts + 240
    return (
        ids.alert, _fingerprint(ids.alert), starts, ends, "resolved" if resolved else "firing",
        _labels(name, service_index, instance, ids.alert, severity, job),
        f'{{"summary":"{name} on host-{instance:03d}"}}',
        f"http://prometheus:9090/graph?g0.expr={name}", "alertmanager",
        2 + instance % 7, starts + 2, last, service, severity, priority, category, impact,
        group_key, incident_id, ends + 2 if ends is not None else None,
        "http://alertmanager:9093", "slakeeper", None,
    )  # fmt: skip


def _incident(
    chunk: Chunk,
    sizes: Sizes,
    number: int,
    count: int,
    active: bool,
    active_keys: set[str],
    ids: _Ids,
    rng: random.Random,
) -> None:
    service_index = _pick_service(sizes, rng)
    name = rng.choice(_INCIDENT_NAMES)
    level = ALERT_NAMES[name]
    service = service_name(service_index)
    group_key = f'{{service="{service}",alertname="{name}"}}'
    if active and group_key in active_keys:
        active = False  # one active incident per group
    if active:
        active_keys.add(group_key)
    opened = _when(sizes, number, rng)
    if active:
        opened = sizes.end - rng.randint(7_200, 86_400)
    ends: list[int | None] = []
    for index in range(count):
        starts = opened + (0 if index == 0 else rng.randint(0, 900))
        duration = int(rng.lognormvariate(6.5, 1.2)) + 60
        ends.append(None if active and rng.random() < 0.7 else starts + duration)
        spec = (service_index, name, rng.randint(0, 199), starts, ends[-1])
        chunk.alerts.append(_alert_row(ids, spec, group_key, number, level))
    if active and all(end is not None for end in ends):
        ends[-1] = None
        row = chunk.alerts[-1]
        chunk.alerts[-1] = (*row[:3], None, "firing", *row[5:19], None, *row[20:])
    resolved = None if active else max(end for end in ends if end is not None)
    chunk.incidents.append(_incident_row(number, service, name, group_key, opened, resolved))
    _timeline(chunk, ids, chunk.incidents[-1], rng)


def _incident_row(
    number: int, service: str, name: str, group_key: str, opened: int, resolved: int | None
) -> tuple[object, ...]:
    severity, priority, category, impact, _job = ALERT_NAMES[name]
    seed = random.Random(number)
    acked = opened + seed.randint(60, 7_200) if seed.random() < 0.75 else None
    if resolved is not None and acked is not None and acked > resolved:
        acked = resolved
    closed = resolved + seed.randint(600, 86_400) if resolved and seed.random() < 0.6 else None
    state = "closed" if closed else "resolved" if resolved else "acknowledged" if acked else "open"
    respond_due, resolve_due = opened + _RESPOND_S[priority], opened + _RESOLVE_S[priority]
    response_s = float(acked - opened) if acked else None
    resolution_s = float(resolved - opened) if resolved else None
    actor = _ACTORS[number % len(_ACTORS)]
    return (
        number, f"{name} on {service}", service, priority, severity, category, impact, state,
        "alert", group_key, opened, opened, acked, resolved, closed,
        actor if acked else None, "slakeeper" if resolved else None, actor if closed else None,
        None, None, respond_due, resolve_due,
        acked is not None and acked > respond_due,
        resolved is not None and resolved > resolve_due,
        response_s, resolution_s, seed.randint(0, 2) if seed.random() < 0.1 else 0,
        closed or resolved or acked or opened,
    )  # fmt: skip


def _timeline(chunk: Chunk, ids: _Ids, incident: tuple[object, ...], rng: random.Random) -> None:
    number, opened, acked, resolved, closed = (incident[i] for i in (0, 11, 12, 13, 14))
    entries: list[tuple[object, str, str, str | None]] = [
        (opened, "slakeeper", "opened", f'{{"state":"open","priority":"{incident[3]}"}}'),
        (opened, "slakeeper", "alerts_attached", '{"alerts":1}'),
    ]
    if acked is not None:
        entries.append((acked, str(incident[15]), "acknowledged", '{"state":"acknowledged"}'))
    if resolved is not None:
        entries.append((resolved, "slakeeper", "resolved", '{"state":"resolved"}'))
    if closed is not None:
        entries.append((closed, str(incident[17]), "closed", '{"state":"closed"}'))
    for at, actor, kind, after in entries:
        ids.event += 1
        chunk.events.append((ids.event, number, at, actor, None, kind, None, after, None))


_INFO_LEVEL = ("info", "P4", "other", "none", "deploy")


def _info_alerts(
    chunk: Chunk, sizes: Sizes, number: int, count: int, ids: _Ids, rng: random.Random
) -> None:
    for _ in range(count):
        service_index = _pick_service(sizes, rng)
        name = rng.choice(_INFO_NAMES)
        starts = _when(sizes, number, rng)
        group_key = f'{{service="{service_name(service_index)}",alertname="{name}"}}'
        spec = (service_index, name, rng.randint(0, 199), starts, starts + rng.randint(60, 600))
        chunk.alerts.append(_alert_row(ids, spec, group_key, None, _INFO_LEVEL))
