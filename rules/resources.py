"""What the rule reload route answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["Reloaded"]


class Reloaded(BaseModel):
    """The rule file now in force."""

    status: Literal["reloaded"]
    source: str = Field(description="where the rules were read from")
    services: int
    rules: int
