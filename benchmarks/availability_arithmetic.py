"""How long the availability arithmetic takes: many services at once, and one service alone.

Measures and prints; asserts nothing. Run: `.venv/bin/python -m benchmarks.availability_arithmetic`
(options `--services`, `--windows`, `--runs`). Each figure is the median (and min, max) of
`--runs` timed calls with perf_counter after one warm-up call; the peak is the largest
memory allocated during one call, above what was allocated before it (tracemalloc, which
sees numpy's buffers), measured in a separate call so that tracing does not slow the timings.

The data are a month of synthetic windows, seeded: every service has its own month (time
zones from UTC-12 to UTC+14); outage windows start anywhere from two days before the
month to its end and last minutes to hours (lognormal, median 10 min), one in a thousand still
firing (closed at `now`); maintenance and degraded windows last one to four hours.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from availability.figures import availability_of, availability_table
from availability.intervals import (
    Measured,
    Micros,
    Windows,
    measure,
    total_per_bucket,
)
from availability.periods import day_edges_micros, month_period, to_micros

S = 1_000_000
NOW = datetime(2026, 12, 5, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600 * S
DAY = 24 * HOUR


def periods(services: int, now: int) -> tuple[Micros, Micros]:
    """November 2026 in a time zone per service, clipped to `now`."""
    start = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    offsets = (np.arange(services, dtype=np.int64) % 27 - 12) * HOUR
    period_start = np.int64(start * S) - offsets
    period_end = np.minimum(period_start + 30 * DAY, now)
    return period_start, period_end


def windows(
    rng: np.random.Generator,
    count: int,
    period_start: Micros,
    period_end: Micros,
    durations: Micros,
    now: int,
    *,
    firing: float = 0.0,
) -> Windows:
    """`count` windows of random services, starting from two days before their period."""
    group = rng.integers(0, len(period_start), size=count, dtype=np.int64)
    lead = 2 * DAY
    span = period_end[group] - period_start[group] + lead
    start = period_start[group] - lead + (rng.random(count) * span).astype(np.int64)
    end = np.where(rng.random(count) < firing, now, start + durations)
    return Windows(group, start, end.astype(np.int64))


def timed(call: Callable[[], object], runs: int) -> tuple[list[float], float]:
    """Milliseconds per call over `runs` calls, and the peak MiB of one more call."""
    call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    call()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return samples, peak / 2**20


def row(name: str, samples: list[float], peak_mib: float) -> None:
    median = statistics.median(samples)
    print(f"| {name} | {median:.3f} | {min(samples):.3f} | {max(samples):.3f} | {peak_mib:.2f} |")


Case = tuple[str, Callable[[], object]]


@dataclass(frozen=True)
class Month:
    """Every service's period and its outage, maintenance and degraded windows."""

    period_start: Micros
    period_end: Micros
    outage: Windows
    maintenance: Windows
    degraded: Windows


def month_of_windows(rng: np.random.Generator, services: int, count: int, now: int) -> Month:
    """`count` outage windows (one in a thousand still firing) and a thirtieth as many
    maintenance and degraded ones, over `services` services' months."""
    period_start, period_end = periods(services, now)
    outage_lengths = (np.exp(rng.normal(np.log(600), 1.5, count)) * S).astype(np.int64)
    outage = windows(rng, count, period_start, period_end, outage_lengths, now, firing=0.001)
    few = max(1, count // 30)
    planned = rng.integers(HOUR, 4 * HOUR, size=few, dtype=np.int64)
    maintenance = windows(rng, few, period_start, period_end, planned, now)
    degraded = windows(rng, few, period_start, period_end, planned[::-1].copy(), now)
    return Month(period_start, period_end, outage, maintenance, degraded)


def many_services(rng: np.random.Generator, services: int, count: int) -> tuple[str, list[Case]]:
    """The monthly report's arithmetic for every service at once."""
    month = month_of_windows(rng, services, count, to_micros(NOW))
    period_start, period_end = month.period_start, month.period_end
    outage, maintenance, degraded = month.outage, month.maintenance, month.degraded
    edges = np.arange(31, dtype=np.int64) * DAY + int(period_start.min())

    def measure_all() -> Measured:
        return measure(
            period_start, period_end, outage=outage, degraded=degraded, maintenance=maintenance
        )

    result = measure_all()

    def table() -> object:
        return availability_table(
            result.total,
            result.maintenance,
            result.downtime,
            result.degraded,
            target_ratio=0.995,
            degraded_weight=0.5,
        )

    def per_day() -> object:
        return total_per_bucket(result.downtime_segments, edges)

    def report() -> object:
        measured = measure_all()
        total_per_bucket(measured.downtime_segments, edges)
        return availability_table(
            measured.total,
            measured.maintenance,
            measured.downtime,
            measured.degraded,
            target_ratio=0.995,
            degraded_weight=0.5,
        )

    summary = (
        f"{services} services, {len(outage)} outage, {len(maintenance)} maintenance, "
        f"{len(degraded)} degraded windows; {len(result.downtime_segments)} downtime segments"
    )
    return summary, [
        (f"measure: {services} services", measure_all),
        (f"availability_table: {services} services", table),
        ("total_per_bucket: all downtime segments, 30 days", per_day),
        ("report: measure + total_per_bucket + availability_table", report),
        (
            f"reference: measure called once per service, {services} calls",
            service_by_service(month, services),
        ),
    ]


def service_by_service(month: Month, services: int) -> Callable[[], object]:
    """What the vectorised sweep replaces: the same work, one service at a time."""

    def one(kind: Windows, group: int) -> Windows:
        chosen = kind.group == group
        return Windows(kind.group[chosen] * 0, kind.start[chosen], kind.end[chosen])

    split = [
        (i, one(month.outage, i), one(month.degraded, i), one(month.maintenance, i))
        for i in range(services)
    ]

    def measure_each() -> object:
        return [
            measure(
                month.period_start[i : i + 1],
                month.period_end[i : i + 1],
                outage=out,
                degraded=deg,
                maintenance=maint,
            )
            for i, out, deg, maint in split
        ]

    return measure_each


def one_service(rng: np.random.Generator) -> list[Case]:
    """One service's month in Berlin: 100 outage, 10 degraded and 4 maintenance windows."""
    now = to_micros(NOW)
    berlin = month_period(2026, 11, BERLIN, now=NOW)
    start, end = (np.array([v], dtype=np.int64) for v in berlin.to_micros())
    lengths = (np.exp(rng.normal(np.log(600), 1.5, 100)) * S).astype(np.int64)
    planned = rng.integers(HOUR, 4 * HOUR, size=14, dtype=np.int64)
    outage = windows(rng, 100, start, end, lengths, now)
    maintenance = windows(rng, 4, start, end, planned[:4], now)
    degraded = windows(rng, 10, start, end, planned[4:], now)
    edges = day_edges_micros(berlin, BERLIN)

    def measure_one() -> Measured:
        return measure(start, end, outage=outage, degraded=degraded, maintenance=maintenance)

    def everything() -> object:
        alone = measure_one()
        total_per_bucket(alone.downtime_segments, edges)
        return availability_of(
            "checkout",
            berlin,
            total_us=int(alone.total[0]),
            maintenance_us=int(alone.maintenance[0]),
            downtime_us=int(alone.downtime[0]),
            degraded_us=int(alone.degraded[0]),
            target_ratio=0.995,
            degraded_weight=0.5,
        )

    return [
        ("measure: 1 service, 114 windows", measure_one),
        ("1 service: measure + per-day + availability_of", everything),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--windows", type=int, default=100_000, help="outage windows in all")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    rng = np.random.default_rng(2026)
    summary, many = many_services(rng, args.services, args.windows)
    single = one_service(rng)
    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; runs={args.runs} (x50 for one service)"
    )
    print(summary)
    print()
    print("| case | median ms | min ms | max ms | peak MiB |")
    print("|---|---:|---:|---:|---:|")
    for name, call in many:
        row(name, *timed(call, args.runs))
    for name, call in single:
        row(name, *timed(call, args.runs * 50))


if __name__ == "__main__":
    main()
