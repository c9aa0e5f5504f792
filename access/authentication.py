"""Who a request comes from: a token (from the settings or the database), a console session
cookie, or a trusted proxy's user header; the implicit local admin of an installation with no
credentials, on loopback only.

In-memory checks run on the event loop (a push with a configured token touches no database);
anything that reads the database runs in a worker thread, behind short caches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs

from fastapi import Request
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from access.accounts import find_account, principal_of
from access.credentials import digest, token_lookup
from access.models import Account, ApiToken
from access.proxies import TrustedProxies
from access.roles import INGEST, Kind, Principal
from access.sessions import Lifetimes, OpenSession, find_session, touch_session
from access.tokens import Verified, touch_token, verify_token
from core.auth import presented_token
from core.database import error_summary, writing_session

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "AccessConfig",
    "Authenticator",
    "CrossSiteRefused",
    "Unauthenticated",
    "cross_site",
]

log = logging.getLogger(__name__)

COOKIE = "slakeeper_session"
CSRF_HEADER = "X-CSRF-Token"
# A console form carries the token as this field instead.
CSRF_FIELD = "csrf_token"
FORM = "application/x-www-form-urlencoded"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# How long a verified database token, and whether any credential exists, are remembered:
# a token revoked on another replica is refused at most this long after.
TOKEN_CACHE_SECONDS = 10.0
EXISTENCE_CACHE_SECONDS = 5.0


class Unauthenticated(Exception):
    """No credential, or one that is unknown, revoked, expired or ended: 401."""


class CrossSiteRefused(Exception):
    """A cookie- or proxy-authenticated write without proof it came from slakeeper's own
    pages: 403."""


@dataclass(frozen=True, slots=True)
class AccessConfig:
    """How an installation authenticates, built from its settings.

    `configured`: the tokens from the settings, by their SHA-256. `anonymous`: whether an
    installation without credentials lets requests in as the local admin (on loopback, or
    with `--insecure`). `proxy_header`: the user header of `proxies`, ignored from anyone else.
    """

    configured: Mapping[str, Principal]
    anonymous: bool
    proxies: TrustedProxies
    proxy_header: str | None
    lifetimes: Lifetimes
    cookie_secure: bool | None = None
    metrics_need_credential: bool = False


class Authenticator:
    """Finds the principal of each request; shared by every route of one application."""

    def __init__(
        self,
        config: AccessConfig,
        engine: Engine,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.engine = engine
        self.sessions = sessions
        self.clock = clock
        self._tokens: dict[str, tuple[float, Verified]] = {}
        # One thread writes last uses, in order; a backlog never holds a request.
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="access")
        self._exists: dict[str, tuple[float, bool]] = {}
        kinds = {principal.may_ingest for principal in config.configured.values()}
        self._configured_ingest = True in kinds
        self._configured_api = any(p.role for p in config.configured.values())

    def forget(self) -> None:
        """Drop what is cached: after a token, session or account changed here."""
        self._tokens.clear()
        self._exists.clear()

    def address(self, request: Request) -> str | None:
        """The caller's address, behind trusted proxies the one they forwarded."""
        peer = request.client.host if request.client else None
        return self.config.proxies.client(peer, request.headers.get("x-forwarded-for"))

    async def authenticate(self, request: Request) -> Principal | None:
        """The principal of the request's credential, or None if it presents none.

        Unauthenticated for a credential that is not (or no longer) valid, unless the
        installation has none at all and lets requests in anonymously; CrossSiteRefused for a
        cookie- or proxy-authenticated write that may come from another site.
        """
        token = presented_token(request.headers.get("authorization"))
        if token is not None:
            return await self._token_principal(token)
        cookie = request.cookies.get(COOKIE)
        if cookie:
            return await self._session_principal(request, cookie)
        header = self.config.proxy_header
        if header and request.headers.get(header) is not None:
            peer = request.client.host if request.client else None
            if self.config.proxies.trusts(peer):
                return await self._proxy_principal(request, request.headers[header])
        return None

    async def open_to_anyone(self, *, ingest: bool) -> bool:
        """Whether requests without credentials get in: anonymous allowed here, and no
        credential of that kind (API or ingest) configured or ever stored."""
        if not self.config.anonymous:
            return False
        if self._configured_ingest if ingest else self._configured_api:
            return False
        kind = INGEST if ingest else "api"
        cached = self._exists.get(kind)
        if cached is not None and time.monotonic() - cached[0] < EXISTENCE_CACHE_SECONDS:
            return not cached[1]
        exists = await run_in_threadpool(self._credentials_exist, ingest)
        self._exists[kind] = (time.monotonic(), exists)
        return not exists

    def _credentials_exist(self, ingest: bool) -> bool:
        with self.sessions() as session:
            # Disabled accounts and revoked tokens count: disabling the last admin, or
            # revoking the last ingest token, must not open the door to anyone.
            if ingest:
                statement = select(ApiToken.id).where(ApiToken.scope == INGEST)
            else:
                statement = select(Account.id).where(Account.role.is_not(None))
            return session.execute(statement.limit(1)).first() is not None

    async def _token_principal(self, token: str) -> Principal:
        hashed = digest(token)
        configured = self.config.configured.get(hashed)
        if configured is not None:
            return configured
        if token_lookup(token) is None:
            raise Unauthenticated("the token is not one slakeeper issued or was configured with")
        now = self.clock()
        cached = self._tokens.get(hashed)
        if cached is not None and time.monotonic() - cached[0] < TOKEN_CACHE_SECONDS:
            verified: Verified | None = cached[1]
        else:
            verified = await run_in_threadpool(self._verify, token, now)
            if verified is not None:
                self._tokens[hashed] = (time.monotonic(), verified)
        if verified is None or (verified.expires_at is not None and verified.expires_at <= now):
            self._tokens.pop(hashed, None)
            raise Unauthenticated("the token is unknown, revoked or expired")
        return verified.principal

    def _verify(self, token: str, now: datetime) -> Verified | None:
        with self.sessions() as session:
            verified = verify_token(session, token, now=now)
        if verified is not None and verified.stale_use and verified.principal.token_id:
            self._note_use(touch_token, verified.principal.token_id, now)
        return verified

    def _note_use(self, touch: Callable[..., None], row_id: int, now: datetime) -> None:
        """Write a token's last use in the background: a push does not wait for the writer
        (on SQLite, behind the ingestion batches) to have it noted."""
        self._background.submit(self._write_use, touch, row_id, now)

    def _write_use(self, touch: Callable[..., None], row_id: int, now: datetime) -> None:
        try:
            with writing_session(self.engine) as session:
                touch(session, row_id, now=now)
        except SQLAlchemyError as error:
            log.warning("could not note the last use of a token: %s", error_summary(error))

    def close(self) -> None:
        """Finish writing the last uses noted so far."""
        self._background.shutdown(wait=True)

    async def _session_principal(self, request: Request, cookie: str) -> Principal:
        found = await run_in_threadpool(self._find_session, cookie, self.clock())
        if found is None:
            raise Unauthenticated("the session has ended: log in again")
        if request.method in _UNSAFE:
            presented = request.headers.get(CSRF_HEADER) or await _form_token(request)
            if (
                cross_site(request, self.config.proxies)
                or presented is None
                or presented != found.csrf_token
            ):
                raise CrossSiteRefused(
                    f"a write with a session cookie needs the session's {CSRF_HEADER} header "
                    f"(or a form's {CSRF_FIELD} field), from slakeeper's own pages"
                )
        return found.principal

    def _find_session(self, cookie: str, now: datetime) -> OpenSession | None:
        with self.sessions() as session:
            found = find_session(session, cookie, lifetimes=self.config.lifetimes, now=now)
        # Written before the answer: the idle time a person's next request is judged by.
        if found is not None and found.stale_seen and found.principal.session_id:
            with writing_session(self.engine) as session:
                touch_session(session, found.principal.session_id, now=now)
        return found

    async def _proxy_principal(self, request: Request, username: str) -> Principal:
        if request.method in _UNSAFE and cross_site(request, self.config.proxies):
            raise CrossSiteRefused("a write from another site is refused")
        account = await run_in_threadpool(self._find_person, username.strip())
        if account is None:
            raise Unauthenticated(
                f"the proxy signed in {username.strip()!r}, who has no active account here: "
                "an admin adds them with `slakeeper users add`"
            )
        return principal_of(account, method="proxy")

    def _find_person(self, username: str) -> Account | None:
        with self.sessions() as session:
            account = find_account(session, username)
        if account is None or not account.active or account.kind != Kind.PERSON.value:
            return None
        return account


async def _form_token(request: Request) -> str | None:
    """The `csrf_token` field of a console form (the body is read once and kept)."""
    if not request.headers.get("content-type", "").startswith(FORM):
        return None
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    values = fields.get(CSRF_FIELD)
    return values[0] if values else None


def cross_site(request: Request, proxies: TrustedProxies) -> bool:
    """Whether a browser says the request comes from another site (Fetch Metadata), or its
    Origin is not the host it is sent to."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return False
    host = request.headers.get("host")
    peer = request.client.host if request.client else None
    if proxies.trusts(peer):
        host = request.headers.get("x-forwarded-host") or host
    return origin == "null" or origin.split("://", 1)[-1] != host
