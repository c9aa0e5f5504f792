"""Settings from `SLAKEEPER_*` environment variables, built by `load_settings()`."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from access.credentials import MIN_CONFIGURED_TOKEN_LENGTH
from housekeeping.policy import Retention

__all__ = ["DEFAULT_DATABASE_URL", "Settings", "is_loopback", "load_settings"]

DEFAULT_DATABASE_URL = "sqlite:///slakeeper.db"

TokenList = Annotated[list[SecretStr], NoDecode]


class Settings(BaseSettings):
    """Everything an operator can set; tokens stay secret in reprs and logs."""

    # No value in a validation error: a refused token must not be repeated in a log.
    model_config = SettingsConfigDict(
        env_prefix="SLAKEEPER_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    rules: Path | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    # Tokens from the environment (before accounts existed): service accounts with the
    # ingest scope, and with the admin role (allowed to name the person they act for).
    ingest_tokens: TokenList = Field(default_factory=list)
    api_tokens: TokenList = Field(default_factory=list)
    # With `--insecure`: requests without credentials are let in off loopback too, as on
    # loopback when no credential exists at all.
    insecure: bool = False
    # Reverse proxies whose `X-Forwarded-For` (and `auth_proxy_header`) are believed.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The header a trusted SSO proxy names the signed-in person in (e.g. X-Forwarded-User).
    auth_proxy_header: str | None = None
    # Whether /metrics needs a credential (viewer) like every other route.
    metrics_need_credential: bool = False
    # A console session ends after this long without a request, and at the latest this long
    # after login (s); the cookie is Secure over TLS (or always / never if set).
    session_idle_seconds: float = Field(default=12 * 3600, gt=0)
    session_max_seconds: float = Field(default=7 * 86400, gt=0)
    cookie_secure: bool | None = None
    alertmanager_url: str | None = None
    # Reconciliation adds only alerts Alertmanager routes to one of these receivers (the
    # ones whose webhook is slakeeper); empty: every alert it lists.
    alertmanager_receivers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The `externalURL`s (`--web.external-url`, of it and its cluster peers) that Alertmanager's
    # webhooks carry, besides `alertmanager_url`: only instances delivered with one of them, or
    # found in its list by an earlier run, may be resolved by reconciliation.
    alertmanager_external_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Whether `serve` runs the scheduled jobs; off when `slakeeper scheduler` runs them apart.
    scheduler: bool = True
    timezone: str = "UTC"
    # Where Grafana is (e.g. http://grafana:3000): a service's console page links to its
    # dashboard there. Empty: no link.
    grafana_url: str | None = Field(default=None, pattern=r"^https?://")
    # Where people reach the console: the links in messages (an incident's page, the link that
    # acknowledges it). Unset: http://HOST:PORT of this server.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+")
    # How long the acknowledgement link in a message works (hours).
    ack_link_hours: float = Field(default=24.0, gt=0, le=24 * 31)
    # A closed month's adjustment counts only once a second manager approves it.
    adjustments_need_approval: bool = False
    # E-mail to people (the `email` channel) through this SMTP server; unset: no e-mail.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "slakeeper@localhost"
    # A private CA's certificates (PEM) to trust for the SMTP server's, besides the system's.
    smtp_ca_file: str | None = None
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Request bodies being handled at once (per process), beyond which pushes get 503 and
    # Retry-After: what bounds memory, since a push takes several times its size until stored.
    max_inflight_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    ingest_queue_limit: int = Field(default=20_000, ge=1)
    access_log: bool = False
    log_level: str = "info"
    # How often the SLA job (breaches, escalation) and reconciliation run, and how long
    # reconciliation lets Alertmanager (or an alert) be heard of before it trusts its list.
    sla_interval_seconds: float = Field(default=15.0, gt=0, le=3600)
    reconcile_interval_seconds: float = Field(default=60.0, gt=0, le=86400)
    reconcile_grace_seconds: float = Field(default=300.0, ge=0, le=86400)
    # How often a replica tries to lead the scheduled jobs, and the leader confirms it still
    # does (s): a dead leader is replaced within about this long (docs/scaling.md).
    leader_check_seconds: float = Field(default=5.0, gt=0, le=60)
    # How long /metrics reuses the states, downtime and open incidents it computed (s).
    metrics_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # How old /metrics lets availability and error budget grow before it recomputes them
    # in the background (s); 0 computes them at every scrape.
    availability_refresh_seconds: float = Field(default=60.0, ge=0, le=3600)
    # Housekeeping (`housekeeping.policy`): how many days each table keeps its rows (0: for
    # ever). Alert instances that count in a month's figures also wait for their months to be
    # closed; audit events are evidence, kept longer than the alerts they explain.
    retention_deliveries_days: int = Field(default=30, ge=0)
    retention_alerts_days: int = Field(default=400, ge=0)
    retention_notification_attempts_days: int = Field(default=90, ge=0)
    retention_audit_events_days: int = Field(default=730, ge=0)
    # Rows deleted per transaction, and how often the job runs (s).
    housekeeping_batch_size: int = Field(default=1000, ge=1, le=100_000)
    housekeeping_interval_seconds: float = Field(default=3600.0, gt=0, le=7 * 86400)
    # The browser that prints the compliance report's PDF: a command on PATH or a path.
    chromium_path: str = Field(default="chromium", min_length=1)

    @field_validator(
        "ingest_tokens",
        "api_tokens",
        "alertmanager_receivers",
        "alertmanager_external_urls",
        "trusted_proxies",
        mode="before",
    )
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [token.strip() for token in value.split(",") if token.strip()]
        return value

    @field_validator("ingest_tokens", "api_tokens")
    @classmethod
    def _long_enough(cls, tokens: list[SecretStr]) -> list[SecretStr]:
        for token in tokens:
            if len(token.get_secret_value()) < MIN_CONFIGURED_TOKEN_LENGTH:
                raise ValueError(
                    f"a configured token has at least {MIN_CONFIGURED_TOKEN_LENGTH} characters "
                    "(generate one with `openssl rand -hex 32`, or use `slakeeper tokens create`)"
                )
        return tokens

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return entries

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        levels = {"critical", "error", "warning", "info", "debug"}
        if value.lower() not in levels:
            raise ValueError(f"log level must be one of {sorted(levels)}")
        return value.lower()

    @model_validator(mode="after")
    def _one_push_fits_in_flight(self) -> Settings:
        if self.max_inflight_bytes < self.max_body_bytes:
            raise ValueError(
                f"max_inflight_bytes ({self.max_inflight_bytes}) must be at least "
                f"max_body_bytes ({self.max_body_bytes}): a push of the largest size allowed "
                "would never be admitted"
            )
        return self

    def retention(self) -> Retention:
        """How long housekeeping keeps each table's rows, as these settings say."""
        return Retention.from_days(
            deliveries=self.retention_deliveries_days,
            alerts=self.retention_alerts_days,
            notification_attempts=self.retention_notification_attempts_days,
            audit_events=self.retention_audit_events_days,
            batch_size=self.housekeeping_batch_size,
        )

    def ingest_token_values(self) -> list[str]:
        """The configured ingest tokens in clear, for comparison only."""
        return [token.get_secret_value() for token in self.ingest_tokens]

    def api_token_values(self) -> list[str]:
        """The configured API tokens (writes, reloads) in clear, for comparison only."""
        return [token.get_secret_value() for token in self.api_tokens]


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, with explicit overrides taking precedence."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})


def is_loopback(host: str) -> bool:
    """True when `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
