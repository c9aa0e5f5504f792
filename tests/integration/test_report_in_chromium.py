"""The HTML compliance report as a manager sees it: rendered by real headless Chromium."""

from __future__ import annotations

import math
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from availability.compliance import (
    BREACH_COLUMNS,
    DAY_COLUMNS,
    PRIORITY_COLUMNS,
    SERVICE_COLUMNS,
    ComplianceReport,
)
from availability.html import render_html
from tests.conftest import missing

BERLIN, TOKYO = "Europe/Berlin", "Asia/Tokyo"
# March 2025 in Berlin: 743 hours, the clocks go forward on the 30th.
START, END = datetime(2025, 2, 28, 23, tzinfo=UTC), datetime(2025, 3, 31, 22, tzinfo=UTC)
DEGRADED_WEIGHT = 0.5
TOKYO_MONTH = datetime(2025, 2, 28, 15, tzinfo=UTC), datetime(2025, 3, 31, 15, tzinfo=UTC)

# service, time zone, target, maintenance, downtime, degraded, incidents, breaches, MTTA, MTTR
SERVICES = [
    ("checkout", BERLIN, 0.999, 7_200, 12_965, 0, 6, (0, 1), 240.0, 5_400.0),
    ("identity", TOKYO, 0.9995, 0, 600, 0, 2, (0, 0), 180.0, 900.0),
    ("notifications", BERLIN, 0.99, 3_600, 93_784, 0, 9, (1, 1), 420.0, 20_000.0),
    ("payments", BERLIN, 0.9995, 1_800, 1_500, 0, 5, (1, 0), 600.0, 3_000.0),
    ("reporting", BERLIN, 0.995, 0, 4_000, 1_800, 7, (0, 1), 300.0, 12_000.0),
    ("search", BERLIN, 0.995, 0, 0, 0, 4, (0, 0), 120.0, 2_400.0),
]
# (day of March, seconds): what the services above lost, day by day, in Berlin.
OUTAGES = [(3, 12_965), (7, 600), (9, 2_500), (14, 57_600), (15, 36_184), (21, 1_500)]
OUTAGES += [(27, 1_500)]
TOTAL_DOWNTIME = "1 d 7 h 20 min 49 s"  # 112,849 s
PUSH = 'Push "gateway" down & queue stuck'
A4_PORTRAIT = (595, 842)  # points


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=1)


def service_rows() -> pd.DataFrame:
    rows = []
    for name, zone, target, kept, down, degraded, incidents, breaches, mtta, mttr in SERVICES:
        start, end = (START, END) if zone == BERLIN else TOKYO_MONTH
        total = (end - start).total_seconds()
        usable = total - kept
        lost = down + DEGRADED_WEIGHT * degraded
        availability = (usable - lost) / usable
        budget = (1 - target) * usable
        rows.append(
            (name, zone, start, end, total, kept, down, degraded, availability, target)
            + (availability >= target, budget, budget - lost, math.ceil(down / 86_400))
            + (incidents, *breaches, mtta, mttr)
        )
    return pd.DataFrame(rows, columns=list(SERVICE_COLUMNS))


def priority_rows() -> pd.DataFrame:
    nan = float("nan")
    rows = [
        ("(all)", "P1", 4, 4, 3, 0.75, 1, 4, 2, 0.5, 2, 150.0, 9_000.0),
        ("(all)", "P2", 9, 9, 8, 8 / 9, 1, 8, 7, 7 / 8, 1, 400.0, 10_800.0),
        ("(all)", "P3", 17, 15, 15, 1.0, 0, 14, 13, 13 / 14, 1, 700.0, 30_000.0),
        ("(all)", "P4", 3, 0, 0, nan, 0, 0, 0, nan, 0, nan, nan),
    ]
    return pd.DataFrame(rows, columns=list(PRIORITY_COLUMNS))


