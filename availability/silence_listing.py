"""What Alertmanager's `GET /api/v2/silences` answers, read; and slakeeper's silence of an
occurrence found in it (to take a silence an attempt set although its answer was lost).

Pure: bytes in, values out. Checked against the real Alertmanager 0.25
(tests/fixtures/alertmanager_v2_silences.json).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from availability.silences import CREATED_BY, SilenceRecord, matchers_text
from rules.matchers import MatchOp

__all__ = ["ListedSilence", "find_live", "parse_listed"]

# The rule file's operator of each of Alertmanager's (isRegex, isEqual).
_OP_OF_FLAGS = {
    (False, True): MatchOp.EQUAL,
    (False, False): MatchOp.NOT_EQUAL,
    (True, True): MatchOp.REGEX,
    (True, False): MatchOp.NOT_REGEX,
}


class _ListedModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _ListedMatcher(_ListedModel):
    name: str
    value: str
    is_regex: bool = Field(alias="isRegex")
    is_equal: bool = Field(default=True, alias="isEqual")  # absent before Alertmanager 0.22


class _ListedStatus(_ListedModel):
    state: str


class _ListedSilence(_ListedModel):
    id: str
    status: _ListedStatus
    matchers: list[_ListedMatcher]
    ends_at: AwareDatetime = Field(alias="endsAt")
    created_by: str = Field(default="", alias="createdBy")
    comment: str = ""


_LISTED = TypeAdapter(list[_ListedSilence])


@dataclass(frozen=True, slots=True)
class ListedSilence:
    """One silence of Alertmanager's `GET /api/v2/silences`."""

    id: str
    state: str  # pending, active or expired
    matchers: str  # as `matchers_text`
    ends_at: datetime
    created_by: str
    comment: str


def parse_listed(body: bytes) -> list[ListedSilence]:
    """Alertmanager's silences; ValueError for an answer that is not its API's."""
    try:
        listed = _LISTED.validate_json(body)
    except ValidationError as error:
        first = error.errors(include_input=False)[0]
        where = ".".join(map(str, first["loc"])) or "(body)"
        raise ValueError(f"not a list of silences: {where}: {first['msg']}") from None
    return [
        ListedSilence(
            id=silence.id,
            state=silence.status.state,
            matchers=matchers_text(
                (m.name, _OP_OF_FLAGS[(m.is_regex, m.is_equal)], m.value) for m in silence.matchers
            ),
            ends_at=silence.ends_at.astimezone(UTC),
            created_by=silence.created_by,
            comment=silence.comment,
        )
        for silence in listed
    ]


def find_live(listed: Iterable[ListedSilence], record: SilenceRecord) -> str | None:
    """The id of a silence slakeeper set for `record`'s occurrence that has not expired: the
    same matchers, comment and end (to the millisecond, as Alertmanager lists it)."""
    for silence in listed:
        if (
            silence.created_by == CREATED_BY
            and silence.state != "expired"
            and silence.comment == record.comment
            and silence.matchers == record.matchers
            and _millis(silence.ends_at) == _millis(record.ends_at)
        ):
            return silence.id
    return None


def _millis(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
