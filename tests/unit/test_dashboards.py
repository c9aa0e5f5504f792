"""The Grafana dashboards load, use the $datasource and $service variables, and query only
metrics slakeeper exports (DESIGN §7) or records `slakeeper rules prometheus` generates."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules.prometheus import ServiceObjective, render_prometheus_rules

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
DASHBOARD_FILES = sorted(DASHBOARDS.glob("*.json"))

# DESIGN.md §7: name -> (type, labels).
EXPORTED: dict[str, tuple[str, frozenset[str]]] = {
    "slakeeper_service_availability_ratio": ("gauge", frozenset({"service", "window"})),
    "slakeeper_service_availability_target_ratio": ("gauge", frozenset({"service"})),
    "slakeeper_service_error_budget_remaining_ratio": ("gauge", frozenset({"service", "window"})),
    "slakeeper_service_downtime_seconds_total": ("counter", frozenset({"service"})),
    "slakeeper_service_up": ("gauge", frozenset({"service"})),
    "slakeeper_incidents_open": ("gauge", frozenset({"service", "priority", "state"})),
    "slakeeper_incidents_opened_total": ("counter", frozenset({"service", "priority"})),
    "slakeeper_incident_response_seconds": ("histogram", frozenset({"priority"})),
    "slakeeper_incident_resolution_seconds": ("histogram", frozenset({"priority"})),
    "slakeeper_sla_breaches_total": ("counter", frozenset({"service", "priority", "kind"})),
    "slakeeper_escalations_total": ("counter", frozenset({"priority", "step"})),
    "slakeeper_alerts_received_total": ("counter", frozenset({"source", "status"})),
    "slakeeper_alerts_truncated_total": ("counter", frozenset({"source"})),
    "slakeeper_notifications_failed_total": ("counter", frozenset({"contact"})),
    # §9: the signed month.
    "slakeeper_service_credit_ratio": ("gauge", frozenset({"service"})),
    "slakeeper_service_unknown_seconds_total": ("counter", frozenset({"service"})),
}
# The label values DESIGN fixes (§3, §7): an equality matcher with another value matches nothing.
LABEL_VALUES = {
    "window": {"month", "30d"},
    "kind": {"response", "resolution"},
    "priority": {"P1", "P2", "P3", "P4"},
    "state": {"open", "acknowledged", "resolved", "closed"},
}
AVAILABILITY = "slakeeper_service_availability_ratio"
PERCENT_METRICS = {
    AVAILABILITY,
    "slakeeper_service_availability_target_ratio",
    "slakeeper_service_error_budget_remaining_ratio",
}
SERVICE_MATCHER = ("service", "=~", "$service")
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


# --- a small PromQL reader: enough to find every selector, its matchers and grouping labels ---

_STRING = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`"""
_TOKEN = re.compile(
    rf"""
    (?P<string>{_STRING})
  | (?P<matchers>\{{(?:[^{{}}"'`]|{_STRING})*\}})
  | (?P<range>\[[^\]]*\])
  | (?P<variable>\$\{{[^}}]*\}}|\$\w+)
  | (?P<duration>(?:\d+(?:ms|[smhdwy]))+)
  | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<identifier>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<space>\s+)
  | (?P<punct>.)
    """,
    re.VERBOSE,
)
_MATCHER = re.compile(rf"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*({_STRING})\s*(?:,|$)")
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = GROUPING | {"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"}


@dataclass(frozen=True, slots=True)
class Selector:
    """A vector selector: metric name and label matchers (label, operator, value)."""

    metric: str
    matchers: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Query:
    """What a PromQL expression reads: its selectors and its grouping clauses' labels."""

    selectors: tuple[Selector, ...]
    grouping: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def metrics(self) -> set[str]:
        return {selector.metric for selector in self.selectors}


def parse_matchers(braces: str) -> tuple[tuple[str, str, str], ...]:
    body, matchers, position = braces[1:-1].strip(), [], 0
    while position < len(body):
        found = _MATCHER.match(body, position)
        if found is None:
            raise ValueError(f"cannot read label matchers {braces!r}")
        label, operator, quoted = found.groups()
        matchers.append((label, operator, quoted[1:-1]))
        position = found.end()
    return tuple(matchers)


