"""The compliance report's words: its Babel catalogue (`locales/<folder>/LC_MESSAGES/report.po`),
the reader's language, and figures, spans, times and values written in it.

Availability is rounded down (a report never shows more than was achieved); durations keep
every unit down to the second ("3 h 36 min 5 s", "3 小时 36 分 5 秒"); times are the report's
zone with the zone named; a missing value reads "—".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pandas as pd
from babel.support import NullTranslations

from core.humane import LANGUAGES, catalogue, local_time

__all__ = [
    "DASH",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "NBSP",
    "N_",
    "Words",
    "best_language",
    "missing",
    "translations",
]

DEFAULT_LANGUAGE = "en"
DASH = "—"
NBSP = "\u00a0"  # between a number and its unit, so that a line never breaks there
DOMAIN = "report"


def N_(message: str) -> str:
    """Marks `message` for the catalogue; translated where it is shown."""
    return message


def NP_(context: str, message: str) -> tuple[str, str]:
    """Marks `message` in `context` for the catalogue (a word that reads differently
    elsewhere: an open month is not an open dispute)."""
    return context, message


# The values of the report's columns, in words: (column kind, value) -> (context, message).
VALUES: dict[tuple[str, str], tuple[str, str]] = {
    ("unknown_policy", "up"): NP_("unknown time", "counted as up"),
    ("unknown_policy", "down"): NP_("unknown time", "counted as down"),
    ("unknown_policy", "excluded"): NP_("unknown time", "excluded"),
    ("month_state", "open"): NP_("month", "open"),
    ("month_state", "closed"): NP_("month", "closed"),
    ("month_state", "partly_closed"): NP_("month", "partly closed"),
    ("action", "exclude"): NP_("adjustment", "exclude"),
    ("action", "shorten"): NP_("adjustment", "shorten"),
    ("action", "add"): NP_("adjustment", "add"),
    ("action", "accept"): NP_("adjustment", "accept a change"),
    ("category", "false_alarm"): NP_("category", "false alarm"),
    ("category", "customer_caused"): NP_("category", "caused by the customer"),
    ("category", "force_majeure"): NP_("category", "force majeure"),
    ("category", "third_party"): NP_("category", "third party"),
    ("category", "monitoring_error"): NP_("category", "monitoring error"),
    ("category", "agreed_with_customer"): NP_("category", "agreed with the customer"),
    ("adjustment_state", "awaiting_approval"): NP_("adjustment", "awaiting approval"),
    ("adjustment_state", "applied"): NP_("adjustment", "applied"),
    ("adjustment_state", "rejected"): NP_("adjustment", "rejected"),
    ("dispute_state", "open"): NP_("dispute", "open"),
    ("dispute_state", "resolved"): NP_("dispute", "resolved"),
    ("pending_state", "pending"): NP_("change", "pending"),
    ("pending_state", "accepted"): NP_("change", "accepted"),
    ("pending_state", "superseded"): NP_("change", "superseded"),
    ("kind", "response"): NP_("breach", "response"),
    ("kind", "resolution"): NP_("breach", "resolution"),
}
# A duration's units, largest first, with their length in seconds.
UNITS = (
    (86_400, N_("%(value)s d")),
    (3_600, N_("%(value)s h")),
    (60, N_("%(value)s min")),
    (1, N_("%(value)s s")),
)


@cache
def translations(language: str) -> NullTranslations:
    """The report's catalogue for `language` (English: the messages as written)."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    return catalogue("availability", DOMAIN, language)


def best_language(chosen: str | None, accept_language: str | None) -> str:
    """`chosen` if it is one of `LANGUAGES`; else the best of them by `Accept-Language`
    (its q-values; `zh*` reads zh-CN, `en*` en); else English."""
    if chosen in LANGUAGES:
        return chosen
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for part in (accept_language or "").split(","):
        tag, _, parameters = part.strip().partition(";")
        language = _ours(tag.strip().lower())
        quality = _quality(parameters)
        if language is not None and quality > best_q:
            best, best_q = language, quality
    return best


def _ours(tag: str) -> str | None:
    if tag == "zh" or tag.startswith("zh-"):
        return "zh-CN"
    if tag == "en" or tag.startswith("en-"):
        return "en"
    return None


