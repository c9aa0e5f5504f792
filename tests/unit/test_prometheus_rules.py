"""Generated SLO rules: recording windows, burn-rate thresholds, escaping and stable output."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import yaml

from rules.prometheus import (
    ALERT_GROUP,
    ALERT_NAME,
    RECORDING_GROUP,
    WINDOWS,
    ServiceObjective,
    prometheus_rules,
    render_prometheus_rules,
)

PAYMENTS = ServiceObjective("payments", 0.995)
CHECKOUT = ServiceObjective("checkout", 0.999)
# (severity, long window, short window) in the SRE workbook's order.
VARIANTS = [
    ("page", "1h", "5m"),
    ("page", "6h", "30m"),
    ("ticket", "1d", "2h"),
    ("ticket", "3d", "6h"),
]
_EXPR = re.compile(
    r"^slakeeper:service_downtime:ratio_rate(?P<long>\w+)\{service=(?P<sel1>\"(?:[^\"\\]|\\.)*\")\}"
    r" > (?P<t1>[0-9.]+) and "
    r"slakeeper:service_downtime:ratio_rate(?P<short>\w+)\{service=(?P<sel2>\"(?:[^\"\\]|\\.)*\")\}"
    r" > (?P<t2>[0-9.]+)$"
)


def group(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    (found,) = [g for g in document["groups"] if g["name"] == name]
    rules: list[dict[str, Any]] = found["rules"]
    return rules


def alerts_for(objective: ServiceObjective) -> list[dict[str, Any]]:
    return group(prometheus_rules([objective]), ALERT_GROUP)


def parsed(rule: dict[str, Any]) -> re.Match[str]:
    match = _EXPR.match(rule["expr"])
    assert match is not None, rule["expr"]
    return match


@pytest.mark.parametrize(
    ("target", "thresholds"),
    [
        (0.995, ["0.072", "0.03", "0.015", "0.005"]),
        (0.999, ["0.0144", "0.006", "0.003", "0.001"]),
        (0.9999, ["0.00144", "0.0006", "0.0003", "0.0001"]),
        (0.99, ["0.144", "0.06", "0.03", "0.01"]),
        (0.9, ["1.44", "0.6", "0.3", "0.1"]),
    ],
)
def test_thresholds_are_burn_rate_times_budget_without_float_noise(
    target: float, thresholds: list[str]
) -> None:
    rules = alerts_for(ServiceObjective("svc", target))
    found = [(parsed(rule)["t1"], parsed(rule)["t2"]) for rule in rules]
    assert found == [(threshold, threshold) for threshold in thresholds]
    budget = 1 - target
    for threshold, burn in zip(thresholds, [14.4, 6, 3, 1], strict=True):
        assert math.isclose(float(threshold), burn * budget)


def test_payments_page_expression_in_full() -> None:
    assert alerts_for(PAYMENTS)[0]["expr"] == (
        'slakeeper:service_downtime:ratio_rate1h{service="payments"} > 0.072'
        ' and slakeeper:service_downtime:ratio_rate5m{service="payments"} > 0.072'
    )


def test_every_window_is_recorded_for_downtime_and_availability() -> None:
    for objectives in ([], [PAYMENTS, CHECKOUT]):
        recorded = {
            r["record"]: r["expr"] for r in group(prometheus_rules(objectives), RECORDING_GROUP)
        }
        assert len(recorded) == 2 * len(WINDOWS) == 16
        for window in ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]:
            downtime = f"slakeeper:service_downtime:ratio_rate{window}"
            assert recorded[downtime] == (
                "clamp(max by (service) "
                f"(rate(slakeeper_service_downtime_seconds_total[{window}])), 0, 1)"
            )
            availability = f"slakeeper:service_availability:ratio_rate{window}"
            assert recorded[availability] == f"1 - {downtime}"


def test_four_alert_variants_per_service() -> None:
    rules = group(prometheus_rules([PAYMENTS, CHECKOUT]), ALERT_GROUP)
    assert len(rules) == 8
    for service, chunk in [("checkout", rules[:4]), ("payments", rules[4:])]:
        variants = []
        for rule in chunk:
            assert rule["alert"] == ALERT_NAME
            assert rule["labels"]["service"] == service
            match = parsed(rule)
            assert match["sel1"] == match["sel2"] == f'"{service}"'
            assert (match["long"], match["short"]) == (
                rule["labels"]["long_window"],
                rule["labels"]["short_window"],
            )
            variants.append(
                (rule["labels"]["severity"], match["long"], match["short"]),
            )
        assert variants == VARIANTS


def test_annotations_template_the_service_and_value() -> None:
    page = alerts_for(PAYMENTS)[0]
    annotations = page["annotations"]
    assert set(annotations) >= {"summary", "description", "slo"}
    assert "{{ $labels.service }}" in annotations["summary"]
    assert "{{ $value | humanizePercentage }}" in annotations["description"]
    assert "payments" not in annotations["summary"] + annotations["description"]
    assert annotations["slo"] == "99.5% availability over 30d"
    assert "7.2%" in annotations["description"]
    assert "0.5% downtime" in annotations["description"]


def test_service_names_are_escaped_for_promql_and_label_templates() -> None:
    name = 'we"ird\\name\n{{ $x }}'
    rule = alerts_for(ServiceObjective(name, 0.995))[0]
    assert parsed(rule)["sel1"] == r'"we\"ird\\name\n{{ $x }}"'
    # Rule labels are Go templates; "{{" must come out of expansion as itself.
    assert rule["labels"]["service"] == 'we"ird\\name\n{{ "{{" }} $x }}'


def test_output_is_deterministic_and_round_trips() -> None:
    text = render_prometheus_rules([PAYMENTS, CHECKOUT], source="rules/slo.yml")
    assert text == render_prometheus_rules([CHECKOUT, PAYMENTS], source="rules/slo.yml")
    assert text.startswith("# Generated by slakeeper")
    assert "# Source: rules/slo.yml\n" in text
    assert yaml.safe_load(text) == prometheus_rules([PAYMENTS, CHECKOUT])
    assert not re.search(r"[&*]id\d", text), "no YAML anchors or aliases"
    assert "0000000" not in text and "9999999" not in text


def test_multi_line_source_stays_in_comments() -> None:
    text = render_prometheus_rules([], source="a\nb: c")
    assert text.splitlines()[1:3] == ["# Source: a", "# Source: b: c"]
    assert yaml.safe_load(text) == prometheus_rules([])


def test_empty_objectives_give_recording_rules_and_no_alerts() -> None:
    document = prometheus_rules([])
    assert [g["name"] for g in document["groups"]] == [RECORDING_GROUP, ALERT_GROUP]
    assert group(document, ALERT_GROUP) == []


@pytest.mark.parametrize(
    "target", [0, 1, 0.0, 1.0, -0.5, 1.5, 99.5, math.nan, math.inf, -math.inf, True]
)
def test_targets_outside_the_open_unit_interval_are_rejected(target: float) -> None:
    with pytest.raises(ValueError, match=r"'payments'.*(strictly between 0 and 1|a number)"):
        ServiceObjective("payments", target)


def test_non_numeric_target_is_rejected() -> None:
    with pytest.raises(ValueError, match="must be a number, got '0.995'"):
        ServiceObjective("payments", "0.995")  # type: ignore[arg-type]


def test_empty_service_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        ServiceObjective("", 0.995)


def test_duplicate_service_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate service objectives: 'payments'"):
        prometheus_rules([PAYMENTS, CHECKOUT, ServiceObjective("payments", 0.999)])
