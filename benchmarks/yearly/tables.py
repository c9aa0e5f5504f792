"""The yearly benchmark's figures as one Markdown table per database, to paste."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.harness.stats import percentile
from benchmarks.yearly.measure import DatabaseFigures

__all__ = ["print_summary"]


def _database_table(figures: DatabaseFigures) -> list[str]:
    lines = [
        f"\n### {figures.kind}\n",
        "| case | status | first ms | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for timing in figures.reads:
        lines.append(
            f"| {timing.case.name} | {timing.status} | {timing.first_ms:.1f} "
            f"| {timing.p50:.1f} | {timing.p99:.1f} |"
        )
    for name, pages in figures.walks.items():
        lines.append(
            f"| walk {name}: {len(pages)} pages, each | 200 | {pages[0]:.1f} | "
            f"{percentile(pages, 0.5):.1f} | {percentile(pages, 0.99):.1f} |"
        )
    for ingest in figures.ingestion:
        lines.append(
            f"| ingestion {ingest.scenario}: {ingest.alerts_per_s:,.0f} alerts/s "
            f"({ingest.errors} errors) | | | {ingest.p50_ms:.1f} | {ingest.p99_ms:.1f} |"
        )
    lines.append(f"| housekeeping batch: {figures.housekeeping} | | | | |")
    return lines


def print_summary(results: Sequence[DatabaseFigures]) -> None:
    """Every database's table."""
    for figures in results:
        print("\n".join(_database_table(figures)))
