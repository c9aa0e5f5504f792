"""A service's month as a record: measured now, in the form a closed month stores.

`measure_month` measures the services' months with a rule file and returns, per service, the
figures dict a `MonthRecord` keeps: the month's bounds and policy, the four segment sets
(`ledger.arithmetic`), and the compliance report's row, priorities and breaches (plain JSON).
`digest_of` is the SHA-256 of a figures dict in canonical JSON: the same figures always give
the same digest, whatever the database or the order of keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy.orm import Session

from availability.compliance import ComplianceReport
from availability.intervals import Windows
from availability.periods import to_micros
from availability.rendering import records_of
from availability.report import measured_report
from availability.service import Measurement
from rules.policy import CreditPolicy, RuleFile

__all__ = ["MonthFigures", "credits_json", "digest_of", "measure_month", "segments_per_service"]

MonthFigures = dict[str, dict[str, Any]]
"""Service name → the figures dict of its month."""


def digest_of(value: Any) -> str:
    """SHA-256 (hex) of `value` as canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


def credits_json(policy: CreditPolicy) -> dict[str, Any]:
    """A credit policy as a record stores it (and the report's methodology states it)."""
    return {
        "tiers": [{"below_ratio": below, "credit_ratio": credit} for below, credit in policy.tiers],
        "max_ratio": policy.max_ratio,
    }


def segments_per_service(windows: Windows, n: int) -> list[list[list[int]]]:
    """Segments sorted by (group, start), split into one [[start, end], ...] per service."""
    bounds = np.searchsorted(windows.group, np.arange(n + 1, dtype=np.int64), side="left")
    starts, ends = windows.start.tolist(), windows.end.tolist()
    return [
        [[starts[i], ends[i]] for i in range(int(bounds[k]), int(bounds[k + 1]))] for k in range(n)
    ]


def measure_month(
    session: Session,
    *,
    rules: RuleFile,
    year: int,
    month: int,
    services: Sequence[str] | None,
    now: datetime,
) -> tuple[ComplianceReport, MonthFigures]:
    """The live report of the month (every service) and the figures of `services` (every
    service of the report when None) in it."""
    report, measurement = measured_report(session, rules=rules, year=year, month=month, now=now)
    if measurement is None:
        return report, {}
    wanted = set(measurement.services if services is None else services)
    return report, _figures(report, measurement, rules, f"{year:04d}-{month:02d}", wanted)


def _figures(
    report: ComplianceReport,
    measurement: Measurement,
    rules: RuleFile,
    month: str,
    wanted: set[str],
) -> MonthFigures:
    names, measured = measurement.services, measurement.measured
    n = len(names)
    segments = {
        "downtime": segments_per_service(measured.downtime_segments, n),
        "degraded": segments_per_service(measured.degraded_segments, n),
        "maintenance": segments_per_service(measured.maintenance_segments, n),
        "unknown": segments_per_service(measured.unknown_segments, n),
    }
    chosen = wanted & set(names)
    rows = {row["service"]: row for row in records_of(report.services) if row["service"] in chosen}
    priorities: dict[str, list[dict[str, Any]]] = {}
    for row in records_of(report.priorities):
        if row["service"] in chosen:
            priorities.setdefault(row["service"], []).append(row)
    breaches: dict[str, list[dict[str, Any]]] = {}
    for row in records_of(report.breaches):
        breaches.setdefault(row["service"], []).append(row)
    figures: MonthFigures = {}
    for index, (name, period) in enumerate(zip(names, measurement.periods, strict=True)):
        if name not in chosen:
            continue
        policy = rules.service(name)
        figures[name] = {
            "month": month,
            "service": name,
            "timezone": policy.timezone.key,
            "start_us": to_micros(period.start),
            "end_us": to_micros(period.end),
            "unknown_policy": policy.unknown_policy,
            "target_ratio": policy.target_ratio,
            "degraded_weight": rules.degraded_weight,
            "credits": credits_json(policy.credits),
            "segments": {kind: lists[index] for kind, lists in segments.items()},
            "row": rows[name],
            "priorities": priorities.get(name, []),
            "breaches": breaches.get(name, []),
        }
    return figures
