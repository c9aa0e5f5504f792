"""Incident titles rendered from an alert's labels and annotations, in a sandbox.

Templates are Jinja expressions over `labels` and `annotations` (`{{ labels.instance }} is
down`). The sandbox runs no code and reaches no Python attribute; a missing label renders
as the empty string.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from jinja2 import ChainableUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["TitleTemplate", "TitleTemplateError"]

_MAX_TITLE = 300
_environment = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
# Rule files repeat titles; a compiled template is immutable, so reloads can share them.
_compile = lru_cache(maxsize=1024)(_environment.from_string)


class TitleTemplateError(ValueError):
    """A title template that does not compile."""


class TitleTemplate:
    """A compiled title template."""

    __slots__ = ("source", "_template")

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self._template = _compile(source)
        except TemplateError as error:
            raise TitleTemplateError(f"invalid title template {source!r}: {error}") from None

    def render(self, labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
        """The title for one alert; a template that fails at run time yields the alert name."""
        try:
            text = self._template.render(labels=dict(labels), annotations=dict(annotations))
        except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError):
            # A runtime error (a filter given the wrong type, the sandbox refusing) must not
            # stop an incident from opening; the alert name still says what fired.
            text = labels.get("alertname", "")
        text = " ".join(text.split())
        return text[:_MAX_TITLE] or labels.get("alertname", "") or "untitled alert"

    def __repr__(self) -> str:
        return f"TitleTemplate({self.source!r})"
