"""Label matchers in Alertmanager syntax: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`.

Regular expressions are RE2's, as in Alertmanager and Prometheus: linear in the length of the
value whatever the pattern, so no pattern can stall a reader or the classifier. They are fully
anchored, as in Alertmanager, and a missing label matches as the empty string. A pattern RE2
does not accept (backreferences, lookaround) is refused, as Alertmanager refuses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import re2

__all__ = ["MatchOp", "Matcher", "MatcherError", "Regex", "compile_regex", "parse_matcher"]

# A compiled RE2 pattern (the binding has no type stubs).
Regex = Any
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the error is raised to the caller; do not also print it

_MATCHER = re.compile(
    r"""^\s*(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*$""",
    re.DOTALL,
)
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t"}


class MatcherError(ValueError):
    """A matcher that does not parse, or whose regular expression does not compile."""


def compile_regex(pattern: str) -> Regex:
    """`pattern` compiled by RE2, to be used with `fullmatch`; MatcherError if RE2 refuses it."""
    try:
        re2.compile(pattern, options=_RE2_OPTIONS)  # for an error in the words of the pattern
        return re2.compile(f"(?:{pattern})", options=_RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise MatcherError(f"invalid regular expression {pattern!r}: {reason}") from None


class MatchOp(StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher; regexes are compiled once, anchored at both ends."""

    name: str
    op: MatchOp
    value: str
    _regex: Regex | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            object.__setattr__(self, "_regex", compile_regex(self.value))

    @property
    def is_regex(self) -> bool:
        return self.op in (MatchOp.REGEX, MatchOp.NOT_REGEX)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this matcher (missing label = empty string)."""
        actual = labels.get(self.name, "")
        if self.op is MatchOp.EQUAL:
            return actual == self.value
        if self.op is MatchOp.NOT_EQUAL:
            return actual != self.value
        assert self._regex is not None
        found = self._regex.fullmatch(actual) is not None
        return found if self.op is MatchOp.REGEX else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher such as `severity=~"critical|page"`; the value may be unquoted."""
    found = _MATCHER.match(text)
    if found is None:
        raise MatcherError(f"bad matcher {text!r}: expected name, one of = != =~ !~, then a value")
    value = found.group("value")
    if value.startswith('"'):
        value = _unquote(value, text)
    elif '"' in value:
        raise MatcherError(f"bad matcher {text!r}: quote inside an unquoted value")
    return Matcher(found.group("name"), MatchOp(found.group("op")), value)


def _unquote(quoted: str, text: str) -> str:
    if len(quoted) < 2 or not quoted.endswith('"'):
        raise MatcherError(f"bad matcher {text!r}: unterminated quoted value")
    body, out, index = quoted[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            if index + 1 >= len(body) or body[index + 1] not in _ESCAPES:
                raise MatcherError(f"bad matcher {text!r}: invalid escape in value")
            out.append(_ESCAPES[body[index + 1]])
            index += 2
            continue
        if char == '"':
            raise MatcherError(f"bad matcher {text!r}: unescaped quote in value")
        out.append(char)
        index += 1
    return "".join(out)
