"""The compliance report as a manager sees it, in English and Chinese: real headless Chromium
lays it out at 1,200 px (nothing scrolls sideways, however long the names) and prints it to
A4 PDF through `availability.pdf`, which poppler reads back.

Chromium starts once for the module (Playwright), and prints one PDF per language."""

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
    ADJUSTMENT_COLUMNS,
    BREACH_COLUMNS,
    DAY_COLUMNS,
    DISPUTE_COLUMNS,
    PENDING_COLUMNS,
    PRIORITY_COLUMNS,
    SERVICE_COLUMNS,
    ComplianceReport,
    SignedMonth,
)
from availability.html import render_html
from availability.pdf import html_to_pdf
from tests.conftest import missing
from tests.integration.browser import chromium, chromium_path

BERLIN, TOKYO = "Europe/Berlin", "Asia/Tokyo"
# March 2025 in Berlin: 743 hours, the clocks go forward on the 30th.
START, END = datetime(2025, 2, 28, 23, tzinfo=UTC), datetime(2025, 3, 31, 22, tzinfo=UTC)
DEGRADED_WEIGHT = 0.5
TOKYO_MONTH = datetime(2025, 2, 28, 15, tzinfo=UTC), datetime(2025, 3, 31, 15, tzinfo=UTC)
CLOSED_AT = datetime(2025, 4, 2, 7, 0, tzinfo=UTC)
DIGEST = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b"
RULES_DIGEST = "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c"

# service, time zone, target, maintenance, downtime, degraded, incidents, breaches, MTTA, MTTR
SERVICES = [
    ("checkout", BERLIN, 0.999, 7_200, 12_965, 0, 6, (0, 1), 240.0, 5_400.0),
    ("identity", TOKYO, 0.9995, 0, 600, 0, 2, (0, 0), 180.0, 900.0),
    ("notifications", BERLIN, 0.99, 3_600, 93_784, 0, 9, (1, 1), 420.0, 20_000.0),
    ("payments", BERLIN, 0.9995, 1_800, 1_500, 0, 5, (1, 0), 600.0, 3_000.0),
    ("reporting", BERLIN, 0.995, 0, 4_000, 1_800, 7, (0, 1), 300.0, 12_000.0),
    ("search", BERLIN, 0.995, 0, 0, 0, 4, (0, 0), 120.0, 2_400.0),
]
# What the signed month changed or found: (raw downtime - downtime, unknown, policy, credit).
SIGNED = {
    "checkout": (3_600.0, 0.0, "up", 0.1),
    "identity": (0.0, 300.0, "excluded", 0.0),
    "notifications": (0.0, 1_800.0, "down", 0.25),
}
# (day of March, seconds): what the services above lost, day by day, in Berlin.
OUTAGES = [(3, 12_965), (7, 600), (9, 2_500), (14, 57_600), (15, 36_184), (21, 1_500)]
OUTAGES += [(27, 1_500)]
TOTAL_DOWNTIME = "1 d 7 h 20 min 49 s"  # 112,849 s
PUSH = 'Push "gateway" down & queue stuck'
A4_PORTRAIT = (595, 842)  # points
# Names no column is wide enough for: one unbroken run of letters, and a Chinese one.
LONG_NAMES = [f"{'payment-gateway-eu-central-production-cluster' * 3}-{i:02d}" for i in range(20)]
LONG_NAMES += [f"华东区域生产环境支付网关服务集群第{i}号节点组合规报告服务名称" for i in range(20)]


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=1)


def service_row(
    name: str, zone: str, target: float, kept: float, down: float, degraded: float, *rest: Any
) -> tuple[Any, ...]:
    start, end = (START, END) if zone == BERLIN else TOKYO_MONTH
    total = (end - start).total_seconds()
    usable = total - kept
    lost = down + DEGRADED_WEIGHT * degraded
    availability = (usable - lost) / usable
    budget = (1 - target) * usable
    removed, unknown, policy, credit = SIGNED.get(name, (0.0, 0.0, "up", 0.0))
    incidents, breaches, mtta, mttr = rest
    return (
        (name, zone, start, end, total, kept, down, degraded, availability, target)
        + (availability >= target, budget, budget - lost, math.ceil(down / 86_400))
        + (incidents, *breaches, mtta, mttr, unknown, policy, down + removed)
        + ((usable - lost - removed) / usable, -removed, credit, "closed", CLOSED_AT, "ana")
    )


def service_rows(extra: int = 0) -> pd.DataFrame:
    """The six services above; `extra` more with long names and huge figures after them."""
    rows = [service_row(*row) for row in SERVICES]
    for i, name in enumerate(LONG_NAMES[:extra]):
        zone = TOKYO if i % 2 else BERLIN
        figures = (0.99995, 86_400.0, 2_000_000.0 + i, 0.0, 123_456, (9_876, 5_432))
        rows.append(service_row(name, zone, *figures, 1_234_567.0, 2_345_678.0))
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


