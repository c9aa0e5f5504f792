"""Label matchers behave as Alertmanager's: anchored regexes, missing labels are empty."""

from __future__ import annotations

import pytest

from rules.matchers import MatcherError, MatchOp, parse_matcher


@pytest.mark.parametrize(
    ("text", "name", "op", "value"),
    [
        ('severity="critical"', "severity", MatchOp.EQUAL, "critical"),
        ('severity!="info"', "severity", MatchOp.NOT_EQUAL, "info"),
        ('severity=~"critical|page"', "severity", MatchOp.REGEX, "critical|page"),
        ('job!~"test.*"', "job", MatchOp.NOT_REGEX, "test.*"),
        ("severity=critical", "severity", MatchOp.EQUAL, "critical"),
        (' job = "a b" ', "job", MatchOp.EQUAL, "a b"),
        (r'summary="say \"hi\""', "summary", MatchOp.EQUAL, 'say "hi"'),
        ('service=""', "service", MatchOp.EQUAL, ""),
    ],
)
def test_matchers_parse(text: str, name: str, op: MatchOp, value: str) -> None:
    matcher = parse_matcher(text)
    assert (matcher.name, matcher.op, matcher.value) == (name, op, value)


@pytest.mark.parametrize(
    "text", ["severity", '="x"', 'sev-erity="x"', 'a=="x"', 'a="unterminated', 'a="x\\q"', 'a=~"("']
)
def test_bad_matchers_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(MatcherError, match="matcher|regular expression"):
        parse_matcher(text)


def test_regexes_are_anchored_at_both_ends() -> None:
    matcher = parse_matcher('job=~"check"')
    assert matcher.matches({"job": "check"})
    assert not matcher.matches({"job": "checkout"})
    assert not matcher.matches({"job": "precheck"})


def test_alternation_is_anchored_as_a_whole() -> None:
    matcher = parse_matcher('severity=~"critical|page"')
    assert matcher.matches({"severity": "page"})
    assert not matcher.matches({"severity": "pager"})


def test_a_missing_label_matches_as_the_empty_string() -> None:
    assert parse_matcher('service=""').matches({"alertname": "A"})
    assert parse_matcher('service!="payments"').matches({})
    assert parse_matcher('service=~".*"').matches({})
    assert not parse_matcher('service=~".+"').matches({})


def test_negative_regex_matchers_invert_the_match() -> None:
    matcher = parse_matcher('job!~"test.*"')
    assert matcher.matches({"job": "prod"})
    assert not matcher.matches({"job": "test-1"})


def test_a_matcher_prints_back_in_its_own_syntax() -> None:
    text = r'summary=~"a\"b"'
    assert str(parse_matcher(text)) == text


@pytest.mark.timeout(10)
def test_no_pattern_is_super_linear() -> None:
    # With a backtracking engine this takes 2^40 steps; RE2 is linear in the value.
    value = "a" * 40
    assert not parse_matcher('r=~"(.|.)*Z"').matches({"r": value})
    assert not parse_matcher('r=~"(a*)*b"').matches({"r": value})
    assert parse_matcher('r=~"(a|aa)+"').matches({"r": value})


@pytest.mark.parametrize("pattern", [r"(a)\\1", "(?=a)a", "(?<!b)a", "a++", r"\\Z"])
def test_patterns_alertmanager_refuses_are_refused(pattern: str) -> None:
    # RE2's syntax, as Alertmanager's and Prometheus': no backreferences, no lookaround.
    with pytest.raises(MatcherError, match="invalid regular expression"):
        parse_matcher(f'a=~"{pattern}"')


def test_regex_semantics_are_re2s() -> None:
    # `.` does not match a newline (as in Go); classes and Unicode as RE2 has them.
    assert not parse_matcher('a=~"x.y"').matches({"a": "x\ny"})
    assert parse_matcher('a=~"(?s)x.y"').matches({"a": "x\ny"})
    assert parse_matcher('a=~"\\\\d+"').matches({"a": "2026"})
    assert parse_matcher('a=~"支付.*"').matches({"a": "支付网关"})
    assert parse_matcher('a=~"\\\\pL+"').matches({"a": "é支"})
