"""`slakeeper rules test`: expected classifications of sample alerts, as `promtool test rules`.

A test file names the rule file it tests (relative to itself) and lists cases::

    rule_file: default.yaml
    tests:
      - name: a target that is down is a P2 outage
        labels: {alertname: InstanceDown, job: node, instance: 'db1:9100'}
        expect: {service: node, level: critical, priority: P2, impact: outage}

`expect` may hold service, level, priority, category, impact, group_key, rule and title;
only the fields it names are compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rules.loader import (
    RuleFileError,
    RuleProblem,
    line_of,
    load_rule_file,
    parse_yaml_mapping,
    schema_problems,
)
from rules.policy import RuleFile

__all__ = ["CaseResult", "RuleTestReport", "run_rule_tests"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Strict):
    service: str | None = None
    level: str | None = None
    priority: str | None = None
    category: str | None = None
    impact: str | None = None
    group_key: str | None = None
    rule: str | None = None
    title: str | None = None


class Case(_Strict):
    name: str
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    expect: Expectation


class RuleTestFile(_Strict):
    rule_file: str
    tests: list[Case] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case: its name, where it is, and each field that differed (expected, got)."""

    name: str
    line: int | None
    differences: dict[str, tuple[str | None, str | None]]

    @property
    def passed(self) -> bool:
        return not self.differences


@dataclass(frozen=True, slots=True)
class RuleTestReport:
    source: str
    rule_file: str
    results: tuple[CaseResult, ...]

    @property
    def failed(self) -> list[CaseResult]:
        return [result for result in self.results if not result.passed]

    def format(self) -> str:
        """A report in promtool's manner: each failure with a field-by-field diff."""
        lines = []
        for result in self.failed:
            where = f"{self.source}:{result.line}" if result.line else self.source
            lines.append(f"FAILED {where}: {result.name}")
            for field, (expected, got) in result.differences.items():
                lines.append(f"  {field}:")
                lines.append(f"    - expected: {expected}")
                lines.append(f"    + got:      {got}")
        verdict = "SUCCESS" if not self.failed else "FAILED"
        lines.append(
            f"{verdict}: {len(self.results) - len(self.failed)} of {len(self.results)} "
            f"classification tests passed against {self.rule_file}"
        )
        return "\n".join(lines)


def run_rule_tests(path: Path, *, default_timezone: str = "UTC") -> RuleTestReport:
    """Classify each case's alert with the rule file it names; RuleFileError if one is invalid."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RuleFileError(source, [RuleProblem("", f"cannot read: {error}")]) from None
    root, document = parse_yaml_mapping(text, source)
    try:
        spec = RuleTestFile.model_validate(document)
    except ValidationError as error:
        raise RuleFileError(source, schema_problems(root, error, RuleTestFile)) from None
    rule_path = path.parent / spec.rule_file
    rules = load_rule_file(rule_path, default_timezone=default_timezone)
    results = tuple(
        CaseResult(case.name, line_of(root, ("tests", index)), _differences(rules, case))
        for index, case in enumerate(spec.tests)
    )
    return RuleTestReport(source, str(rule_path), results)


def _differences(rules: RuleFile, case: Case) -> dict[str, tuple[str | None, str | None]]:
    classification = rules.ruleset.classify(case.labels)
    got = {
        "service": classification.service,
        "level": classification.level,
        "priority": classification.priority,
        "category": classification.category.value,
        "impact": classification.impact.value,
        "group_key": classification.group_key,
        "rule": classification.rule,
    }
    if case.expect.title is not None:
        got["title"] = classification.title(case.labels, case.annotations)
    return {
        field: (expected, got[field])
        for field, expected in case.expect.model_dump(exclude_none=True).items()
        if got[field] != expected
    }
