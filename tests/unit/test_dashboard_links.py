"""The dashboards link their service and incident panels to the slakeeper console's pages.

A `$console` textbox says where the console is; every panel whose series carry a `service`
label links to that service's page, every panel of open incidents or breaches links to the
queue filtered by the labels it carries; each link URL, with example values filled in, is a
page the console serves (`/`, `/incidents/{id}`, `/services`, `/services/{name}`,
`/reports?month=YYYY-MM`). Labels go into URLs through Grafana's `percentencode` format:
`${__field.labels.<label>:percentencode}`, or `${__data.fields.<label>:percentencode}` in
tables, where the labels are columns of a row.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest

from tests.unit.test_dashboards import (
    DASHBOARD_FILES,
    exported_series,
    load,
    panel_metrics,
    query_panels,
    read_promql,
    variable,
)

CONSOLE = "${console}"
DEFAULT_CONSOLE = "http://127.0.0.1:8080"
# Where a console may live: at a host's root, or under a path behind a proxy.
CONSOLE_EXAMPLES = ("http://127.0.0.1:8080", "https://noc.example.org/slakeeper")
# Label values to fill in: a service name with every character a path or a query trips on.
LABEL_EXAMPLES = {"service": "pay/ments & co?#1%", "priority": "P1", "state": "acknowledged"}
MONTH_EXAMPLE = "2024-05"
REPORT_MONTH = "${__to:date:YYYY-MM}"

QUEUE_FILTERS = ("service", "priority", "state")  # labels the queue filters by, same names
QUEUE_PARAMETERS = {*QUEUE_FILTERS, "breached"}
QUEUE_STATES = {"open", "acknowledged"}
INCIDENTS = "slakeeper_incidents_open"
BREACHES = "slakeeper_sla_breaches_total"

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_FIELD_LABEL = re.compile(r"__field\.labels\.(\w+):percentencode")
_ROW_FIELD = re.compile(r"__data\.fields\.(\w+):percentencode")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_AGGREGATION = r"(?:sum|min|max|avg|count|group|stddev|stdvar)"


# --- which labels a panel's series carry ---


def _labels(listed: str) -> frozenset[str]:
    return frozenset(label.strip() for label in listed.split(",") if label.strip())


def _closing(text: str, opening: int) -> int:
    """The index of the parenthesis closing the one at `opening` (quoted strings skipped)."""
    depth, index, quote_char = 0, opening, ""
    while index < len(text):
        char = text[index]
        if quote_char:
            if char == "\\":
                index += 1
            elif char == quote_char:
                quote_char = ""
        elif char in "\"'`":
            quote_char = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise ValueError(f"unbalanced parentheses in {text!r}")


def result_labels(expr: str) -> frozenset[str]:
    """The labels of the series `expr` returns, read off its outermost operation.

    An aggregation keeps its `by` labels (none without `by`), a function its argument's
    (`histogram_quantile` drops `le`), a selector its metric's. A binary operation keeps its
    left operand's labels, which holds for every operation these dashboards use.
    """
    text = expr.strip()
    aggregation = re.match(rf"{_AGGREGATION}\s*(?:by\s*\(([^)]*)\))?\s*\(", text)
    if aggregation:
        if aggregation.group(1) is not None:
            return _labels(aggregation.group(1))
        rest = text[_closing(text, aggregation.end() - 1) + 1 :]
        trailing = re.match(r"\s*by\s*\(([^)]*)\)", rest)
        return _labels(trailing.group(1)) if trailing else frozenset()
    if re.match(rf"{_AGGREGATION}\s*without\b", text):
        raise ValueError(f"`without` is not read here: {expr!r}")
    function = re.match(r"([a-z_]+)\s*\(", text)
    if function:
        argument = re.sub(r"^\s*[\d.]+\s*,", "", text[function.end() :])
        labels = result_labels(argument)
        return labels - {"le"} if function.group(1) == "histogram_quantile" else labels
    if text.startswith("("):
        return result_labels(text[1:])
    selector = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", text)
    if selector and selector.group() in exported_series():
        return exported_series()[selector.group()]
    raise ValueError(f"cannot tell the labels of {expr!r}")


def panel_labels(panel: dict[str, Any]) -> frozenset[str]:
    """The labels of all the series a panel draws."""
    return frozenset().union(*(result_labels(target["expr"]) for target in panel["targets"]))


def fixed_filters(panel: dict[str, Any]) -> dict[str, str]:
    """Queue filters the panel's incident or breach selectors fix: `state="open"` and so on."""
    values: dict[str, set[str]] = {}
    for target in panel["targets"]:
        for selector in read_promql(target["expr"]).selectors:
            if selector.metric in {INCIDENTS, BREACHES}:
                for label, operator, value in selector.matchers:
                    if operator == "=" and label in QUEUE_FILTERS:
                        values.setdefault(label, set()).add(value)
    return {label: found.pop() for label, found in values.items() if len(found) == 1}


