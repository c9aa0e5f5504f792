"""`rules test`: classification tests of a rule file, with a diff for each failure."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from rules.loader import DEFAULT_RULES, RuleFileError
from rules.testing import run_rule_tests

DEFAULT_TESTS = DEFAULT_RULES.with_name("default_test.yaml")


def test_the_shipped_rules_pass_their_shipped_tests() -> None:
    report = run_rule_tests(DEFAULT_TESTS)
    assert not report.failed
    assert len(report.results) >= 10
    assert report.format().startswith("SUCCESS:")


def write_tests(directory: Path, body: str) -> Path:
    shutil.copy(DEFAULT_RULES, directory / "rules.yaml")
    path = directory / "rules_test.yaml"
    path.write_text("rule_file: rules.yaml\n" + textwrap.dedent(body))
    return path


def test_a_wrong_expectation_fails_with_a_diff_of_each_field(tmp_path: Path) -> None:
    path = write_tests(
        tmp_path,
        """\
        tests:
          - name: passes
            labels: {alertname: Watchdog}
            expect: {level: info}
          - name: wrong priority and impact
            labels: {alertname: InstanceDown, job: node}
            expect: {priority: P1, impact: outage, level: critical, category: network}
        """,
    )
    report = run_rule_tests(path)
    assert [result.name for result in report.failed] == ["wrong priority and impact"]
    assert report.failed[0].differences == {
        "priority": ("P1", "P2"),
        "category": ("network", "hardware"),
    }
    assert report.format().splitlines() == [
        f"FAILED {path}:6: wrong priority and impact",
        "  priority:",
        "    - expected: P1",
        "    + got:      P2",
        "  category:",
        "    - expected: network",
        "    + got:      hardware",
        f"FAILED: 1 of 2 classification tests passed against {tmp_path / 'rules.yaml'}",
    ]


def test_a_malformed_test_file_is_reported_like_a_rule_file(tmp_path: Path) -> None:
    path = write_tests(
        tmp_path,
        """\
        tests:
          - name: no expectation
            labels: {alertname: A}
            expected: {level: info}
        """,
    )
    with pytest.raises(RuleFileError) as caught:
        run_rule_tests(path)
    assert [p.format("t") for p in caught.value.problems] == [
        "t:3: tests[0].expect: missing required key 'expect'",
        "t:5: tests[0].expected: unknown key 'expected'; expected one of: name, labels, "
        "annotations, expect",
    ]


def test_a_test_file_naming_an_invalid_rule_file_reports_the_rule_file(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text("rules: [{name: a, level: nope}]\n")
    path = tmp_path / "t.yaml"
    path.write_text("rule_file: rules.yaml\ntests: [{name: x, labels: {}, expect: {}}]\n")
    with pytest.raises(RuleFileError, match="unknown level 'nope'"):
        run_rule_tests(path)
