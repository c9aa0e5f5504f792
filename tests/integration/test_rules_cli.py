"""`slakeeper rules check|test|prometheus`, and `serve` with rule files: real processes."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from rules.loader import DEFAULT_RULES
from tests.conftest import FIXTURES, missing
from tests.integration.processes import Server, run

EXAMPLE = FIXTURES / "example_rules.yaml"
INVALID = """\
rules:
  - name: a
    matchers: ['severity=~"(crit"']
    priority: P9
"""


def test_rules_check_accepts_the_shipped_and_the_example_rules() -> None:
    result = run("rules", "check", str(DEFAULT_RULES), str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("SUCCESS") == 2
    assert "2 services, 4 rules" in result.stdout


def test_rules_check_prints_every_problem_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(INVALID)
    result = run("rules", "check", str(DEFAULT_RULES), str(path))
    assert result.returncode == 1
    assert f"{path}:3: rules[0].matchers[0]: invalid regular expression" in result.stderr
    assert "SUCCESS" in result.stdout and "FAILED" in result.stderr


def test_rules_test_passes_the_shipped_tests_and_fails_a_wrong_one_with_a_diff(
    tmp_path: Path,
) -> None:
    passed = run("rules", "test", str(DEFAULT_RULES.with_name("default_test.yaml")))
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("SUCCESS")
    shutil.copy(DEFAULT_RULES, tmp_path / "rules.yaml")
    (tmp_path / "t.yaml").write_text(
        "rule_file: rules.yaml\n"
        "tests:\n"
        "  - {name: down, labels: {alertname: InstanceDown}, expect: {priority: P1}}\n"
    )
    failed = run("rules", "test", str(tmp_path / "t.yaml"))
    assert failed.returncode == 1
    assert "priority:\n    - expected: P1\n    + got:      P2" in failed.stderr


def test_rules_prometheus_output_passes_the_real_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool") or missing("promtool is not installed")
    out = tmp_path / "slo.rules.yml"
    result = run("rules", "prometheus", str(EXAMPLE), "--out", str(out))
    assert result.returncode == 0, result.stderr
    checked = subprocess.run(
        [promtool, "check", "rules", "--lint-fatal", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 24 rules found" in checked.stdout  # 16 recorded + 4 alerts x 2 services
    assert 'service="checkout"' in out.read_text()


def test_serve_refuses_an_invalid_rule_file_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(INVALID)
    result = run("serve", "--rules", str(path), "--port", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "refusing to start with an invalid rule file" in result.stderr
    assert f"{path}:4: rules[0].priority" not in result.stderr  # schema errors come first
    assert f"{path}:3: rules[0].matchers[0]" in result.stderr
    assert not (tmp_path / "slakeeper.db").exists()


def rules_giving(priority: str) -> str:
    return f"rules:\n  - {{name: a, matchers: ['alertname=\"A\"'], priority: {priority}}}\n"


def classify_fresh_alert(server: Server) -> str:
    """Push a never-seen alert named A; return the priority it was stored with."""
    marker = uuid.uuid4().hex
    alert = {"labels": {"alertname": "A", "marker": marker}}
    response = httpx.post(server.url + "/api/v2/alerts", json=[alert], timeout=5)
    assert response.status_code == 200, response.text
    items = httpx.get(
        server.url + "/api/v1/alerts", params={"filter": f'marker="{marker}"'}, timeout=5
    ).json()["items"]
    return str(items[0]["priority"])


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def reload_failures(server: Server) -> float:
    for line in httpx.get(server.url + "/metrics", timeout=5).text.splitlines():
        if line.startswith("slakeeper_rules_reload_failures_total "):
            return float(line.split()[1])
    raise AssertionError("no reload failure counter exported")


def check_sighup_reload(server: Server, rule_file: Path, workers: int) -> None:
    assert classify_fresh_alert(server) == "P3"
    rule_file.write_text(rules_giving("P1"))
    server.process.send_signal(signal.SIGHUP)
    # Every worker reloads: a run of fresh alerts all come out with the new priority.
    wait_for(lambda: all(classify_fresh_alert(server) == "P1" for _ in range(4 * workers)))
    rule_file.write_text(INVALID)
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda: reload_failures(server) == 1)
    assert server.process.poll() is None
    assert httpx.get(server.url + "/readyz", timeout=5).status_code == 200
    assert all(classify_fresh_alert(server) == "P1" for _ in range(4 * workers))


def test_sighup_reloads_the_rules_and_an_invalid_file_keeps_the_old_ones(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(rules_giving("P3"))
    server = serve("--rules", str(rule_file))
    check_sighup_reload(server, rule_file, workers=1)


def test_sighup_to_the_supervisor_reloads_every_worker(
    serve: Callable[..., Server], tmp_path: Path
) -> None:
    rule_file = tmp_path / "rules.yaml"
    rule_file.write_text(rules_giving("P3"))
    server = serve("--rules", str(rule_file), "--workers", "2")
    check_sighup_reload(server, rule_file, workers=2)


def test_rules_prometheus_says_why_a_file_without_services_has_no_alert_rules(
    tmp_path: Path,
) -> None:
    out = tmp_path / "slo.rules.yml"
    result = run("rules", "prometheus", str(DEFAULT_RULES), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "lists no services, so no SlakeeperErrorBudgetBurn alert rules" in result.stderr
    assert "`services:`" in result.stderr
    assert "# The source lists no services: no alert rules" in out.read_text()
