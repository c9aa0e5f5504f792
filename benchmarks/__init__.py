"""The benchmarks: each module is run with `python -m benchmarks.NAME` (see README.md).

`harness` holds what they share: running a server, fresh databases, /proc readings.
"""
