"""Token checks for routes: ingest tokens for pushes, API tokens for writes and reloads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from fastapi import Header

from core.auth import presented_token, token_accepted
from core.errors import ApiError

__all__ = ["require_token"]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="slakeeper", Basic realm="slakeeper"'}


def require_token(tokens: Sequence[str], kind: str) -> Callable[..., Awaitable[None]]:
    """A route dependency: with `tokens` configured, the request must present one (401)."""

    async def dependency(authorization: Annotated[str | None, Header()] = None) -> None:
        if tokens and not token_accepted(presented_token(authorization), tokens):
            raise ApiError(
                401,
                "unauthorized",
                f"a valid {kind} token is required (Authorization: Bearer, or basic auth)",
                headers=_CHALLENGE,
            )

    return dependency
