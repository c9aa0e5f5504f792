"""The configuration files of the end-to-end processes, as data (written as JSON, which is YAML).

- `slakeeper_rules`: services, the levels' contacts (webhooks on the test's receiver), levels
  to priorities, and a shortened escalation policy (P1: a step 10 s after opening);
- `two_level_rules`: one expression over the scrape target's error ratio, a warning and a
  critical threshold (the multi-level warning as Prometheus users write it);
- `alertmanager_config`, `prometheus_config`: loopback wiring, 1 s intervals everywhere;
- `sla_job_settings`, `reconciliation_settings`: `SLAKEEPER_*` variables that shorten the
  servers' scheduled jobs, so the scenarios that wait for them wait seconds, not minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

__all__ = [
    "CRITICAL_RATIO",
    "ERROR_RATIO",
    "ESCALATION_STEP",
    "GROUP_WAIT",
    "RATIO_ALERT",
    "RECONCILE_GRACE",
    "RECONCILE_INTERVAL",
    "SLA_INTERVAL",
    "SLO_SERVICE",
    "SLO_TARGET",
    "WARNING_RATIO",
    "alertmanager_config",
    "contacts_path",
    "prometheus_config",
    "reconciliation_settings",
    "sla_job_settings",
    "slakeeper_rules",
    "two_level_rules",
]

ERROR_RATIO = "e2e_error_ratio"
"""The scrape target's gauge the two-level rule watches; a test sets it per `service` label."""
RATIO_ALERT = "E2EErrorRatioHigh"
WARNING_RATIO = 0.05
CRITICAL_RATIO = 0.20
ESCALATION_STEP = timedelta(seconds=10)
"""After how long an open P1 incident escalates (the shortened policy's first step)."""
GROUP_WAIT = timedelta(seconds=1)
"""Alertmanager's group_wait: the latency goal from a rule firing to an incident is this + 1 s."""
SLO_SERVICE = "e2e-slo"
"""The service listed in slakeeper's rule file, so `slakeeper rules prometheus` emits its
burn-rate alerts."""
SLO_TARGET = 99.99
"""Its target: a budget of 0.01 %, so the page alert (14.4x the budget over 1 h and 5 m) fires
after seconds of outage rather than the minutes a 99.5 % target needs."""

SLA_INTERVAL = timedelta(seconds=1)
"""How often the SLA job (breaches, escalation steps) runs on the servers it is set for."""
RECONCILE_INTERVAL = timedelta(seconds=2)
"""How often reconciliation with Alertmanager runs on the reconciliation stack's servers."""
RECONCILE_GRACE = timedelta(seconds=10)
"""How long that Alertmanager must have been up, and an alert unheard of, before
reconciliation resolves the alert."""

CONTACTS = ("on-duty", "lead", "experts", "manager1", "manager2")


def contacts_path(stack: str, backend: str) -> str:
    """Where the contacts of a stack's server on `backend` receive its notifications."""
    return f"/{stack}-{backend}"


def slakeeper_rules(contacts_url: str) -> dict[str, Any]:
    """slakeeper's rule file; contact `NAME` posts to `<contacts_url>/NAME`."""
    return {
        "defaults": {
            "level": "warning",
            "priority": "P4",
            "group_by": ["service", "alertname"],
            "service_labels": ["service", "job"],
        },
        "services": [{"name": SLO_SERVICE, "target": SLO_TARGET}],
        "levels": {
            "info": {"notify": [], "open_incident": False},
            "warning": {"notify": ["on-duty"]},
            "critical": {"notify": ["on-duty", "lead", "experts"]},
        },
        "rules": [
            {
                "name": "fast-escalation",
                "matchers": ['escalation="fast"'],
                "level": "critical",
                "priority": "P1",
                "impact": "outage",
            },
            {
                "name": "critical",
                "matchers": ['severity=~"critical|page"'],
                "level": "critical",
                "priority": "P2",
                "impact": "outage",
                "category": "software",
            },
            {
                "name": "warning",
                "matchers": ['severity="warning"'],
                "level": "warning",
                "priority": "P3",
                "impact": "none",
                "category": "software",
            },
        ],
        "priorities": {
            "P1": {"respond": "1h", "resolve": "24h"},
            "P2": {"respond": "4h", "resolve": "48h"},
            "P3": {"respond": "8h", "resolve": "72h"},
            "P4": {"respond": "24h", "resolve": "5d"},
        },
        "escalation": {
            "P1": [
                {"after": f"{ESCALATION_STEP.seconds}s", "notify": "manager1"},
                {"after": "1h", "notify": "manager2"},
            ]
        },
        "contacts": {name: {"webhook": f"{contacts_url}/{name}"} for name in CONTACTS},
    }


