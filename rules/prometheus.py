"""Prometheus rules for per-service availability SLOs: multi-window, multi-burn-rate alerts.

The burn rates follow the Google SRE workbook (chapter 5, "Alerting on SLOs") for a 30-day
SLO period: a page spends 2% (1h) or 5% (6h) of the budget, a ticket 10% (1d) or 10% (3d).
The input is `slakeeper_service_downtime_seconds_total{service}`, which grows one second
per second of downtime, so its rate over a window is that window's error ratio.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

__all__ = [
    "ALERT_NAME",
    "ALERT_GROUP",
    "INPUT_METRIC",
    "RECORDING_GROUP",
    "WINDOWS",
    "ServiceObjective",
    "availability_record",
    "downtime_record",
    "prometheus_rules",
    "render_prometheus_rules",
]

INPUT_METRIC = "slakeeper_service_downtime_seconds_total"
RECORDING_GROUP = "slakeeper-availability"
ALERT_GROUP = "slakeeper-error-budget-burn"
ALERT_NAME = "SlakeeperErrorBudgetBurn"
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")


@dataclass(frozen=True, slots=True)
class _BurnAlert:
    severity: str
    burn_rate: str  # a decimal string, so thresholds are computed without float noise
    long_window: str
    short_window: str


_BURN_ALERTS = (
    _BurnAlert("page", "14.4", "1h", "5m"),
    _BurnAlert("page", "6", "6h", "30m"),
    _BurnAlert("ticket", "3", "1d", "2h"),
    _BurnAlert("ticket", "1", "3d", "6h"),
)


@dataclass(frozen=True, slots=True)
class ServiceObjective:
    """A service's availability target, e.g. 0.995 for 99.5% over the SLO period."""

    name: str
    target_ratio: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            # An empty label value selects series without the label: every service at once.
            raise ValueError(f"service name must be a non-empty string, got {self.name!r}")
        target = self.target_ratio
        if isinstance(target, bool) or not isinstance(target, int | float):
            raise ValueError(
                f"target_ratio of service {self.name!r} must be a number, got {target!r}"
            )
        if not (math.isfinite(target) and 0 < target < 1):
            raise ValueError(
                f"target_ratio of service {self.name!r} must be strictly between 0 and 1 "
                f"(e.g. 0.995 for 99.5%), got {target!r}"
            )

    @property
    def error_budget(self) -> Decimal:
        """The allowed downtime ratio, exact in decimal (1 - 0.995 is 0.005, not 0.00499…)."""
        # repr() is the shortest string that round-trips, i.e. the number as the user wrote it.
        return 1 - Decimal(repr(float(self.target_ratio)))


def downtime_record(window: str) -> str:
    """The recorded metric name for the downtime ratio over `window`."""
    return f"slakeeper:service_downtime:ratio_rate{window}"


def availability_record(window: str) -> str:
    """The recorded metric name for the availability ratio over `window`."""
    return f"slakeeper:service_availability:ratio_rate{window}"


def _number(value: Decimal) -> str:
    """A decimal as a plain literal PromQL and people both read: 0.072, 14.4, 100."""
    return format(value.normalize(), "f")


def _percent(value: Decimal) -> str:
    return f"{_number(value * 100)}%"


def _promql_string(value: str) -> str:
    """A double-quoted PromQL string literal."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _template_literal(value: str) -> str:
    """Text that Prometheus's label templating expands back to `value`."""
    # Rule label values are Go templates; "{{" is the only sequence that starts an action.
    return value.replace("{{", '{{ "{{" }}')


def _recording_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for window in WINDOWS:
        # Every replica exports the same counter (one series per instance): the largest,
        # not the sum, is the service's downtime.
        rate = f"max by (service) (rate({INPUT_METRIC}[{window}]))"
        # Extrapolation at series edges can push rate() a little past 1 second per second.
        rules.append({"record": downtime_record(window), "expr": f"clamp({rate}, 0, 1)"})
        rules.append(
            {"record": availability_record(window), "expr": f"1 - {downtime_record(window)}"}
        )
    return rules


def _alert_rule(objective: ServiceObjective, burn: _BurnAlert) -> dict[str, Any]:
    budget = objective.error_budget
    threshold = _number(Decimal(burn.burn_rate) * budget)
    selector = f"{{service={_promql_string(objective.name)}}}"
    long_ratio = f"{downtime_record(burn.long_window)}{selector}"
    short_ratio = f"{downtime_record(burn.short_window)}{selector}"
    slo = _percent(1 - budget)
    return {
        "alert": ALERT_NAME,
        "expr": f"{long_ratio} > {threshold} and {short_ratio} > {threshold}",
        # promtool's linter flags rules sharing a name and labels as duplicates, and the series'
        # service label alone does not count, so each rule names its service again.
        "labels": {
            "severity": burn.severity,
            "service": _template_literal(objective.name),
            "long_window": burn.long_window,
            "short_window": burn.short_window,
        },
        # Annotations are templates too: the name comes in through $labels, never spliced.
        "annotations": {
            "summary": (
                f"Service {{{{ $labels.service }}}} is burning its error budget "
                f"{burn.burn_rate}x too fast"
            ),
            "description": (
                f"Service {{{{ $labels.service }}}} was down {{{{ $value | humanizePercentage }}}}"
                f" of the last {burn.long_window}, and more than {_percent(Decimal(threshold))}"
                f" of the last {burn.short_window}; its {slo} availability objective allows"
                f" {_percent(budget)} downtime over 30 days."
            ),
            "slo": f"{slo} availability over 30d",
            "burn_rate": burn.burn_rate,
        },
    }


def prometheus_rules(objectives: Sequence[ServiceObjective]) -> dict[str, Any]:
    """The rule groups as a Prometheus rule file document."""
    counts = Counter(objective.name for objective in objectives)
    duplicates = sorted(name for name, count in counts.items() if count > 1)
    if duplicates:
        raise ValueError(f"duplicate service objectives: {', '.join(map(repr, duplicates))}")
    alerts = [
        _alert_rule(objective, burn)
        for objective in sorted(objectives, key=lambda objective: objective.name)
        for burn in _BURN_ALERTS
    ]
    return {
        "groups": [
            {"name": RECORDING_GROUP, "rules": _recording_rules()},
            {"name": ALERT_GROUP, "rules": alerts},
        ]
    }


def render_prometheus_rules(objectives: Sequence[ServiceObjective], *, source: str = "") -> str:
    """YAML text of the rule file; `source` (e.g. the rule file path) goes into a header comment."""
    header = ["# Generated by slakeeper from service availability objectives; do not edit."]
    header += [f"# Source: {line}" for line in source.splitlines()]
    if not objectives:
        header.append(
            "# The source lists no services: no alert rules, only the recording rules"
            " (list services with a target under `services:` for their burn-rate alerts)."
        )
    # Every mapping is built afresh, so safe_dump has no shared object to write as an alias.
    body = yaml.safe_dump(
        prometheus_rules(objectives), sort_keys=False, allow_unicode=True, width=1_000_000
    )
    return "\n".join(header) + "\n" + body