def is_table(panel: dict[str, Any]) -> bool:
    return bool(panel["type"] == "table")


def label_variable(panel: dict[str, Any], label: str) -> str:
    """How a link of `panel` names `label`: a column of the row in a table, else a label."""
    if is_table(panel):
        return f"${{__data.fields.{label}:percentencode}}"
    return f"${{__field.labels.{label}:percentencode}}"


def expected_queue(panel: dict[str, Any]) -> dict[str, str] | None:
    """The query of the queue link an incident or breach panel must have (None: no such)."""
    metrics = panel_metrics(panel)
    if INCIDENTS in metrics:
        query: dict[str, str] = {}
    elif BREACHES in metrics:
        query = {"breached": "1"}
    else:
        return None
    carried, fixed = panel_labels(panel), fixed_filters(panel)
    for label in QUEUE_FILTERS:
        if label in carried:
            query[label] = label_variable(panel, label)
        elif label in fixed:
            query[label] = fixed[label]
    return query


# --- what the console serves ---


def console_page(url: str, console: str) -> tuple[str, str | dict[str, str] | None]:
    """The console page `url` opens, as (page, its argument); AssertionError if none does."""
    base, parts = urlsplit(console), urlsplit(url)
    assert (parts.scheme, parts.netloc) == (base.scheme, base.netloc), f"not the console: {url}"
    assert parts.path.startswith(base.path + "/"), f"outside the console: {url}"
    assert not parts.fragment, f"a fragment: {url}"
    pairs = parse_qs(parts.query, keep_blank_values=True)
    assert all(len(values) == 1 for values in pairs.values()), f"a repeated parameter: {url}"
    query = {name: values[0] for name, values in pairs.items()}
    assert all(query.values()), f"an empty parameter: {url}"
    segments = parts.path[len(base.path) :].split("/")[1:]
    match segments:
        case [""]:
            assert set(query) <= QUEUE_PARAMETERS, f"the queue takes no {set(query)}: {url}"
            assert query.get("state", "open") in QUEUE_STATES, f"no such queue state: {url}"
            assert query.get("breached", "1") == "1", f"breached is 1 or absent: {url}"
            return "queue", query
        case ["services"] if not query:
            return "services", None
        case ["services", name] if name and not query:
            return "service", unquote(name)
        case ["incidents", number] if number.isdigit() and not query:
            return "incident", number
        case ["reports"] if set(query) == {"month"} and _MONTH.fullmatch(query["month"]):
            return "report", query["month"]
        case ["months", month] if _MONTH.fullmatch(month) and not query:
            return "month", month
    raise AssertionError(f"no console page is {url}")


def fill_in(template: str, console: str) -> str:
    """`template` as Grafana makes it, with the example console and label values."""

    def value(found: re.Match[str]) -> str:
        expression = found.group(1)
        if expression == "console":
            return console
        if expression == REPORT_MONTH[2:-1]:
            return MONTH_EXAMPLE
        named = _FIELD_LABEL.fullmatch(expression) or _ROW_FIELD.fullmatch(expression)
        assert named, f"unknown variable ${{{expression}}} in {template}"
        return quote(LABEL_EXAMPLES[named.group(1)], safe="")

    return _PLACEHOLDER.sub(value, template)


# --- the checks, as lists of problems so that each can be shown to fail ---


def data_links(panel: dict[str, Any]) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = panel["fieldConfig"]["defaults"].get("links", [])
    return links