def read_promql(expr: str) -> Query:
    """The selectors and grouping labels of `expr`, skipping functions, keywords, variables."""
    tokens = [
        (found.lastgroup or "", found.group())
        for found in _TOKEN.finditer(expr)
        if found.lastgroup != "space"
    ]
    selectors: list[Selector] = []
    grouping: list[tuple[str, tuple[str, ...]]] = []
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
        if kind == "matchers":
            raise ValueError(f"selector without a metric name in {expr!r}: {text}")
        if kind != "identifier":
            index += 1
        elif text.lower() in GROUPING and following == ("punct", "("):
            end = tokens.index(("punct", ")"), index)
            labels = tuple(word for kind, word in tokens[index + 2 : end] if kind == "identifier")
            grouping.append((text.lower(), labels))
            index = end + 1
        elif (
            text.lower() in KEYWORDS
            or following == ("punct", "(")
            or (following[0] == "identifier" and following[1].lower() in {"by", "without"})
        ):
            index += 1  # a keyword, a function being called, or an aggregation (`sum by`)
        elif following[0] == "matchers":
            selectors.append(Selector(text, parse_matchers(following[1])))
            index += 2
        else:
            selectors.append(Selector(text))
            index += 1
    return Query(tuple(selectors), tuple(grouping))


def test_the_reader_finds_metrics_inside_nested_aggregations_but_not_their_labels() -> None:
    query = read_promql(
        "sum by (priority, state) (max by (service, priority, state) "
        '(slakeeper_incidents_open{service=~"$service", state="open"}))'
    )
    assert query.selectors == (
        Selector(
            "slakeeper_incidents_open", (("service", "=~", "$service"), ("state", "=", "open"))
        ),
    )
    assert query.grouping == (
        ("by", ("priority", "state")),
        ("by", ("service", "priority", "state")),
    )


def test_the_reader_skips_functions_numbers_ranges_and_grafana_variables() -> None:
    query = read_promql(
        "histogram_quantile(0.9, max by (le, priority) "
        "(rate(slakeeper_incident_response_seconds_bucket[$__range]))) "
        "or vector(0) * on (priority) group_left slakeeper_escalations_total offset 1h30m"
    )
    assert query.metrics == {
        "slakeeper_incident_response_seconds_bucket",
        "slakeeper_escalations_total",
    }
    assert ("on", ("priority",)) in query.grouping


def test_the_reader_keeps_recorded_names_and_ignores_identifiers_inside_strings() -> None:
    query = read_promql(
        'label_replace(1 - slakeeper:service_downtime:ratio_rate5m{service="a{b} or c"}, '
        '"dst", "$1", "service", "(sum).*") > bool 0.995 unless up[1h:5m] @ end()'
    )
    assert query.selectors == (
        Selector("slakeeper:service_downtime:ratio_rate5m", (("service", "=", "a{b} or c"),)),
        Selector("up"),
    )


def test_the_reader_finds_nothing_in_an_expression_without_selectors() -> None:
    assert read_promql("vector(1) + scalar(time())").selectors == ()


def test_the_reader_refuses_a_selector_without_a_metric_name() -> None:
    with pytest.raises(ValueError, match="without a metric name"):
        read_promql('sum({__name__="slakeeper_service_up"})')


# --- what slakeeper exports ---


@cache
def recording_rules() -> tuple[tuple[str, str], ...]:
    """(record, expr) of every recording rule `slakeeper rules prometheus` generates."""
    rendered = yaml.safe_load(render_prometheus_rules([ServiceObjective("example", 0.995)]))
    records = tuple(
        (rule["record"], rule["expr"])
        for group in rendered["groups"]
        for rule in group["rules"]
        if "record" in rule
    )
    assert records, "the generated rule file has no recording rules"
    return records


@cache
def exported_series() -> dict[str, frozenset[str]]:
    """Every series name a dashboard may read, with its labels."""
    series: dict[str, frozenset[str]] = {}
    for name, (kind, labels) in EXPORTED.items():
        if kind == "histogram":
            series[f"{name}_bucket"] = labels | {"le"}
            series[f"{name}_sum"] = series[f"{name}_count"] = labels
        else:
            series[name] = labels
    for record, expr in recording_rules():
        query = read_promql(expr)
        by = [labels for keyword, labels in query.grouping if keyword == "by"]
        # An aggregation's `by` keeps those labels; otherwise the inputs' labels pass through.
        series[record] = (
            frozenset(by[0]) if by else frozenset().union(*(series[m] for m in query.metrics))
        )
    return series


def test_histograms_expand_to_bucket_sum_and_count_series() -> None:
    series = exported_series()
    assert series["slakeeper_incident_response_seconds_bucket"] == {"priority", "le"}
    assert series["slakeeper_incident_resolution_seconds_count"] == {"priority"}
    assert "slakeeper_incident_response_seconds" not in series