def _seconds(interval: timedelta) -> str:
    return f"{interval.total_seconds():g}"


def sla_job_settings() -> dict[str, str]:
    """The SLA job every `SLA_INTERVAL`, not every 15 s: escalation steps fire on time."""
    return {"SLAKEEPER_SLA_INTERVAL_SECONDS": _seconds(SLA_INTERVAL)}


def reconciliation_settings(alertmanager_url: str) -> dict[str, str]:
    """Reconciliation with `alertmanager_url` every `RECONCILE_INTERVAL`, trusting its list
    after `RECONCILE_GRACE` (not every 60 s, after 5 minutes), taking only the alerts routed
    to the `slakeeper` receiver (that Alertmanager routes the rest to `nobody`)."""
    return {
        "SLAKEEPER_ALERTMANAGER_URL": alertmanager_url,
        "SLAKEEPER_ALERTMANAGER_RECEIVERS": "slakeeper",
        "SLAKEEPER_RECONCILE_INTERVAL_SECONDS": _seconds(RECONCILE_INTERVAL),
        "SLAKEEPER_RECONCILE_GRACE_SECONDS": _seconds(RECONCILE_GRACE),
    }


def two_level_rules() -> dict[str, Any]:
    """One alert name, two thresholds on one expression: warning, then critical."""
    expr = f"{ERROR_RATIO} > {{threshold}}"
    return {
        "groups": [
            {
                "name": "e2e-two-level",
                "interval": "1s",
                "rules": [
                    {
                        "alert": RATIO_ALERT,
                        "expr": expr.format(threshold=threshold),
                        "for": "0s",
                        "labels": {"severity": severity},
                        "annotations": {
                            "summary": f"error ratio {{{{ $value }}}} above {threshold}"
                        },
                    }
                    for severity, threshold in (
                        ("warning", WARNING_RATIO),
                        ("critical", CRITICAL_RATIO),
                    )
                ],
            }
        ]
    }


def alertmanager_config(webhooks: Sequence[str], *, only: str | None = None) -> dict[str, Any]:
    """Every alert (or, with `only`, those labelled `stack="<only>"`) to `webhooks`."""
    webhook = {
        "name": "slakeeper",
        "webhook_configs": [
            {"url": url, "send_resolved": True, "max_alerts": 0} for url in webhooks
        ],
    }
    timing = {
        "group_by": ["alertname", "service"],
        "group_wait": f"{GROUP_WAIT.seconds}s",
        "group_interval": "1s",
        "repeat_interval": "1h",
    }
    if only is None:
        return {"route": {"receiver": "slakeeper", **timing}, "receivers": [webhook]}
    return {
        "route": {
            "receiver": "nobody",
            **timing,
            "routes": [{"receiver": "slakeeper", "matchers": [f'stack="{only}"']}],
        },
        "receivers": [{"name": "nobody"}, webhook],
    }


def prometheus_config(
    *,
    rule_files: Sequence[str],
    alertmanagers: Sequence[str],
    scrape: Mapping[str, Sequence[str]],
) -> dict[str, Any]:
    """Scrape each job of `scrape` (name → addresses), evaluate `rule_files`, send alerts to
    `alertmanagers` (addresses speaking Alertmanager's API v2), all every second."""
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": list(rule_files),
        "alerting": {
            "alertmanagers": [
                {"api_version": "v2", "timeout": "5s", "static_configs": [{"targets": [address]}]}
                for address in alertmanagers
            ]
        },
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(targets)}]}
            for job, targets in scrape.items()
        ],
    }
