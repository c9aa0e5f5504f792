"""Maintenance silences set in Alertmanager: `sync_silences`, which the scheduler runs.

A run reads the windows and the stored silences, lets `availability.silences` decide, asks
Alertmanager (`POST /api/v2/silences`, `DELETE /api/v2/silence/{id}`) with no transaction
open, and stores how each went. A failed request leaves its silence `failed`, with the error,
and the next run tries again.

A silence is never set twice:
- on PostgreSQL a run holds a transaction-scoped advisory lock; a replica that finds it
  taken skips its run (the other is doing the work);
- an answer can be lost after Alertmanager acted on the request (a timeout, a crash before
  the outcome is stored): before setting a silence, a run looks in Alertmanager's list for
  one slakeeper set with the same matchers, comment and end, and takes that one instead;
  before expiring an occurrence whose attempts failed, it looks for one it may have set.
Errors never quote the URL's credentials or query: a proxy's token may be in either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from availability.service import maintenance_definitions, occurrences_of
from availability.silence_listing import ListedSilence, find_live, parse_listed
from availability.silence_records import live_records, save_records
from availability.silences import (
    Action,
    SilenceDecision,
    SilenceRecord,
    SilenceState,
    WindowOccurrences,
    plan_silences,
    service_matchers,
    silence_horizon,
    window_keys,
)
from collector.alertmanager_client import alertmanager_endpoint, scrubbed_error, shown_url
from core.database import writing_session
from rules.policy import RuleFile

__all__ = ["SilenceRequestFailed", "SyncResult", "sync_silences"]

log = logging.getLogger(__name__)

# The advisory lock of a run (PostgreSQL), named as `incident.store` names its group keys.
_RUN_LOCK = "slakeeper.maintenance_silences"
_ANSWER_CHARS = 300


class SilenceRequestFailed(Exception):
    """Alertmanager could not be reached, or refused a request (`status`), or answered
    something that is not its API's."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one run did: silences created, updated and expired, occurrences whose silence
    failed (retried at the next run); `busy` if another replica's run held the lock."""

    created: int = 0
    updated: int = 0
    expired: int = 0
    failed: int = 0
    busy: bool = False


def sync_silences(
    engine: Engine,
    *,
    rules: RuleFile,
    client: httpx.Client,
    alertmanager_url: str,
    now: datetime,
) -> SyncResult:
    """Make Alertmanager's silences those of the maintenance of the day ahead.

    Raises ValueError for an Alertmanager URL that is not an http(s) URL; a database error
    propagates (nothing is stored, the next run starts over).
    """
    alertmanager = _Alertmanager(client, alertmanager_url)
    with _one_run_at_a_time(engine) as ours:
        if not ours:
            return SyncResult(busy=True)
        with Session(engine) as session:
            decisions = plan_silences(
                _windows(session, rules, now),
                matchers=service_matchers(rules),
                records=live_records(session, now=now),
                now=now,
            )
        outcomes = [(decision, *_apply(alertmanager, decision)) for decision in decisions]
        if outcomes:
            with writing_session(engine) as session:
                save_records(session, [record for _, record, _ in outcomes], now=now)
    done = [decision.action for decision, _, succeeded in outcomes if succeeded]
    return SyncResult(
        created=done.count(Action.CREATE),
        updated=done.count(Action.UPDATE),
        expired=done.count(Action.EXPIRE),
        failed=len(outcomes) - len(done),
    )


def _windows(session: Session, rules: RuleFile, now: datetime) -> list[WindowOccurrences]:
    definitions = maintenance_definitions(session, rules=rules)
    start, end = silence_horizon(now)
    return [
        WindowOccurrences(definition, key, tuple(occurrences_of(definition, rules, start, end)))
        for definition, key in zip(definitions, window_keys(definitions), strict=True)
    ]


