"""The signed month's actions, each applied and audited in one transaction: the API's
routes, the console's forms and the CLI call these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from access.audit import Caller, record
from core.bounds import MAX_ROW_ID, Instant, ServiceName, StorableText
from core.database import writing_session
from ledger import service, store
from ledger.delivery import enqueue_closed
from ledger.listing import adjustment_fields, dispute_fields, wire
from rules.policy import RuleFile

__all__ = [
    "AdjustmentBody",
    "CloseBody",
    "DecisionBody",
    "DisputeBody",
    "LedgerDesk",
    "ReopenBody",
    "ResolveBody",
    "adjust",
    "close",
    "decide",
    "dispute",
    "reopen",
    "resolve",
]

Text = Annotated[StorableText, Field(min_length=1, max_length=2000)]
Actor = Annotated[StorableText, Field(min_length=1, max_length=200)]
_ACTOR = Field(default=None, description="not needed: the credential says who acts")


class CloseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    services: list[ServiceName] | None = Field(
        default=None, max_length=10_000, description="every known service when absent"
    )
    actor: Actor | None = _ACTOR


class ReopenBody(CloseBody):
    reason: Text


class AdjustmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: ServiceName
    action: Literal["exclude", "shorten", "add", "accept"]
    start: Instant | None = Field(default=None, description="not for accept")
    end: Instant | None = Field(default=None, description="not for accept")
    category: Literal[
        "false_alarm",
        "customer_caused",
        "force_majeure",
        "third_party",
        "monitoring_error",
        "agreed_with_customer",
    ]
    reason: Text
    pending_change_id: Annotated[int, Field(ge=1, le=MAX_ROW_ID)] | None = Field(
        default=None, description="the change since close an accept applies"
    )
    actor: Actor | None = _ACTOR


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actor: Actor | None = _ACTOR


class DisputeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: ServiceName
    start: Instant
    end: Instant
    contact: Annotated[StorableText, Field(min_length=1, max_length=200)]
    reason: Text
    actor: Actor | None = _ACTOR


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: Text
    actor: Actor | None = _ACTOR


class RulesInForce(Protocol):
    """The rule file figures are computed with (the server's `ActiveRules`, or the one the
    CLI read back from the database)."""

    @property
    def current(self) -> RuleFile: ...


@dataclass(frozen=True, slots=True)
class LedgerDesk:
    """What the signed month's routes are bound to."""

    engine: Engine
    sessions: sessionmaker[Session]
    rules: RulesInForce
    clock: Callable[[], datetime]
    needs_approval: bool = False


def close(desk: LedgerDesk, caller: Caller, month: str, body: CloseBody) -> list[dict[str, Any]]:
    """Close `month` for the body's services; their records' fields."""
    acting, now, rules = caller.acting(body.actor), desk.clock(), desk.rules.current
    with writing_session(desk.engine) as session:
        store.remember_policy(session, rules, default_timezone=rules.timezone.key, now=now)
        records = service.close_month(
            session, rules=rules, month=month, services=body.services, actor=acting.actor, now=now
        )
        closed = [_record_fields(r) for r in records]
        # The report to the rule file's recipients, queued with the close: a crash loses none.
        enqueue_closed(session, rules=rules, month=month, actor=acting.actor, now=now)
        record(
            session,
            caller,
            action="month.close",
            at=now,
            target=f"month:{month}",
            after={"services": [r["service"] for r in closed]},
            acting=acting,
        )
    return closed


def reopen(desk: LedgerDesk, caller: Caller, month: str, body: ReopenBody) -> list[dict[str, Any]]:
    acting, now = caller.acting(body.actor), desk.clock()
    with writing_session(desk.engine) as session:
        records = service.reopen_month(
            session,
            month=month,
            services=body.services,
            reason=body.reason,
            actor=acting.actor,
            now=now,
        )
        fields = [_record_fields(r) for r in records]
        record(
            session,
            caller,
            action="month.reopen",
            at=now,
            target=f"month:{month}",
            before={"services": [r["service"] for r in fields]},
            after={"reason": body.reason},
            acting=acting,
        )
    return fields


def adjust(desk: LedgerDesk, caller: Caller, month: str, body: AdjustmentBody) -> dict[str, Any]:
    acting, now = caller.acting(body.actor), desk.clock()
    with writing_session(desk.engine) as session:
        made = service.add_adjustment(
            session,
            month=month,
            service=body.service,
            action=body.action,
            start=body.start,
            end=body.end,
            category=body.category,
            reason=body.reason,
            pending_change_id=body.pending_change_id,
            needs_approval=desk.needs_approval,
            actor=acting.actor,
            now=now,
        )
        fields = wire(adjustment_fields(made))
        record(
            session,
            caller,
            action="month.adjust",
            at=now,
            target=f"month:{month}/adjustment:{made.id}",
            after=fields,
            acting=acting,
        )
    return fields


def decide(
    desk: LedgerDesk,
    caller: Caller,
    month: str,
    adjustment_id: int,
    *,
    approve: bool,
    body: DecisionBody,
) -> dict[str, Any]:
    acting, now = caller.acting(body.actor), desk.clock()
    with writing_session(desk.engine) as session:
        decided = service.decide_adjustment(
            session,
            month=month,
            adjustment_id=adjustment_id,
            approve=approve,
            actor=acting.actor,
            now=now,
        )
        fields = wire(adjustment_fields(decided))
        record(
            session,
            caller,
            action="month.approve" if approve else "month.reject",
            at=now,
            target=f"month:{month}/adjustment:{adjustment_id}",
            before={"state": "awaiting_approval"},
            after=fields,
            acting=acting,
        )
    return fields


def dispute(desk: LedgerDesk, caller: Caller, month: str, body: DisputeBody) -> dict[str, Any]:
    acting, now = caller.acting(body.actor), desk.clock()
    with writing_session(desk.engine) as session:
        opened = service.open_dispute(
            session,
            rules=desk.rules.current,
            month=month,
            service=body.service,
            start=body.start,
            end=body.end,
            contact=body.contact,
            reason=body.reason,
            actor=acting.actor,
            now=now,
        )
        fields = wire(dispute_fields(opened))
        record(
            session,
            caller,
            action="month.dispute",
            at=now,
            target=f"month:{month}/dispute:{opened.id}",
            after=fields,
            acting=acting,
        )
    return fields


def resolve(
    desk: LedgerDesk, caller: Caller, month: str, dispute_id: int, body: ResolveBody
) -> dict[str, Any]:
    acting, now = caller.acting(body.actor), desk.clock()
    with writing_session(desk.engine) as session:
        resolved = service.resolve_dispute(
            session,
            month=month,
            dispute_id=dispute_id,
            resolution=body.resolution,
            actor=acting.actor,
            now=now,
        )
        fields = wire(dispute_fields(resolved))
        record(
            session,
            caller,
            action="month.resolve_dispute",
            at=now,
            target=f"month:{month}/dispute:{dispute_id}",
            before={"state": "open"},
            after=fields,
            acting=acting,
        )
    return fields


def _record_fields(record_: Any) -> dict[str, Any]:
    return wire(
        {
            "service": record_.service,
            "version": record_.version,
            "digest": record_.digest,
            "rules_digest": record_.rules_digest,
            "closed_at": record_.closed_at,
            "closed_by": record_.closed_by,
            "reopened_at": record_.reopened_at,
            "reopened_by": record_.reopened_by,
        }
    )
