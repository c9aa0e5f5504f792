"""Rendering the console's pages: one Jinja environment per language, templates from files."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from console.i18n import (
    duration,
    local_time,
    percent,
    points,
    running_clock,
    signed_span,
    translations,
)

__all__ = ["render"]


@cache
def _environment(language: str) -> Environment:
    environment = Environment(
        loader=PackageLoader("console", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    catalogue = translations(language)
    environment.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    environment.filters["local_time"] = local_time
    environment.filters["duration"] = lambda span: (
        "—" if span is None else duration(span, catalogue.gettext)
    )
    environment.filters["seconds_span"] = lambda seconds: (
        "—"
        if seconds is None
        # A budget overdrawn keeps its sign: −1 h 11 min.
        else ("−" if seconds < 0 else "") + duration(timedelta(seconds=seconds), catalogue.gettext)
    )
    environment.filters["percent"] = percent
    environment.filters["signed_span"] = lambda seconds: signed_span(seconds, catalogue.gettext)
    environment.filters["points"] = lambda delta: points(delta, catalogue.gettext)
    # A value shown in the page's language (a state, a kind, a status): a plain lookup, cheaper
    # than `_()` in the rows of a long page, and never the catalogue's header for "".
    environment.filters["word"] = lambda value: catalogue.gettext(value) if value else "—"
    environment.filters["running_clock"] = lambda kind, left: running_clock(
        kind, left, catalogue.gettext
    )
    return environment


def render(
    template: str, context: dict[str, Any], *, language: str, status_code: int = 200
) -> HTMLResponse:
    """The page `template` in `language`, as an HTML answer."""
    page = _environment(language).get_template(template).render(language=language, **context)
    return HTMLResponse(page, status_code=status_code)
