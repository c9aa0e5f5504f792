"""How the settings authenticate: the configured tokens as service accounts, anonymous
access, trusted proxies and session lifetimes, as `access` needs them."""

from __future__ import annotations

from datetime import timedelta

from access.authentication import AccessConfig
from access.credentials import configured_token_name, digest
from access.proxies import TrustedProxies
from access.roles import Kind, Principal, Role
from access.sessions import Lifetimes
from slakeeper.settings import Settings, is_loopback

__all__ = ["access_config"]


def access_config(settings: Settings) -> AccessConfig:
    """`SLAKEEPER_INGEST_TOKENS` become tools with the ingest scope; `SLAKEEPER_API_TOKENS`
    admins that may name the person they act for (as any token could before accounts)."""
    configured: dict[str, Principal] = {}
    for token in settings.ingest_token_values():
        configured[digest(token)] = Principal(
            name=configured_token_name("ingest", token),
            kind=Kind.CONFIGURED,
            role=None,
            method="token",
            may_ingest=True,
        )
    for token in settings.api_token_values():
        same = configured.get(digest(token))
        configured[digest(token)] = Principal(
            name=configured_token_name("api", token),
            kind=Kind.CONFIGURED,
            role=Role.ADMIN,
            method="token",
            may_ingest=same is not None,
            may_act_for=True,
        )
    return AccessConfig(
        configured=configured,
        anonymous=is_loopback(settings.host) or settings.insecure,
        proxies=TrustedProxies(settings.trusted_proxies),
        proxy_header=settings.auth_proxy_header,
        lifetimes=Lifetimes(
            idle=timedelta(seconds=settings.session_idle_seconds),
            longest=timedelta(seconds=settings.session_max_seconds),
        ),
        cookie_secure=settings.cookie_secure,
        metrics_need_credential=settings.metrics_need_credential,
    )
