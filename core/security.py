"""Token checks for routes: ingest tokens for pushes, API tokens for writes and reloads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import Header, Request

from core.auth import presented_token, token_accepted
from core.errors import ApiError

__all__ = ["require_token_of"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="slakeeper", Basic realm="slakeeper"'}


def require_token_of(
    tokens: Callable[[Request], Sequence[str]], kind: str
) -> Callable[..., Awaitable[None]]:
    """A route dependency: with the tokens of the application serving the request
    configured (`tokens`), the request must present one (401)."""

    async def dependency(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> None:
        accepted = tokens(request)
        if accepted and not token_accepted(presented_token(authorization), accepted):
            raise ApiError(
                401,
                "unauthorized",
                f"a valid {kind} token is required (Authorization: Bearer, or basic auth)",
                headers=_CHALLENGE,
            )

    return dependency