def breach_rows() -> pd.DataFrame:
    rows = [  # incident, service, priority, kind, title, opened, due, done (NaT: pending)
        (1011, "checkout", "P1", "resolution", "Checkout 502 on /cart")
        + (berlin(3, 9), berlin(3, 11), berlin(3, 12, 36)),
        (1042, "notifications", "P1", "response", PUSH)
        + (berlin(14, 8), berlin(14, 8, 15), berlin(14, 8, 40)),
        (1042, "notifications", "P1", "resolution", PUSH)
        + (berlin(14, 8), berlin(14, 12), berlin(15, 10, 3)),
        (1077, "payments", "P2", "response", "Card authorisations slow")
        + (berlin(21, 10), berlin(21, 10, 30), berlin(21, 10, 52)),
        (1150, "reporting", "P3", "resolution", "Nightly export missing")
        + (berlin(28, 6), datetime(2025, 3, 31, 15, tzinfo=UTC), pd.NaT),
    ]
    late = [((END if row[7] is pd.NaT else row[7]) - row[6]).total_seconds() for row in rows]
    frame = pd.DataFrame([(*row, s) for row, s in zip(rows, late, strict=True)])
    frame.columns = list(BREACH_COLUMNS)
    for column in ("opened_at", "due_at", "done_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def realistic_report() -> ComplianceReport:
    services = service_rows()
    seconds = dict.fromkeys(range(1, 32), 0.0) | {day: float(s) for day, s in OUTAGES}
    days = pd.DataFrame(
        [(date(2025, 3, day), value) for day, value in seconds.items()], columns=list(DAY_COLUMNS)
    )
    usable = services["total_seconds"] - services["maintenance_seconds"]
    return ComplianceReport(
        month="2025-03",
        timezone=BERLIN,
        start=START,
        end=END,
        generated_at=datetime(2025, 4, 1, 6, 0, tzinfo=UTC),
        services=services,
        priorities=priority_rows(),
        downtime_by_day=days,
        breaches=breach_rows(),
        summary={
            "services": len(services),
            "services_met": int(services["met"].sum()),
            "services_breached": int((~services["met"]).sum()),
            "availability_ratio": float((usable * services["availability_ratio"]).sum())
            / float(usable.sum()),
            "downtime_seconds": float(services["downtime_seconds"].sum()),
            "maintenance_seconds": float(services["maintenance_seconds"].sum()),
            "degraded_seconds": float(services["degraded_seconds"].sum()),
            "incidents": 33,
            "response_breaches": 2,
            "resolution_breaches": 3,
            "mtta_seconds": 420.0,
            "mttr_seconds": 16_250.0,
        },
    )


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    if found is None:
        missing("chromium not installed")
    return found


def run_chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    command += [f"--user-data-dir={profile}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


class PageText(HTMLParser):
    """The texts of a page's cells and blocks, in document order, and its table rows."""

    BLOCKS = ("td", "th", "div", "dd")

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.texts: list[str] = []
        self.open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "tr":
            self.rows.append([])
        if tag in self.BLOCKS:
            self.open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1][0] == tag:
            parts = self.open.pop()[1]
            text = " ".join("".join(parts).replace("\xa0", " ").split())
            self.texts.append(text)
            if tag in ("td", "th"):
                self.rows[-1].append(text)
            if self.open:
                self.open[-1][1].extend(parts)

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1][1].append(data)


def page_text(page: str) -> PageText:
    parser = PageText()
    parser.feed(page)
    return parser


