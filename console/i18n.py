"""The console's languages: Babel message catalogues (`locales/*/LC_MESSAGES/console.po`,
compiled in memory at start), the choice of language, and times in the viewer's zone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from babel.support import NullTranslations

from core.humane import LANGUAGES, catalogue, duration, local_time

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Words",
    "duration",
    "local_time",
    "running_clock",
    "negotiate",
    "percent",
    "points",
    "signed_span",
    "translations",
]

DEFAULT_LANGUAGE = "en"


@cache
def translations(language: str) -> NullTranslations:
    """The translations of `language` (English: the messages as written)."""
    return catalogue("console", "console", language)


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


def percent(ratio: float | None) -> str:
    """A ratio as a percentage to three decimals, as SLAs are read: `99.873 %`."""
    return "—" if ratio is None else f"{ratio * 100:.3f} %"


def points(delta: float | None, gettext: Callable[[str], str] = str) -> str:
    """A change of a ratio in percentage points, signed, to three decimals: `+0.069 pp`."""
    if delta is None:
        return "—"
    sign = "−" if delta < 0 else "+" if delta > 0 else ""
    return gettext("%(points)s pp") % {"points": f"{sign}{abs(delta) * 100:.3f}"}


def signed_span(seconds: float | None, gettext: Callable[[str], str] = str) -> str:
    """A change of a span, signed (an adjustment's effect, a change since close):
    `+10 min`, `−30 min`, `0 s`."""
    if seconds is None:
        return "—"
    sign = "−" if seconds < 0 else "+" if seconds > 0 else ""
    return sign + duration(timedelta(seconds=seconds), gettext)


def running_clock(kind: str, left: timedelta, gettext: Callable[[str], str] = str) -> str:
    """A running clock (`kind` "response" or "resolution") with `left` to its target, negative
    once overdue: `response due in 12 min`, `resolution overdue by 2 h 05 min`."""
    values = {"clock": gettext(kind), "span": duration(left, gettext)}
    if left < timedelta(0):
        return gettext("%(clock)s overdue by %(span)s") % values
    return gettext("%(clock)s due in %(span)s") % values


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
