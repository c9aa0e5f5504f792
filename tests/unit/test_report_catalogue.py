"""Every message of the compliance report is in the Chinese catalogue, translated (not fuzzy),
with its placeholders: a report is never half English, and a translation never drops the
figure it should show."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

AVAILABILITY = Path(__file__).parents[2] / "availability"
PLACEHOLDER = re.compile(r"%\((\w+)\)\w")
# As `make messages` extracts them (availability/babel.cfg, -k N_ -k NP_:1c,2).
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "N_": None,
    "NP_": ((1, "c"), 2),
}
METHODS = [("templates/**.j2", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.j2": {"extensions": "jinja2.ext.i18n"}}

Key = tuple[str, str | None]  # (message, context)


def _extracted() -> set[Key]:
    found: set[Key] = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        str(AVAILABILITY), METHODS, options_map=OPTIONS, keywords=KEYWORDS
    ):
        found.add((str(message[0] if isinstance(message, tuple) else message), context))
    return found


def _catalogue() -> Catalog:
    with (AVAILABILITY / "locales/zh_CN/LC_MESSAGES/report.po").open("rb") as po:
        return read_po(po, locale="zh_CN")


def test_every_report_message_is_translated_into_chinese_with_its_placeholders() -> None:
    catalogue = _catalogue()
    messages = _extracted()
    assert len(messages) > 150  # the report's messages were found at all
    assert ("open", "month") in messages and ("open", "dispute") in messages
    missing, fuzzy, broken = [], [], []
    for message, context in sorted(messages, key=str):
        entry = catalogue.get(message, context=context)
        if entry is None or not entry.string:
            missing.append((message, context))
            continue
        if entry.fuzzy:
            fuzzy.append((message, context))
        if set(PLACEHOLDER.findall(str(entry.string))) != set(PLACEHOLDER.findall(message)):
            broken.append((message, context))
    assert missing == [] and fuzzy == [] and broken == []


def test_the_catalogue_holds_no_fuzzy_or_empty_entry_at_all() -> None:
    entries = [message for message in _catalogue() if message.id]
    assert [m.id for m in entries if m.fuzzy or not m.string] == []
    # The same English word in two places reads differently in Chinese.
    catalogue = _catalogue()
    month, dispute = catalogue.get("open", context="month"), catalogue.get("open", "dispute")
    assert month is not None and dispute is not None and month.string != dispute.string
