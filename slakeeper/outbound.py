"""How messages leave, as the settings say: SMTP for e-mail, the public URL for links."""

from __future__ import annotations

from datetime import timedelta

from oncall.channels.email import SmtpSettings
from oncall.delivery import Outbound
from slakeeper.settings import Settings

__all__ = ["outbound_of"]


def outbound_of(settings: Settings) -> Outbound:
    """How messages leave, as `settings` say."""
    smtp = None
    if settings.smtp_host:
        password = settings.smtp_password
        smtp = SmtpSettings(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=password.get_secret_value() if password is not None else None,
            sender=settings.smtp_from,
            ca_file=settings.smtp_ca_file,
        )
    return Outbound(
        smtp=smtp,
        public_url=settings.public_url or f"http://{settings.host}:{settings.port}",
        default_zone=settings.timezone,
        ack_link_lifetime=timedelta(hours=settings.ack_link_hours),
    )
