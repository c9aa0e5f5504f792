"""`slakeeper` as an operator runs it: one-shot commands and `serve` as a child process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

SLAKEEPER = str(Path(sys.executable).parent / "slakeeper")


def clean_environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLAKEEPER_")}
    env.update(extra)
    return env


def run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SLAKEEPER, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=clean_environment(**env),
    )


class Server:
    """`slakeeper serve` as a child process."""

    def __init__(self, port: int, process: subprocess.Popen[str]) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.process = process

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.1)
        raise AssertionError("serve did not become ready")


def serving(free_port: Callable[[], int], tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start `slakeeper serve` processes in `tmp_path`; stop them all at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, **env: str) -> Server:
        port = free_port()
        with open(tmp_path / f"serve-{port}.log", "w") as log:
            process = subprocess.Popen(
                [SLAKEEPER, "serve", "--port", str(port), *args],
                cwd=tmp_path,
                env=clean_environment(**env),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        started.append(process)
        server = Server(port, process)
        server.wait_ready()
        return server

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
