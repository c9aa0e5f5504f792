"""HAProxy in front of slakeeper replicas: the configuration docs/scaling.md shows (the test
checks it is the same text), and starting it in the foreground on a loopback port."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.conftest import missing
from tests.e2e.support import ProcessGroup, Service, find_binary

__all__ = ["balancer_config", "require_haproxy", "start_balancer"]


def balancer_config(listen: str, replicas: Sequence[str]) -> str:
    """haproxy.cfg: `listen` (host:port) spread over `replicas` (host:port each), a replica
    taken out after two failed `GET /readyz` a second apart and back after two good ones."""
    servers = "".join(
        f"    server replica{number} {address} check\n"
        for number, address in enumerate(replicas, start=1)
    )
    return (
        "global\n"
        "    nbthread 2\n"
        "    log stderr format raw local0 notice\n"
        "\n"
        "defaults\n"
        "    mode http\n"
        "    log global\n"
        "    timeout connect 2s\n"
        "    timeout client 60s\n"
        "    timeout server 60s\n"
        "    timeout check 2s\n"
        "    # A connection refused by a replica that just died is tried on another one.\n"
        "    retries 3\n"
        "    option redispatch 1\n"
        "\n"
        "frontend slakeeper\n"
        f"    bind {listen}\n"
        "    default_backend replicas\n"
        "\n"
        "backend replicas\n"
        "    balance roundrobin\n"
        "    option httpchk GET /readyz\n"
        "    http-check expect status 200\n"
        "    default-server inter 1s fall 2 rise 2\n"
        f"{servers}"
    )


def require_haproxy() -> Path:
    """Debian's haproxy (in /usr/sbin, often not on a user's PATH); skip, or in CI fail."""
    found = find_binary("haproxy")
    if found is None and Path("/usr/sbin/haproxy").is_file():
        found = Path("/usr/sbin/haproxy")
    if found is None:
        missing("haproxy not found on PATH, in /usr/bin or /usr/sbin (apt-get install haproxy)")
    return found


def start_balancer(
    group: ProcessGroup, binary: Path, port: int, replicas: Sequence[str], workdir: Path
) -> Service:
    """HAProxy in the foreground (`-db`) on `port`; wait for `/readyz` through it."""
    config = workdir / "haproxy.cfg"
    config.write_text(balancer_config(f"127.0.0.1:{port}", replicas))
    checked = subprocess.run(
        [str(binary), "-c", "-f", str(config)], capture_output=True, text=True, timeout=30
    )
    if checked.returncode != 0:
        raise AssertionError(f"haproxy refuses its configuration:\n{checked.stderr}")

    def command(listen_port: int) -> list[str]:
        assert listen_port == port, "the balancer's port is fixed: Alertmanager sends to it"
        return [str(binary), "-db", "-f", str(config)]

    return Service(
        group, "haproxy", command, "/readyz", port, group.spawn("haproxy", command(port))
    )
