"""One wrk run of ingest.lua against the webhook, and the figures it prints."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from benchmarks.harness import BenchmarkError
from benchmarks.harness.servers import LOOPBACK, WEBHOOK_PATH
from benchmarks.ingest.options import Options

__all__ = ["LUA_SCRIPT", "WRK_INSTALL_HINT", "WrkResult", "WrkRun", "parse_wrk_result", "run_wrk"]

LUA_SCRIPT = Path(__file__).resolve().parent.parent / "ingest.lua"


WRK_INSTALL_HINT = "apt-get install -y --no-install-recommends wrk"


@dataclass(frozen=True, slots=True)
class WrkResult:
    """The `RESULT` line printed by ingest.lua's done()."""

    scenario: str
    requests: int
    duration_us: float
    wrk_duration_us: float
    stopped_by_limit: bool
    alerts_per_request: int
    latency_us: dict[str, float]
    errors: dict[str, int]
    statuses: dict[str, int]
    sample_error: str


@dataclass(frozen=True, slots=True)
class WrkRun:
    """One wrk run: its result and the CPU it used itself."""

    result: WrkResult
    cpu_s: float


def _int_map(value: Any) -> dict[str, int]:
    """A JSON object of counts, typed."""
    if not isinstance(value, dict):
        return {}
    return {str(key): int(count) for key, count in value.items()}


def parse_wrk_result(stdout: str) -> WrkResult:
    """The `RESULT {...}` line of ingest.lua's done()."""
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            data = json.loads(line.removeprefix("RESULT "))
            break
    else:
        raise BenchmarkError(f"wrk printed no RESULT line:\n{stdout.strip()}")
    return WrkResult(
        scenario=str(data["scenario"]),
        requests=int(data["requests"]),
        duration_us=float(data["duration_us"]),
        wrk_duration_us=float(data["wrk_duration_us"]),
        stopped_by_limit=bool(data["stopped_by_limit"]),
        alerts_per_request=int(data["alerts_per_request"]),
        latency_us={str(k): float(v) for k, v in data["latency_us"].items()},
        errors=_int_map(data["errors"]),
        statuses=_int_map(data["statuses"]),
        sample_error=str(data["sample_error"]),
    )


def _read(handle: IO[bytes]) -> str:
    """All of a temporary file written by a child."""
    handle.seek(0)
    return handle.read().decode(errors="replace")


def run_wrk(options: Options, port: int, scenario: str, token: str | None = None) -> WrkRun:
    """Run wrk for one scenario (with `token` as a bearer token); its CPU comes from wait4's
    rusage."""
    command = ["wrk", "-t", str(options.threads), "-c", str(options.connections)]
    if token is not None:
        command += ["-H", f"Authorization: Bearer {token}"]
    command += ["-d", f"{options.duration}s", "--timeout", "10s", "-s", str(LUA_SCRIPT)]
    command += [f"http://{LOOPBACK}:{port}{WEBHOOK_PATH}", "--", scenario]
    command += [str(options.max_requests)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            # wait4 reaps wrk and hands back its own rusage (not that of other children).
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if process.returncode is None:
                process.kill()
                process.wait()
        stdout, stderr = _read(out), _read(err)
    if process.returncode != 0:
        raise BenchmarkError(f"wrk exited with {process.returncode}:\n{stderr}{stdout}")
    return WrkRun(result=parse_wrk_result(stdout), cpu_s=usage.ru_utime + usage.ru_stime)
