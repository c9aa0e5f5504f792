"""`POST /-/reload`: load the rule file again, as Prometheus and Alertmanager do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Response
from starlette.concurrency import run_in_threadpool

from core.binding import StateSlot
from core.errors import ErrorStatus, ErrorTable, error_responses
from core.responses import JSONBody
from core.security import require_token_of
from rules.loader import RuleFileError
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
    """What the reload route is bound to: the rules in force and the API tokens."""

    rules: ActiveRules
    api_tokens: Sequence[str]


_SLOT = StateSlot[RuleReloading]("rule_reloading")


def install(app: FastAPI, reloading: RuleReloading) -> None:
    """Serve the reload route in `app`; it needs an API token when API tokens are set."""
    _SLOT.put(app, reloading)
    app.include_router(router)


router = APIRouter(tags=["operations"])


@router.post(
    "/-/reload",
    dependencies=[Depends(require_token_of(lambda request: _SLOT.of(request).api_tokens, "API"))],
    summary="Reload the rule file; an invalid file keeps the rules in force (422)",
    response_model=Reloaded,
    responses=error_responses(400, 401, 422),
)
async def reload(reloading: Annotated[RuleReloading, Depends(_SLOT)]) -> Response:
    loaded = await run_in_threadpool(reloading.rules.reload)
    return JSONBody(
        {
            "status": "reloaded",
            "source": loaded.source,
            "services": len(loaded.spec.services),
            "rules": len(loaded.spec.rules),
        }
    )
