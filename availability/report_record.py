"""The signed month in the compliance report: its state and digests, its adjustments,
disputes and changes since close, and the methodology its figures follow, worded for the
template."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from availability.compliance import ComplianceReport
from availability.report_words import DASH, Words, missing

__all__ = [
    "adjustment_rows",
    "credit",
    "dispute_rows",
    "methodology",
    "month_record",
    "pending_rows",
]


def _text(value: Any) -> str:
    return DASH if missing(value) or value == "" else str(value)


def _id(value: Any) -> str:
    return DASH if missing(value) else str(int(value))


def _window(words: Words, start: Any, end: Any) -> str:
    return f"{words.time(start)} – {words.time(end)}"


def _who_when(words: Words, who: Any, when: Any) -> dict[str, str] | None:
    if missing(who) and missing(when):
        return None
    return {"who": _text(who), "when": words.time(when)}


def month_record(report: ComplianceReport, words: Words) -> dict[str, Any]:
    """The month's state, who closed it and when (the last close), and its digests."""
    record, services = report.record, report.services
    closed = services[services["month_state"] == "closed"]
    closers = sorted({str(name) for name in closed["closed_by"] if not missing(name)})
    closed_at = pd.to_datetime(closed["closed_at"], utc=True).dropna()
    return {
        "state": record.state,
        "state_words": words.word("month_state", record.state),
        "closed_by": ", ".join(closers),
        "closed_at": words.time(closed_at.max()) if len(closed_at) else "",
        "digest": record.digest,
        "rules_digest": record.rules_digest,
    }


def adjustment_rows(frame: pd.DataFrame, words: Words) -> list[dict[str, Any]]:
    """Each adjustment: who asked and when, why, who approved, and its effect."""
    return [
        {
            "id": _id(row["id"]),
            "service": _text(row["service"]),
            "action": words.word("action", row["action"]),
            "window": _window(words, row["start"], row["end"]),
            "category": words.word("category", row["category"]),
            "reason": _text(row["reason"]),
            "state": words.word("adjustment_state", row["state"]),
            "created": _who_when(words, row["created_by"], row["created_at"]),
            "approved": _who_when(words, row["approved_by"], row["approved_at"]),
            "effect_seconds": words.signed_seconds(row["effect_seconds"]),
            "effect_duration": words.duration(row["effect_seconds"]),
            "effect_ratio": words.points(row["effect_ratio"]),
        }
        for row in frame.to_dict("records")
    ]


def dispute_rows(frame: pd.DataFrame, words: Words) -> list[dict[str, Any]]:
    """Each disputed window, the open ones first."""
    rows: list[dict[str, Any]] = frame.to_dict("records")
    rows.sort(key=lambda row: row["state"] != "open")
    return [
        {
            "id": _id(row["id"]),
            "service": _text(row["service"]),
            "window": _window(words, row["start"], row["end"]),
            "contact": _text(row["contact"]),
            "reason": _text(row["reason"]),
            "open": row["state"] == "open",
            "state": words.word("dispute_state", row["state"]),
            "opened": _who_when(words, row["opened_by"], row["opened_at"]),
            "resolved": _who_when(words, row["resolved_by"], row["resolved_at"]),
            "resolution": _text(row["resolution"]),
        }
        for row in rows
    ]


def pending_rows(frame: pd.DataFrame, words: Words) -> list[dict[str, Any]]:
    """What recomputing the closed month gives now, against its stored figures."""
    return [
        {
            "id": _id(row["id"]),
            "service": _text(row["service"]),
            "detected_at": words.time(row["detected_at"]),
            "downtime": words.signed_seconds(row["downtime_delta_seconds"]),
            "maintenance": words.signed_seconds(row["maintenance_delta_seconds"]),
            "unknown": words.signed_seconds(row["unknown_delta_seconds"]),
            "ratio": words.points(row["ratio_delta"]),
            "state": words.word("pending_state", row["state"]),
        }
        for row in frame.to_dict("records")
    ]


def methodology(report: ComplianceReport, words: Words) -> dict[str, Any]:
    """What the methodology section states: degraded weight, credit tiers, time zones (every
    key of the record's policy is optional)."""
    policy: Mapping[str, Any] = report.record.policy or {}
    credits = policy.get("credits")
    credits = credits if isinstance(credits, Mapping) else {}
    zones = sorted({str(zone) for zone in report.services["timezone"] if not missing(zone)})
    return {
        "degraded_weight": _number(policy.get("degraded_weight")),
        "tiers": _tiers(credits.get("tiers"), words),
        "max_credit": _fee_share(credits.get("max_ratio"), words),
        "timezone": str(policy.get("timezone") or report.timezone),
        "service_zones": zones,
    }


def _float(value: Any) -> float | None:
    try:
        return None if missing(value) else float(value)
    except (TypeError, ValueError):
        return None


def _number(value: Any) -> str | None:
    number = _float(value)
    return None if number is None else f"{number:g}"


def _fee_share(value: Any, words: Words) -> str | None:
    """A share of the monthly fee with the decimals it needs: "10 %", "2.5 %"."""
    ratio = _float(value)
    if ratio is None:
        return None
    return words.percent(f"{ratio * 100:.4f}".rstrip("0").rstrip("."))


def _tiers(tiers: Any, words: Words) -> list[dict[str, str]]:
    """The credit tiers, highest threshold first; a tier without both figures is left out."""
    if not isinstance(tiers, list | tuple):
        return []
    rows = []
    for tier in tiers:
        if not isinstance(tier, Mapping):
            continue
        below, share = _float(tier.get("below_ratio")), _fee_share(tier.get("credit_ratio"), words)
        if below is not None and share is not None:
            rows.append((below, {"below": words.target(below), "credit": share}))
    return [row for _, row in sorted(rows, key=lambda pair: -pair[0])]


def credit(value: Any, words: Words) -> str:
    """A service's credit as a share of its monthly fee; "—" when it has none stated."""
    return _fee_share(value, words) or DASH
