"""Reading a rule file: YAML with line numbers, schema validation, references, compilation.

Every problem is reported at once, each with the file, the line where the YAML loader
saw it, the path of the field (`rules[2].matchers[0]`) and what was expected.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rules.policy import RuleFile, compile_rule_file
from rules.reaching import reference_problems
from rules.schema import CreditsSpec, RuleFileSpec
from rules.templates import TitleTemplate, TitleTemplateError

__all__ = [
    "DEFAULT_RULES",
    "RuleFileError",
    "RuleProblem",
    "line_of",
    "load_rule_file",
    "parse_rule_text",
    "parse_yaml_mapping",
    "schema_problems",
]

Location = tuple[str | int, ...]

DEFAULT_RULES = Path(__file__).with_name("default.yaml")


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One thing wrong with a rule file."""

    path: str
    message: str
    line: int | None = None

    def format(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: {self.path or '(file)'}: {self.message}"


class RuleFileError(ValueError):
    """A rule file that cannot be used; `problems` lists everything wrong with it."""

    def __init__(self, source: str, problems: Sequence[RuleProblem]) -> None:
        self.source = source
        # In the order a reader meets them in the file.
        self.problems = tuple(sorted(problems, key=lambda problem: problem.line or 0))
        super().__init__("\n".join(problem.format(source) for problem in self.problems))


def load_rule_file(path: Path, *, default_timezone: str = "UTC") -> RuleFile:
    """Load, validate and compile the rule file at `path`; raise RuleFileError if invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RuleFileError(str(path), [RuleProblem("", f"cannot read: {error}")]) from None
    return parse_rule_text(text, source=str(path), default_timezone=default_timezone)


def parse_rule_text(
    text: str, *, source: str = "<rules>", default_timezone: str = "UTC"
) -> RuleFile:
    """Validate and compile rule-file YAML `text`; `source` names it in error messages."""
    root, document = parse_yaml_mapping(text, source)
    try:
        spec = RuleFileSpec.model_validate(document)
    except ValidationError as error:
        raise RuleFileError(source, schema_problems(root, error, RuleFileSpec)) from None
    problems = [
        RuleProblem(_path_text(loc), message, line_of(root, loc))
        for loc, message in _reference_problems(spec)
    ]
    if problems:
        raise RuleFileError(source, problems)
    return compile_rule_file(spec, source=source, default_timezone=default_timezone, text=text)


def parse_yaml_mapping(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    """The YAML node tree (for line numbers) and the document, which must be a mapping."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, {}
        duplicates = list(_duplicate_keys(root, ()))
        if duplicates:
            raise RuleFileError(source, duplicates)
        document = loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        message = f"invalid YAML: {error.problem or error.context}"
        raise RuleFileError(source, [RuleProblem("", message, line)]) from None
    except yaml.YAMLError as error:
        raise RuleFileError(source, [RuleProblem("", f"invalid YAML: {error}")]) from None
    finally:
        loader.dispose()
    if not isinstance(document, dict):
        raise RuleFileError(source, [RuleProblem("", "expected a mapping of sections", 1)])
    return root, document


def _duplicate_keys(node: yaml.Node, loc: Location) -> Iterator[RuleProblem]:
    # YAML keeps the last of two equal keys without a word; in a rule file that hides a typo.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                yield RuleProblem(
                    _path_text((*loc, name)), "duplicate key", key.start_mark.line + 1
                )
            seen.add(name)
            yield from _duplicate_keys(value, (*loc, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index))


def _node_at(root: yaml.Node | None, loc: Location) -> yaml.Node | None:
    """The deepest YAML node along `loc` (a key's own node for a dict-key error)."""
    node = root
    for position, part in enumerate(loc):
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in node.value if str(p[0].value) == str(part)), None)
            if pair is None:
                return node
            following = loc[position + 1] if position + 1 < len(loc) else None
            if following == "[key]":
                return typing.cast(yaml.Node, pair[0])
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def line_of(root: yaml.Node | None, loc: Location) -> int | None:
    """The 1-based line of the field at `loc`, as near as the YAML tree has it."""
    node = _node_at(root, loc)
    return node.start_mark.line + 1 if node is not None else None


def _path_text(loc: Location) -> str:
    text = ""
    for part in loc:
        if part == "[key]":
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def schema_problems(
    root: yaml.Node | None, error: ValidationError, model: type[BaseModel]
) -> list[RuleProblem]:
    """Each of pydantic's errors as a problem with a path, a line and what was expected."""
    return [_schema_problem(root, detail, model) for detail in error.errors()]