@contextmanager
def _one_run_at_a_time(engine: Engine) -> Iterator[bool]:
    """Whether this run may go on: on PostgreSQL, if it holds the lock (until the block
    ends); SQLite has one scheduler per installation."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection, connection.begin():
        taken = connection.scalar(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:name, 0))"),
            {"name": _RUN_LOCK},
        )
        yield bool(taken)


def _apply(alertmanager: _Alertmanager, decision: SilenceDecision) -> tuple[SilenceRecord, bool]:
    """The record to store after carrying out `decision`, and whether it succeeded."""
    try:
        if decision.action is Action.EXPIRE:
            assert decision.record is not None
            _expire(alertmanager, decision.record)
            return decision.succeeded(decision.record.silence_id), True
        if decision.action is Action.REFUSE:
            if decision.record is not None:
                _expire(alertmanager, decision.record)
            log.warning("maintenance silence %s not set: %s", decision.occurrence, decision.why)
            return decision.succeeded(None), False
        return decision.succeeded(_set(alertmanager, decision)), True
    except SilenceRequestFailed as failure:
        log.warning(
            "maintenance silence %s (%s, %s) failed, retried at the next run: %s",
            decision.occurrence,
            decision.action.value,
            decision.why,
            failure,
        )
        return decision.failed(str(failure)), False


def _set(alertmanager: _Alertmanager, decision: SilenceDecision) -> str:
    """Create or update the occurrence's silence; its id."""
    planned = decision.planned
    assert planned is not None
    previous = decision.record.silence_id if decision.record is not None else None
    found = find_live(alertmanager.listed(), SilenceRecord.of(planned, SilenceState.PENDING))
    if found is not None:
        # Set by an attempt whose answer was lost: taken, not set twice.
        if previous is not None and previous != found:
            alertmanager.expire(previous)
        return found
    try:
        return alertmanager.post(planned.body(previous))
    except SilenceRequestFailed as failure:
        if previous is None or failure.status != 404:
            raise
    # Alertmanager no longer knows the silence (its data was lost): a new one.
    return alertmanager.post(planned.body())


def _expire(alertmanager: _Alertmanager, record: SilenceRecord) -> None:
    """Expire what slakeeper set in Alertmanager for `record`'s occurrence, if anything."""
    if record.state is SilenceState.EXPIRED:
        return
    expiring = [record.silence_id] if record.silence_id is not None else []
    if record.may_be_unseen:
        found = find_live(alertmanager.listed(), record)
        if found is not None and found not in expiring:
            expiring.append(found)
    for silence_id in expiring:
        alertmanager.expire(silence_id)


class _Alertmanager:
    """One run's requests to an Alertmanager. Its list of silences is read once, when first
    needed: each occurrence is decided once per run, so what the run changes later is never
    looked for in it."""

    def __init__(self, client: httpx.Client, alertmanager_url: str) -> None:
        self._client = client
        self._url = alertmanager_url
        self._silences = alertmanager_endpoint(alertmanager_url, "/api/v2/silences")
        self._listed: list[ListedSilence] | None = None
        # Once it cannot be reached, the rest of the run fails at once: an address that
        # swallows packets would otherwise cost a timeout per occurrence.
        self._unreachable: SilenceRequestFailed | None = None

    def listed(self) -> list[ListedSilence]:
        if self._listed is None:
            response = self._request("GET", self._silences)
            try:
                self._listed = parse_listed(response.content)
            except ValueError as error:
                raise SilenceRequestFailed(
                    f"Alertmanager at {shown_url(self._silences)} answered something that is "
                    f"not its API's: {error}"
                ) from None
        return self._listed

    def post(self, body: dict[str, Any]) -> str:
        """Set a silence; the id Alertmanager gives it (a new one when it replaced it)."""
        response = self._request("POST", self._silences, body)
        try:
            silence_id = orjson.loads(response.content)["silenceID"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            silence_id = None
        if not isinstance(silence_id, str) or not silence_id:
            raise SilenceRequestFailed(
                f"Alertmanager at {shown_url(self._silences)} answered without a silenceID"
            )
        return silence_id

    def expire(self, silence_id: str) -> None:
        path = f"/api/v2/silence/{quote(silence_id, safe='')}"
        try:
            self._request("DELETE", alertmanager_endpoint(self._url, path))
        except SilenceRequestFailed as failure:
            # Alertmanager 0.25 answers 500 for a silence it does not know (later ones 404).
            if failure.status is not None and self._ended(silence_id):
                return
            raise

    def _ended(self, silence_id: str) -> bool:
        listed = {silence.id: silence.state for silence in self.listed()}
        return listed.get(silence_id, "expired") == "expired"

    def _request(
        self, method: str, url: httpx.URL, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        if self._unreachable is not None:
            raise SilenceRequestFailed(str(self._unreachable))
        try:
            response = self._client.request(method, url, json=body)
        except httpx.HTTPError as error:
            self._unreachable = SilenceRequestFailed(
                f"cannot reach Alertmanager at {shown_url(url)}: {scrubbed_error(error, url)}"
            )
            # `from None`: a chained traceback would show the request, credentials included.
            raise self._unreachable from None
        if not response.is_success:
            raise SilenceRequestFailed(
                f"Alertmanager at {shown_url(url)} answered HTTP {response.status_code}: "
                f"{_reason(response)}",
                response.status_code,
            )
        return response


def _reason(response: httpx.Response) -> str:
    # Alertmanager's refusals are a JSON string ("Failed to create silence: ...").
    answer = response.text.strip()
    try:
        decoded = orjson.loads(answer)
    except orjson.JSONDecodeError:
        decoded = answer
    reason = decoded if isinstance(decoded, str) else answer
    return " ".join(reason.split())[:_ANSWER_CHARS] or "(no text)"