def test_generated_availability_records_are_per_service() -> None:
    series = exported_series()
    assert series["slakeeper:service_availability:ratio_rate30d"] == {"service"}
    assert series["slakeeper:service_downtime:ratio_rate1h"] == {"service"}


# --- the dashboards ---


@cache
def load(path: Path) -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(path.read_text())
    return dashboard


def all_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those folded into collapsed rows."""
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def query_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in all_panels(dashboard) if panel["type"] != "row"]


def dashboard_targets() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(dashboard file name, panel, target) for every query of every dashboard."""
    for path in DASHBOARD_FILES:
        for panel in query_panels(load(path)):
            for target in panel["targets"]:
                yield path.name, panel, target


def panel_metrics(panel: dict[str, Any]) -> set[str]:
    return set().union(*(read_promql(target["expr"]).metrics for target in panel["targets"]))


def variable(dashboard: dict[str, Any], name: str) -> dict[str, Any]:
    found = [item for item in dashboard["templating"]["list"] if item["name"] == name]
    assert len(found) == 1, f"{dashboard['uid']}: variable ${name} defined {len(found)} times"
    defined: dict[str, Any] = found[0]
    return defined


def steps(panel: dict[str, Any]) -> list[tuple[str, float | None]]:
    thresholds = panel["fieldConfig"]["defaults"]["thresholds"]
    assert thresholds["mode"] == "absolute"
    return [(step["color"], step["value"]) for step in thresholds["steps"]]


def test_the_two_dashboards_are_there() -> None:
    assert [path.name for path in DASHBOARD_FILES] == ["noc-overview.json", "sla-compliance.json"]


@pytest.fixture(params=DASHBOARD_FILES, ids=[path.stem for path in DASHBOARD_FILES])
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    path: Path = request.param
    return load(path)


def test_each_dashboard_has_the_fields_grafana_needs(dashboard: dict[str, Any]) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dashboard["uid"])
    assert dashboard["title"].startswith("slakeeper / ")
    assert dashboard["tags"] == ["slakeeper"]
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["id"] is None
    assert dashboard["time"]["to"] == "now"
    assert dashboard["time"]["from"] in {"now-6h", "now-30d"}
    assert dashboard["refresh"] in {"30s", "1m"}
    assert query_panels(dashboard), "a dashboard without panels"


def test_the_noc_dashboard_shows_six_hours_and_the_sla_dashboard_thirty_days() -> None:
    times = {load(path)["uid"]: load(path)["time"]["from"] for path in DASHBOARD_FILES}
    assert times == {"slakeeper-noc-overview": "now-6h", "slakeeper-sla-compliance": "now-30d"}


def test_dashboard_uids_differ() -> None:
    uids = [load(path)["uid"] for path in DASHBOARD_FILES]
    assert len(set(uids)) == len(uids)


def test_panel_ids_are_unique(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in all_panels(dashboard)]
    assert all(isinstance(panel_id, int) for panel_id in ids)
    assert len(set(ids)) == len(ids)


def test_panels_fit_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["y"] >= 0
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


def test_the_datasource_variable_picks_a_prometheus_datasource(dashboard: dict[str, Any]) -> None:
    datasource = variable(dashboard, "datasource")
    assert datasource["type"] == "datasource"
    assert datasource["query"] == "prometheus"


def test_the_service_variable_lists_services_and_allows_several(dashboard: dict[str, Any]) -> None:
    service = variable(dashboard, "service")
    assert service["type"] == "query"
    assert service["datasource"] == DATASOURCE
    query = service["query"]
    text = query["query"] if isinstance(query, dict) else query
    assert text == "label_values(slakeeper_service_up, service)"
    assert service["multi"] is True and service["includeAll"] is True
    assert service["allValue"] == ".*"


def test_every_panel_and_target_queries_the_datasource_variable(dashboard: dict[str, Any]) -> None:
    for panel in query_panels(dashboard):
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]


def test_every_target_has_an_expression_a_ref_id_and_a_legend(dashboard: dict[str, Any]) -> None:
    for panel in query_panels(dashboard):
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids), panel["title"]
        for target in panel["targets"]:
            assert re.fullmatch(r"[A-Z]", target["refId"]), panel["title"]
            assert target["expr"].strip(), panel["title"]
            assert isinstance(target["legendFormat"], str), panel["title"]