def _schema_problem(root: yaml.Node | None, detail: Any, model: type[BaseModel]) -> RuleProblem:
    loc: Location = tuple(detail["loc"])
    kind, message = detail["type"], str(detail["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        message = f"unknown key {loc[-1]!r}" + (
            f"; expected one of: {', '.join(allowed)}" if allowed else ""
        )
    elif kind == "missing":
        message = f"missing required key {loc[-1]!r}"
    elif kind not in ("value_error", "assertion_error") and "input" in detail:
        message = f"{message} (got {detail['input']!r})"
    return RuleProblem(_path_text(loc), message, line_of(root, loc))


def _fields_at(root_model: type[BaseModel], loc: Location) -> list[str]:
    """The keys the schema allows in the mapping at `loc`."""
    model: type[BaseModel] | None = root_model
    annotation: Any = None
    parts = list(loc)
    while parts and model is not None:
        part = parts.pop(0)
        if not isinstance(part, str) or part not in model.model_fields:
            continue
        annotation = model.model_fields[part].annotation
        model = _model_in(annotation)
        # Lists and mappings of models: skip the index or key that follows.
        if model is not None and typing.get_origin(annotation) in (list, dict) and parts:
            parts.pop(0)
    return list(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


def _unknown(kind: str, name: str, known: list[str]) -> str:
    return f"unknown {kind} {name!r}; defined: {', '.join(known) or 'none'}"


def _reference_problems(spec: RuleFileSpec) -> Iterator[tuple[Location, str]]:
    """References to levels, priorities, calendars, contacts and services that do not exist."""
    yield from _default_problems(spec)
    yield from _rule_problems(spec)
    # Lists in file order, so that "defined: ..." reads as the file does.
    contacts = list(spec.contacts)
    for name, level in spec.levels.items():
        for index, contact in enumerate(level.notify):
            if contact not in contacts:
                yield ("levels", name, "notify", index), _unknown("contact", contact, contacts)
    calendars = ["24x7", *spec.calendars]
    for name, priority in spec.priorities.items():
        if priority.calendar is not None and priority.calendar not in calendars:
            yield (
                ("priorities", name, "calendar"),
                _unknown("calendar", priority.calendar, calendars),
            )
    yield from _escalation_problems(spec)
    yield from _credit_problems(("credits",), spec.credits)
    for index, service in enumerate(spec.services):
        yield from _credit_problems(("services", index, "credits"), service.credits)
    yield from reference_problems(spec.contacts, spec.channels, spec.rotations, calendars)
    services = [service.name for service in spec.services]
    for index, window in enumerate(spec.maintenance):
        if window.service not in services:
            yield (
                ("maintenance", index, "service"),
                (
                    f"unknown service {window.service!r}: maintenance needs a service listed "
                    f"under services; listed: {', '.join(services) or 'none'}"
                ),
            )


def _default_problems(spec: RuleFileSpec) -> Iterator[tuple[Location, str]]:
    levels, priorities = list(spec.levels), list(spec.priorities)
    if spec.defaults.level not in levels:
        yield ("defaults", "level"), _unknown("level", spec.defaults.level, levels)
    if spec.defaults.priority not in priorities:
        yield ("defaults", "priority"), _unknown("priority", spec.defaults.priority, priorities)
    yield from _template_problems(("defaults", "title"), spec.defaults.title)
    if spec.business_calendar is not None and spec.business_calendar not in spec.calendars:
        yield (
            ("business_calendar",),
            _unknown("calendar", spec.business_calendar, list(spec.calendars)),
        )
    services = [service.name for service in spec.services]
    for index, name in enumerate(services):
        if name in services[:index]:
            yield ("services", index, "name"), f"service {name!r} is defined twice"


def _rule_problems(spec: RuleFileSpec) -> Iterator[tuple[Location, str]]:
    levels, priorities = list(spec.levels), list(spec.priorities)
    rule_names = [rule.name for rule in spec.rules]
    for index, rule in enumerate(spec.rules):
        if rule.name is not None and rule.name in rule_names[:index]:
            yield ("rules", index, "name"), f"rule {rule.name!r} is defined twice"
        if rule.level is not None and rule.level not in levels:
            yield ("rules", index, "level"), _unknown("level", rule.level, levels)
        if rule.priority is not None and rule.priority not in priorities:
            yield ("rules", index, "priority"), _unknown("priority", rule.priority, priorities)
        if rule.title is not None:
            yield from _template_problems(("rules", index, "title"), rule.title)


def _escalation_problems(spec: RuleFileSpec) -> Iterator[tuple[Location, str]]:
    priorities, contacts = list(spec.priorities), list(spec.contacts)
    for priority_name, steps in spec.escalation.items():
        if priority_name not in priorities:
            yield (
                ("escalation", priority_name, "[key]"),
                _unknown("priority", priority_name, priorities),
            )
        for index, step in enumerate(steps):
            for position, contact in enumerate(step.notify):
                if contact not in contacts:
                    yield (
                        ("escalation", priority_name, index, "notify", position),
                        _unknown("contact", contact, contacts),
                    )


def _credit_problems(loc: Location, spec: CreditsSpec | None) -> Iterator[tuple[Location, str]]:
    """Tiers whose `below` repeats another's, or whose credit is less than a higher tier's:
    a worse availability must never earn a smaller credit."""
    if spec is None:
        return
    tiers = spec.tiers
    for index, tier in enumerate(tiers):
        for other_index, other in enumerate(tiers):
            if other_index < index and other.below == tier.below:
                yield (
                    (*loc, "tiers", index, "below"),
                    f"below {tier.below} is given twice (tiers[{other_index}] and tiers[{index}])",
                )
            elif other.below > tier.below and other.credit > tier.credit:
                yield (
                    (*loc, "tiers", index, "credit"),
                    f"credit {tier.credit} below {tier.below} % is less than the credit "
                    f"{other.credit} below {other.below} %: the credit must not decrease as "
                    "availability falls",
                )
                break


def _template_problems(loc: Location, source: str) -> Iterator[tuple[Location, str]]:
    try:
        TitleTemplate(source)
    except TitleTemplateError as error:
        yield loc, str(error)
