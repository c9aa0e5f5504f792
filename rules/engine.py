"""The compiled rule set: every alert's classification, first matching rule wins.

Matching is the hot path of ingestion, and its cost must not grow with the number of rules.
Every matcher is reduced to the cheapest test that means the same (equality, set membership
for a regex of literal alternatives, anchored regex). For each label that any rule tests,
a `Selector` remembers, per label value seen, the set of rules that value lets through (a
bit mask). An alert's candidates are the AND of its labels' masks, and the first matching
rule is the lowest bit set: a few dictionary lookups per alert once the values are known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Generic, TypeVar

from core.bounds import GROUP_KEY_MAX_BYTES, SERVICE_MAX_BYTES, bounded_identifier
from rules.matchers import Matcher, MatchOp, compile_regex
from rules.schema import Category, Impact
from rules.templates import TitleTemplate

__all__ = ["Classification", "CompiledMatchers", "Outcome", "RuleSet", "Selector"]

# Label values cached per label; past this many (an `instance` label, say), start afresh.
_VALUES_REMEMBERED = 4096
_LITERAL = re.compile(r"[A-Za-z0-9_\-:/ @,;=<>'\"]*\Z")


class _Test(IntEnum):
    EQUAL = 0
    NOT_EQUAL = 1
    IN = 2
    NOT_IN = 3
    REGEX = 4
    NOT_REGEX = 5


_Check = tuple[str, _Test, object]
_T = TypeVar("_T")


def _compile(matcher: Matcher) -> _Check:
    if matcher.op is MatchOp.EQUAL:
        return (matcher.name, _Test.EQUAL, matcher.value)
    if matcher.op is MatchOp.NOT_EQUAL:
        return (matcher.name, _Test.NOT_EQUAL, matcher.value)
    alternatives = matcher.value.split("|")
    if all(_LITERAL.match(alternative) for alternative in alternatives):
        test = _Test.IN if matcher.op is MatchOp.REGEX else _Test.NOT_IN
        return (matcher.name, test, frozenset(alternatives))
    pattern = compile_regex(matcher.value)
    return (matcher.name, _Test.REGEX if matcher.op is MatchOp.REGEX else _Test.NOT_REGEX, pattern)


@dataclass(frozen=True, slots=True)
class CompiledMatchers:
    """A conjunction of matchers, each reduced to its cheapest equivalent test."""

    matchers: tuple[Matcher, ...]
    checks: tuple[_Check, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", tuple(_compile(m) for m in self.matchers))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(_accepts(check, labels.get(check[0], "")) for check in self.checks)


def _accepts(check: _Check, value: str) -> bool:
    _name, test, operand = check
    if test is _Test.EQUAL:
        return value == operand
    if test is _Test.NOT_EQUAL:
        return value != operand
    if test is _Test.IN:
        return value in operand  # type: ignore[operator]
    if test is _Test.NOT_IN:
        return value not in operand  # type: ignore[operator]
    found = operand.fullmatch(value) is not None  # type: ignore[attr-defined]
    return found if test is _Test.REGEX else not found


class _LabelIndex:
    """For one label: which entries each value lets through, as a bit mask, remembered."""

    __slots__ = ("name", "masks", "_untested", "_exact", "_others")

    def __init__(self, name: str, tests: Sequence[tuple[int, tuple[_Check, ...]]], every: int):
        self.name = name
        self.masks: dict[str, int] = {}
        tested = 0
        # Entries whose only test of this label is equality or a set of literals are found
        # by a lookup; only the rest (regexes, negations) are evaluated for a new value.
        self._exact: dict[str, int] = {}
        others = []
        for index, checks in tests:
            tested |= 1 << index
            [(_name, test, operand), *more] = checks
            if not more and test is _Test.EQUAL:
                self._exact[str(operand)] = self._exact.get(str(operand), 0) | 1 << index
            elif not more and test is _Test.IN:
                for value in operand:  # type: ignore[attr-defined]
                    self._exact[value] = self._exact.get(value, 0) | 1 << index
            else:
                others.append((1 << index, checks))
        self._others = tuple(others)
        self._untested = every & ~tested

    def mask(self, value: str) -> int:
        mask = self._untested | self._exact.get(value, 0)
        for bit, checks in self._others:
            if all(_accepts(check, value) for check in checks):
                mask |= bit
        if len(self.masks) >= _VALUES_REMEMBERED:
            self.masks.clear()
        self.masks[value] = mask
        return mask


class Selector(Generic[_T]):
    """Picks the first entry, in order, whose matchers accept a label set."""

    def __init__(self, entries: Sequence[tuple[CompiledMatchers, _T]]) -> None:
        self._values = tuple(value for _, value in entries)
        self._every = (1 << len(self._values)) - 1
        tests: dict[str, list[tuple[int, tuple[_Check, ...]]]] = {}
        for index, (matchers, _) in enumerate(entries):
            by_label: dict[str, list[_Check]] = {}
            for check in matchers.checks:
                by_label.setdefault(check[0], []).append(check)
            for name, checks in by_label.items():
                tests.setdefault(name, []).append((index, tuple(checks)))
        self._labels = tuple(
            _LabelIndex(name, label_tests, self._every) for name, label_tests in tests.items()
        )

    def first(self, labels: Mapping[str, str]) -> _T | None:
        candidates = self._every
        get = labels.get
        for index in self._labels:
            value = get(index.name, "")
            mask = index.masks.get(value)
            candidates &= index.mask(value) if mask is None else mask
            if not candidates:
                return None
        if not candidates:
            return None
        return self._values[(candidates & -candidates).bit_length() - 1]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a rule (or the defaults) assigns; the service comes from the services section."""

    rule: str | None
    level: str
    priority: str
    category: Category
    impact: Impact
    group_by: tuple[str, ...]
    title: TitleTemplate