def _quality(parameters: str) -> float:
    """The q-value of an `Accept-Language` entry (1 when absent, 0 when unreadable)."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0


def missing(value: Any) -> bool:
    """None, NaN, NaT and pandas' NA: a figure the report does not have."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True, slots=True)
class Words:
    """How the report speaks to a reader of `language`: figures, spans, values, and times
    in the report's `zone`. Built once per (language, zone); lookups are remembered."""

    language: str
    zone: str
    gettext: Callable[[str], str]
    pgettext: Callable[[str, str], str]

    @classmethod
    @cache
    def of(cls, language: str, zone: str) -> Words:
        catalogue_ = translations(language)

        def pgettext(context: str, message: str) -> str:
            return str(catalogue_.pgettext(context, message))

        return cls(language, zone, cache(catalogue_.gettext), cache(pgettext))

    def word(self, kind: str, value: Any) -> str:
        """A column's value in words (a policy, a state, a category); unknown ones as given."""
        if missing(value) or value == "":
            return DASH
        known = VALUES.get((kind, str(value)))
        return self.pgettext(*known) if known else str(value)

    def percent(self, number: str) -> str:
        return (self.gettext("%(number)s %%") % {"number": number}).replace(" ", NBSP)

    def availability(self, ratio: Any) -> str:
        """Percent with 3 decimals, rounded down: 0.999996 is 99.999 %, never 100.000 %."""
        if missing(ratio):
            return DASH
        return self.percent(f"{math.floor(float(ratio) * 100_000 + 1e-6) / 1000:.3f}")

    def target(self, ratio: Any) -> str:
        """Percent with 3 decimals, or as many as the target has (99.9995 %)."""
        if missing(ratio):
            return DASH
        percent = float(ratio) * 100
        text = f"{percent:.3f}"
        if abs(float(text) - percent) > 1e-9:
            text = f"{percent:.6f}".rstrip("0")
        return self.percent(text)

    def share(self, ratio: Any, decimals: int = 1) -> str:
        return DASH if missing(ratio) else self.percent(f"{float(ratio) * 100:.{decimals}f}")

    def points(self, ratio: Any) -> str:
        """A change of a ratio in percentage points, signed: "−0.0139 pp"."""
        if missing(ratio):
            return DASH
        number = f"{float(ratio) * 100:+.4f}".replace("-", "−")
        return (self.gettext("%(number)s pp") % {"number": number}).replace(" ", NBSP)

    def count(self, value: Any) -> str:
        return DASH if missing(value) else f"{int(value):,}"

    def duration(self, seconds: Any) -> str:
        """Whole days, hours, minutes and seconds, the zero ones left out: "3 h 36 min 5 s"."""
        if missing(seconds):
            return DASH
        total = round(float(seconds))
        rest, parts = abs(total), []
        for size, unit in UNITS:
            value, rest = divmod(rest, size)
            if value:
                parts.append(self.unit(unit, value))
        text = " ".join(parts) or self.unit(UNITS[-1][1], 0)
        return f"−{text}" if total < 0 else text

    def unit(self, unit: str, value: int | str) -> str:
        return (self.gettext(unit) % {"value": value}).replace(" ", NBSP)

    def seconds(self, seconds: Any) -> str:
        """Whole seconds beside a duration of a minute or more: "12,965 s"."""
        if missing(seconds) or abs(round(float(seconds))) < 60:
            return ""
        return self.unit(UNITS[-1][1], f"{round(float(seconds)):,}")

    def signed_seconds(self, seconds: Any) -> str:
        """A change of downtime in whole seconds, signed: "−600 s", "+1,200 s"."""
        if missing(seconds):
            return DASH
        number = f"{round(float(seconds)):+,}".replace("-", "−")
        return self.unit(UNITS[-1][1], number)

    def time(self, moment: Any) -> str:
        """An instant in the report's zone, the zone named: "2026-11-21 23:00 CET"."""
        if missing(moment):
            return DASH
        if isinstance(moment, pd.Timestamp):
            moment = moment.to_pydatetime()
        return local_time(moment, self.zone)
