"""Engines and sessions. Every unit of work is one transaction: commit on success, roll back on any error.

Tenant isolation, wall 2: PostgreSQL row-level security (see docs/architecture.md, "Row-level
security"). Two roles, each on its own pool:
- the app role (APP_DATABASE_URL, `get_engine()`): the policies bind it. It sees a company's rows only
  inside a *signed* scope, set here per transaction (`set_config(name, value, true)`, so a pooled
  connection never carries it into the next transaction): `app.company_id` (or `app.operator = 'on'`
  for the operator) and `app.scope_proof`, an HMAC-SHA256 of "<company>|<operator>|<backend pid>"
  under the database's scope key. The app role cannot read that key: SQL injected into its
  connection may set the settings but cannot sign them, so it sees no more than its own scope.
- the system role (SYSTEM_DATABASE_URL, `get_system_engine()`, a small pool): BYPASSRLS, owns
  nothing; for work with no tenant yet or none at all: sign-in lookup by email, session resolution,
  sign-up, invitation acceptance, the background worker, seeding. It also reads the scope key, once
  per database and process.
The table owner is bound too (FORCE); `app.rls_bypass = 'on'` lets the owner, and nobody else, through
(data fixes, seeding with the owner's URL, test fixtures).

Which session to use:
- `tenant_scope(actor)`: everything done on behalf of a signed-in user (an admin gets the operator's
  scope: the operator acts across companies);
- `system_scope()`: system work with no Actor yet or none at all (the list above);
- `session_scope()`: no scope: tenant tables look empty, only `plans` is readable.
A scope, once applied to a Session, is re-applied at the start of each of its transactions (so a
`session.commit()` in the middle of a unit of work does not drop it).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import psycopg
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from services.core.actor import Actor
from services.core.errors import ServiceUnavailable
from services.core.settings import Settings, get_settings, normalize_db_url

COMPANY_SETTING = "app.company_id"
OPERATOR_SETTING = "app.operator"
PROOF_SETTING = "app.scope_proof"
BYPASS_SETTING = "app.rls_bypass"  # honoured for the table owner only (the owner_maintenance policy)
_SCOPE_KEY = "workdash.rls_scope"  # Session.info key of the scope to (re)apply
_APPLIED_ON_BEGIN = "workdash.rls_scope_applied"
_APPLY_SQL = text(
    f"SELECT set_config('{COMPANY_SETTING}', :company_id, true), set_config('{OPERATOR_SETTING}', :operator, true), "
    f"set_config('{PROOF_SETTING}', :proof, true), set_config('{BYPASS_SETTING}', :bypass, true)"
)
_READ_SCOPE_KEY = text("SELECT key FROM workdash_rls.scope_key")


@dataclass(frozen=True)
class DbScope:
    """What one transaction may see: one company's rows, every row (the operator, or the owner's
    maintenance bypass), or none."""

    company_id: str  # uuid text, or "" for none
    operator: bool = False
    bypass: bool = False

    @classmethod
    def for_actor(cls, actor: Actor | None, *, bypass: bool = False) -> DbScope:
        if bypass:
            return cls(company_id="", bypass=True)
        if actor is not None and actor.is_admin:
            return cls(company_id="", operator=True)
        if actor is None or actor.company_id is None:
            return cls(company_id="")
        return cls(company_id=str(actor.company_id))

    def params(self, connection: Connection) -> dict[str, str]:
        """The settings for a transaction on `connection`, the company or operator signed for it."""
        operator = _on_off(self.operator)
        proof = ""
        if self.company_id or self.operator:
            message = f"{self.company_id}|{operator}|{_backend_pid(connection)}".encode()
            proof = hmac.new(_scope_key(connection.engine.url), message, hashlib.sha256).hexdigest()
        return {"company_id": self.company_id, "operator": operator, "proof": proof, "bypass": _on_off(self.bypass)}


def _on_off(flag: bool) -> str:
    return "on" if flag else "off"


def _backend_pid(connection: Connection) -> int:
    # A proof names its connection's server process: one read from another connection is worthless here.
    return cast("psycopg.Connection[Any]", connection.connection.dbapi_connection).info.backend_pid


def _scope_key(url: URL) -> bytes:
    return _read_scope_key(url.host, url.port, url.database)


@lru_cache(maxsize=16)
def _read_scope_key(host: str | None, port: int | None, database: str | None) -> bytes:
    """The scope key of one database, read once as the system role (the app role cannot read it).

    The system role's credentials on the server and database of the engine in use: in production
    that is SYSTEM_DATABASE_URL itself; tests run several databases on one server.
    """
    url = make_url(system_database_url()).set(host=host, port=port, database=database)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            key = connection.scalar(_READ_SCOPE_KEY)
    except DBAPIError as exc:  # no such table (not migrated), no grant, no such role
        raise ServiceUnavailable(
            f"The system role cannot read the scope key (SYSTEM_DATABASE_URL): {exc.orig}"
        ) from exc
    finally:
        engine.dispose()
    if not key:
        raise ServiceUnavailable("The database has no scope key: run the migrations (make migrate).")
    return bytes(key)


def _configured(url: str | None) -> str:
    if not url:
        raise ServiceUnavailable("No database configured: set DATABASE_URL or POSTGRES_* (or start with `make run`).")
    return normalize_db_url(url)


def app_database_url(settings: Settings | None = None) -> str:
    """The app role's URL (subject to row-level security); falls back to the owner's when unset."""
    settings = settings or get_settings()
    return _configured(settings.app_database_url or settings.resolved_database_url)


def system_database_url(settings: Settings | None = None) -> str:
    """The system role's URL (BYPASSRLS, owns nothing); falls back to the owner's when unset."""
    settings = settings or get_settings()
    return _configured(settings.system_database_url or settings.resolved_database_url)


# Sizing, per process. The app does its blocking work (database, argon2, SMTP) in worker threads, at
# most WORKER_THREADS at a time (dashboard.state.base.off_loop sets the thread limiter Starlette shares).
# A thread holds at most one connection at a time (the guard's session lookup ends before the handler's
# transaction begins) and may hold it for long (an invitation's transaction waits for SMTP), so every
# thread gets a pooled connection without waiting; the overflow covers connections held between thread
# hops (a streamed CSV export keeps its transaction open while the client reads). Two app workers then
# open at most 2 x 15 connections, as many as before the threads.
WORKER_THREADS = 10
POOL_SIZE = WORKER_THREADS
POOL_OVERFLOW = 5


@lru_cache(maxsize=4)
def get_engine(url: str | None = None) -> Engine:
    """The app role's engine by default; pass the owner URL only for migrations and seeding."""
    return create_engine(url or app_database_url(), pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def get_system_engine() -> Engine:
    """The system role's engine: its own small pool, so system work cannot starve the tenants' (nor they it)."""
    return _system_engine(system_database_url())


@lru_cache(maxsize=4)
def _system_engine(url: str) -> Engine:
    # Small, but not tiny: sign-in and sign-up hold a connection while argon2 runs (~0.1 s), and
    # every handler call resolves its session here.
    # The owner's bypass on every connection matters only when SYSTEM_DATABASE_URL is unset and the
    # owner's credentials stand in (development); the system role bypasses the policies anyway.
    options = {"options": f"-c {BYPASS_SETTING}=on"}
    return create_engine(url, pool_pre_ping=True, pool_size=3, max_overflow=7, connect_args=options)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction with no row-level scope (tenant tables look empty)."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def tenant_scope(actor: Actor, engine: Engine | None = None) -> Iterator[Session]:
    """One transaction on behalf of `actor`: its company's rows only (an admin: every row)."""
    with session_scope(engine) as session:
        apply_scope(session, actor)
        yield session


@contextmanager
def system_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One transaction of system work that sees every row (login lookup, sign-up, worker, seeding):
    on the system role's pool, or, given the owner's engine (data fixes), with the owner's bypass."""
    if engine is None:
        with session_scope(get_system_engine()) as session:
            yield session
        return
    with session_scope(engine) as session:
        apply_scope(session, None, bypass=True)
        yield session


def apply_scope(session: Session, actor: Actor | None, *, bypass: bool = False) -> DbScope:
    """Scope `session` to `actor` (None: no rows; an admin: every row; bypass=True: every row for the
    table owner, nothing for anyone else), now and in its later transactions.

    Call it outside of savepoints: rolling back a savepoint also undoes the settings made inside it.
    """
    scope = DbScope.for_actor(actor, bypass=bypass)
    first_time = _SCOPE_KEY not in session.info
    session.info[_SCOPE_KEY] = scope
    if first_time:
        event.listen(session, "after_begin", _reapply_scope)
    session.info[_APPLIED_ON_BEGIN] = False
    connection = session.connection()  # begins a transaction if none is open: after_begin applies the scope
    if not session.info.pop(_APPLIED_ON_BEGIN, False):  # a transaction was already running
        connection.execute(_APPLY_SQL, scope.params(connection))
    return scope


def current_scope(session: Session) -> DbScope | None:
    """The scope apply_scope gave `session`, if any."""
    scope = session.info.get(_SCOPE_KEY)
    return scope if isinstance(scope, DbScope) else None


def _reapply_scope(session: Session, transaction: Any, connection: Connection) -> None:
    scope = current_scope(session)
    if scope is not None:
        connection.execute(_APPLY_SQL, scope.params(connection))
        session.info[_APPLIED_ON_BEGIN] = True
