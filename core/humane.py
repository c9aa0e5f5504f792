"""Speaking to people: a package's Babel message catalogue in their language, an instant in
their zone with the zone named, a span on a clock in their language's units."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = ["LANGUAGES", "catalogue", "duration", "local_time"]

LANGUAGES = ("en", "zh-CN")
# The catalogue folder of each language but the source one (English).
_FOLDERS: Mapping[str, str] = {"zh-CN": "zh_CN"}


def catalogue(package: str, domain: str, language: str) -> NullTranslations:
    """`package`'s `locales/<folder>/LC_MESSAGES/<domain>.po` for `language`, compiled in
    memory (English, or a language without one: the messages as written)."""
    folder = _FOLDERS.get(language)
    if folder is None:
        return NullTranslations()
    source = files(package) / "locales" / folder / "LC_MESSAGES" / f"{domain}.po"
    with source.open("rb") as po:
        read = read_po(po, locale=folder)
    compiled = io.BytesIO()
    write_mo(compiled, read)
    compiled.seek(0)
    return Translations(compiled)


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
