"""Loading rule files: the reference example as it is, and precise errors for bad ones."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rules.calendars import AlwaysOpen, BusinessCalendar
from rules.loader import DEFAULT_RULES, RuleFileError, load_rule_file, parse_rule_text
from rules.policy import RuleFile
from tests.conftest import FIXTURES

EXAMPLE = FIXTURES / "example_rules.yaml"


def parse(text: str) -> RuleFile:
    return parse_rule_text(textwrap.dedent(text), source="test.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        parse(text)
    return [problem.format("test.yaml") for problem in caught.value.problems]


def test_the_reference_example_loads_as_it_is() -> None:
    rules = load_rule_file(EXAMPLE)
    assert [service.name for service in rules.spec.services] == ["payments", "checkout"]
    assert rules.services["payments"].target_ratio == pytest.approx(0.995)
    assert rules.services["checkout"].target_ratio == pytest.approx(0.999)
    assert str(rules.services["checkout"].timezone) == "Europe/Berlin"
    assert str(rules.services["payments"].timezone) == "Asia/Shanghai"
    assert list(rules.levels) == ["info", "warning", "critical"]
    assert rules.levels["info"].open_incident is False
    assert rules.levels["critical"].notify == ("on-duty", "lead", "experts")
    assert rules.reopen_window == timedelta(minutes=10)
    assert rules.contacts["vendor"].webhook == "http://127.0.0.1:9101/vendor"
    assert len(rules.maintenance) == 2


def test_the_example_priorities_follow_the_service_level_terms() -> None:
    rules = load_rule_file(EXAMPLE)
    targets = {
        name: (p.respond.length, p.resolve.duration.text) for name, p in rules.priorities.items()
    }
    assert targets == {
        "P1": (timedelta(hours=1), "24h"),
        "P2": (timedelta(hours=4), "48h"),
        "P3": (timedelta(hours=8), "72h"),
        "P4": (timedelta(hours=24), "5bd"),
    }
    assert [p.rank for p in rules.priorities.values()] == [0, 1, 2, 3]
    p4 = rules.priorities["P4"]
    assert isinstance(p4.respond.calendar, AlwaysOpen)
    assert isinstance(p4.resolve.calendar, BusinessCalendar)
    # Five business days of 09:00-18:00 are 45 hours of business time.
    assert p4.resolve.length == timedelta(hours=45)


def test_five_business_days_skip_the_weekend_and_the_example_holidays() -> None:
    p4 = load_rule_file(EXAMPLE).priorities["P4"]
    # Monday 2026-09-28 10:00 in Shanghai; 1-7 October are holidays, Sat 3 / Sun 4 too.
    opened = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)
    # Mon 8h, Tue 9h, Wed 9h, then Thu 8 Oct 9h, Fri 9 Oct 9h: 44h; one more hour on
    # Monday 12 October, until 10:00 local.
    assert p4.resolve.deadline(opened) == datetime(2026, 10, 12, 2, 0, tzinfo=UTC)


def test_the_example_escalation_matrix_is_kept_in_order_with_its_conditions() -> None:
    escalation = load_rule_file(EXAMPLE).escalation
    assert [(s.after.length, s.notify) for s in escalation["P1"]] == [
        (timedelta(minutes=10), ("manager1",)),
        (timedelta(hours=1), ("manager2",)),
        (timedelta(hours=4), ("vendor",)),
        (timedelta(hours=24), ("manager3",)),
    ]
    assert [s.unless for s in escalation["P4"]] == ["acknowledged", "resolved", "resolved"]
    assert [s.index for s in escalation["P3"]] == [0, 1, 2]


def test_the_shipped_default_rules_load_and_encode_the_default_matrix() -> None:
    rules = load_rule_file(DEFAULT_RULES)
    matrix = {
        name: [(step.after.duration.text, step.notify[0]) for step in steps]
        for name, steps in rules.escalation.items()
    }
    assert matrix == {
        "P1": [("10m", "manager1"), ("1h", "manager2"), ("4h", "vendor"), ("24h", "manager3")],
        "P2": [("1h", "manager1"), ("4h", "manager2"), ("24h", "vendor"), ("48h", "manager3")],
        "P3": [("4h", "manager1"), ("24h", "vendor"), ("48h", "manager2")],
        "P4": [("24h", "manager1"), ("48h", "vendor"), ("72h", "manager2")],
    }
    assert list(rules.levels) == ["info", "warning", "critical"]
    assert rules.priorities["P4"].resolve.duration.text == "5bd"
    assert rules.default_target_ratio == pytest.approx(0.995)


def test_an_empty_file_is_the_built_in_defaults() -> None:
    rules = parse("")
    assert list(rules.priorities) == ["P1", "P2", "P3", "P4"]
    assert rules.priorities["P4"].resolve.length == timedelta(hours=120)
    assert list(rules.levels) == ["info", "warning", "critical"]
    assert rules.service("anything").target_ratio == pytest.approx(0.995)
    assert rules.ruleset.classify({"alertname": "X"}).priority == "P4"


def test_the_settings_time_zone_is_the_default_and_the_file_overrides_it() -> None:
    assert str(parse_rule_text("", default_timezone="Europe/Paris").timezone) == "Europe/Paris"
    text = "timezone: Asia/Tokyo\n"
    assert str(parse_rule_text(text, default_timezone="Europe/Paris").timezone) == "Asia/Tokyo"


def test_unknown_keys_are_named_with_their_line_and_the_keys_allowed() -> None:
    found = problems(
        """\
        defaults:
          level: warning
          colour: red
        rules:
          - name: a
            matcher: ['a="b"']
        """
    )
    assert found[0].startswith("test.yaml:3: defaults.colour: unknown key 'colour'; expected")
    assert "group_by" in found[0]
    assert found[1].startswith("test.yaml:6: rules[0].matcher: unknown key 'matcher'")
    assert "matchers" in found[1]


def test_bad_matchers_and_invalid_regexes_are_reported_at_their_line() -> None:
    found = problems(
        """\
        services:
          - name: payments
            matchers: ['service=~"(pay"']
        rules:
          - matchers: ['severity="critical"', 'no operator here', 'job=~"(?!test).*"']
        """
    )
    assert found == [
        "test.yaml:3: services[0].matchers[0]: invalid regular expression '(pay': missing ): (pay",
        "test.yaml:5: rules[0].matchers[1]: bad matcher 'no operator here': "
        "expected name, one of = != =~ !~, then a value",
        # RE2's syntax, as in Alertmanager: no lookaround, no backreferences.
        "test.yaml:5: rules[0].matchers[2]: invalid regular expression '(?!test).*': "
        "invalid perl operator: (?!",
    ]


def test_unknown_references_are_each_reported() -> None:
    found = problems(
        """\
        levels:
          warning: {notify: [on-duty, nobody]}
        rules:
          - name: r
            level: severe
            priority: P9
        priorities:
          P1: {respond: 1h, resolve: 4h, calendar: office}
        escalation:
          P1:
            - {after: 10m, notify: boss}
          P7:
            - {after: 10m, notify: on-duty}
        contacts:
          on-duty: {webhook: 'http://127.0.0.1:9/on-duty'}
        defaults: {level: warning, priority: P1}
        business_calendar: office
        """
    )
    assert "test.yaml:17: business_calendar: unknown calendar 'office'; defined: none" in found
    assert "test.yaml:5: rules[0].level: unknown level 'severe'; defined: warning" in found
    assert "test.yaml:6: rules[0].priority: unknown priority 'P9'; defined: P1" in found
    assert (
        "test.yaml:2: levels.warning.notify[1]: unknown contact 'nobody'; defined: on-duty" in found
    )
    assert "test.yaml:8: priorities.P1.calendar: unknown calendar 'office'; defined: 24x7" in found
    assert "test.yaml:11: escalation.P1[0].notify[0]: unknown contact 'boss'; defined: on-duty" in (
        found
    )
    assert "test.yaml:12: escalation.P7: unknown priority 'P7'; defined: P1" in found
    assert len(found) == 7


def test_bad_durations_targets_and_enumerations_say_what_was_expected() -> None:
    found = problems(
        """\
        defaults:
          reopen_window: 10 minutes
          impact: partial
        services:
          - {name: shop, target: 100}
        priorities:
          P1: {respond: 1h, resolve: soon}
        """
    )
    assert found[0].startswith("test.yaml:2: defaults.reopen_window: invalid duration '10 minutes'")
    assert found[1] == (
        "test.yaml:3: defaults.impact: Input should be 'outage', 'degraded' or 'none' "
        "(got 'partial')"
    )
    assert found[2] == (
        "test.yaml:5: services[0].target: target must be a percentage between 0 and 100 "
        "(exclusive), got 100.0"
    )
    assert found[3].startswith("test.yaml:7: priorities.P1.resolve: invalid duration 'soon'")


def test_a_missing_required_key_is_named() -> None:
    found = problems("priorities:\n  P1: {respond: 1h}\n")
    assert found == ["test.yaml:2: priorities.P1.resolve: missing required key 'resolve'"]


def test_duplicate_keys_are_an_error_not_a_silent_override() -> None:
    found = problems(
        "priorities:\n  P1: {respond: 1h, resolve: 4h}\n  P1: {respond: 2h, resolve: 8h}\n"
    )
    assert found == ["test.yaml:3: priorities.P1: duplicate key"]


def test_a_yaml_syntax_error_gives_its_line() -> None:
    found = problems("rules:\n  - name: a\n    matchers: ['a=\"b\"'\n")
    assert len(found) == 1 and found[0].startswith("test.yaml:4: (file): invalid YAML")


def test_a_document_that_is_not_a_mapping_is_rejected() -> None:
    assert problems("- a\n- b\n") == ["test.yaml:1: (file): expected a mapping of sections"]


def test_overlapping_and_repeated_holiday_dates_are_fine() -> None:
    rules = parse(
        """\
        calendars:
          office:
            holidays: ['2026-12-24', '2026-12-25', '2026-12-25', 2026-12-24]
        """
    )
    office = rules.calendars["office"]
    assert isinstance(office, BusinessCalendar)
    assert len(office.holidays) == 2


def test_title_templates_that_do_not_compile_are_reported() -> None:
    found = problems("rules:\n  - name: a\n    title: '{{ labels.instance '\n")
    assert len(found) == 1
    assert found[0].startswith("test.yaml:3: rules[0].title: invalid title template")


def test_duplicate_service_and_rule_names_are_reported() -> None:
    found = problems(
        """\
        services: [{name: shop}, {name: shop}]
        rules: [{name: a}, {name: a}]
        """
    )
    assert found == [
        "test.yaml:1: services[1].name: service 'shop' is defined twice",
        "test.yaml:2: rules[1].name: rule 'a' is defined twice",
    ]


def test_maintenance_windows_need_one_form_and_a_listed_service() -> None:
    found = problems(
        """\
        services: [{name: shop}]
        maintenance:
          - {service: shop, start: '2026-11-01T02:00:00+08:00'}
          - {service: shop, start: '2026-11-01T02:00:00Z', cron: '0 3 * * sun', duration: 1h}
          - {service: shop, cron: '0 3 * * funday', duration: 1h}
          - {service: shop, cron: '0 3 * * sun', duration: 2bd}
          - {service: shop, start: '2026-11-01T04:00:00Z', end: '2026-11-01T02:00:00Z'}
        """
    )
    assert found == [
        "test.yaml:3: maintenance[0]: a one-off window needs both start and end",
        "test.yaml:4: maintenance[1]: give either start and end, or cron and duration",
        "test.yaml:5: maintenance[2].cron: invalid cron expression '0 3 * * funday': "
        "expected five fields, e.g. 0 3 * * sun",
        "test.yaml:6: maintenance[3]: duration must be a positive wall-clock duration (not bd)",
        "test.yaml:7: maintenance[4]: end must be after start",
    ]
    assert problems("maintenance: [{service: shop, cron: '0 3 * * sun', duration: 1h}]") == [
        "test.yaml:1: maintenance[0].service: unknown service 'shop': maintenance needs a "
        "service listed under services; listed: none"
    ]


def test_a_file_that_cannot_be_read_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read"):
        load_rule_file(tmp_path / "absent.yaml")


def test_public_holidays_of_a_country_close_the_business_calendar() -> None:
    rules = parse("calendars:\n  office: {country: DE, subdivision: BY}\n")
    office = rules.calendars["office"]
    # 6 January (Epiphany) is a public holiday in Bavaria; Tuesday 2026-01-06.
    assert not office.is_open(datetime(2026, 1, 6, 10, 0, tzinfo=UTC))
    assert office.is_open(datetime(2026, 1, 7, 10, 0, tzinfo=UTC))


def test_unknown_countries_and_subdivisions_are_reported() -> None:
    assert problems("calendars:\n  office: {country: XX}\n")[0].startswith(
        "test.yaml:2: calendars.office: unknown country 'XX'"
    )
    assert problems("calendars:\n  office: {country: DE, subdivision: ZZ}\n")[0].startswith(
        "test.yaml:2: calendars.office: unknown subdivision 'ZZ' of DE; known: BB, BE, BW, BY"
    )


def test_a_priority_on_a_business_calendar_counts_only_its_open_hours() -> None:
    rules = parse(
        """\
        timezone: Europe/Berlin
        business_calendar: office
        calendars:
          office: {hours: '09:00-17:00'}
        priorities:
          P3: {respond: 8h, resolve: 2bd, calendar: office}
        escalation:
          P3: [{after: 4h, notify: boss}]
        contacts: {boss: {}}
        defaults: {priority: P3}
        """
    )
    p3 = rules.priorities["P3"]
    opened = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)  # Friday 15:00 in Berlin
    # Two hours on Friday, the rest from Monday 09:00.
    assert p3.respond.deadline(opened) == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert p3.resolve.length == timedelta(hours=16)
    assert p3.resolve.deadline(opened) == datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    [step] = rules.escalation["P3"]
    assert step.after.deadline(opened) == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    monday_noon = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert p3.respond.elapsed(opened, monday_noon) == timedelta(hours=5)
