"""What goes with a delivered report, in the delivery's language: the e-mail's subject and
short text, and the webhook's JSON (pure: the report and its file are given).

The webhook body (`webhook_body`):

    {"kind": "availability_report", "key": "<delivery key>", "month": "2026-11",
     "timezone": "Asia/Shanghai", "trigger": "close" | "schedule", "lang": "zh-CN",
     "state": "closed" | "partly_closed" | "open", "digest": "<sha-256>" | null,
     "rules_digest": "<sha-256>" | null, "title": "<the e-mail's subject>",
     "summary": {...the report's summary...},
     "services": [{"service", "availability_ratio", "target_ratio", "met",
                   "downtime_seconds", "month_state"}, ...],
     "link": "<public URL>/api/v1/reports/availability?month=2026-11&format=pdf&lang=zh-CN",
     "attachment": {"filename", "media_type", "size", "sha256", "base64"} | null}

`attachment` is the rendered file (PDF or HTML, as `report.attach` says), base64, when it
is at most `INLINE_LIMIT` bytes; larger, it is null and the link is the way to the report.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from availability.compliance import ComplianceReport
from availability.rendering import records_of, report_json
from availability.report_response import ReportFile

__all__ = ["INLINE_LIMIT", "Cover", "cover_of", "report_link", "webhook_body"]

INLINE_LIMIT = 2 * 1024 * 1024
_SERVICE_FIELDS = (
    "service",
    "availability_ratio",
    "target_ratio",
    "met",
    "downtime_seconds",
    "month_state",
)

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "Availability report {month}: {ratio}",
        "attached": "The availability report of {month} ({zone}) is attached.",
        "overall": "Overall availability: {ratio} ({services} services: {met} met the "
        "target, {breached} did not).",
        "closed": "The month is closed. SHA-256 of its figures: {digest}",
        "partly_closed": "The month is partly closed: the SHA-256 {digest} covers the closed "
        "services; the others may still change.",
        "open": "The month is not closed: its figures may still change, and there is no "
        "digest yet.",
        "check": "The same digest is shown by `slakeeper month show {month}`.",
        "online": "Online: {link}",
    },
    "zh-CN": {
        "subject": "{month} 可用性报告：{ratio}",
        "attached": "附件是 {month}（{zone}）的可用性报告。",
        "overall": "总体可用性：{ratio}（{services} 个服务：{met} 个达标，{breached} 个未达标）。",
        "closed": "本月已关账。数据的 SHA-256 摘要：{digest}",
        "partly_closed": "本月部分关账：SHA-256 摘要 {digest} 只涵盖已关账的服务，其余服务的"
        "数据仍可能变化。",
        "open": "本月尚未关账：数据仍可能变化，尚无摘要。",
        "check": "`slakeeper month show {month}` 显示同一摘要。",
        "online": "在线查看：{link}",
    },
}


@dataclass(frozen=True, slots=True)
class Cover:
    """An e-mail's subject and plain-text body."""

    subject: str
    text: str


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.3f}%"


def cover_of(report: ComplianceReport, *, lang: str, link: str | None) -> Cover:
    """The subject and text that go with `report`, in `lang` (en, zh-CN)."""
    words = _WORDS[lang]
    summary = report.summary
    ratio = _percent(float(summary["availability_ratio"]))
    record = report.record
    lines = [
        words["attached"].format(month=report.month, zone=report.timezone),
        "",
        words["overall"].format(
            ratio=ratio,
            services=int(summary["services"]),
            met=int(summary["services_met"]),
            breached=int(summary["services_breached"]),
        ),
        words[record.state].format(digest=record.digest),
    ]
    if record.digest is not None:
        lines.append(words["check"].format(month=report.month))
    if link is not None:
        lines += ["", words["online"].format(link=link)]
    subject = words["subject"].format(month=report.month, ratio=ratio)
    return Cover(subject, "\n".join(lines) + "\n")


def report_link(public_url: str | None, *, month: str, lang: str) -> str | None:
    """The report's PDF on the API (a viewer's credential opens it), or None without a URL."""
    if public_url is None:
        return None
    base = public_url.rstrip("/")
    return f"{base}/api/v1/reports/availability?month={month}&format=pdf&lang={lang}"


def webhook_body(
    report: ComplianceReport,
    file: ReportFile,
    *,
    key: str,
    trigger: str,
    lang: str,
    link: str | None,
) -> dict[str, Any]:
    """The JSON a webhook recipient receives (see the module's docstring)."""
    whole = report_json(report)
    services = records_of(report.services.loc[:, list(_SERVICE_FIELDS)])
    attachment = None
    if len(file.content) <= INLINE_LIMIT:
        attachment = {
            "filename": file.filename,
            "media_type": file.media_type,
            "size": len(file.content),
            "sha256": hashlib.sha256(file.content).hexdigest(),
            "base64": base64.b64encode(file.content).decode("ascii"),
        }
    return {
        "kind": "availability_report",
        "key": key,
        "month": report.month,
        "timezone": report.timezone,
        "trigger": trigger,
        "lang": lang,
        "state": report.record.state,
        "digest": report.record.digest,
        "rules_digest": report.record.rules_digest,
        "title": cover_of(report, lang=lang, link=link).subject,
        "summary": whole["summary"],
        "services": services,
        "link": link,
        "attachment": attachment,
    }