def png_pixels(data: bytes) -> NDArray[np.uint8]:
    """The pixels of an 8-bit RGB or RGBA PNG, as a height × width × channels array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: dict[bytes, list[bytes]] = {}
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        chunks.setdefault(kind, []).append(data[position + 8 : position + 8 + length])
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert (depth, interlace) == (8, 0) and colour in (2, 6), (depth, colour, interlace)
    channels = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(chunks[b"IDAT"])), dtype=np.uint8)
    scanlines = raw.reshape(height, 1 + width * channels)
    image = np.zeros((height, width * channels), dtype=np.uint8)
    above = np.zeros(width * channels, dtype=np.uint8)
    for y, (kind, line) in enumerate(zip(scanlines[:, 0], scanlines[:, 1:], strict=True)):
        above = image[y] = unfilter(int(kind), line, above, channels)
    return image.reshape(height, width, channels)


def unfilter(
    kind: int, line: NDArray[np.uint8], above: NDArray[np.uint8], bpp: int
) -> NDArray[np.uint8]:
    """A scanline's bytes from its PNG filter, the line above and the bytes per pixel."""
    if kind == 0:
        return line
    if kind == 1:  # Sub: a running sum along each channel
        return np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
    if kind == 2:  # Up
        return line + above
    out = bytearray(bpp) + bytearray(line.tobytes())  # bpp zeros on the left
    up = bytes(bpp) + above.tobytes()
    for i in range(bpp, len(out)):
        left, over, corner = out[i - bpp], up[i], up[i - bpp]
        if kind == 3:  # Average
            out[i] = (out[i] + (left + over) // 2) & 0xFF
            continue
        estimate = left + over - corner  # Paeth: the neighbour nearest this estimate
        pa, pb, pc = abs(estimate - left), abs(estimate - over), abs(estimate - corner)
        guess = left if pa <= pb and pa <= pc else over if pb <= pc else corner
        out[i] = (out[i] + guess) & 0xFF
    return np.frombuffer(bytes(out[bpp:]), dtype=np.uint8)


def near(image: NDArray[np.uint8], colour: str, tolerance: int = 12) -> int:
    """How many pixels are within `tolerance` of `colour` ("#rrggbb") on every channel."""
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    distance = np.abs(image[:, :, :3].astype(np.int16) - rgb).max(axis=2)
    return int((distance <= tolerance).sum())


@pytest.fixture
def report_page(tmp_path: Path) -> Iterator[Path]:
    page = tmp_path / "report.html"
    page.write_text(render_html(realistic_report()), encoding="utf-8")
    yield page


def test_chromium_shows_the_figures_of_the_report(report_page: Path, tmp_path: Path) -> None:
    page = page_text(run_chromium(tmp_path / "profile", "--dump-dom", report_page.as_uri()).stdout)
    assert page.texts[page.texts.index("Total downtime") + 1] == TOTAL_DOWNTIME
    assert page.texts[page.texts.index("Overall availability") + 1] == "99.290 %"
    rows = {row[0]: row for row in page.rows if row}
    assert rows["checkout"][1:4] == ["99.513 %", "99.900 %", "BREACHED"]
    assert rows["search"][1:4] == ["100.000 %", "99.500 %", "met"]
    assert rows["identityAsia/Tokyo"][1:4] == ["99.977 %", "99.950 %", "met"]
    late = [row for row in page.rows if row and row[0] == "1042"]
    assert [row[3:5] for row in late] == [["response", PUSH], ["resolution", PUSH]]
    assert rows["1150"][7:] == ["pending", "7 h"]


def test_chromium_paints_a_page_with_tables_and_coloured_charts(
    report_page: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "report.png"
    run_chromium(
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        report_page.as_uri(),
    )
    image = png_pixels(shot.read_bytes())
    assert image.shape[:2] == (2000, 1280)
    not_white = int((image[:, :, :3].min(axis=2) < 240).sum())
    assert not_white > 0.03 * 1280 * 2000, f"only {not_white} pixels are not white"
    assert len(np.unique(image[:, :, :3].reshape(-1, 3), axis=0)) > 100
    assert near(image, "#cf222e") > 2_000, "no red: breached services and bars"
    assert near(image, "#1a7f37") > 2_000, "no green: met bars"
    assert near(image, "#bc4c00") > 1_000, "no orange: downtime per day"


def test_chromium_prints_each_section_on_its_own_a4_page_wide_tables_in_landscape(
    report_page: Path, tmp_path: Path
) -> None:
    pdf = tmp_path / "report.pdf"
    run_chromium(
        tmp_path / "profile",
        f"--print-to-pdf={pdf}",
        "--no-pdf-header-footer",
        report_page.as_uri(),
    )
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
    sizes = Counter((round(float(width)), round(float(height))) for width, height in boxes)
    # Summary, chart of availability, downtime, priorities; then the services and breaches.
    assert sizes == {A4_PORTRAIT: 4, A4_PORTRAIT[::-1]: 2}
