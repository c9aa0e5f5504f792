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
