"""Sending the report outbox: each claimed delivery's report rendered (once per month,
language and format in a round), then e-mailed with the file attached through the SMTP server
of the settings (`mailto:`), or posted as JSON to a webhook (`http(s)://`).

Nothing is sent with a transaction open. A failure is logged at WARNING with the delivery,
its month and its kind of recipient (never a webhook's URL: it may carry a token) and retried
with back-off (`ledger.delivery`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Literal

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from availability.compliance import ComplianceReport
from availability.pdf import PdfError
from availability.periods import parse_month
from availability.report_response import ReportFile, report_file
from core.database import writing_session
from ledger.cover_letter import cover_of, report_link, webhook_body
from ledger.delivery import ClaimedDelivery, Outcome, claim_due, record_outcomes
from ledger.reporting import month_report
from oncall.channels.answers import reason, refuse_http_error
from oncall.channels.base import ChannelRefused
from oncall.channels.email import SmtpSettings, send_email
from rules.policy import RuleFile

__all__ = ["SEND_BATCH", "ReportOutbound", "run_report_sender", "send_due_reports"]

log = logging.getLogger(__name__)

# Deliveries claimed at a time: their sending must end well within `ledger.delivery.LEASE`.
SEND_BATCH = 5


@dataclass(frozen=True, slots=True)
class ReportOutbound:
    """How reports leave: SMTP (None: e-mail is not configured), the client webhooks are
    posted with, the console's address for the report's link, the browser that prints PDFs."""

    client: httpx.Client
    smtp: SmtpSettings | None = None
    public_url: str | None = None
    chromium: str = "chromium"


@dataclass
class _Renderings:
    """The round's reports and files, each made once; a failure is kept and given to every
    delivery that needs it."""

    engine: Engine
    rules: RuleFile
    chromium: str
    now: datetime
    reports: dict[str, ComplianceReport] = field(default_factory=dict)
    files: dict[tuple[str, str], ReportFile | str] = field(default_factory=dict)

    def report(self, month: str) -> ComplianceReport:
        if month not in self.reports:
            year, number = parse_month(month)
            with Session(self.engine) as session:
                self.reports[month] = month_report(
                    session, rules=self.rules, year=year, month=number, now=self.now
                )
        return self.reports[month]

    def file(self, month: str, lang: str) -> ReportFile:
        """The month's report as the rule file's `attach` says; raises `ChannelRefused` when
        it cannot be made (again for every delivery of the round that asks)."""
        key = (month, lang)
        if key not in self.files:
            attach: Literal["pdf", "html"] = self.rules.spec.report.attach
            try:
                self.files[key] = report_file(
                    self.report(month), format=attach, lang=lang, chromium=self.chromium
                )
            except (PdfError, ValueError) as error:
                self.files[key] = f"cannot render the report: {type(error).__name__}: {error}"
        made = self.files[key]
        if isinstance(made, str):
            raise ChannelRefused(made)
        return made


def send_due_reports(
    engine: Engine, *, rules: RuleFile, outbound: ReportOutbound, now: datetime, limit: int
) -> int:
    """Send the deliveries due at `now` (at most `limit`), record how each went; how many
    were tried."""
    with writing_session(engine) as session:
        claimed = claim_due(session, now=now, limit=limit)
    if not claimed:
        return 0
    renderings = _Renderings(engine, rules, outbound.chromium, now)
    outcomes = [_deliver(delivery, renderings, outbound, now) for delivery in claimed]
    with writing_session(engine) as session:
        record_outcomes(session, claimed, outcomes, now=now)
    return len(claimed)


def run_report_sender(
    engine: Engine,
    *,
    rules: Callable[[], RuleFile],
    outbound: ReportOutbound,
    clock: Callable[[], datetime],
    limit: int = SEND_BATCH,
    until: Callable[[], bool] = lambda: False,
) -> int:
    """Send due deliveries, `limit` at a time, until none is left or `until()`; how many
    were tried. A failed one is due again only after its back-off, so the rounds end."""
    tried = 0
    while not until():
        done = send_due_reports(engine, rules=rules(), outbound=outbound, now=clock(), limit=limit)
        tried += done
        if done == 0:
            break
    return tried


def _deliver(
    delivery: ClaimedDelivery, renderings: _Renderings, outbound: ReportOutbound, now: datetime
) -> Outcome:
    kind = "e-mail" if delivery.recipient.startswith("mailto:") else "webhook"
    try:
        file = renderings.file(delivery.month, delivery.lang)
        report = renderings.report(delivery.month)
        link = report_link(outbound.public_url, month=delivery.month, lang=delivery.lang)
        if kind == "e-mail":
            _email(delivery, report, file, link, outbound.smtp, now)
        else:
            _post(delivery, report, file, link, outbound.client)
    except (ChannelRefused, httpx.HTTPError) as failure:
        error = f"{type(failure).__name__}: {reason(str(failure))}"[:500]
        log.warning(
            "report delivery %d (%s, %s, attempt %d) failed, retrying with back-off: %s",
            delivery.id,
            delivery.month,
            kind,
            delivery.attempts + 1,
            error,
        )
        return Outcome(delivery.id, error)
    log.info("report of %s delivered by %s (delivery %d)", delivery.month, kind, delivery.id)
    return Outcome(delivery.id, None, report.record.digest)


def _email(
    delivery: ClaimedDelivery,
    report: ComplianceReport,
    file: ReportFile,
    link: str | None,
    smtp: SmtpSettings | None,
    now: datetime,
) -> None:
    if smtp is None:
        raise ChannelRefused("e-mail is not configured: set SLAKEEPER_SMTP_HOST")
    send_email(smtp, compose(delivery, report, file, link=link, sender=smtp.sender, now=now))


def compose(
    delivery: ClaimedDelivery,
    report: ComplianceReport,
    file: ReportFile,
    *,
    link: str | None,
    sender: str,
    now: datetime,
) -> EmailMessage:
    """The e-mail of a delivery: a short text in its language, the report attached. Its
    Message-ID comes from the delivery's key, so a resent e-mail is known as the same one."""
    cover = cover_of(report, lang=delivery.lang, link=link)
    email = EmailMessage()
    email["From"] = sender
    email["To"] = delivery.recipient.removeprefix("mailto:")
    email["Subject"] = cover.subject
    email["Date"] = format_datetime(now)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "slakeeper.invalid"
    email["Message-ID"] = f"<{hashlib.sha256(delivery.key.encode()).hexdigest()[:32]}@{domain}>"
    email["X-Slakeeper-Key"] = delivery.key
    email.set_content(cover.text)
    maintype, subtype = file.media_type.split(";")[0].strip().split("/")
    email.add_attachment(file.content, maintype=maintype, subtype=subtype, filename=file.filename)
    return email


def _post(
    delivery: ClaimedDelivery,
    report: ComplianceReport,
    file: ReportFile,
    link: str | None,
    client: httpx.Client,
) -> None:
    body = webhook_body(
        report, file, key=delivery.key, trigger=delivery.trigger, lang=delivery.lang, link=link
    )
    response = client.post(delivery.recipient, json=body, headers={"Idempotency-Key": delivery.key})
    refuse_http_error(response.status_code, response.content)
