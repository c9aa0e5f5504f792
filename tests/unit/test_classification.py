"""Classifying alerts: services, first matching rule, defaults, group keys and titles."""

from __future__ import annotations

import textwrap

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine import CompiledMatchers, Selector
from rules.loader import load_rule_file, parse_rule_text
from rules.matchers import Matcher, MatchOp
from rules.schema import Category, Impact
from rules.templates import TitleTemplate
from tests.conftest import FIXTURES

EXAMPLE = load_rule_file(FIXTURES / "example_rules.yaml")


def test_the_first_matching_rule_wins() -> None:
    # InstanceDown with severity=critical matches both `instance-down` and `critical`.
    labels = {"alertname": "InstanceDown", "severity": "critical", "service": "payments"}
    classification = EXAMPLE.ruleset.classify(labels)
    assert classification.rule == "instance-down"
    assert (classification.level, classification.priority) == ("critical", "P1")
    assert (classification.category, classification.impact) == (Category.HARDWARE, Impact.OUTAGE)


def test_fields_a_rule_leaves_out_come_from_the_defaults() -> None:
    classification = EXAMPLE.ruleset.classify({"alertname": "Slow", "severity": "warning"})
    assert classification.rule == "warning"
    assert classification.category is Category.OTHER
    assert classification.impact is Impact.NONE


def test_an_alert_no_rule_matches_gets_the_file_defaults() -> None:
    classification = EXAMPLE.ruleset.classify({"alertname": "Odd", "severity": "weird"})
    assert classification.rule is None
    assert (classification.level, classification.priority) == ("warning", "P4")


def test_services_come_from_their_matchers() -> None:
    assert EXAMPLE.ruleset.service_of({"service": "payments"}) == "payments"
    assert EXAMPLE.ruleset.service_of({"job": "checkout"}) == "checkout"
    assert EXAMPLE.ruleset.service_of({"job": "checkout-api"}) == "checkout"
    # Regexes are anchored: `checkout(-.*)?` does not match inside a longer name.
    assert EXAMPLE.ruleset.service_of({"job": "old-checkout"}) == "old-checkout"


def test_an_unlisted_alert_takes_its_first_service_label_then_the_default_service() -> None:
    rules = parse_rule_text("defaults: {service_labels: [app, job], service: none-given}\n")
    assert rules.ruleset.service_of({"job": "node", "app": "shop"}) == "shop"
    assert rules.ruleset.service_of({"job": "node", "app": ""}) == "node"
    assert rules.ruleset.service_of({"instance": "x"}) == "none-given"


def test_a_listed_service_without_matchers_matches_its_service_label() -> None:
    rules = parse_rule_text("services: [{name: shop, target: 99.9}]\n")
    assert rules.ruleset.service_of({"service": "shop"}) == "shop"
    assert rules.service("shop").target_ratio == 0.999
    assert rules.service("elsewhere").target_ratio == 0.995


def test_a_missing_label_matches_as_the_empty_string() -> None:
    rules = parse_rule_text(
        textwrap.dedent(
            """\
            rules:
              - {name: no-team, matchers: ['team=""'], priority: P1}
              - {name: not-prod, matchers: ['env!~"prod"'], priority: P2}
            """
        )
    )
    assert rules.ruleset.classify({"alertname": "A"}).rule == "no-team"
    assert rules.ruleset.classify({"team": "x", "env": "staging"}).rule == "not-prod"
    assert rules.ruleset.classify({"team": "x", "env": "prod"}).rule is None


def test_the_group_key_uses_the_classified_service_and_the_rules_group_by() -> None:
    labels = {"alertname": "Slow", "severity": "warning", "job": "checkout-7", "instance": "a"}
    assert EXAMPLE.ruleset.classify(labels).group_key == '{service="checkout",alertname="Slow"}'
    rules = parse_rule_text("rules: [{name: per-host, group_by: [alertname, instance]}]\n")
    assert rules.ruleset.classify(labels).group_key == '{alertname="Slow",instance="a"}'


def test_titles_render_labels_and_a_missing_label_renders_empty() -> None:
    labels = {"alertname": "InstanceDown", "instance": "db1:9100"}
    classification = EXAMPLE.ruleset.classify(labels)
    assert classification.title(labels, {}) == "db1:9100 is down"
    assert classification.title({"alertname": "InstanceDown"}, {}) == "is down"


def test_the_default_title_is_the_summary_or_the_alert_name() -> None:
    classification = EXAMPLE.ruleset.classify({"alertname": "Slow"})
    assert classification.title({"alertname": "Slow"}, {"summary": "p99 > 2s"}) == "p99 > 2s"
    assert classification.title({"alertname": "Slow"}, {}) == "Slow"


def test_title_templates_run_no_code_and_reach_no_python_internals() -> None:
    labels = {"alertname": "A", "x": "1"}
    sneaky = TitleTemplate("{{ labels.__class__.__mro__ }}{{ labels.x.__class__ }}!")
    assert sneaky.render(labels, {}) == "!"
    calls = TitleTemplate("{{ labels.clear() }}{{ labels.x }}")
    # The sandbox refuses to call a mutating method: the title falls back to the alert name.
    assert calls.render(labels, {}) == "A"
    assert labels == {"alertname": "A", "x": "1"}


def test_a_title_that_fails_at_run_time_falls_back_to_the_alert_name() -> None:
    assert TitleTemplate("{{ 1 / 0 }}").render({"alertname": "Boom"}, {}) == "Boom"
    assert TitleTemplate("{{ labels.nothing.deeper }}").render({"alertname": "B"}, {}) == "B"


def test_regexes_of_literal_alternatives_match_as_sets_and_others_as_anchored_regexes() -> None:
    literal = CompiledMatchers((Matcher("severity", MatchOp.REGEX, "critical|page"),))
    assert literal.matches({"severity": "page"})
    assert not literal.matches({"severity": "pager"})
    pattern = CompiledMatchers((Matcher("severity", MatchOp.REGEX, "crit.*"),))
    assert pattern.matches({"severity": "critical"})
    assert not pattern.matches({"severity": "subcritical"})
    negated = CompiledMatchers((Matcher("severity", MatchOp.NOT_REGEX, "info|none|"),))
    assert not negated.matches({})
    assert negated.matches({"severity": "warning"})


_NAMES = st.sampled_from(["alertname", "severity", "job", "team"])
_VALUES = st.sampled_from(["", "a", "b", "c", "ab", "critical", "page"])
_PATTERNS = st.sampled_from(["a|b", "a.*", "", "critical|page", "(a|b)c?", "a|", "[bc]"])


@st.composite
def _matchers(draw: st.DrawFn) -> Matcher:
    op = draw(st.sampled_from(list(MatchOp)))
    value = draw(_PATTERNS if op in (MatchOp.REGEX, MatchOp.NOT_REGEX) else _VALUES)
    return Matcher(draw(_NAMES), op, value)


@settings(max_examples=300, deadline=None)
@given(
    rules=st.lists(st.lists(_matchers(), max_size=3), max_size=12),
    alerts=st.lists(st.dictionaries(_NAMES, _VALUES), min_size=1, max_size=6),
)
def test_the_indexed_selector_picks_what_checking_every_rule_in_order_picks(
    rules: list[list[Matcher]], alerts: list[dict[str, str]]
) -> None:
    selector = Selector([(CompiledMatchers(tuple(m)), index) for index, m in enumerate(rules)])
    # Several alerts through one selector: remembered label values must not leak between them.
    for labels in alerts + alerts:
        expected = next(
            (index for index, m in enumerate(rules) if all(x.matches(labels) for x in m)), None
        )
        assert selector.first(labels) == expected