def test_every_panel_has_a_title_a_description_and_a_unit(dashboard: dict[str, Any]) -> None:
    for panel in query_panels(dashboard):
        assert panel["type"] in {"stat", "timeseries", "bargauge", "table", "gauge"}
        assert panel["title"] and panel["description"], panel["id"]
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert steps(panel), panel["title"]


def test_availability_panels_are_in_percent_red_below_99_5_and_green_above() -> None:
    checked = 0
    for path in DASHBOARD_FILES:
        for panel in query_panels(load(path)):
            metrics = panel_metrics(panel)
            if AVAILABILITY in metrics or any(":service_availability:" in m for m in metrics):
                assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit", panel["title"]
                assert steps(panel) == [("red", None), ("green", 0.995)], panel["title"]
                checked += 1
    assert checked >= 4


def test_ratio_panels_are_in_percent() -> None:
    for _, panel, _ in dashboard_targets():
        if panel_metrics(panel) <= PERCENT_METRICS:
            assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit", panel["title"]


def test_panels_of_durations_are_in_seconds() -> None:
    checked = 0
    for path in DASHBOARD_FILES:
        for panel in query_panels(load(path)):
            metrics = panel_metrics(panel)
            if all(re.search(r"_seconds(_total|_sum|_count|_bucket)$", m) for m in metrics):
                assert panel["fieldConfig"]["defaults"]["unit"] == "s", panel["title"]
                checked += 1
    assert checked >= 4


def test_rate_panels_are_per_second_and_count_panels_are_counts() -> None:
    for _, panel, target in dashboard_targets():
        unit = panel["fieldConfig"]["defaults"]["unit"]
        metrics = panel_metrics(panel)
        if all(m.endswith("_total") and "_seconds_" not in m for m in metrics):
            expected = {"reqps", "ops"} if "rate(" in target["expr"] else {"short"}
            assert unit in expected, panel["title"]


def test_every_expression_reads_only_metrics_slakeeper_exports() -> None:
    exported = exported_series()
    for name, panel, target in dashboard_targets():
        metrics = read_promql(target["expr"]).metrics
        assert metrics, f"{name} {panel['title']} {target['refId']}: no metric found"
        unknown = metrics - exported.keys()
        assert not unknown, f"{name} {panel['title']} {target['refId']} reads {unknown}"


def test_selectors_filter_by_service_exactly_when_the_metric_has_a_service_label() -> None:
    exported = exported_series()
    for name, panel, target in dashboard_targets():
        for selector in read_promql(target["expr"]).selectors:
            on_service = [m for m in selector.matchers if m[0] == "service"]
            where = f"{name} {panel['title']} {target['refId']} {selector.metric}"
            if "service" in exported[selector.metric]:
                assert on_service == [SERVICE_MATCHER], where
            else:
                # $service would filter everything out as soon as one service is chosen.
                assert on_service == [], where


def test_matchers_and_groupings_use_labels_and_values_the_metrics_have() -> None:
    exported = exported_series()
    for name, panel, target in dashboard_targets():
        query = read_promql(target["expr"])
        where = f"{name} {panel['title']} {target['refId']}"
        for selector in query.selectors:
            for label, operator, value in selector.matchers:
                assert label in exported[selector.metric], f"{where}: {selector.metric}{{{label}}}"
                if operator == "=" and label in LABEL_VALUES:
                    assert value in LABEL_VALUES[label], f"{where}: {label}={value!r}"
        available = frozenset().union(*(exported[m] for m in query.metrics))
        for keyword, labels in query.grouping:
            assert set(labels) <= available, f"{where}: {keyword} ({', '.join(labels)})"


# --- provisioning ---


def test_the_datasource_provisioning_defines_the_local_prometheus() -> None:
    document = yaml.safe_load((DASHBOARDS / "provisioning/datasources/slakeeper.yaml").read_text())
    assert document["apiVersion"] == 1
    [datasource] = document["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["uid"] == "prometheus"
    assert datasource["url"] == "http://127.0.0.1:9090"


def test_the_dashboard_provisioning_loads_files_into_the_slakeeper_folder() -> None:
    document = yaml.safe_load((DASHBOARDS / "provisioning/dashboards/slakeeper.yaml").read_text())
    assert document["apiVersion"] == 1
    [provider] = document["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == "slakeeper"
    assert provider["options"]["path"].startswith("/")


def test_the_variables_default_to_the_provisioned_datasource() -> None:
    for path in DASHBOARD_FILES:
        current = variable(load(path), "datasource")["current"]
        assert current["value"] == "prometheus"