def signed_month() -> SignedMonth:
    """March closed by ana: one adjustment (a false alarm on checkout), one open dispute, one
    change found since."""
    adjustment: tuple[Any, ...] = (1, "checkout", "exclude", berlin(3, 9), berlin(3, 10))
    adjustment += ("false_alarm", "the probe's own network failed", "applied", "ana", CLOSED_AT)
    adjustment += ("bo", CLOSED_AT, -3_600.0, 3_600 / 2_667_600, None)
    dispute: tuple[Any, ...] = (4, "notifications", berlin(14, 8), berlin(15, 10))
    dispute += ("noc@customer.example", "pushes were queued, not lost", "open", "ana")
    dispute += (CLOSED_AT, None, pd.NaT, None)
    change = (9, "payments", CLOSED_AT + timedelta(days=1), 300.0, 0.0, 0.0, -0.0001, "pending")
    return SignedMonth(
        "closed",
        DIGEST,
        RULES_DIGEST,
        pd.DataFrame([adjustment], columns=list(ADJUSTMENT_COLUMNS)),
        pd.DataFrame([dispute], columns=list(DISPUTE_COLUMNS)),
        pd.DataFrame([change], columns=list(PENDING_COLUMNS)),
        {
            "degraded_weight": DEGRADED_WEIGHT,
            "credits": {
                "tiers": [
                    {"below_ratio": 0.999, "credit_ratio": 0.1},
                    {"below_ratio": 0.99, "credit_ratio": 0.25},
                ],
                "max_ratio": 0.5,
            },
            "timezone": BERLIN,
        },
    )


def realistic_report(extra: int = 0) -> ComplianceReport:
    """March 2025 of six services, closed; `extra` services with long names besides."""
    services = service_rows(extra)
    measured = services.iloc[: len(SERVICES)]
    seconds = dict.fromkeys(range(1, 32), 0.0) | {day: float(s) for day, s in OUTAGES}
    days = pd.DataFrame(
        [(date(2025, 3, day), value) for day, value in seconds.items()], columns=list(DAY_COLUMNS)
    )
    usable = measured["total_seconds"] - measured["maintenance_seconds"]
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
            "availability_ratio": float((usable * measured["availability_ratio"]).sum())
            / float(usable.sum()),
            "downtime_seconds": float(measured["downtime_seconds"].sum()),
            "maintenance_seconds": float(measured["maintenance_seconds"].sum()),
            "degraded_seconds": float(measured["degraded_seconds"].sum()),
            "incidents": 33,
            "response_breaches": 2,
            "resolution_breaches": 3,
            "mtta_seconds": 420.0,
            "mttr_seconds": 16_250.0,
        },
        record=signed_month(),
    )


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


def poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        missing(f"{tool} not installed (poppler-utils)")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The report printed once per language: in English the six services; in Chinese forty
    services with long names besides."""
    folder = tmp_path_factory.mktemp("pdf")
    executable = chromium_path()
    printed = {}
    for lang, report in (("en", realistic_report()), ("zh-CN", realistic_report(extra=40))):
        printed[lang] = folder / f"{lang}.pdf"
        printed[lang].write_bytes(html_to_pdf(render_html(report, lang=lang), chromium=executable))
    return printed


def opened(browser: Any, html: str, folder: Path, width: int = 1200, height: int = 900) -> Any:
    page_file = folder / "report.html"
    page_file.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(page_file.as_uri())
    return page


def page_sizes(pdf: Path) -> list[tuple[int, int, str]]:
    """Each page's width and height (points) and the paper poppler names."""
    info = subprocess.run(
        [poppler("pdfinfo"), "-f", "1", "-l", "1000", str(pdf)],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts(?: \((\w+)\))?", info)
    return [(round(float(w)), round(float(h)), paper) for w, h, paper in sizes]


def pdf_text(pdf: Path) -> str:
    done = subprocess.run(
        [poppler("pdftotext"), "-enc", "UTF-8", str(pdf), "-"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    return done.stdout


# What overflows: the document, any table or its wrapper, and any cell whose content does not
# fit it (a cell that overflows is clipped or overlaps its neighbour in print).
OVERFLOWS = """() => {
  const wide = (e) => e.scrollWidth > e.clientWidth + 1;
  const name = (e) => e.tagName + (e.id ? '#' + e.id : '') + ' ' + e.textContent.slice(0, 40);
  const found = [document.documentElement, document.body,
                 ...document.querySelectorAll('table, .table-wrap, td, th')].filter(wide);
  return found.map(name);
}"""


def test_chromium_shows_the_figures_of_the_report(browser: Any, tmp_path: Path) -> None:
    page = opened(browser, render_html(realistic_report()), tmp_path)
    shown = page_text(page.content())
    page.close()
    assert shown.texts[shown.texts.index("Total downtime") + 1] == TOTAL_DOWNTIME
    assert shown.texts[shown.texts.index("Overall availability") + 1] == "99.290 %"
    rows = {row[0]: row for row in shown.rows if row}
    assert rows["checkout"][1:4] == [
        "99.513 % measured 99.379 % target 99.900 %",
        "BREACHED credit 10 %",
        "3 h 36 min 5 s measured 4 h 36 min 5 s adjusted by −3,600 s",
    ]
    assert rows["search"][1:3] == ["100.000 % target 99.500 %", "met credit 0 %"]
    assert rows["identity Asia/Tokyo"][1:5] == [
        "99.977 % target 99.950 %", "met credit 0 %", "10 min", "5 min excluded",
    ]  # fmt: skip
    assert rows["notifications"][4] == "30 min counted as down"
    assert rows["checkout"][9] == "closed by ana 2025-04-02 09:00 CEST"
    late = [row for row in shown.rows if row and row[0] == "1042"]
    assert [row[3:5] for row in late] == [["response", PUSH], ["resolution", PUSH]]
    assert rows["1150"][7:] == ["pending", "7 h"]
    assert rows["1"][4:7] == ["false alarm", "the probe's own network failed", "applied"]
    assert rows["4"][5] == "open" and rows["9"][3] == "+300 s"


def test_chromium_paints_a_page_with_tables_and_coloured_charts(
    browser: Any, tmp_path: Path
) -> None:
    page = opened(browser, render_html(realistic_report()), tmp_path, width=1280, height=2000)
    image = png_pixels(page.screenshot())
    page.close()
    assert image.shape[:2] == (2000, 1280)
    not_white = int((image[:, :, :3].min(axis=2) < 240).sum())
    assert not_white > 0.03 * 1280 * 2000, f"only {not_white} pixels are not white"
    rgb = image[:, :, :3].astype(np.uint32)
    assert len(np.unique(rgb[:, :, 0] << 16 | rgb[:, :, 1] << 8 | rgb[:, :, 2])) > 100
    assert near(image, "#cf222e") > 2_000, "no red: breached services and bars"
    assert near(image, "#1a7f37") > 2_000, "no green: met bars"
    assert near(image, "#bc4c00") > 1_000, "no orange: downtime per day"


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_at_1200_px_and_on_a4_nothing_scrolls_sideways_however_long_the_names(
    browser: Any, tmp_path: Path, lang: str
) -> None:
    report = realistic_report(extra=40)
    page = opened(browser, render_html(report, lang=lang), tmp_path)
    try:
        assert page.evaluate("document.documentElement.lang") == lang
        services = page.locator("table.services")
        assert services.locator("tbody tr").count() == 46
        assert page.evaluate(OVERFLOWS) == []
        box = services.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1200
        # Printed: a portrait A4 page's width between its margins (186 mm) is the narrowest
        # any section gets; the services table has a landscape page (277 mm).
        page.emulate_media(media="print")
        page.set_viewport_size({"width": 703, "height": 1000})
        assert page.evaluate(OVERFLOWS) == []
    finally:
        page.close()


def test_printed_each_section_starts_an_a4_page_the_wide_tables_in_landscape(
    pdfs: dict[str, Path],
) -> None:
    sizes = page_sizes(pdfs["en"])
    assert {paper for _, _, paper in sizes} == {"A4"}
    # Header and summary, the two charts, priorities, methodology; services, breaches, record.
    assert Counter((w, h) for w, h, _ in sizes) == {A4_PORTRAIT: 5, A4_PORTRAIT[::-1]: 3}
    chinese = page_sizes(pdfs["zh-CN"])
    assert {paper for _, _, paper in chinese} == {"A4"}
    assert sum(w > h for w, h, _ in chinese) > 3  # forty more services: more landscape pages


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_poppler_renders_every_page_of_the_pdf(
    pdfs: dict[str, Path], tmp_path: Path, lang: str
) -> None:
    sizes = page_sizes(pdfs[lang])
    subprocess.run(
        [poppler("pdftoppm"), "-r", "50", "-png", str(pdfs[lang]), str(tmp_path / "page")],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == len(sizes)
    for image_file, (width, height, _) in zip(images, sizes, strict=True):
        image = png_pixels(image_file.read_bytes())
        rows, columns = image.shape[:2]
        # 50 dpi: a point is 50/72 of a pixel; poppler rounds up.
        assert abs(rows - height * 50 / 72) <= 1 and abs(columns - width * 50 / 72) <= 1
        assert int((image[:, :, :3].min(axis=2) < 200).sum()) > 500, f"{image_file.name} is blank"


def test_the_pdf_text_has_the_month_the_figures_and_the_digests(pdfs: dict[str, Path]) -> None:
    english = pdf_text(pdfs["en"])
    for text in ("Availability compliance report — 2025-03", "Methodology", "checkout"):
        assert text in english
    assert "99.513 %" in english and "−3,600 s" in english
    chinese = pdf_text(pdfs["zh-CN"])
    for text in ("可用性合规报告 — 2025-03", "概要", "服务", "本月记录", "计算方法", "计为不可用"):
        assert text in chinese, text
    assert "99.513%" in chinese and "checkout" in chinese
    for text in (english, chinese):
        assert DIGEST in text and RULES_DIGEST in text
