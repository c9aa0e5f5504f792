"""`POST /-/reload`: load the rule file again, as Prometheus and Alertmanager do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from core.errors import ApiError
from core.security import require_token
from rules.loader import RuleFileError
from rules.reloading import ActiveRules

__all__ = ["create_router"]


def create_router(*, rules: ActiveRules, api_tokens: Sequence[str]) -> APIRouter:
    """The reload route; it needs an API token when API tokens are configured."""
    router = APIRouter(tags=["operations"])

    @router.post(
        "/-/reload",
        dependencies=[Depends(require_token(api_tokens, "API"))],
        summary="Reload the rule file; an invalid file keeps the rules in force (422)",
    )
    async def reload() -> dict[str, Any]:
        try:
            loaded = await run_in_threadpool(rules.reload)
        except RuleFileError as error:
            raise ApiError(
                422,
                "invalid_rules",
                f"{error.source} is invalid; the previous rules stay in force",
                details=[problem.format(error.source) for problem in error.problems],
            ) from None
        return {
            "status": "reloaded",
            "source": loaded.source,
            "services": len(loaded.spec.services),
            "rules": len(loaded.spec.rules),
        }

    return router
