"""What the scenarios share: one service's error ratio on the scrape target, which makes
Prometheus #1's two-level rule fire (warning, then critical) and resolve, and the selectors
that find its alerts in Prometheus and in slakeeper."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.e2e.clients import Prometheus, SlakeeperServer
from tests.e2e.configs import ERROR_RATIO, RATIO_ALERT
from tests.e2e.support import parse_time

__all__ = ["ErrorRatio", "one", "span_seconds"]


@dataclass
class ErrorRatio:
    """The error ratio of `service` (with `extra` labels) as the scrape target serves it."""

    prometheus: Prometheus
    service: str
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, str]:
        return {"service": self.service, **self.extra}

    def set(self, value: float) -> None:
        self.prometheus.target.set(ERROR_RATIO, self.labels, value)

    def clear(self) -> None:
        """Remove the series: Prometheus resolves whatever fired on it."""
        self.prometheus.target.remove(ERROR_RATIO, self.labels)

    def alert_labels(self, severity: str) -> dict[str, str]:
        return {"alertname": RATIO_ALERT, "service": self.service, "severity": severity}

    def promql(self, severity: str) -> str:
        """Label matchers (no braces) of this service's alert of `severity` in Prometheus."""
        return ",".join(f'{name}="{value}"' for name, value in self.alert_labels(severity).items())

    def alerts_in(self, server: SlakeeperServer, severity: str, **params: str) -> list[Any]:
        """This service's alert instances of `severity`, as `server` holds them."""
        matchers = [f'{name}="{value}"' for name, value in self.alert_labels(severity).items()]
        return server.alerts(*matchers, **params)

    def active_at(self, severity: str) -> datetime:
        """When Prometheus' rule started firing this service's alert of `severity`."""
        alert = self.prometheus.active_alert(self.alert_labels(severity))
        assert alert is not None, f"Prometheus has no active {self.alert_labels(severity)}"
        assert alert["state"] == "firing", alert
        return parse_time(alert["activeAt"]).astimezone(UTC)


def one(items: list[Any], what: str) -> Any:
    """The single item of `items`."""
    assert len(items) == 1, f"expected one {what}, got {len(items)}: {items}"
    return items[0]


def span_seconds(alert: Mapping[str, Any]) -> float:
    """How long a resolved alert instance fired, from slakeeper's `starts_at` and `ends_at`."""
    return (parse_time(alert["ends_at"]) - parse_time(alert["starts_at"])).total_seconds()