def link_problems(panel: dict[str, Any]) -> list[str]:
    """Each data link of `panel` is well formed and opens a console page."""
    problems, title = [], panel["title"]
    carried = panel_labels(panel)
    excluded: set[str] = set()
    for transformation in panel.get("transformations", []):
        if transformation["id"] == "organize":
            options = transformation["options"].get("excludeByName", {})
            excluded |= {name for name, dropped in options.items() if dropped}
    for link in data_links(panel):
        url = link.get("url", "")
        if set(link) != {"title", "url", "targetBlank"} or not link["title"]:
            problems.append(f"{title}: a link needs exactly title, url, targetBlank: {link}")
        if link.get("targetBlank") is not True:
            problems.append(f"{title}: {url} does not open in a new tab")
        if not url.startswith(CONSOLE + "/"):
            problems.append(f"{title}: {url} does not start with {CONSOLE}/")
            continue
        if "$" in _PLACEHOLDER.sub("", url):
            problems.append(f"{title}: {url} has a variable without braces")
        for expression in _PLACEHOLDER.findall(url):
            field_label = _FIELD_LABEL.fullmatch(expression)
            row_field = _ROW_FIELD.fullmatch(expression)
            named = field_label or row_field
            if expression in {"console", REPORT_MONTH[2:-1]}:
                continue
            if named is None:
                problems.append(f"{title}: ${{{expression}}} is not a percent-encoded label")
                continue
            label = named.group(1)
            if label not in carried:
                problems.append(f"{title}: {url} names {label}, which the series do not carry")
            if is_table(panel) and field_label:
                problems.append(f"{title}: a table names its {label} column ${{__data.fields}}")
            if row_field and not is_table(panel):
                problems.append(
                    f"{title}: ${{__data.fields}} needs a table row, not a {panel['type']}"
                )
            if row_field and (
                label in excluded or any(t.get("format") != "table" for t in panel["targets"])
            ):
                problems.append(f"{title}: the table has no {label} column for {url}")
        for console in CONSOLE_EXAMPLES:
            try:
                console_page(fill_in(url, console), console)
            except AssertionError as refused:
                problems.append(f"{title}: {refused}")
    return problems


def service_problems(panel: dict[str, Any]) -> list[str]:
    """A panel whose series carry `service` links to that service's page."""
    if "service" not in panel_labels(panel):
        return []
    wanted = ("service", LABEL_EXAMPLES["service"])
    for link in data_links(panel):
        if not link.get("url", "").startswith(CONSOLE + "/"):
            continue
        try:
            if console_page(fill_in(link["url"], DEFAULT_CONSOLE), DEFAULT_CONSOLE) == wanted:
                return []
        except AssertionError:
            continue
    return [f"{panel['title']}: no link to {CONSOLE}/services/{label_variable(panel, 'service')}"]


def queue_problems(panel: dict[str, Any]) -> list[str]:
    """A panel of open incidents or breaches links to the queue filtered by its labels."""
    wanted = expected_queue(panel)
    if wanted is None:
        return []
    for link in data_links(panel):
        page, _, query = link.get("url", "").partition("?")
        filters = {name: values[0] for name, values in parse_qs(query).items()}
        if page == f"{CONSOLE}/" and filters == wanted:
            return []
    return [f"{panel['title']}: no link to the queue filtered by {wanted}"]


def panel_problems(panel: dict[str, Any]) -> list[str]:
    return link_problems(panel) + service_problems(panel) + queue_problems(panel)


def panel_named(dashboard: dict[str, Any], title: str) -> dict[str, Any]:
    [panel] = [panel for panel in query_panels(dashboard) if panel["title"] == title]
    return panel


@pytest.fixture(params=DASHBOARD_FILES, ids=[path.stem for path in DASHBOARD_FILES])
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    path: Path = request.param
    return copy.deepcopy(load(path))


# --- the readers ---


