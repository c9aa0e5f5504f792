"""`slakeeper db stats` on SQLite and PostgreSQL: every table's rows and size, largest first."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from collector.models import DeliveryRecord
from core.database import create_database_engine, writing_session
from housekeeping.sizes import DatabaseSize, TableSize, database_size
from slakeeper.cli.database import human_bytes, stats_text
from tests.conftest import TABLES

SLAKEEPER = str(Path(".venv/bin/slakeeper").resolve())
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def fill_deliveries(database_url: str, count: int) -> None:
    engine = create_database_engine(database_url)
    with writing_session(engine) as session:
        session.execute(
            insert(DeliveryRecord),
            [
                {
                    "received_at": NOW - timedelta(seconds=i),
                    "source": "alertmanager",
                    "receiver": "slakeeper " * 20,
                    "alert_count": 1,
                }
                for i in range(count)
            ],
        )
    engine.dispose()


def stats(database_url: str, *options: str) -> str:
    result = subprocess.run(
        [SLAKEEPER, "db", "stats", "--database-url", database_url, *options],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_db_stats_lists_every_table_largest_first(database_url: str) -> None:
    fill_deliveries(database_url, 3000)
    found = json.loads(stats(database_url, "--format", "json"))

    tables = {row["table"]: row for row in found["tables"]}
    assert set(TABLES) <= set(tables)
    assert found["tables"][0]["table"] == "deliveries"
    deliveries = tables["deliveries"]
    assert 0 < deliveries["index_bytes"] < deliveries["total_bytes"]
    assert deliveries["total_bytes"] > 3000 * 180  # the receiver alone is 180 bytes a row
    sizes = [row["total_bytes"] for row in found["tables"]]
    assert sizes == sorted(sizes, reverse=True)
    assert found["total_bytes"] >= sum(sizes)
    if found["dialect"] == "sqlite":
        assert found["rows_exact"] and deliveries["rows"] == 3000
    else:  # an estimate: exact once ANALYZE has run, or counted for a table never analysed
        assert not found["rows_exact"] and deliveries["rows"] in range(0, 3001)
    assert "rows" in found["rows_note"]


def test_db_stats_prints_a_table_people_read(database_url: str) -> None:
    fill_deliveries(database_url, 10)
    text = stats(database_url)
    header, first, *_ = text.splitlines()
    assert header.split() == ["table", "rows", "size", "indexes", "share"]
    assert any(line.startswith("deliveries ") and " 10 " in line for line in text.splitlines())
    assert "rows counted exactly" in text or "pg_class.reltuples" in text


def test_rows_are_counted_exactly_when_asked(database_url: str) -> None:
    fill_deliveries(database_url, 25)
    engine = create_database_engine(database_url)
    size = database_size(engine, exact_rows=True)
    engine.dispose()
    (deliveries,) = [t for t in size.tables if t.table == "deliveries"]
    assert deliveries.rows == 25 and size.rows_exact


def test_without_dbstat_the_table_says_per_table_sizes_are_unknown() -> None:
    size = DatabaseSize("sqlite", [TableSize("alerts", 5, None, None)], True, False, 8192)
    text = stats_text(size)
    assert "alerts" in text and "8.0 KiB" in text and "no dbstat" in text
    assert [human_bytes(n) for n in (512, 1536, 5 * 2**20, 3 * 2**30, None)] == [
        "512 B",
        "1.5 KiB",
        "5.0 MiB",
        "3.0 GiB",
        "?",
    ]
