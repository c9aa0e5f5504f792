"""`slakeeper users add|list|disable` and `slakeeper tokens create|list|revoke`.

They work on the database directly (SQLite or PostgreSQL), so the first admin can be made
before anyone can sign in. Each change is an audit event by `cli:<the OS user>`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from access.accounts import (
    LANGUAGES,
    AccountExists,
    InvalidAccount,
    NewAccount,
    account_fields,
    create_account,
    find_account,
    list_accounts,
    update_account,
)
from access.audit import record
from access.roles import Kind, Role
from access.tokens import TokenNotFound, issue_token, list_tokens, revoke_token, token_fields
from core.database import create_database_engine, writing_session
from slakeeper.cli.options import DATABASE_URL, Commands
from slakeeper.cli.preflight import CommandError, cli_caller, prepare_database, settings_from

__all__ = ["add_parsers"]

_SCOPES = [role.value for role in Role] + ["ingest"]


def add_parsers(commands: Commands) -> None:
    """The `users` and `tokens` verbs."""
    users = commands.add_parser("users", help="people and service accounts")
    verbs = users.add_subparsers(dest="users_command", required=True)
    add = verbs.add_parser("add", help="add a person or a service account", parents=[DATABASE_URL])
    add.add_argument("username")
    add.add_argument("--role", choices=[role.value for role in Role])
    add.add_argument("--service", action="store_true", help="a service account (a tool)")
    add.add_argument("--may-ingest", action="store_true", help="service: may push alerts")
    add.add_argument(
        "--may-act-for", action="store_true", help="service: may act on behalf of people"
    )
    add.add_argument("--display-name", default="")
    add.add_argument("--email")
    add.add_argument("--phone")
    add.add_argument("--timezone")
    add.add_argument("--language", choices=LANGUAGES, default="en")
    add.add_argument(
        "--password",
        action="store_true",
        help="set a password: asked twice on a terminal, else the first line of stdin",
    )
    add.set_defaults(handler=users_add)
    listing = verbs.add_parser("list", help="list accounts", parents=[DATABASE_URL])
    listing.set_defaults(handler=users_list)
    disable = verbs.add_parser(
        "disable",
        help="disable an account: its tokens and sessions stop working",
        parents=[DATABASE_URL],
    )
    disable.add_argument("username")
    disable.set_defaults(handler=users_disable)

    tokens = commands.add_parser("tokens", help="API tokens")
    token_verbs = tokens.add_subparsers(dest="tokens_command", required=True)
    create = token_verbs.add_parser(
        "create", help="issue a token (printed once, on stdout)", parents=[DATABASE_URL]
    )
    create.add_argument("--user", required=True, help="whose token")
    create.add_argument("--name", required=True, help="what it is for, e.g. alertmanager-prod")
    create.add_argument("--scope", choices=_SCOPES, help="default: the account's role, or ingest")
    create.add_argument("--expires-in-days", type=float, help="default: never")
    create.set_defaults(handler=tokens_create)
    token_list = token_verbs.add_parser("list", help="list tokens", parents=[DATABASE_URL])
    token_list.add_argument("--user")
    token_list.set_defaults(handler=tokens_list)
    revoke = token_verbs.add_parser("revoke", help="revoke a token", parents=[DATABASE_URL])
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(handler=tokens_revoke)


_CLI = cli_caller(Role.ADMIN)


@contextmanager
def _writing(args: argparse.Namespace) -> Iterator[Session]:
    settings = settings_from(args, ("database_url",))
    prepare_database(settings.database_url)
    engine = create_database_engine(settings.database_url)
    try:
        with writing_session(engine) as session:
            yield session
    except (InvalidAccount, AccountExists, TokenNotFound) as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()


def _password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise CommandError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def users_add(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    new = NewAccount(
        username=args.username,
        kind=Kind.SERVICE if args.service else Kind.PERSON,
        role=Role(args.role) if args.role else None,
        display_name=args.display_name,
        email=args.email,
        phone=args.phone,
        timezone=args.timezone,
        language=args.language,
        may_ingest=args.may_ingest,
        may_act_for=args.may_act_for,
        password=_password() if args.password else None,
    )
    with _writing(args) as session:
        account = create_account(session, new, by=_CLI.principal.name, now=now)
        fields = account_fields(account)
        target = f"user:{account.username}"
        record(session, _CLI, action="user.create", at=now, target=target, after=fields)
    print(f"added {new.kind.value} {new.username} ({new.role.value if new.role else 'no role'})")


def users_list(args: argparse.Namespace) -> None:
    with _writing(args) as session:
        accounts = [account_fields(account) for account in list_accounts(session)]
    print(f"{'USERNAME':24} {'KIND':8} {'ROLE':9} {'ACTIVE':6} {'PASSWORD':8} NAME")
    for a in accounts:
        print(
            f"{a['username']:24} {a['kind']:8} {a['role'] or '-':9} "
            f"{'yes' if a['active'] else 'no':6} {'yes' if a['has_password'] else 'no':8} "
            f"{a['display_name']}"
        )


def users_disable(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    with _writing(args) as session:
        account = find_account(session, args.username)
        if account is None:
            raise CommandError(f"no account named {args.username!r}")
        before, after = update_account(session, account, {"active": False}, now=now)
        target = f"user:{account.username}"
        record(
            session, _CLI, action="user.update", at=now, target=target, before=before, after=after
        )
    print(f"disabled {args.username}")


def tokens_create(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    expires_at = now + timedelta(days=args.expires_in_days) if args.expires_in_days else None
    with _writing(args) as session:
        account = find_account(session, args.user)
        if account is None:
            raise CommandError(f"no account named {args.user!r}")
        token, text = issue_token(
            session,
            account,
            name=args.name,
            scope=args.scope,
            expires_at=expires_at,
            by=_CLI.principal.name,
            now=now,
        )
        fields = token_fields(token, account.username, now=now)
        record(
            session, _CLI, action="token.create", at=now, target=f"token:{token.id}", after=fields
        )
    print(
        f"token {fields['id']} for {args.user}, scope {fields['scope']}"
        f"{', expires ' + str(fields['expires_at']) if expires_at else ''}; it is shown once:",
        file=sys.stderr,
    )
    print(text)


def tokens_list(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    with _writing(args) as session:
        owner = None
        if args.user:
            account = find_account(session, args.user)
            if account is None:
                raise CommandError(f"no account named {args.user!r}")
            owner = account.id
        rows = [
            token_fields(t, name, now=now) for t, name in list_tokens(session, account_id=owner)
        ]
    print(f"{'ID':>5} {'USER':20} {'SCOPE':9} {'ACTIVE':6} {'PREFIX':22} {'LAST USED':21} NAME")
    for t in rows:
        print(
            f"{t['id']:>5} {t['user']:20} {t['scope']:9} {'yes' if t['active'] else 'no':6} "
            f"{t['prefix']:22} {t['last_used_at'] or '-':21} {t['name']}"
        )


def tokens_revoke(args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    with _writing(args) as session:
        token = revoke_token(session, args.token_id, by=_CLI.principal.name, now=now)
        record(
            session,
            _CLI,
            action="token.revoke",
            at=now,
            target=f"token:{token.id}",
            after={"revoked_at": token.revoked_at, "revoked_by": token.revoked_by},
        )
    print(f"revoked token {args.token_id}")
