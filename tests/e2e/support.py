"""Plumbing of the end-to-end tests: real processes, free ports, polling.

Nothing here fakes a part of the system: slakeeper, Alertmanager and Prometheus run as
real processes on loopback ports (`clients.py` talks to them; `loopback.py` holds the
in-process endpoints they talk to: a scrape target, contacts' webhooks, a relay).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

__all__ = [
    "LOOPBACK",
    "WAIT_TIMEOUT",
    "ManagedProcess",
    "ProcessDied",
    "ProcessGroup",
    "Service",
    "WaitTimeout",
    "child_environment",
    "find_binary",
    "parse_time",
    "pick_free_port",
    "rfc3339",
    "unique_name",
    "wait_until",
    "write_config",
]

T = TypeVar("T")

LOOPBACK = "127.0.0.1"
WAIT_TIMEOUT = 30.0
LOG_TAIL_CHARS = 6_000
_PR_SET_PDEATHSIG = 1


class WaitTimeout(AssertionError):
    """A polled condition did not come true in time."""


class ProcessDied(RuntimeError):
    """A process we started exited while we were relying on it."""


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float = WAIT_TIMEOUT,
    interval: float = 0.2,
    *,
    what: str = "the condition",
    ignoring: tuple[type[Exception], ...] = (),
) -> T:
    """Call `predicate` every `interval` seconds until it returns something truthy; return it.

    Exceptions of the `ignoring` types count as "not yet"; any other propagates at once.
    After `timeout` seconds, fail with the last value or exception seen.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = predicate()
        except ignoring as error:
            last = error
        else:
            if result:
                return result
            last = result
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}; last: {last!r}")
        time.sleep(interval)


_HANDED_OUT: set[int] = set()


