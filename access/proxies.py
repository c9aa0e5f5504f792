"""Trusted reverse proxies: whose forwarded address and user header are believed (pure)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

__all__ = ["TrustedProxies"]

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The addresses (or networks) of the reverse proxies slakeeper sits behind."""

    def __init__(self, entries: Sequence[str]) -> None:
        self.networks: tuple[_Network, ...] = tuple(
            ipaddress.ip_network(entry.strip(), strict=False) for entry in entries
        )

    def trusts(self, peer: str | None) -> bool:
        """Whether a connection from `peer` comes from a trusted proxy."""
        if peer is None or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client(self, peer: str | None, forwarded_for: str | None) -> str | None:
        """The caller's address: the peer, or behind trusted proxies the last address of
        `X-Forwarded-For` that is not itself a trusted proxy."""
        if not self.trusts(peer) or not forwarded_for:
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer
