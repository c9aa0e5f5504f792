"""This month so far, per service, as a person looks at it: the figures of each service in its
own calendar month, and one service's windows of downtime, degraded time and maintenance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from availability.figures import Availability, availability_of
from availability.intervals import Windows, union
from availability.periods import Period, from_micros, month_period
from availability.service import Measurement, measure_services
from rules.policy import RuleFile

__all__ = ["MonthTimeline", "current_month", "month_timeline", "month_to_date"]

Span = tuple[datetime, datetime]


def current_month(rules: RuleFile, name: str, now: datetime) -> Period:
    """The service's calendar month that contains `now`, in its zone, until `now`."""
    local = now.astimezone(rules.service(name).timezone)
    return month_period(local.year, local.month, rules.service(name).timezone, now=now)


def month_to_date(
    session: Session, *, rules: RuleFile, names: Sequence[str], now: datetime
) -> list[Availability]:
    """Each of `names`' figures over its month so far (one measurement for all)."""
    if not names:
        return []
    periods = [current_month(rules, name, now) for name in names]
    measurement = measure_services(session, rules=rules, services=names, periods=periods, now=now)
    return [_figures(measurement, index, rules) for index in range(len(names))]


@dataclass(frozen=True, slots=True)
class MonthTimeline:
    """The windows of one service's month so far: downtime (outage outside maintenance),
    degraded time (outside both) and maintenance, each sorted and disjoint."""

    period: Period
    downtime: list[Span]
    degraded: list[Span]
    maintenance: list[Span]


def month_timeline(
    session: Session, *, rules: RuleFile, name: str, now: datetime
) -> tuple[Availability, MonthTimeline]:
    """One service's figures this month and the windows they are made of."""
    period = current_month(rules, name, now)
    measurement = measure_services(session, rules=rules, services=[name], periods=[period], now=now)
    measured = measurement.measured
    timeline = MonthTimeline(
        period,
        _spans(measured.downtime_segments),
        _spans(measured.degraded_segments),
        _spans(_planned(measurement.maintenance, period)),
    )
    return _figures(measurement, 0, rules), timeline


def _figures(measurement: Measurement, index: int, rules: RuleFile) -> Availability:
    measured = measurement.measured
    return availability_of(
        measurement.services[index],
        measurement.periods[index],
        total_us=int(measured.total[index]),
        maintenance_us=int(measured.maintenance[index]),
        downtime_us=int(measured.downtime[index]),
        degraded_us=int(measured.degraded[index]),
        target_ratio=float(measurement.targets[index]),
        degraded_weight=rules.degraded_weight,
    )


def _planned(windows: Windows, period: Period) -> Windows:
    """The maintenance occurrences inside `period`, merged where they overlap."""
    start_us, end_us = period.to_micros()
    starts, ends = union(
        np.clip(windows.start, start_us, end_us), np.clip(windows.end, start_us, end_us)
    )
    return Windows(np.zeros(len(starts), dtype=np.int64), starts, ends)


def _spans(windows: Windows) -> list[Span]:
    order = np.argsort(windows.start, kind="stable")
    return [(from_micros(int(windows.start[i])), from_micros(int(windows.end[i]))) for i in order]