@pytest.mark.parametrize(
    ("expr", "labels"),
    [
        ('max by (service) (slakeeper_service_up{service=~"$service"}) == 0', {"service"}),
        ("count(max by (service) (slakeeper_service_up) == 0) or vector(0)", set()),
        ("sum(max by (service, priority) (slakeeper_incidents_open)) by (priority)", {"priority"}),
        (
            "histogram_quantile(0.9, max by (le, priority) "
            "(rate(slakeeper_incident_response_seconds_bucket[$__range])))",
            {"priority"},
        ),
        ('slakeeper:service_availability:ratio_rate1d{service=~"$service"}', {"service"}),
        ("(max by (service, kind) (slakeeper_sla_breaches_total))", {"service", "kind"}),
    ],
)
def test_result_labels_are_read_off_the_outermost_operation(expr: str, labels: set[str]) -> None:
    assert result_labels(expr) == labels


def test_result_labels_refuse_what_they_cannot_read() -> None:
    with pytest.raises(ValueError):
        result_labels("sum without (state) (slakeeper_incidents_open)")
    with pytest.raises(ValueError):
        result_labels("vector(1)")


@pytest.mark.parametrize(
    ("url", "page"),
    [
        ("http://c:8080/", ("queue", {})),
        (
            "http://c:8080/?service=a%2Fb&priority=P1&state=open",
            ("queue", {"service": "a/b", "priority": "P1", "state": "open"}),
        ),
        ("http://c:8080/?breached=1", ("queue", {"breached": "1"})),
        ("http://c:8080/incidents/42", ("incident", "42")),
        ("http://c:8080/services", ("services", None)),
        ("http://c:8080/services/a%2Fb%20c", ("service", "a/b c")),
        ("http://c:8080/reports?month=2024-12", ("report", "2024-12")),
        ("http://c:8080/months/2024-12", ("month", "2024-12")),
    ],
)
def test_the_console_serves_these_pages(url: str, page: tuple[str, Any]) -> None:
    assert console_page(url, "http://c:8080") == page


@pytest.mark.parametrize(
    "url",
    [
        "http://other:8080/",  # another host
        "http://c:8080/?state=resolved",  # the queue shows active incidents only
        "http://c:8080/?breached=yes",
        "http://c:8080/?service=a&service=b",
        "http://c:8080/?sort=age",  # the console refuses unknown parameters
        "http://c:8080/services/a/b",  # an unencoded slash in the name
        "http://c:8080/services/a?x=1",
        "http://c:8080/service/a",
        "http://c:8080/incidents/abc",
        "http://c:8080/reports",
        "http://c:8080/reports?month=2024-13",
        "http://c:8080/months/2024-13",
        "http://c:8080//services",  # a console URL typed with a trailing slash
        "http://c:8080/services#top",
    ],
)
def test_the_console_serves_no_such_page(url: str) -> None:
    with pytest.raises(AssertionError):
        console_page(url, "http://c:8080")


def test_a_console_under_a_path_prefix_keeps_it() -> None:
    console = "https://noc.example.org/slakeeper"
    assert console_page(f"{console}/services", console) == ("services", None)
    with pytest.raises(AssertionError):
        console_page("https://noc.example.org/services", console)


def test_filling_in_encodes_labels_and_refuses_unknown_variables() -> None:
    url = "${console}/services/${__field.labels.service:percentencode}"
    assert fill_in(url, "http://c") == "http://c/services/pay%2Fments%20%26%20co%3F%231%25"
    with pytest.raises(AssertionError, match="unknown variable"):
        fill_in("${console}/?priority=${__field.labels.priority}", "http://c")


# --- the dashboards ---


def test_the_console_variable_is_a_textbox_with_the_local_default(
    dashboard: dict[str, Any],
) -> None:
    console = variable(dashboard, "console")
    assert console["type"] == "textbox"
    assert console["label"] == "slakeeper console URL"
    assert console["query"] == DEFAULT_CONSOLE
    assert console["current"]["value"] == console["current"]["text"] == DEFAULT_CONSOLE
    assert console["hide"] == 0, "the operator has to see the console URL to set it"


def test_every_data_link_opens_a_console_page_naming_labels_percent_encoded(
    dashboard: dict[str, Any],
) -> None:
    linked = [panel for panel in query_panels(dashboard) if data_links(panel)]
    assert len(linked) >= 10
    assert [problem for panel in linked for problem in link_problems(panel)] == []


def test_every_panel_with_a_service_label_links_to_the_service_page(
    dashboard: dict[str, Any],
) -> None:
    panels = [panel for panel in query_panels(dashboard) if "service" in panel_labels(panel)]
    assert len(panels) >= 3
    assert [problem for panel in panels for problem in service_problems(panel)] == []


