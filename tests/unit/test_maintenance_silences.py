"""Maintenance as Alertmanager silences, decided: which occurrences of the day ahead get one,
what an edit, a deletion or a failure leads to, and how matchers become Alertmanager's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from availability.maintenance import MaintenanceDefinition, Origin, from_rule_file, occurrences
from availability.silence_listing import find_live, parse_listed
from availability.silences import (
    CREATED_BY,
    Action,
    PlannedSilence,
    SilenceDecision,
    SilenceRecord,
    SilenceState,
    WindowOccurrences,
    plan_silences,
    service_matchers,
    silence_horizon,
    window_keys,
)
from rules.loader import load_rule_file
from rules.matchers import parse_matcher
from rules.policy import RuleFile
from tests.conftest import FIXTURES

RULES: RuleFile = load_rule_file(FIXTURES / "example_rules.yaml")
MATCHERS = service_matchers(RULES)
# Saturday 7 November 2026, 03:30 UTC: checkout's weekly window (Sunday 03:00 in Berlin, 02:00
# UTC in winter) begins in 22.5 hours.
NOW = datetime(2026, 11, 7, 3, 30, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def planned(
    service: str, start: str, end: str, *, window_id: int = 12, reason: str = "upgrade"
) -> MaintenanceDefinition:
    return MaintenanceDefinition(
        service=service,
        origin=Origin.API,
        reason=reason,
        start=utc(start),
        end=utc(end),
        id=window_id,
    )


def windows_of(
    definitions: list[MaintenanceDefinition], now: datetime = NOW
) -> list[WindowOccurrences]:
    start, end = silence_horizon(now)
    return [
        WindowOccurrences(
            definition,
            key,
            tuple(
                occurrences(
                    definition,
                    timezone=RULES.service(definition.service).timezone,
                    start=start,
                    end=end,
                )
            ),
        )
        for definition, key in zip(definitions, window_keys(definitions), strict=True)
    ]


def plan(
    definitions: list[MaintenanceDefinition],
    records: Sequence[SilenceRecord] = (),
    now: datetime = NOW,
) -> list[SilenceDecision]:
    return plan_silences(
        windows_of(definitions, now), matchers=MATCHERS, records=list(records), now=now
    )


def applied(decisions: list[SilenceDecision]) -> list[SilenceRecord]:
    """The records stored once every decision succeeded (ids as Alertmanager would give)."""
    return [decision.succeeded(f"id-{index}") for index, decision in enumerate(decisions)]


def test_each_occurrence_of_a_recurring_window_gets_its_silence_a_day_ahead() -> None:
    weekly = from_rule_file(RULES.maintenance)[1]
    assert weekly.cron == "0 3 * * sun"
    [decision] = plan([weekly])
    assert decision.action is Action.CREATE
    silence = decision.planned
    assert silence is not None
    # Sunday 8 November, 03:00-04:00 in Berlin; the next Sunday is more than a day away.
    assert (silence.starts_at, silence.ends_at) == (
        utc("2026-11-08T02:00Z"),
        utc("2026-11-08T03:00Z"),
    )
    assert silence.occurrence.startswith("rule/")
    assert silence.occurrence.endswith("/2026-11-08T02:00:00Z")
    assert silence.comment.startswith("slakeeper maintenance rule/")
    assert silence.comment.endswith(": weekly patch window")
    # More than a day before, nothing yet.
    assert plan([weekly], now=utc("2026-11-07T01:59Z")) == []


def test_an_hourly_window_gets_one_silence_per_occurrence_in_the_day_ahead() -> None:
    hourly = MaintenanceDefinition(
        service="payments",
        origin=Origin.API,
        cron="15 * * * *",
        duration=timedelta(minutes=10),
        id=3,
    )
    decisions = plan([hourly])
    assert len(decisions) == 24
    assert {decision.action for decision in decisions} == {Action.CREATE}
    assert len({decision.occurrence for decision in decisions}) == 24


def test_an_occurrence_in_progress_gets_its_silence_and_one_ended_none() -> None:
    ongoing = planned("payments", "2026-11-07T03:00Z", "2026-11-07T05:00Z", window_id=1)
    ended = planned("payments", "2026-11-07T01:00Z", "2026-11-07T03:30Z", window_id=2)
    [decision] = plan([ongoing, ended])
    assert decision.occurrence == "api/1/2026-11-07T03:00:00Z"
    assert decision.action is Action.CREATE


def test_a_planned_window_is_named_by_its_id_and_says_which_window_in_its_comment() -> None:
    [decision] = plan([planned("payments", "2026-11-07T20:00Z", "2026-11-07T22:00Z")])
    assert decision.planned is not None
    body = decision.planned.body()
    assert decision.occurrence == "api/12/2026-11-07T20:00:00Z"
    assert body == {
        "matchers": [{"name": "service", "value": "payments", "isRegex": False, "isEqual": True}],
        "startsAt": "2026-11-07T20:00:00Z",
        "endsAt": "2026-11-07T22:00:00Z",
        "createdBy": CREATED_BY,
        "comment": "slakeeper maintenance api/12: upgrade",
    }
    assert decision.planned.body("abc")["id"] == "abc"


def test_the_four_matcher_operators_become_alertmanagers_flags_in_one_order() -> None:
    matchers = {
        "search": tuple(
            parse_matcher(text)
            for text in ('team!~"ext.*"', 'service="search"', 'env!="test"', 'job=~"search-.+"')
        )
    }
    [window] = windows_of([planned("search", "2026-11-07T20:00Z", "2026-11-07T21:00Z")])
    [decision] = plan_silences([window], matchers=matchers, records=[], now=NOW)
    assert decision.planned is not None
    assert decision.planned.body()["matchers"] == [
        {"name": "env", "value": "test", "isRegex": False, "isEqual": False},
        {"name": "job", "value": "search-.+", "isRegex": True, "isEqual": True},
        {"name": "service", "value": "search", "isRegex": False, "isEqual": True},
        {"name": "team", "value": "ext.*", "isRegex": True, "isEqual": False},
    ]
    assert decision.planned.matchers_text == (
        'env!="test", job=~"search-.+", service="search", team!~"ext.*"'
    )


def test_a_service_is_silenced_by_its_rule_file_matchers_else_by_its_service_label() -> None:
    checkout = planned("checkout", "2026-11-07T20:00Z", "2026-11-07T21:00Z", window_id=1)
    unlisted = planned("search", "2026-11-07T20:00Z", "2026-11-07T21:00Z", window_id=2)
    texts = {
        decision.planned.service: decision.planned.matchers_text
        for decision in plan([checkout, unlisted])
        if decision.planned is not None
    }
    assert texts == {"checkout": 'job=~"checkout(-.*)?"', "search": 'service="search"'}


def test_a_silence_already_set_and_unchanged_needs_nothing() -> None:
    window = [planned("payments", "2026-11-07T20:00Z", "2026-11-07T22:00Z")]
    records = applied(plan(window))
    assert [record.state for record in records] == [SilenceState.ACTIVE]
    assert plan(window, records) == []
    assert plan(window, records, now=NOW + timedelta(hours=17)) == []


def test_an_edited_window_updates_its_silence() -> None:
    [record] = applied(plan([planned("payments", "2026-11-07T20:00Z", "2026-11-07T22:00Z")]))
    longer = planned("payments", "2026-11-07T20:00Z", "2026-11-07T23:00Z", reason="bigger upgrade")
    [decision] = plan([longer], [record])
    assert decision.action is Action.UPDATE
    assert decision.why == "changed: times, comment"
    assert decision.planned is not None
    assert decision.planned.body(record.silence_id)["id"] == record.silence_id


def test_editing_a_rule_file_windows_reason_or_duration_keeps_its_occurrences() -> None:
    weekly = from_rule_file(RULES.maintenance)[1]
    records = applied(plan([weekly]))
    edited = replace(weekly, reason="monthly patch window", duration=timedelta(hours=2))
    [decision] = plan([edited], records)
    assert (decision.action, decision.why) == (Action.UPDATE, "changed: times, comment")
    moved = replace(weekly, cron="0 4 * * sun")
    decisions = {decision.action: decision for decision in plan([moved], records)}
    assert decisions[Action.EXPIRE].occurrence == records[0].occurrence
    assert decisions[Action.CREATE].occurrence != records[0].occurrence


def test_changed_service_matchers_update_every_silence_of_the_service() -> None:
    window = [planned("checkout", "2026-11-07T20:00Z", "2026-11-07T22:00Z")]
    records = applied(plan(window))
    matchers = {**MATCHERS, "checkout": (parse_matcher('service="checkout"'),)}
    [decision] = plan_silences(windows_of(window), matchers=matchers, records=records, now=NOW)
    assert (decision.action, decision.why) == (Action.UPDATE, "changed: matchers")


def test_a_deleted_window_expires_its_live_silences_and_leaves_ended_ones_alone() -> None:
    windows = [
        planned("payments", "2026-11-07T02:00Z", "2026-11-07T04:00Z", window_id=1),
        planned("payments", "2026-11-07T20:00Z", "2026-11-07T22:00Z", window_id=2),
    ]
    records = applied(plan(windows))
    assert len(records) == 2
    decisions = plan([], records)
    assert [(d.action, d.occurrence) for d in decisions] == [
        (Action.EXPIRE, "api/1/2026-11-07T02:00:00Z"),
        (Action.EXPIRE, "api/2/2026-11-07T20:00:00Z"),
    ]
    # Once the first has ended, Alertmanager has expired it itself.
    later = NOW + timedelta(minutes=30)
    assert [d.occurrence for d in plan([], records, now=later)] == ["api/2/2026-11-07T20:00:00Z"]
    expired = [decision.succeeded(None) for decision in decisions]
    assert {record.state for record in expired} == {SilenceState.EXPIRED}
    assert expired[0].silence_id == records[0].silence_id
    assert plan([], expired) == []


def test_a_failed_silence_is_retried_at_the_next_run() -> None:
    window = [planned("payments", "2026-11-07T20:00Z", "2026-11-07T22:00Z")]
    [creating] = plan(window)
    failed = creating.failed("cannot reach Alertmanager at http://am:9093/api/v2/silences")
    assert (failed.state, failed.attempts, failed.silence_id) == (SilenceState.FAILED, 1, None)
    [retry] = plan(window, [failed])
    assert (retry.action, retry.why) == (Action.CREATE, "retry")
    assert retry.failed("again").attempts == 2
    done = retry.succeeded("abc")
    assert (done.state, done.attempts, done.last_error) == (SilenceState.ACTIVE, 0, None)
    # A failed update keeps the silence it had, and updates it at the next run.
    failed_update = replace(done, state=SilenceState.FAILED, attempts=1, last_error="HTTP 500")
    [update] = plan(window, [failed_update])
    assert (update.action, update.why) == (Action.UPDATE, "retry")


def test_a_failed_expiry_is_retried_and_an_ended_failure_needs_nothing() -> None:
    [record] = applied(plan([planned("payments", "2026-11-07T20:00Z", "2026-11-07T22:00Z")]))
    [expiring] = plan([], [record])
    failed = expiring.failed("Alertmanager answered HTTP 503")
    assert (failed.state, failed.silence_id) == (SilenceState.FAILED, record.silence_id)
    [again] = plan([], [failed])
    assert again.action is Action.EXPIRE
    assert plan([], [failed], now=utc("2026-11-07T22:00Z")) == []


def test_matchers_that_all_match_the_empty_string_are_refused_once() -> None:
    matchers = {"search": (parse_matcher('env!="test"'), parse_matcher('team=~".*"'))}
    [window] = windows_of([planned("search", "2026-11-07T20:00Z", "2026-11-07T22:00Z")])
    [refusal] = plan_silences([window], matchers=matchers, records=[], now=NOW)
    assert refusal.action is Action.REFUSE
    assert "match the empty string" in refusal.why
    record = refusal.succeeded(None)
    assert (record.state, record.last_error, record.attempts) == (
        SilenceState.FAILED,
        refusal.why,
        0,
    )
    assert plan_silences([window], matchers=matchers, records=[record], now=NOW) == []


def test_windows_of_the_rule_file_alike_in_service_and_schedule_get_distinct_keys() -> None:
    weekly = from_rule_file(RULES.maintenance)[1]
    twin = replace(weekly, reason="the other team's patches")
    keys = window_keys(
        [weekly, twin, planned("payments", "2026-11-07T20:00Z", "2026-11-07T22:00Z")]
    )
    assert keys[0] != keys[1]
    assert keys[0].startswith("rule/") and keys[2] == "api/12"
    assert window_keys([weekly]) == keys[:1]  # the same key at every run


def test_a_silence_slakeeper_set_is_found_in_alertmanagers_list() -> None:
    listed = parse_listed((FIXTURES / "alertmanager_v2_silences.json").read_bytes())
    assert {silence.state for silence in listed} == {"pending", "active", "expired"}
    [pending] = [s for s in listed if s.state == "pending" and s.created_by == CREATED_BY]
    record = SilenceRecord(
        occurrence="api/12/2026-12-08T03:00:00Z",
        service="payments",
        window_id=12,
        starts_at=utc("2026-12-08T03:00Z"),
        ends_at=utc("2026-12-08T05:00Z"),
        matchers='service="payments"',
        comment="slakeeper maintenance api/12: database upgrade",
        silence_id=None,
        state=SilenceState.FAILED,
        attempts=1,
    )
    # A person's silence with the same comment and matchers is not slakeeper's.
    assert find_live(listed, record) == pending.id
    assert find_live(listed, replace(record, ends_at=utc("2026-12-08T06:00Z"))) is None
    [active] = [s for s in listed if s.state == "active"]
    assert active.matchers == 'env!="test", job=~"checkout(-.*)?"'
    [expired] = [s for s in listed if s.state == "expired"]
    gone = replace(
        record, matchers=expired.matchers, comment=expired.comment, ends_at=expired.ends_at
    )
    assert find_live(listed, gone) is None


def test_an_answer_that_is_not_a_list_of_silences_is_refused() -> None:
    with pytest.raises(ValueError, match="not a list of silences"):
        parse_listed(b'{"silences": []}')


def test_a_window_planned_through_the_api_needs_its_id() -> None:
    with pytest.raises(ValueError, match="needs its id"):
        window_keys(
            [replace(planned("payments", "2026-11-07T20:00Z", "2026-11-07T22:00Z"), id=None)]
        )


HOURS = st.integers(min_value=-30, max_value=40)


@settings(max_examples=200, deadline=None)
@given(
    spans=st.lists(st.tuples(HOURS, st.integers(min_value=1, max_value=30)), max_size=6),
    kept=st.lists(st.booleans(), min_size=6, max_size=6),
    later=st.integers(min_value=0, max_value=30),
)
def test_once_its_decisions_are_applied_a_plan_has_nothing_left_to_do(
    spans: list[tuple[int, int]], kept: list[bool], later: int
) -> None:
    windows = [
        MaintenanceDefinition(
            service="payments",
            origin=Origin.API,
            start=NOW + timedelta(hours=start),
            end=NOW + timedelta(hours=start + length),
            id=index + 1,
        )
        for index, (start, length) in enumerate(spans)
    ]
    records = _applied_to(plan(windows), [])
    assert plan(windows, records) == []
    # Some windows deleted, time gone by: applying again converges too.
    remaining = [window for window, keep in zip(windows, kept, strict=False) if keep]
    now = NOW + timedelta(hours=later)
    records = _applied_to(plan(remaining, records, now=now), records)
    assert plan(remaining, records, now=now) == []
    live = {r.occurrence for r in records if r.state is SilenceState.ACTIVE and r.ends_at > now}
    wanted = {d.occurrence for d in plan(remaining, now=now)}
    assert live == wanted


def _applied_to(
    decisions: list[SilenceDecision], records: list[SilenceRecord]
) -> list[SilenceRecord]:
    stored = {record.occurrence: record for record in records}
    for decision in decisions:
        stored[decision.occurrence] = decision.succeeded(f"id-{decision.occurrence}")
    return list(stored.values())


def test_a_planned_silence_knows_when_alertmanager_would_refuse_it() -> None:
    silence = PlannedSilence(
        occurrence="api/1/2026-11-07T20:00:00Z",
        service="payments",
        window_id=1,
        starts_at=utc("2026-11-07T20:00Z"),
        ends_at=utc("2026-11-07T21:00Z"),
        matchers=(parse_matcher('env=~"prod|"'), parse_matcher('service=~"pay.+"')),
        comment="c",
    )
    assert silence.problem() is None
    assert replace(silence, matchers=silence.matchers[:1]).problem() is not None
    assert replace(silence, matchers=()).problem() is not None
