"""What the benchmarks share: a `slakeeper serve` to load (`servers`), fresh databases
(`databases`), CPU and memory from /proc (`procfs`) and percentiles (`stats`)."""

__all__ = ["BenchmarkError"]


class BenchmarkError(Exception):
    """The benchmark cannot go on; the message says why."""
