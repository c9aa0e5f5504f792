"""The demo's services and alerts, as the rule file classifies them.

The rule file decides what a label set is, so the demo asks its engine: which of the demo's
label sets are outages, degradations, warnings, minor faults and information, and which
service names a target's `service` and `job` labels reach.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rules.engine import Classification
from rules.policy import RuleFile
from rules.schema import Impact

__all__ = [
    "DEMO_SERVICES",
    "AlertKinds",
    "ScenarioError",
    "alert_kinds",
    "choose_services",
    "service_labels",
]

DEMO_SERVICES = ("payments", "checkout", "accounts", "search", "catalog", "notifications")

Labels = Mapping[str, str]


class ScenarioError(ValueError):
    """The rule file cannot carry the demo: no label set classifies as an outage, or too
    few services."""


_CANDIDATES: dict[str, tuple[dict[str, str], ...]] = {
    "outage": (
        {"alertname": "InstanceDown", "severity": "critical"},
        {"alertname": "TargetDown", "severity": "critical"},
        {"alertname": "ServiceUnavailable", "severity": "page"},
    ),
    "degraded": (
        {"alertname": "HighErrorRate", "severity": "critical"},
        {"alertname": "ReplicationLagHigh", "severity": "critical"},
        {"alertname": "SlowResponses", "severity": "error"},
    ),
    "warning": (
        {"alertname": "DiskSpaceLow", "severity": "warning"},
        {"alertname": "HighMemoryUsage", "severity": "warning"},
        {"alertname": "QueueBacklogGrowing", "severity": "warning"},
        {"alertname": "TLSCertificateExpiringSoon", "severity": "warning"},
    ),
    "minor": ({"alertname": "BackupJobSlow"}, {"alertname": "LogVolumeUnusual"}),
    "info": (
        {"alertname": "DeploymentFinished", "severity": "info"},
        {"alertname": "ConfigReloaded", "severity": "info"},
    ),
}
_RAISED = (
    {"alertname": "HighLatency", "severity": "warning"},
    {"alertname": "HighLatency", "severity": "critical"},
)


@dataclass(frozen=True)
class AlertKinds:
    """Alert label sets (without the service's labels) by what the rule file makes of them."""

    outage: tuple[Labels, ...]
    degraded: tuple[Labels, ...]
    warning: tuple[Labels, ...]
    minor: tuple[Labels, ...]
    info: tuple[Labels, ...]
    raised: tuple[Labels, Labels] | None  # a warning, then a more urgent alert of its group


def service_labels(service: str, instance: int = 1) -> dict[str, str]:
    """The labels a Prometheus target of `service` carries."""
    return {"service": service, "job": service, "instance": f"{service}-{instance}.demo:9100"}


def choose_services(rules: RuleFile, *, wanted: int = 6) -> list[str]:
    """The rule file's services whose labels classify as themselves, then the demo's own."""
    names = [name for name in rules.services if _classifies_as(rules, name)][:8]
    for name in DEMO_SERVICES:
        if len(names) >= wanted:
            break
        if name not in names and _classifies_as(rules, name):
            names.append(name)
    if len(names) < 4:
        raise ScenarioError(
            f"the rule file gives only {len(names)} service(s) a label set can reach; "
            "the demo needs 4 (it labels alerts with service and job)"
        )
    return names


def _classifies_as(rules: RuleFile, name: str) -> bool:
    return rules.ruleset.classify(service_labels(name)).service == name


def alert_kinds(rules: RuleFile, service: str) -> AlertKinds:
    """Which of the demo's alert label sets are outages, degradations, warnings, minor
    faults and information in this rule file; ScenarioError if none is an outage."""

    def classify(kind: Labels) -> Classification:
        return rules.ruleset.classify({**service_labels(service), **kind})

    def opens(found: Classification) -> bool:
        level = rules.levels.get(found.level)
        return level.open_incident if level is not None else True

    least_urgent = max(rules.priorities.values(), key=lambda policy: policy.rank).name
    tests: dict[str, Callable[[Classification], bool]] = {
        "outage": lambda c: opens(c) and c.impact is Impact.OUTAGE,
        "degraded": lambda c: opens(c) and c.impact is Impact.DEGRADED,
        "warning": lambda c: opens(c) and c.impact is Impact.NONE,
        "minor": lambda c: opens(c) and c.impact is Impact.NONE and c.priority == least_urgent,
        "info": lambda c: not opens(c),
    }
    found = {
        name: tuple(kind for kind in _CANDIDATES[name] if tests[name](classify(kind)))
        for name in tests
    }
    if not found["outage"]:
        raise ScenarioError(
            "no rule of the rule file makes an outage of InstanceDown, TargetDown or a "
            "critical ServiceUnavailable; the demo needs one"
        )
    first, second = (classify(kind) for kind in _RAISED)
    raises = (
        opens(first)
        and opens(second)
        and first.group_key == second.group_key
        and rules.priorities[second.priority].rank < rules.priorities[first.priority].rank
    )
    return AlertKinds(
        outage=found["outage"],
        degraded=found["degraded"],
        warning=found["warning"],
        minor=found["minor"],
        info=found["info"],
        raised=_RAISED if raises else None,
    )
