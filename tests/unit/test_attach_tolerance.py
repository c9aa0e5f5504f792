"""Which active incidents a group's new alerts join as they are, and which they raise.

The ingestion path asks the database for the incidents a group leaves alone (on PostgreSQL
in the same statement that attaches the alerts), so that set must be exactly the incidents
that folding the alerts into them does not change.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from collector.alerts import AlertStatus
from collector.store import StoredAlert
from incident.severity import Severity as _Severity
from incident.severity import tolerance as _tolerance
from incident.severity import worst as _worst
from rules.loader import load_rule_file
from rules.policy import RuleFile
from rules.schema import Impact
from tests.conftest import FIXTURES

RULES: RuleFile = load_rule_file(FIXTURES / "example_rules.yaml")
LEVELS = [*RULES.levels, "retired-level", None]
PRIORITIES = [*RULES.priorities, "P9"]
IMPACTS = [impact.value for impact in Impact]


def _alert(number: int, level: str | None, priority: str | None, impact: str | None) -> StoredAlert:
    return StoredAlert(
        id=number,
        fingerprint=f"{number:016x}",
        starts_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        status=AlertStatus.FIRING,
        incident_id=None,
        service="checkout",
        level=level,
        priority=priority,
        category="application",
        impact=impact,
        group_key="checkout/HighErrorRate",
        newly_resolved=False,
    )


alerts = st.lists(
    st.builds(
        _alert,
        st.integers(1, 10_000),
        st.sampled_from(LEVELS),
        st.sampled_from([*PRIORITIES, None]),
        st.sampled_from([*IMPACTS, None]),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(
    members=alerts,
    level=st.sampled_from(LEVELS),
    priority=st.sampled_from(PRIORITIES),
    impact=st.sampled_from(IMPACTS),
)
def test_an_incident_is_left_alone_exactly_when_its_alerts_would_not_raise_it(
    members: list[StoredAlert], level: str | None, priority: str, impact: str
) -> None:
    current = _Severity(level, priority, Impact(impact))
    unchanged = _worst(members, RULES, current) == current
    assert _tolerance(members, RULES).leaves(level, priority, impact) is unchanged


def test_a_critical_alert_raises_a_warning_incident_but_not_a_critical_one() -> None:
    tolerance = _tolerance([_alert(1, "critical", "P1", "outage")], RULES)
    assert not tolerance.leaves("warning", "P1", "outage")
    assert not tolerance.leaves("critical", "P3", "outage")
    assert not tolerance.leaves("critical", "P1", "degraded")
    assert tolerance.leaves("critical", "P1", "outage")