def pick_free_port() -> int:
    """A loopback port nobody listens on right now, and not handed out before in this session.

    A port picked for a process that has not bound it yet is free again for the kernel: two
    services started back to back once got the same one, and the readiness check of the one
    that lost the port was answered by the other. A race with other programs remains (see
    `Service.wait_ready`).
    """
    while True:
        with socket.socket() as probe:
            probe.bind((LOOPBACK, 0))
            port: int = probe.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def unique_name(prefix: str) -> str:
    """An alert name no other test (or earlier run on a shared database) uses."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def find_binary(*names: str) -> Path | None:
    """The first of `names` on PATH or in /usr/bin (Debian's packages install there)."""
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/bin")
        if found:
            return Path(found)
    return None


def child_environment(home: Path) -> dict[str, str]:
    """Our environment without `SLAKEEPER_*` (a developer's tokens would refuse the
    sources' unauthenticated pushes) and with a private HOME (no amtool user config)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SLAKEEPER_")}
    env["HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def write_config(path: Path, content: Mapping[str, Any]) -> Path:
    """Write a YAML configuration file; JSON is YAML, and needs no quoting rules."""
    path.write_text(json.dumps(content, indent=2) + "\n")
    return path


# Loaded here, not in the forked child, where only async-signal-safe work is wise.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if pytest dies without stopping us (Linux)."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass(eq=False)
class ManagedProcess:
    """A child process whose output (stdout and stderr) goes to a log file."""

    name: str
    command: tuple[str, ...]
    log_path: Path
    popen: subprocess.Popen[bytes]
    _log: IO[bytes] = field(repr=False)

    @classmethod
    def spawn(
        cls, name: str, command: Sequence[str], log_path: Path, env: Mapping[str, str]
    ) -> ManagedProcess:
        log = log_path.open("wb")
        try:
            popen = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env),
                # Its own session: a Ctrl-C meant for pytest does not reach it first.
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        except BaseException:
            log.close()
            raise
        return cls(name, tuple(command), log_path, popen, log)

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, limit: int = LOG_TAIL_CHARS) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError as error:
            return f"(cannot read {self.log_path}: {error})"
        text = data[-limit:].decode(errors="replace")
        return f"[... {len(data) - limit} bytes before]\n{text}" if len(data) > limit else text

    def describe(self) -> str:
        state = "running" if self.running else f"exited with {self.popen.returncode}"
        return (
            f"{self.name} (pid {self.popen.pid}, {state})\ncommand: {' '.join(self.command)}\n"
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    def check_running(self) -> None:
        if not self.running:
            raise ProcessDied(f"{self.name} is not running:\n{self.describe()}")

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate, wait, kill if it will not go; always close the log."""
        try:
            if self.popen.poll() is None:
                self.popen.terminate()
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.popen.kill()
                    self.popen.wait(timeout)
        finally:
            self._log.close()


@dataclass(eq=False)
class Service:
    """A process listening on `port`, started by a `ProcessGroup`.

    A free port can be taken by someone else between our probe and the child's bind;
    `wait_ready` then starts the child again on another port.
    """

    group: ProcessGroup
    name: str
    command_for_port: Callable[[int], Sequence[str]]
    ready_path: str
    port: int
    process: ManagedProcess
    attempt: int = 1

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def wait_ready(
        self, client: httpx.Client, timeout: float = WAIT_TIMEOUT, attempts: int = 3
    ) -> Service:
        """Poll `GET ready_path` until it answers 200; fail with the log if it never does."""

        def ready() -> bool:
            self.process.check_running()
            return client.get(self.url + self.ready_path, timeout=2).status_code == 200

        while True:
            try:
                wait_until(
                    ready,
                    timeout,
                    0.1,
                    what=f"{self.name} to answer 200 on {self.url}{self.ready_path}",
                    ignoring=(httpx.TransportError,),
                )
            except ProcessDied:
                lost_port = "address already in use" in self.process.log_tail().lower()
                if not lost_port or self.attempt >= attempts:
                    raise
                self.attempt += 1
                self.port = pick_free_port()
                self.process = self.group.spawn(
                    self.name, self.command_for_port(self.port), attempt=self.attempt
                )
            except WaitTimeout as error:
                raise WaitTimeout(f"{error}\n{self.process.describe()}") from None
            else:
                return self

    def stop(self) -> None:
        """Stop the process (terminate, then kill); its port stays this service's."""
        self.process.stop()

    def restart(self, client: httpx.Client) -> Service:
        """Start the command again on the same port (peers are configured with it); wait."""
        self.process.stop()
        self.attempt += 1
        self.process = self.group.spawn(
            self.name, self.command_for_port(self.port), attempt=self.attempt
        )
        return self.wait_ready(client, attempts=self.attempt)


class ProcessGroup:
    """Processes started together and stopped together, newest first, whatever happens."""

    def __init__(
        self, log_dir: Path, env: Mapping[str, str], registry: list[ManagedProcess]
    ) -> None:
        self.log_dir = log_dir
        self.env = env
        self._registry = registry
        self._processes: list[ManagedProcess] = []

    def spawn(self, name: str, command: Sequence[str], *, attempt: int = 1) -> ManagedProcess:
        suffix = "" if attempt == 1 else f".{attempt}"
        process = ManagedProcess.spawn(
            name, command, self.log_dir / f"{name}{suffix}.log", self.env
        )
        self._processes.append(process)
        self._registry.append(process)
        return process

    def start(
        self, name: str, command_for_port: Callable[[int], Sequence[str]], ready_path: str
    ) -> Service:
        """Start `name` on a free port; call `wait_ready` on the result before using it."""
        port = pick_free_port()
        process = self.spawn(name, command_for_port(port))
        return Service(self, name, command_for_port, ready_path, port, process)

    def crashed(self) -> list[ManagedProcess]:
        """Processes of this group that exited on their own (only the last attempt counts)."""
        latest = {process.name: process for process in self._processes}
        return [process for process in latest.values() if not process.running]

    def stop_all(self) -> None:
        errors: list[BaseException] = []
        for process in reversed(self._processes):
            try:
                process.stop()
            except Exception as error:  # noqa: BLE001 - stop the others, then report
                errors.append(error)
        if errors:
            raise errors[0]

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop_all()
