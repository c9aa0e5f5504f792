"""What the databases can hold: instants, texts and identifiers both databases store alike.

A value a source may send but one of the databases cannot store must be refused at the edge
(422, nothing written) or be made storable by construction, never fail in the transaction:
a 500 makes Alertmanager resend the whole group forever.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

__all__ = [
    "EARLIEST",
    "GROUP_KEY_MAX_BYTES",
    "LATEST",
    "MAX_ROW_ID",
    "SERVICE_MAX_BYTES",
    "Instant",
    "ServiceName",
    "StorableText",
    "bounded_identifier",
    "bounded_instant",
    "service_name",
    "storable_text",
]

# Go's and Prometheus' times are int64 nanoseconds from the Unix epoch, as are pandas'
# timestamps, which the report computes with: nothing outside this range is a real alert.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2262, 4, 11, tzinfo=UTC)
# Row ids are BIGINT on PostgreSQL and INTEGER (64-bit) on SQLite.
MAX_ROW_ID = 2**63 - 1
# Identifiers derived from label values are index keys: PostgreSQL refuses an index entry past
# about 2.7 kB. Longer label values are kept whole in the labels; the identifier is shortened.
SERVICE_MAX_BYTES = 1024
GROUP_KEY_MAX_BYTES = 2048


def bounded_instant(value: datetime) -> datetime:
    """`value` in UTC, if it lies in [EARLIEST, LATEST); else ValueError."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(
            f"{value.isoformat()} is out of range: timestamps must lie between "
            f"{EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)"
        )
    return utc


def storable_text(value: str) -> str:
    """`value`, unless it holds what PostgreSQL's text cannot: NUL, or a lone surrogate."""
    if "\x00" in value:
        raise ValueError("must not contain a NUL character (U+0000)")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode (a lone surrogate is not)") from None
    return value


def bounded_identifier(value: str, limit_bytes: int) -> str:
    """`value` if its UTF-8 form fits `limit_bytes`, else a shortened, still distinct form.

    Identifiers derived from label values (a service, a group key) are keys of indexes,
    which PostgreSQL caps at about 2.7 kB; the labels themselves are kept whole.
    """
    if len(value) * 4 <= limit_bytes:
        return value
    encoded = value.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit_bytes:
        return value
    digest = hashlib.sha256(encoded).hexdigest()[:16]
    suffix = f"…~{digest}"
    room = limit_bytes - len(suffix.encode())
    prefix = encoded[:room].decode("utf-8", "ignore")
    return prefix + suffix


def service_name(value: str) -> str:
    """`value` if it can name a service: storable, not empty, at most SERVICE_MAX_BYTES."""
    storable_text(value)
    if not value:
        raise ValueError("must not be empty")
    if len(value.encode("utf-8")) > SERVICE_MAX_BYTES:
        raise ValueError(f"must be at most {SERVICE_MAX_BYTES} bytes in UTF-8")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(bounded_instant)]
StorableText = Annotated[str, AfterValidator(storable_text)]
ServiceName = Annotated[str, AfterValidator(service_name)]
