"""The ingestion benchmark's command line: what to run and how hard."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.harness.databases import LOOPBACK_NAMES

__all__ = ["DATABASES", "MAX_WRK_THREADS", "SCENARIOS", "Options", "parse_options"]


SCENARIOS = ("new", "dup", "batch", "resolve")
AUTH_MODES = ("none", "configured", "account")
DATABASES = ("sqlite", "postgresql")
# ingest.lua spends 3 hex digits of each generated fingerprint on the wrk thread id.
MAX_WRK_THREADS = 0xFFF + 1


@dataclass(frozen=True, slots=True)
class Options:
    """What to run and how hard."""

    databases: tuple[str, ...]
    scenarios: tuple[str, ...]
    duration: int
    connections: int
    threads: int
    workers: int
    max_requests: int
    postgres_url: str
    json_path: Path | None
    # How the pushes authenticate: not at all (loopback, no tokens), with a token from
    # SLAKEEPER_INGEST_TOKENS, or with a service account's token from the database.
    auth: str = "none"


def _csv(choices: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """An argparse type: a comma-separated subset of `choices`, order kept."""

    def parse(text: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in text.split(",") if item.strip())
        unknown = [item for item in items if item not in choices]
        if unknown or not items:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {','.join(choices)}, got {text!r}"
            )
        return tuple(dict.fromkeys(items))

    return parse


def _positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 1, got {text}")
    return value


def parse_options(argv: Sequence[str] | None) -> Options:
    """The command line, checked."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ingest",
        description="slakeeper ingestion benchmark (wrk + ingest.lua)",
    )
    parser.add_argument(
        "--databases", type=_csv(DATABASES), default=DATABASES, help="default: sqlite,postgresql"
    )
    parser.add_argument(
        "--scenarios", type=_csv(SCENARIOS), default=SCENARIOS, help="default: all, in this order"
    )
    parser.add_argument("--duration", type=_positive, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=_positive, default=32, help="wrk connections")
    parser.add_argument("--threads", type=_positive, default=2, help="wrk threads")
    parser.add_argument("--workers", type=_positive, default=1, help="slakeeper workers")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=200_000,
        help="responses per wrk thread before it stops (0: no limit)",
    )
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin URL used to create and drop the benchmark database",
    )
    parser.add_argument("--json", dest="json_path", type=Path, help="also write results here")
    parser.add_argument(
        "--auth",
        choices=AUTH_MODES,
        default="none",
        help="pushes without a token (default), with a configured one, or an account's",
    )
    args = parser.parse_args(argv)
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads (wrk needs one per thread)")
    if args.threads > MAX_WRK_THREADS:
        parser.error(f"--threads must be at most {MAX_WRK_THREADS} (ingest.lua's fingerprints)")
    if args.max_requests < 0:
        parser.error("--max-requests must be 0 (no limit) or more")
    if urlsplit(args.postgres_url).hostname not in LOOPBACK_NAMES:
        parser.error("--postgres-url must point at this machine (127.0.0.1)")
    return Options(
        databases=args.databases,
        scenarios=args.scenarios,
        duration=args.duration,
        connections=args.connections,
        threads=args.threads,
        workers=args.workers,
        max_requests=args.max_requests,
        postgres_url=args.postgres_url,
        json_path=args.json_path,
        auth=args.auth,
    )
