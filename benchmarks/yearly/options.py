"""The yearly benchmark's command line: how big a year, which databases, how long to load."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.harness.databases import LOOPBACK_NAMES
from benchmarks.ingest.options import DATABASES
from benchmarks.yearly.dataset import Sizes

__all__ = ["Options", "parse_options"]


@dataclass(frozen=True, slots=True)
class Options:
    """What to build and what to measure."""

    sizes: Sizes
    databases: tuple[str, ...]
    reuse: bool
    build_only: bool
    requests: int
    deep_page: int
    ingest_duration: int
    ingest_connections: int
    postgres_url: str
    sqlite_dir: Path


def _positive(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 1, got {text}")
    return value


def _databases(text: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))
    if not items or any(item not in DATABASES for item in items):
        raise argparse.ArgumentTypeError(f"expected a subset of {','.join(DATABASES)}")
    return items


def parse_options(argv: Sequence[str] | None) -> Options:
    """The command line, checked."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.yearly",
        description="a year-sized database, bulk-loaded, and the server's answers on it",
    )
    parser.add_argument("--alerts", type=_positive, default=10_000_000)
    parser.add_argument("--incidents", type=_positive, default=1_000_000)
    parser.add_argument("--services", type=_positive, default=1_000)
    parser.add_argument("--databases", type=_databases, default=DATABASES)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the database built for these sizes if there is one, and keep it afterwards",
    )
    parser.add_argument("--build-only", action="store_true", help="build (or reuse), no run")
    parser.add_argument("--requests", type=_positive, default=60, help="timed requests per case")
    parser.add_argument(
        "--deep-page", type=_positive, default=1_000, help="the cursor page the deep cases reach"
    )
    parser.add_argument(
        "--ingest-duration", type=_positive, default=5, help="seconds per ingestion scenario"
    )
    parser.add_argument("--ingest-connections", type=_positive, default=32)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--sqlite-dir", type=Path, default=Path("/work/bigdb"))
    args = parser.parse_args(argv)
    if urlsplit(args.postgres_url).hostname not in LOOPBACK_NAMES:
        parser.error("--postgres-url must point at this machine (127.0.0.1)")
    try:
        # The year ends at the start of the current hour: a rebuild the same hour is identical.
        sizes = Sizes(args.alerts, args.incidents, args.services, int(time.time()) // 3600 * 3600)
    except ValueError as error:
        parser.error(str(error))
    return Options(
        sizes=sizes,
        databases=args.databases,
        reuse=args.reuse or args.build_only,
        build_only=args.build_only,
        requests=args.requests,
        deep_page=args.deep_page,
        ingest_duration=args.ingest_duration,
        ingest_connections=args.ingest_connections,
        postgres_url=args.postgres_url,
        sqlite_dir=args.sqlite_dir,
    )