def test_incident_and_breach_panels_link_to_the_queue_with_their_labels(
    dashboard: dict[str, Any],
) -> None:
    panels = [panel for panel in query_panels(dashboard) if expected_queue(panel) is not None]
    assert len(panels) >= 3
    assert [problem for panel in panels for problem in queue_problems(panel)] == []


def test_the_queue_links_the_brief_names() -> None:
    noc = {panel["title"]: panel for panel in query_panels(load(DASHBOARD_FILES[0]))}
    assert expected_queue(noc["Unacknowledged P1"]) == {"priority": "P1", "state": "open"}
    assert expected_queue(noc["Waiting for acknowledgement"]) == {
        "service": "${__data.fields.service:percentencode}",
        "priority": "${__data.fields.priority:percentencode}",
        "state": "open",
    }
    assert expected_queue(noc["Open incidents by priority and state"]) == {
        "priority": "${__field.labels.priority:percentencode}",
        "state": "${__field.labels.state:percentencode}",
    }
    assert expected_queue(noc["SLA breaches"]) == {"breached": "1"}
    assert expected_queue(noc["Escalations"]) is None


def test_each_dashboard_links_to_the_console_home_and_the_monthly_report(
    dashboard: dict[str, Any],
) -> None:
    console_links = [link for link in dashboard["links"] if link["url"].startswith(CONSOLE)]
    pages = set()
    for link in console_links:
        assert link["type"] == "link" and link["title"], link
        assert link["targetBlank"] is True, link
        # The console refuses query parameters it does not know: no var-… and no from/to.
        assert link["includeVars"] is False and link["keepTime"] is False, link
        for console in CONSOLE_EXAMPLES:
            pages.add(console_page(fill_in(link["url"], console), console)[0])
    assert pages == {"queue", "report"}
    urls = {link["url"] for link in console_links}
    assert urls == {f"{CONSOLE}/", f"{CONSOLE}/reports?month={REPORT_MONTH}"}


# --- the checks fail where they should ---


def test_a_service_panel_without_links_fails() -> None:
    panel = copy.deepcopy(panel_named(load(DASHBOARD_FILES[0]), "Service status"))
    assert panel_problems(panel) == []
    panel["fieldConfig"]["defaults"].pop("links")
    assert service_problems(panel) == [
        "Service status: no link to ${console}/services/${__field.labels.service:percentencode}"
    ]


def test_a_label_without_percent_encoding_fails() -> None:
    panel = copy.deepcopy(panel_named(load(DASHBOARD_FILES[1]), "Downtime in the time range"))
    for link in data_links(panel):
        link["url"] = link["url"].replace(":percentencode", "")
    assert link_problems(panel) and service_problems(panel)


def test_a_table_naming_a_label_instead_of_its_column_fails() -> None:
    panel = copy.deepcopy(panel_named(load(DASHBOARD_FILES[0]), "Services down now"))
    for link in data_links(panel):
        link["url"] = link["url"].replace("__data.fields.", "__field.labels.")
    assert any("${__data.fields}" in problem for problem in link_problems(panel))


def test_a_link_naming_a_label_the_panel_lacks_fails() -> None:
    panel = copy.deepcopy(panel_named(load(DASHBOARD_FILES[1]), "Response breaches"))
    data_links(panel)[0]["url"] += "&service=${__field.labels.service:percentencode}"
    assert any("do not carry" in problem for problem in link_problems(panel))


def test_a_queue_link_missing_a_filter_fails() -> None:
    panel = copy.deepcopy(panel_named(load(DASHBOARD_FILES[0]), "Waiting for acknowledgement"))
    for link in data_links(panel):
        link["url"] = link["url"].replace("&state=open", "")
    assert queue_problems(panel)


def test_a_link_to_a_page_the_console_lacks_fails() -> None:
    panel = copy.deepcopy(panel_named(load(DASHBOARD_FILES[1]), "Availability this month"))
    data_links(panel)[0]["url"] = "${console}/service/${__field.labels.service:percentencode}"
    assert any("no console page" in problem for problem in link_problems(panel))
