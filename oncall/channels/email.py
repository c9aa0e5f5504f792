"""E-mail: a message composed for the recipient and the channel's addresses, sent through the
SMTP server of the settings (STARTTLS, implicit TLS or none; login when a username is set)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Literal

import aiosmtplib

from oncall.channels.answers import reason
from oncall.channels.base import ChannelRefused, Message, Recipient
from rules.reaching import EmailChannel

__all__ = ["SmtpSettings", "compose", "send_email"]

logger = logging.getLogger(__name__)
_SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The SMTP server e-mail is sent through; `ca_file` trusts a private CA's certificates."""

    host: str
    port: int
    security: Literal["starttls", "tls", "none"]
    username: str | None
    password: str | None = field(repr=False)
    sender: str
    timeout_seconds: float = 10
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("an SMTP host is required")
        if not 0 < self.port < 65536:
            raise ValueError(f"invalid SMTP port {self.port}: expected 1-65535")
        if self.security not in _SECURITY:
            raise ValueError(
                f"invalid SMTP security {self.security!r}: expected one of {_SECURITY}"
            )
        if (self.username is None) != (self.password is None):
            raise ValueError("an SMTP username and password go together: set both or neither")
        if self.timeout_seconds <= 0:
            raise ValueError(f"an SMTP timeout is positive, got {self.timeout_seconds}")
        if "@" not in parseaddr(self.sender)[1]:
            raise ValueError(f"invalid sender {self.sender!r}: expected an e-mail address")


def compose(
    channel: EmailChannel, message: Message, *, sender: str, now: datetime | None = None
) -> EmailMessage:
    """The e-mail of `message` to its recipient and the channel's `to`; `now` dates it.

    Its Message-ID comes from the message's key, so a resent message is known as the same one.
    """
    recipients = _addresses(message.recipient, channel.to)
    if not recipients:
        who = message.recipient.username if message.recipient is not None else "a group"
        raise ChannelRefused(f"no e-mail address: neither {who} nor the channel has one")
    email = EmailMessage()
    email["From"] = sender
    email["To"] = recipients
    email["Subject"] = message.title
    email["Date"] = format_datetime(now or datetime.now(UTC))
    email["Message-ID"] = _message_id(message.key, sender)
    email["X-Slakeeper-Key"] = message.key
    email.set_content(message.text)
    if message.html is not None:
        email.add_alternative(message.html, subtype="html")
    return email


def _addresses(recipient: Recipient | None, others: Iterable[str]) -> tuple[Address, ...]:
    found: dict[str, Address] = {}
    if recipient is not None and recipient.email:
        found[recipient.email.lower()] = Address(recipient.display_name, addr_spec=recipient.email)
    for address in others:
        found.setdefault(address.lower(), Address(addr_spec=address))
    return tuple(found.values())


def _message_id(key: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "slakeeper.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def send_email(settings: SmtpSettings, email: EmailMessage) -> None:
    """Send `email` and wait for the server to take it, from a thread with no event loop.

    Any failure, the server's refusal (with its SMTP code) or no connection, raises
    `ChannelRefused`; recipients refused while others took the message are logged.
    """
    try:
        refused, _ = asyncio.run(_send(settings, email))
    except aiosmtplib.SMTPResponseException as error:
        raise ChannelRefused(f"SMTP {error.code}: {reason(error.message)}") from error
    except aiosmtplib.SMTPRecipientsRefused as error:
        refusals = "; ".join(
            f"{each.recipient}: {each.code} {each.message}" for each in error.recipients
        )
        raise ChannelRefused(f"SMTP refused every recipient: {reason(refusals)}") from error
    except (aiosmtplib.SMTPException, OSError) as error:
        where = f"{settings.host}:{settings.port}"
        raise ChannelRefused(
            f"SMTP {where}: {type(error).__name__}: {reason(str(error))}"
        ) from error
    for address, answer in refused.items():
        logger.warning("SMTP refused %s: %s %s", address, answer.code, answer.message)


async def _send(
    settings: SmtpSettings, email: EmailMessage
) -> tuple[dict[str, aiosmtplib.SMTPResponse], str]:
    return await aiosmtplib.send(
        email,
        sender=parseaddr(settings.sender)[1],
        hostname=settings.host,
        port=settings.port,
        username=settings.username,
        password=settings.password,
        use_tls=settings.security == "tls",
        start_tls=settings.security == "starttls",
        cert_bundle=settings.ca_file,
        timeout=settings.timeout_seconds,
    )
