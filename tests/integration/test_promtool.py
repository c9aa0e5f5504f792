"""The generated rules pass the real promtool: `check rules` and `test rules` with a fixture."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rules.prometheus import ALERT_GROUP, RECORDING_GROUP, ServiceObjective, render_prometheus_rules
from tests.conftest import FIXTURES, missing

UNIT_TESTS = FIXTURES / "promtool" / "burn_rate_test.yml"
SERVICES = [ServiceObjective("payments", 0.995), ServiceObjective("checkout", 0.999)]
# promtool evaluates groups in Go map order unless told, so alerts could read stale records.
GROUP_EVAL_ORDER = [RECORDING_GROUP, ALERT_GROUP]


def promtool() -> str:
    """The promtool binary; without it, skip (or fail with CI=true)."""
    found = shutil.which("promtool") or shutil.which("promtool", path="/usr/bin")
    if found is None:
        missing("promtool not found on PATH or in /usr/bin")
    return found


def run_promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def write_rules(directory: Path, objectives: list[ServiceObjective]) -> None:
    (directory / "rules.yml").write_text(render_prometheus_rules(objectives, source="rules.yml"))


@pytest.mark.parametrize(
    ("objectives", "count"), [(SERVICES, 16 + 8), ([], 16)], ids=["two-services", "empty"]
)
def test_check_rules_accepts_the_rendered_file(
    tmp_path: Path, objectives: list[ServiceObjective], count: int
) -> None:
    write_rules(tmp_path, objectives)
    # --lint-fatal: without it, rules promtool calls duplicates are only a warning.
    result = run_promtool("check", "rules", "--lint-fatal", "rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {count} rules found" in result.stdout


def test_burn_rate_unit_tests_pass(tmp_path: Path) -> None:
    assert yaml.safe_load(UNIT_TESTS.read_text())["group_eval_order"] == GROUP_EVAL_ORDER
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    write_rules(tmp_path, SERVICES)
    result = run_promtool("test", "rules", UNIT_TESTS.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_burn_rate_unit_tests_fail_when_payments_cannot_page(tmp_path: Path) -> None:
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    # A 50% target makes the page threshold 14.4 x 0.5 = 7.2, beyond any downtime ratio.
    write_rules(tmp_path, [ServiceObjective("payments", 0.5), SERVICES[1]])
    result = run_promtool("test", "rules", UNIT_TESTS.name, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stderr and "SlakeeperErrorBudgetBurn" in result.stderr


def test_awkward_service_name_reaches_the_alert_unchanged(tmp_path: Path) -> None:
    name = 'we"ird\\ {{ $labels.x }} }}{{{ name'
    write_rules(tmp_path, [ServiceObjective(name, 0.995)])
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    unit_tests: dict[str, Any] = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "group_eval_order": GROUP_EVAL_ORDER,
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": f'slakeeper_service_downtime_seconds_total{{service="{quoted}"}}',
                        "values": "0+60x20",
                    }
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "10m",
                        "alertname": "SlakeeperErrorBudgetBurn",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "page",
                                    "service": name,
                                    "long_window": "1h",
                                    "short_window": "5m",
                                },
                                # promtool compares annotations even when none are expected.
                                "exp_annotations": {
                                    "summary": f"Service {name} is burning its error budget"
                                    " 14.4x too fast",
                                    "description": f"Service {name} was down 16.67% of the last"
                                    " 1h, and more than 7.2% of the last 5m; its 99.5%"
                                    " availability objective allows 0.5% downtime over 30 days.",
                                    "slo": "99.5% availability over 30d",
                                    "burn_rate": "14.4",
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "awkward_test.yml").write_text(yaml.safe_dump(unit_tests, sort_keys=False))
    checked = run_promtool("check", "rules", "--lint-fatal", "rules.yml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result = run_promtool("test", "rules", "awkward_test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
