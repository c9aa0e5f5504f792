"""Every message of the console's pages is in the Chinese catalogue, with its placeholders:
a page is never half English, and a translation never drops the figure it should show."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

CONSOLE = Path(__file__).parents[2] / "console"
PLACEHOLDER = re.compile(r"%\((\w+)\)\w")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [("**/templates/**.j2", "jinja2"), ("**.py", "python")]


def _extracted() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(CONSOLE), METHODS, keywords=KEYWORDS
    ):
        found.add(message)
    return found


def test_every_console_message_is_translated_into_chinese_with_its_placeholders() -> None:
    with (CONSOLE / "locales/zh_CN/LC_MESSAGES/console.po").open("rb") as po:
        catalogue = read_po(po, locale="zh_CN")
    messages = _extracted()
    assert len(messages) > 150  # the pages' messages were found at all
    missing, broken = [], []
    for message in messages:
        key = str(message[0] if isinstance(message, tuple) else message)
        entry = catalogue.get(key)
        strings = entry.string if entry else None
        texts = list(strings) if isinstance(strings, tuple) else [strings]
        if entry is None or not all(texts):
            missing.append(message)
            continue
        wanted = set(PLACEHOLDER.findall(key))
        if any(set(PLACEHOLDER.findall(str(text or ""))) != wanted for text in texts):
            broken.append(message)
    assert missing == [] and broken == []
