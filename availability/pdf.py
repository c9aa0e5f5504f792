"""A page printed to PDF by headless Chromium, in a subprocess: the report's own CSS sets
the paper (`@page { size: A4 }`), Chromium adds no header or footer.

Each call starts a browser of its own (about a second) in a temporary profile; at most
`MAX_PRINTING` print at once in a process, so that a burst of requests does not start a
browser each.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

__all__ = ["MAX_PRINTING", "PdfError", "PdfUnavailable", "html_to_pdf"]

log = logging.getLogger(__name__)

MAX_PRINTING = 2
_PRINTING = threading.BoundedSemaphore(MAX_PRINTING)


class PdfError(Exception):
    """Chromium ran and did not print the page."""


class PdfUnavailable(PdfError):
    """The browser that prints PDFs is not installed where the settings say."""


def html_to_pdf(html: str, *, chromium: str = "chromium", timeout: float = 60) -> bytes:
    """`html` printed to PDF by headless Chromium (`chromium`: a command on PATH or a path).

    Raises `PdfUnavailable` when there is no such browser, `PdfError` when it fails or
    takes longer than `timeout` seconds.
    """
    executable = shutil.which(chromium)
    if executable is None:
        raise PdfUnavailable(
            f"cannot print PDF: no Chromium at {chromium!r} "
            "(install chromium, or set SLAKEEPER_CHROMIUM_PATH)"
        )
    with _PRINTING, tempfile.TemporaryDirectory(prefix="slakeeper-pdf-") as folder:
        work = Path(folder)
        page, pdf = work / "report.html", work / "report.pdf"
        page.write_text(html, encoding="utf-8")
        _print(executable, page, pdf, work / "profile", timeout)
        data = pdf.read_bytes() if pdf.exists() else b""
    if not data.startswith(b"%PDF-"):
        raise PdfError("Chromium wrote no PDF")
    return data


def _print(executable: str, page: Path, pdf: Path, profile: Path, timeout: float) -> None:
    command = [
        executable,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--no-pdf-header-footer",
        f"--user-data-dir={profile}",
        f"--print-to-pdf={pdf}",
        page.as_uri(),
    ]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its renderers with it: a timeout ends them all
        )
    except OSError as error:
        raise PdfUnavailable(f"cannot start Chromium: {error.strerror}") from None
    with process:
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise PdfError(f"Chromium did not print the page within {timeout:g} s") from None
    if process.returncode != 0:
        # Chromium's own log, for whoever runs the server; the caller gets the status only.
        log.warning("chromium --print-to-pdf failed: %s", stderr[-2000:].decode(errors="replace"))
        raise PdfError(f"Chromium failed to print the page (exit status {process.returncode})")
