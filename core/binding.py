"""What a domain's routes are bound to, kept in `app.state`: put once by the domain's
`install`, read by each route as a dependency."""

from __future__ import annotations

from typing import Generic, TypeVar, cast

from fastapi import FastAPI, Request

__all__ = ["StateSlot"]

T = TypeVar("T")


class StateSlot(Generic[T]):
    """One object in `app.state` under `name`; the slot itself is the route dependency
    (async, so FastAPI calls it on the event loop instead of in a worker thread)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def put(self, app: FastAPI, value: T) -> None:
        setattr(app.state, self.name, value)

    def of(self, request: Request) -> T:
        return cast(T, getattr(request.app.state, self.name))

    async def __call__(self, request: Request) -> T:
        return self.of(request)
