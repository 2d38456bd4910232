"""Engine and sessions. Every unit of work is one transaction: commit on success, roll back on any error.

Tenant isolation, wall 2: PostgreSQL row-level security (see docs/architecture.md, "Row-level
security"). The policies read two settings that only ever live for one transaction
(`set_config(name, value, true)`), so a pooled connection never carries one tenant's scope into
the next transaction:
- `app.company_id`: the actor's company; empty or missing means no tenant rows at all;
- `app.rls_bypass = 'on'`: every row (the operator, and system work such as login lookup by email,
  sign-up, invitation acceptance, the background worker, seeding and data fixes).

Which session to use:
- `tenant_scope(actor)`: everything done on behalf of a signed-in user (an admin gets the bypass:
  the operator acts across companies);
- `system_scope()`: system work with no Actor yet or none at all (the list above);
- `session_scope()`: no scope: tenant tables look empty, only `plans` and `sessions` are readable.
A scope, once applied to a Session, is re-applied at the start of each of its transactions (so a
`session.commit()` in the middle of a unit of work does not drop it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlmodel import Session

from services.core.actor import Actor
from services.core.errors import ServiceUnavailable
from services.core.settings import get_settings, normalize_db_url

COMPANY_SETTING = "app.company_id"
BYPASS_SETTING = "app.rls_bypass"
_SCOPE_KEY = "workdash.rls_scope"  # Session.info key of the scope to (re)apply
_APPLIED_ON_BEGIN = "workdash.rls_scope_applied"
_APPLY_SQL = text(
    f"SELECT set_config('{COMPANY_SETTING}', :company_id, true), set_config('{BYPASS_SETTING}', :bypass, true)"
)


@dataclass(frozen=True)
class DbScope:
    """What one transaction may see: one company's rows, every row (bypass), or none."""

    company_id: str  # uuid text, or "" for none
    bypass: bool

    @classmethod
    def for_actor(cls, actor: Actor | None, *, bypass: bool = False) -> DbScope:
        if bypass or (actor is not None and actor.is_admin):
            return cls(company_id="", bypass=True)
        if actor is None or actor.company_id is None:
            return cls(company_id="", bypass=False)
        return cls(company_id=str(actor.company_id), bypass=False)

    def params(self) -> dict[str, str]:
        return {"company_id": self.company_id, "bypass": "on" if self.bypass else "off"}


def app_database_url() -> str:
    """The app role's URL (subject to row-level security); falls back to the owner's when unset."""
    settings = get_settings()
    url = settings.app_database_url or settings.resolved_database_url
    if not url:
        raise ServiceUnavailable("No database configured: set DATABASE_URL or POSTGRES_* (or start with `make run`).")
    return normalize_db_url(url)


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
    """One transaction of system work that sees every row (login lookup, sign-up, worker, seeding)."""
    with session_scope(engine) as session:
        apply_scope(session, None, bypass=True)
        yield session


def apply_scope(session: Session, actor: Actor | None, *, bypass: bool = False) -> DbScope:
    """Scope `session` to `actor` (None: no rows; bypass=True: every row), now and in its later transactions.

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
        connection.execute(_APPLY_SQL, scope.params())
    return scope


def current_scope(session: Session) -> DbScope | None:
    """The scope apply_scope gave `session`, if any."""
    scope = session.info.get(_SCOPE_KEY)
    return scope if isinstance(scope, DbScope) else None


def _reapply_scope(session: Session, transaction: Any, connection: Connection) -> None:
    scope = current_scope(session)
    if scope is not None:
        connection.execute(_APPLY_SQL, scope.params())
        session.info[_APPLIED_ON_BEGIN] = True
