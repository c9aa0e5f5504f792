"""The bodies of the incident routes: a manual report, lifecycle actions, notes and
reclassification. `actor` is optional everywhere: the credential says who acts."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from core.bounds import Instant, ServiceName, StorableText
from rules.schema import NAME_MAX_LENGTH, Category, Impact

__all__ = [
    "ActionBody",
    "Channel",
    "CloseBody",
    "NoteBody",
    "ReclassifyBody",
    "ReportBody",
]

Name = Annotated[StorableText, Field(min_length=1, max_length=200)]
RuleName = Annotated[StorableText, Field(min_length=1, max_length=NAME_MAX_LENGTH)]
Note = Annotated[StorableText, Field(min_length=1, max_length=10_000)]
Title = Annotated[StorableText, Field(min_length=1, max_length=500)]
_ACTOR = (
    "not needed: the credential says who acts. A service account allowed to act on behalf "
    "of people names the person here (both are recorded); anyone else naming another is refused"
)


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    PORTAL = "portal"
    CHAT = "chat"
    OTHER = "other"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportBody(_Body):
    """A manual incident; `started_at` is when the problem began, if earlier than now."""

    title: Title
    service: ServiceName
    priority: RuleName
    impact: Impact = Impact.NONE
    category: Category = Category.OTHER
    reporter: Name
    channel: Channel
    level: RuleName | None = None
    started_at: Instant | None = None
    actor: Name | None = Field(default=None, description=_ACTOR)


class ActionBody(_Body):
    actor: Name | None = Field(default=None, description=_ACTOR)
    note: Note | None = None


class CloseBody(ActionBody):
    confirmed_by: Name = Field(description="who confirmed the resolution")


class NoteBody(_Body):
    actor: Name | None = Field(default=None, description=_ACTOR)
    note: Note


class ReclassifyBody(ActionBody):
    priority: RuleName | None = None
    category: Category | None = None
    impact: Impact | None = None
    service: ServiceName | None = None
    title: Title | None = None
