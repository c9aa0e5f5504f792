"""What happens in the demo, as timed events: Alertmanager notifications, what the NOC does
to incidents, and maintenance being planned."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from availability.maintenance import MaintenanceDefinition
from incident.service import ManualIncident

__all__ = [
    "Acknowledge",
    "Action",
    "AlertNotice",
    "Close",
    "Event",
    "PersonAction",
    "PlanMaintenance",
    "Reclassify",
    "Report",
    "ResolveByHand",
    "Webhook",
]

Labels = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class AlertNotice:
    """One alert as a webhook reports it: firing while `ends_at` is None."""

    labels: Labels
    annotations: Labels
    starts_at: datetime
    ends_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Webhook:
    """An Alertmanager notification."""

    alerts: tuple[AlertNotice, ...]


# A target names an incident: the group key of an alert incident, or "manual/N".
@dataclass(frozen=True, slots=True)
class Acknowledge:
    target: str
    actor: str


@dataclass(frozen=True, slots=True)
class Reclassify:
    target: str
    actor: str
    priority: str
    title: str
    note: str


@dataclass(frozen=True, slots=True)
class ResolveByHand:
    target: str
    actor: str
    note: str


@dataclass(frozen=True, slots=True)
class Close:
    target: str
    actor: str
    confirmed_by: str


@dataclass(frozen=True, slots=True)
class Report:
    target: str
    actor: str
    report: ManualIncident


@dataclass(frozen=True, slots=True)
class PlanMaintenance:
    window: MaintenanceDefinition
    actor: str


PersonAction = Acknowledge | Reclassify | ResolveByHand | Close
Action = Webhook | Report | PlanMaintenance | PersonAction


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    order: int  # events at one instant happen in the order they were planned
    action: Action
