"""The rule file's `heartbeat`, `credits` and `unknown` keys: compiled, and refused precisely."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from rules.loader import DEFAULT_RULES, RuleFileError, load_rule_file, parse_rule_text
from rules.policy import NO_CREDITS, CreditPolicy, RuleFile

SHARED_EXAMPLE = Path(__file__).parents[3] / "shared" / "examples" / "rules.yaml"


def parse(text: str) -> RuleFile:
    return parse_rule_text(textwrap.dedent(text), source="test.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        parse(text)
    return [problem.format("test.yaml") for problem in caught.value.problems]


def test_without_the_new_sections_nothing_is_watched_credited_or_counted_down() -> None:
    rules = parse("services: [{name: payments}]\n")
    assert rules.heartbeat is None
    assert rules.services["payments"].unknown_policy == "up"
    assert rules.services["payments"].credits == NO_CREDITS
    assert rules.service("elsewhere").credits == NO_CREDITS


def test_the_shared_example_still_loads_with_no_heartbeat_and_no_credits() -> None:
    if not SHARED_EXAMPLE.exists():
        pytest.skip("no ../shared/examples/rules.yaml beside the repository")
    rules = load_rule_file(SHARED_EXAMPLE)
    assert rules.heartbeat is None
    assert rules.default_credits == NO_CREDITS


def test_the_shipped_rules_watch_the_watchdog_every_5_minutes_and_credit_by_tiers() -> None:
    rules = load_rule_file(DEFAULT_RULES)
    assert rules.heartbeat is not None
    assert rules.heartbeat.interval == timedelta(minutes=5)
    assert rules.heartbeat.matchers.matches({"alertname": "Watchdog"})
    assert rules.heartbeat.matchers.matches({"alertname": "DeadMansSwitch"})
    assert not rules.heartbeat.matchers.matches({"alertname": "InstanceDown"})
    assert rules.default_credits == CreditPolicy(
        ((0.995, 0.05), (0.99, 0.10), (0.95, 0.25)), max_ratio=0.25
    )
    assert rules.service("any").unknown_policy == "up"
    # The heartbeat itself is recorded, and is never downtime nor an incident.
    outcome = rules.ruleset.classify({"alertname": "Watchdog", "severity": "none"})
    assert (outcome.impact.value, outcome.level) == ("none", "info")


def test_a_service_overrides_the_unknown_policy_and_the_credits_and_unlisted_get_defaults() -> None:
    rules = parse(
        """\
        defaults: {unknown: excluded}
        credits:
          tiers: [{below: 99, credit: 10}, {below: 99.9, credit: 5}]
        services:
          - {name: payments, unknown: down, credits: {tiers: [{below: 99.95, credit: 20}], max: 15}}
          - {name: checkout, credits: {tiers: []}}
          - {name: search}
        """
    )
    assert rules.services["payments"].unknown_policy == "down"
    assert rules.services["payments"].credits == CreditPolicy(((0.9995, 0.20),), max_ratio=0.15)
    assert rules.services["checkout"].credits == CreditPolicy((), max_ratio=1.0)
    # Tiers in any order in the file, highest `below` first once compiled.
    expected = CreditPolicy(((0.999, 0.05), (0.99, 0.10)), max_ratio=1.0)
    assert rules.services["search"].credits == expected
    assert rules.services["search"].unknown_policy == "excluded"
    assert rules.service("elsewhere").credits == expected
    assert rules.service("elsewhere").unknown_policy == "excluded"


def test_credits_out_of_range_are_reported_at_their_line() -> None:
    found = problems(
        """\
        credits:
          tiers:
            - {below: 0, credit: 5}
            - {below: 99, credit: 101}
          max: -1
        """
    )
    assert found == [
        "test.yaml:3: credits.tiers[0].below: "
        "expected an availability percentage above 0, at most 100, got 0.0",
        "test.yaml:4: credits.tiers[1].credit: expected a percentage from 0 to 100, got 101.0",
        "test.yaml:5: credits.max: expected a percentage from 0 to 100, got -1.0",
    ]


def test_a_credit_that_falls_as_availability_falls_is_refused_at_its_line() -> None:
    found = problems(
        """\
        services:
          - name: payments
            credits:
              tiers:
                - {below: 99.5, credit: 10}
                - {below: 99, credit: 5}
        """
    )
    assert found == [
        "test.yaml:6: services[0].credits.tiers[1].credit: credit 5.0 below 99.0 % is less "
        "than the credit 10.0 below 99.5 %: the credit must not decrease as availability falls"
    ]


def test_two_tiers_with_one_threshold_are_refused() -> None:
    found = problems(
        """\
        credits:
          tiers:
            - {below: 99, credit: 5}
            - {below: 99, credit: 10}
        """
    )
    assert found == [
        "test.yaml:4: credits.tiers[1].below: below 99.0 is given twice (tiers[0] and tiers[1])"
    ]


def test_a_bad_unknown_policy_and_a_bad_heartbeat_are_reported_at_their_line() -> None:
    found = problems(
        """\
        defaults:
          unknown: maybe
        heartbeat:
          matchers: ['alertname=~"(Watchdog"']
          interval: 2bd
        services:
          - {name: payments, unknown: sideways}
        """
    )
    assert found[0].startswith("test.yaml:2: defaults.unknown: Input should be 'up', 'down'")
    assert found[1].startswith("test.yaml:4: heartbeat.matchers[0]: invalid regular expression")
    assert found[2].startswith("test.yaml:7: services[0].unknown: Input should be 'up'")


@pytest.mark.parametrize("interval", ["0s", "5bd"])
def test_a_heartbeat_needs_a_positive_wall_clock_interval(interval: str) -> None:
    found = problems(f"heartbeat: {{matchers: ['alertname=\"Watchdog\"'], interval: {interval}}}\n")
    assert found == [
        "test.yaml:1: heartbeat: interval must be a positive wall-clock duration (not bd)"
    ]


def test_a_heartbeat_needs_matchers_and_an_interval() -> None:
    found = problems("heartbeat: {matchers: []}\n")
    assert any("heartbeat.matchers" in problem for problem in found)
    assert any("heartbeat.interval: missing required key 'interval'" in p for p in found)


def test_a_credit_policy_refuses_tiers_out_of_order_or_range() -> None:
    with pytest.raises(ValueError, match="by falling below ratio"):
        CreditPolicy(((0.99, 0.1), (0.995, 0.2)))
    with pytest.raises(ValueError, match="must not fall"):
        CreditPolicy(((0.995, 0.2), (0.99, 0.1)))
    with pytest.raises(ValueError, match="max_ratio"):
        CreditPolicy((), max_ratio=1.5)
    with pytest.raises(ValueError, match="credit ratio"):
        CreditPolicy(((0.99, -0.1),))
