"""The compliance report in the format and language asked for: JSON, CSV, HTML or PDF, in
English or Chinese. A report route answers with `report_response` (whichever package serves
it), the CLI writes `report_file`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from availability.compliance import ComplianceReport
from availability.html import render_html
from availability.pdf import html_to_pdf
from availability.rendering import report_csv, report_json
from availability.report_words import best_language
from core.responses import JSONBody

__all__ = [
    "REPORT_CONTENT",
    "ReportFile",
    "ReportFormat",
    "ReportLanguage",
    "chromium_of",
    "report_file",
    "report_language",
    "report_response",
]

ReportFormat = Literal["json", "csv", "html", "pdf"]
ReportLanguage = Literal["en", "zh-CN"]
# What a file of each format is: media type, and whether it is downloaded (or shown).
_KINDS: dict[str, tuple[str, bool]] = {
    "csv": ("text/csv; charset=utf-8", True),
    "html": ("text/html; charset=utf-8", False),
    "pdf": ("application/pdf", True),
}
report_language = best_language
# The 200 answer's other media types, for a report route's `responses=` (JSON is the model's).
REPORT_CONTENT: dict[str, dict[str, object]] = {
    "text/csv": {"schema": {"type": "string"}},
    "text/html": {"schema": {"type": "string"}},
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
}


@dataclass(frozen=True, slots=True)
class ReportFile:
    """A rendering of the report: its bytes, media type and file name."""

    content: bytes
    media_type: str
    filename: str
    attachment: bool
    language: str | None  # None: the format has no language (CSV)

    def headers(self) -> dict[str, str]:
        disposition = "attachment" if self.attachment else "inline"
        headers = {"Content-Disposition": f'{disposition}; filename="{self.filename}"'}
        if self.language is not None:
            headers["Content-Language"] = self.language
        return headers


def report_file(
    report: ComplianceReport,
    *,
    format: Literal["csv", "html", "pdf"],
    lang: str = "en",
    chromium: str = "chromium",
) -> ReportFile:
    """The report as a CSV, HTML or PDF file (`lang` for the last two; `chromium` prints PDF).

    Raises `ValueError` for an unknown language, `availability.pdf.PdfError` when the PDF
    cannot be printed.
    """
    media_type, attachment = _KINDS[format]
    filename = f"availability-{report.month}.{format}"
    if format == "csv":
        return ReportFile(report_csv(report).encode(), media_type, filename, attachment, None)
    html = render_html(report, lang=lang)
    content = html_to_pdf(html, chromium=chromium) if format == "pdf" else html.encode()
    return ReportFile(content, media_type, filename, attachment, lang)


def chromium_of(request: Request) -> str:
    """The browser that prints PDFs for `request`'s app: `chromium_path` of the settings it
    was built with (`app.state.settings`), else `chromium` on PATH."""
    settings = getattr(request.app.state, "settings", None)
    return str(getattr(settings, "chromium_path", None) or "chromium")


def report_response(
    report: ComplianceReport, format: ReportFormat, lang: str | None, request: Request
) -> Response:
    """A report route's answer: `format` in `lang`, or else in the best language of the
    request's `Accept-Language` (then `Vary` says so), else English.

    Raises `availability.pdf.PdfError` (503 in `availability.api.ERRORS`) when the PDF
    cannot be printed.
    """
    if format == "json":
        return JSONBody(report_json(report))
    language = report_language(lang, request.headers.get("accept-language"))
    file = report_file(report, format=format, lang=language, chromium=chromium_of(request))
    headers = file.headers()
    if format != "csv" and lang is None:
        headers["Vary"] = "Accept-Language"
    return Response(file.content, media_type=file.media_type, headers=headers)
