"""Every dashboard query is valid PromQL for the real promtool, Grafana variables filled in."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import missing
from tests.unit.test_dashboards import dashboard_targets

# What Grafana puts in place of its variables; any duration will do for parsing.
SUBSTITUTES = {
    "$service": ".*",
    "$__range": "5m",
    "$__rate_interval": "5m",
    "$__interval": "5m",
}
_VARIABLE = re.compile(r"\$(?:\{[A-Za-z_]\w*(?::\w+)?\}|[A-Za-z_]\w*)")


def promtool() -> str:
    found = shutil.which("promtool") or shutil.which("promtool", path="/usr/bin")
    if found is None:
        missing("promtool not installed")
    return found


def substitute(expr: str) -> str:
    """`expr` as Grafana sends it, with the dashboards' variables given values."""
    for name, value in sorted(SUBSTITUTES.items(), key=lambda item: -len(item[0])):
        expr = re.sub(re.escape(name) + r"\b", value, expr)
        expr = expr.replace("${" + name[1:] + "}", value)
    left = _VARIABLE.findall(expr)
    assert not left, f"no substitute for {left} in {expr!r}"
    return expr


def dashboard_rules() -> list[dict[str, str]]:
    """One recording rule per dashboard query, named after its dashboard, panel and refId."""
    rules = []
    for name, panel, target in dashboard_targets():
        dashboard = re.sub(r"\W", "_", name.removesuffix(".json"))
        record = f"dashboard:{dashboard}:panel{panel['id']}_{target['refId']}"
        rules.append({"record": record, "expr": substitute(target["expr"])})
    return rules


def check_rules(directory: Path, rules: list[dict[str, str]]) -> subprocess.CompletedProcess[str]:
    path = directory / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    return subprocess.run(
        [promtool(), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_grafana_variables_are_replaced_by_values_promql_accepts() -> None:
    expr = 'rate(x{service=~"$service"}[$__rate_interval]) + increase(x[${__range}])'
    assert substitute(expr) == 'rate(x{service=~".*"}[5m]) + increase(x[5m])'


def test_every_dashboard_expression_passes_promtool(tmp_path: Path) -> None:
    rules = dashboard_rules()
    assert len(rules) > 20
    result = check_rules(tmp_path, rules)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    broken = {"record": "dashboard:broken", "expr": "sum by (service (slakeeper_service_up)"}
    result = check_rules(tmp_path, [*dashboard_rules(), broken])
    assert result.returncode != 0
    assert "dashboard:broken" in result.stdout + result.stderr
