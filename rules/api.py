"""`POST /-/reload`: load the rule file again, as Prometheus and Alertmanager do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from access.audit import Caller, record
from access.guard import Admin
from core.binding import StateSlot
from core.database import writing_session
from core.errors import ErrorStatus, ErrorTable, error_responses
from core.responses import JSONBody
from rules.loader import RuleFileError
from rules.policy import RuleFile
from rules.reloading import ActiveRules
from rules.resources import Reloaded

__all__ = ["ERRORS", "RuleReloading", "install", "router"]

ERRORS: ErrorTable = {
    RuleFileError: ErrorStatus(
        422,
        "invalid_rules",
        message=lambda error: f"{error.source} is invalid; the previous rules stay in force",
        details=lambda error: [problem.format(error.source) for problem in error.problems],
    ),
}


@dataclass(frozen=True, slots=True)
class RuleReloading:
    """What the reload route is bound to: the rules in force, and where reloads are audited."""

    rules: ActiveRules
    engine: Engine
    clock: Callable[[], datetime]

    def reload(self, caller: Caller) -> RuleFile:
        """Load the rule file again; the attempt, taken or refused, is an audit event."""
        before = _summary(self.rules.current)
        try:
            loaded = self.rules.reload()
        except RuleFileError as error:
            self._audit(caller, before, {"problems": len(error.problems)}, "refused")
            raise
        self._audit(caller, before, _summary(loaded), "ok")
        return loaded

    def _audit(
        self, caller: Caller, before: dict[str, Any], after: dict[str, Any], outcome: str
    ) -> None:
        with writing_session(self.engine) as session:
            record(
                session,
                caller,
                action="rules.reload",
                at=self.clock(),
                target=f"rules:{before['source']}",
                before=before,
                after=after,
                outcome=outcome,
            )


def _summary(rules: RuleFile) -> dict[str, Any]:
    return {
        "source": rules.source,
        "services": len(rules.spec.services),
        "rules": len(rules.spec.rules),
    }


_SLOT = StateSlot[RuleReloading]("rule_reloading")


def install(app: FastAPI, reloading: RuleReloading) -> None:
    """Serve the reload route in `app`; it needs an admin."""
    _SLOT.put(app, reloading)
    app.include_router(router)


router = APIRouter(tags=["operations"])


@router.post(
    "/-/reload",
    summary="Reload the rule file; an invalid file keeps the rules in force (422)",
    response_model=Reloaded,
    responses=error_responses(400, 401, 403, 422, 503),
)
async def reload(reloading: Annotated[RuleReloading, Depends(_SLOT)], caller: Admin) -> Response:
    loaded = await run_in_threadpool(reloading.reload, caller)
    return JSONBody(
        {
            "status": "reloaded",
            "source": loaded.source,
            "services": len(loaded.spec.services),
            "rules": len(loaded.spec.rules),
        }
    )
