"""Ingestion benchmark: load slakeeper's Alertmanager webhook with wrk, per database and scenario.

For each database a fresh server on a fresh database runs every scenario in turn; the
harness reports throughput, latency, errors, CPU and peak memory, and asserts nothing
about them. Run it with `.venv/bin/python -m benchmarks.ingest --help` or `make bench`.

`options` reads the command line, `wrk` runs wrk with `benchmarks/ingest.lua`, `measure`
measures a scenario and a database, `tables` prints the figures; `__main__` runs it all.
"""
