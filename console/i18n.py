"""The console's languages: Babel message catalogues (`locales/*/LC_MESSAGES/console.po`,
compiled in memory at start), the choice of language, and times in the viewer's zone."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Words",
    "duration",
    "local_time",
    "running_clock",
    "negotiate",
    "percent",
    "translations",
]

LANGUAGES = ("en", "zh-CN")
DEFAULT_LANGUAGE = "en"
# The catalogue of each language but the source one (English).
_CATALOGUES: Mapping[str, str] = {"zh-CN": "zh_CN"}


@cache
def translations(language: str) -> NullTranslations:
    """The translations of `language` (English: the messages as written)."""
    folder = _CATALOGUES.get(language)
    if folder is None:
        return NullTranslations()
    source = files("console") / "locales" / folder / "LC_MESSAGES" / "console.po"
    with source.open("rb") as po:
        catalogue = read_po(po, locale=folder)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled)


def negotiate(chosen: str | None, preferred: str | None, accept_language: str | None) -> str:
    """The page's language: the one chosen in the page, the person's own, then the browser's
    `Accept-Language`, then English."""
    for candidate in (chosen, preferred):
        if candidate in LANGUAGES:
            return candidate
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def local_time(moment: datetime | str | None, zone: str) -> str:
    """`moment` (or its RFC 3339 text) in the viewer's zone, with the zone named:
    `2026-11-21 23:00 CET`."""
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    local = moment.astimezone(_zone(zone))
    # %-formatting of the fields: half the time of strftime, and pages show thousands.
    return "%04d-%02d-%02d %02d:%02d %s" % (  # noqa: UP031
        local.year,
        local.month,
        local.day,
        local.hour,
        local.minute,
        local.tzname(),
    )


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def percent(ratio: float | None) -> str:
    """A ratio as a percentage to three decimals, as SLAs are read: `99.873 %`."""
    return "—" if ratio is None else f"{ratio * 100:.3f} %"


def running_clock(kind: str, left: timedelta, gettext: Callable[[str], str] = str) -> str:
    """A running clock (`kind` "response" or "resolution") with `left` to its target, negative
    once overdue: `response due in 12 min`, `resolution overdue by 2 h 05 min`."""
    values = {"clock": gettext(kind), "span": duration(left, gettext)}
    if left < timedelta(0):
        return gettext("%(clock)s overdue by %(span)s") % values
    return gettext("%(clock)s due in %(span)s") % values


def duration(span: timedelta, gettext: Callable[[str], str] = str) -> str:
    """A span as people read it on a clock, in the units of `gettext`'s language:
    `2 h 05 min`, `12 min`, `45 s` (`2 小时 05 分钟`, ...)."""
    seconds = int(abs(span.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return gettext("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return gettext("%(minutes)d min") % {"minutes": minutes}
    return gettext("%(seconds)d s") % {"seconds": seconds}


@dataclass(frozen=True, slots=True)
class Words:
    """How one viewer is told things: values and spans in their language, times in their
    zone. The pages' long lists are worded with it in Python, once per row, before the
    template lays them out (Jinja's own filters and `_()` cost several times more a row)."""

    gettext: Callable[[str], str]
    zone: str

    @classmethod
    @cache
    def of(cls, language: str, zone: str) -> Words:
        # The catalogue's lookups remembered: a long page asks for the same few units and
        # values thousands of times.
        return cls(cache(translations(language).gettext), zone)

    def word(self, value: str | None) -> str:
        """A value the catalogue translates (a state, a kind, a status); "—" for none."""
        return self.gettext(value) if value else "—"

    def time(self, moment: datetime | None) -> str:
        return local_time(moment, self.zone)

    def span(self, span: timedelta | None) -> str:
        return "—" if span is None else duration(span, self.gettext)

    def running_clock(self, kind: str, left: timedelta) -> str:
        return running_clock(kind, left, self.gettext)