@dataclass(frozen=True, slots=True)
class Classification:
    """An alert's classification; the title is rendered on demand (it costs ~13 µs)."""

    service: str
    level: str
    priority: str
    category: Category
    impact: Impact
    group_key: str
    outcome: Outcome

    @property
    def rule(self) -> str | None:
        return self.outcome.rule

    def title(self, labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
        return self.outcome.title.render(labels, annotations)


def _group_key(group_by: Sequence[str], service: str, labels: Mapping[str, str]) -> str:
    # `service` means the classified service, which an alert need not carry as a label. Values
    # are quoted as Alertmanager quotes them (Go's %q; JSON's escapes are the same for what
    # matters: `"`, `\` and control characters), so distinct label sets never share a key.
    parts = (
        f"{name}={_quoted(service if name == 'service' else labels.get(name, ''))}"
        for name in group_by
    )
    return bounded_identifier("{" + ",".join(parts) + "}", GROUP_KEY_MAX_BYTES)


def _quoted(value: str) -> str:
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


class RuleSet:
    """Classifies alerts; built by `rules.loader` from a valid rule file."""

    def __init__(
        self,
        *,
        services: Sequence[tuple[CompiledMatchers, str]],
        service_labels: Sequence[str],
        default_service: str,
        rules: Sequence[tuple[CompiledMatchers, Outcome]],
        default_outcome: Outcome,
    ) -> None:
        self._services = Selector(services)
        self._service_labels = tuple(service_labels)
        self._default_service = default_service
        self._rules = Selector(rules)
        self._default = default_outcome

    def service_of(self, labels: Mapping[str, str]) -> str:
        """The listed service whose matchers accept `labels`, else the first service label."""
        listed = self._services.first(labels)
        if listed is not None:
            return listed
        for name in self._service_labels:
            value = labels.get(name)
            if value:
                return bounded_identifier(value, SERVICE_MAX_BYTES)
        return self._default_service

    def classify(self, labels: Mapping[str, str]) -> Classification:
        """The classification of an alert with `labels`."""
        service = self.service_of(labels)
        outcome = self._rules.first(labels) or self._default
        return Classification(
            service=service,
            level=outcome.level,
            priority=outcome.priority,
            category=outcome.category,
            impact=outcome.impact,
            group_key=_group_key(outcome.group_by, service, labels),
            outcome=outcome,
        )
