"""Who is on call, through the API: the rule file's rotations, the API's, and overrides."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from access.roles import Role
from tests.integration.conftest import AppFactory, Clock
from tests.integration.people import Person, add_account
from tests.integration.processes import SLAKEEPER, clean_environment

# The test clock starts at 2026-11-21T23:00Z: a Sunday, 07:00 in Shanghai.
RULES = """
timezone: Asia/Shanghai
rotations:
  noc:
    layers:
      - participants: [ana, bo]
        shift: 12h
        handoff: '2026-11-02T09:00'
contacts:
  on-duty: {rotation: noc}
"""


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


@pytest.fixture
def people(database_url: str) -> dict[str, Person]:
    return {
        "ana": add_account(database_url, "ana", Role.OPERATOR),
        "bo": add_account(database_url, "bo", Role.OPERATOR),
        "max": add_account(database_url, "max", Role.MANAGER),
        "vic": add_account(database_url, "vic", Role.VIEWER),
    }


def oncall(api: TestClient, person: Person, **params: Any) -> dict[str, Any]:
    answer = api.get("/api/v1/oncall", params=params, headers=person.headers)
    assert answer.status_code == 200, answer.text
    return {item["rotation"]: item for item in answer.json()["items"]}


def test_the_rule_file_s_rotation_says_who_is_on_call_and_who_is_next(
    make_app: AppFactory, rules_file: Path, people: dict[str, Person]
) -> None:
    with TestClient(make_app(rules=rules_file, host="0.0.0.0")) as api:
        noc = oncall(api, people["vic"])["noc"]
        # 2026-11-21 21:00 to 2026-11-22 09:00 Shanghai is shift 39 from the hand-off: bo's.
        assert noc["current"] == {
            "person": "bo",
            "start": "2026-11-21T13:00:00Z",
            "end": "2026-11-22T01:00:00Z",
            "layer": 0,
            "override": None,
        }
        assert [turn["person"] for turn in noc["upcoming"][:3]] == ["ana", "bo", "ana"]
        assert noc["upcoming"][0]["start"] == "2026-11-22T01:00:00Z"
        assert (noc["source"], noc["timezone"], noc["problems"]) == ("rules", "Asia/Shanghai", [])
        later = oncall(api, people["vic"], at="2026-11-22T02:00:00Z")["noc"]
        assert later["current"]["person"] == "ana"


def test_an_operator_covers_a_shift_and_the_override_hands_back_when_deleted(
    make_app: AppFactory, rules_file: Path, people: dict[str, Person], database_url: str
) -> None:
    add_account(database_url, "dora", Role.OPERATOR)
    with TestClient(make_app(rules=rules_file, host="0.0.0.0")) as api:
        cover = {
            "person": "dora",
            "start": "2026-11-21T22:00:00Z",
            "end": "2026-11-22T03:00:00Z",
            "reason": "bo is ill",
        }
        refused = api.post(
            "/api/v1/rotations/noc/overrides", json=cover, headers=people["vic"].headers
        )
        assert refused.status_code == 403
        made = api.post(
            "/api/v1/rotations/noc/overrides", json=cover, headers=people["ana"].headers
        )
        assert made.status_code == 201, made.text
        assert made.json()["created_by"] == "ana"
        now = oncall(api, people["vic"])["noc"]
        assert (
            now["current"]["person"] == "dora" and now["current"]["override"] == made.json()["id"]
        )
        assert now["upcoming"][0]["person"] == "ana"
        assert now["upcoming"][0]["start"] == "2026-11-22T03:00:00Z"
        listed = api.get("/api/v1/rotations/noc/overrides", headers=people["vic"].headers).json()
        assert [item["person"] for item in listed["items"]] == ["dora"]
        gone = api.delete(
            f"/api/v1/rotations/noc/overrides/{made.json()['id']}", headers=people["bo"].headers
        )
        assert gone.status_code == 200 and gone.json()["deleted_by"] == "bo"
        assert oncall(api, people["vic"])["noc"]["current"]["person"] == "bo"
        again = api.delete(
            f"/api/v1/rotations/noc/overrides/{made.json()['id']}", headers=people["bo"].headers
        )
        assert again.status_code == 404
        nobody = api.post(
            "/api/v1/rotations/noc/overrides",
            json={**cover, "person": "zed"},
            headers=people["ana"].headers,
        )
        assert nobody.status_code == 422 and "zed" in nobody.json()["error"]["message"]
        backwards = api.post(
            "/api/v1/rotations/noc/overrides",
            json={**cover, "end": cover["start"]},
            headers=people["ana"].headers,
        )
        assert backwards.status_code == 422
        audit = api.get(
            "/api/v1/audit", headers=add_account(database_url, "root", Role.ADMIN).headers
        ).json()["items"]
        assert {("ana", "override.create"), ("bo", "override.delete")} <= {
            (item["actor"], item["action"]) for item in audit
        }


def test_a_manager_replaces_a_rotation_through_the_api_and_deleting_it_brings_back_the_file_s(
    make_app: AppFactory, rules_file: Path, people: dict[str, Person]
) -> None:
    layer: dict[str, Any] = {"participants": ["ana"], "shift": "1w", "handoff": "2026-11-16T09:00"}
    weekly: dict[str, Any] = {"timezone": "Europe/Berlin", "layers": [layer]}
    with TestClient(make_app(rules=rules_file, host="0.0.0.0")) as api:
        forbidden = api.put("/api/v1/rotations/noc", json=weekly, headers=people["ana"].headers)
        assert forbidden.status_code == 403
        replaced = api.put("/api/v1/rotations/noc", json=weekly, headers=people["max"].headers)
        assert replaced.status_code == 201, replaced.text
        assert replaced.json()["source"] == "api" and replaced.json()["updated_by"] == "max"
        noc = oncall(api, people["vic"])["noc"]
        assert (noc["current"]["person"], noc["timezone"]) == ("ana", "Europe/Berlin")
        assert (
            api.put("/api/v1/rotations/noc", json=weekly, headers=people["max"].headers).status_code
            == 200
        )
        made = api.put(
            "/api/v1/rotations/weekend",
            json={**weekly, "layers": [{**layer, "participants": ["bo", "ana"]}]},
            headers=people["max"].headers,
        )
        assert made.status_code == 201
        names = [
            r["name"]
            for r in api.get("/api/v1/rotations", headers=people["vic"].headers).json()["items"]
        ]
        assert names == ["noc", "weekend"]
        unknown = api.put(
            "/api/v1/rotations/x",
            json={
                "layers": [{"participants": ["zed"], "shift": "1d", "handoff": "2026-11-16T09:00"}]
            },
            headers=people["max"].headers,
        )
        assert unknown.status_code == 422 and "zed" in unknown.json()["error"]["message"]
        no_calendar = api.put(
            "/api/v1/rotations/x",
            json={"layers": [{**layer, "calendar": "office"}]},
            headers=people["max"].headers,
        )
        assert no_calendar.status_code == 422 and "office" in no_calendar.json()["error"]["message"]
        bad_shift = api.put(
            "/api/v1/rotations/x",
            json={"layers": [{**layer, "shift": "5bd"}]},
            headers=people["max"].headers,
        )
        assert bad_shift.status_code == 400  # the body's shape: as every body is checked
        assert "shift" in bad_shift.text
        assert api.delete("/api/v1/rotations/noc", headers=people["max"].headers).status_code == 200
        back = oncall(api, people["vic"])["noc"]
        assert (back["source"], back["current"]["person"]) == ("rules", "bo")
        assert api.delete("/api/v1/rotations/noc", headers=people["max"].headers).status_code == 404
        assert api.get("/api/v1/rotations/x", headers=people["vic"].headers).status_code == 404


def test_a_participant_without_an_account_is_shown_as_a_problem(
    make_app: AppFactory, rules_file: Path, database_url: str, clock: Clock
) -> None:
    viewer = add_account(database_url, "vic", Role.VIEWER)
    add_account(database_url, "ana", Role.OPERATOR)
    with TestClient(make_app(rules=rules_file, host="0.0.0.0")) as api:
        noc = oncall(api, viewer)["noc"]
        assert noc["problems"] == ["'bo' has no active account"]


def test_metrics_show_who_is_on_call_for_grafana(
    make_app: AppFactory, rules_file: Path, people: dict[str, Person], clock: Clock
) -> None:
    with TestClient(make_app(rules=rules_file, metrics_cache_seconds=0)) as api:
        scraped = api.get("/metrics").text
        assert 'slakeeper_oncall_person{person="bo",rotation="noc"} 1.0' in scraped
        assert 'person="ana"' not in scraped
        clock.advance(hours=2)  # 09:00 in Shanghai: ana's day shift
        scraped = api.get("/metrics").text
        assert 'slakeeper_oncall_person{person="ana",rotation="noc"} 1.0' in scraped
        assert 'slakeeper_notifications_sent_total{channel="dingtalk"} 0.0' in scraped


def test_slakeeper_oncall_prints_who_is_on_call_and_the_next_hand_offs(
    database_url: str, rules_file: Path, people: dict[str, Person]
) -> None:
    command = [SLAKEEPER, "oncall", "--database-url", database_url, "--rules", str(rules_file)]
    printed = subprocess.run(
        [*command, "--at", "2026-11-21T23:00:00Z", "--hours", "24"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(),
        check=True,
    ).stdout.splitlines()
    assert printed[0] == "noc (rules, Asia/Shanghai): bo until 2026-11-22 09:00 CST"
    assert printed[1:3] == ["  2026-11-22 09:00 CST  ana", "  2026-11-22 21:00 CST  bo"]
    as_json = subprocess.run(
        [*command, "--at", "2026-11-22T02:00:00Z", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(),
        check=True,
    ).stdout
    assert orjson.loads(as_json)[0]["current"]["person"] == "ana"
    wrong = subprocess.run(
        [*command, "--at", "yesterday"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_environment(),
    )
    assert wrong.returncode == 2 and "yesterday" in wrong.stderr
