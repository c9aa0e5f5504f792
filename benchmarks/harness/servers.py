"""A `slakeeper serve` on a free loopback port, for a benchmark to load, and talking to it."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.harness import BenchmarkError

__all__ = [
    "LOOPBACK",
    "WEBHOOK_PATH",
    "Server",
    "find_slakeeper",
    "free_port",
    "http_get",
    "log_tail",
    "running_server",
    "stop_server",
    "wait_until_ready",
]


LOOPBACK = "127.0.0.1"
# Prometheus and Alertmanager ports: a developer may be running them on this machine.
RESERVED_PORTS = frozenset({9090, 9093, 9094})
WEBHOOK_PATH = "/api/v1/webhooks/alertmanager"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass(slots=True)
class Server:
    """A running `slakeeper serve` and where it logs."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    exit_code: int | None = None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((LOOPBACK, 0))
            port = int(probe.getsockname()[1])
        if port not in RESERVED_PORTS:
            return port


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """GET `path` from 127.0.0.1:`port` (never through a proxy)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def log_tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file."""
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def find_slakeeper() -> Path:
    """The `slakeeper` script next to this interpreter (the project's venv), or on PATH."""
    beside = Path(sys.executable).parent / "slakeeper"
    if beside.is_file():
        return beside
    found = shutil.which("slakeeper")
    if found is None:
        raise BenchmarkError("cannot find the slakeeper command: run with .venv/bin/python")
    return Path(found)


def wait_until_ready(server: Server) -> None:
    """Poll GET /readyz until it answers 200; fail if the server dies or takes too long."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        code = server.process.poll()
        if code is not None:
            raise BenchmarkError(
                f"server exited with {code} before it was ready:\n{log_tail(server.log_path)}"
            )
        with contextlib.suppress(OSError, http.client.HTTPException):
            # Refused or reset: uvicorn is not listening yet.
            if http_get(server.port, "/readyz", timeout=2.0)[0] == 200:
                return
        if time.monotonic() > deadline:
            raise BenchmarkError(
                f"server not ready after {READY_TIMEOUT_S:.0f} s:\n{log_tail(server.log_path)}"
            )
        time.sleep(0.1)


def stop_server(server: Server) -> None:
    """SIGTERM, wait for the graceful shutdown, SIGKILL the group if it hangs."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print(f"server did not stop in {STOP_TIMEOUT_S:.0f} s: killing it", file=sys.stderr)
            process.kill()
            process.wait()
    server.exit_code = process.returncode
    # The server leads its own process group: take any worker it left behind.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_server(
    slakeeper: Path,
    database_url: str,
    workers: int,
    log_path: Path,
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """A ready `slakeeper serve` on a free loopback port, stopped afterwards; `env` adds to
    the environment it inherits."""
    port = free_port()
    command = [str(slakeeper), "serve", "--host", LOOPBACK, "--port", str(port)]
    command += ["--database-url", database_url, "--workers", str(workers)]
    command += ["--log-level", "warning"]
    with log_path.open("wb") as log:
        # Own session: a terminal's Ctrl-C reaches only us, and we stop the server in order.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        server = Server(process=process, port=port, log_path=log_path)
        try:
            wait_until_ready(server)
            yield server
        finally:
            stop_server(server)
