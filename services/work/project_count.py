"""The home page's project count, from a per-process cache checked against Redis on every read.

Why: the home page's `load` is the most frequent read of the app (every visit of /), and its count
is a transaction of four round trips in a worker thread. From this cache a call costs one Redis
MGET on the event loop: no thread, no database (bench/guard_cpu.py measures it).

How a count stays true:
- `count_projects` counts rows: which projects exist and, for workers and clients, which memberships
  do (no other column of a project counts: an archived project is still counted). Keep it so, or
  widen what bumps below.
- Every company has a generation in Redis, and there is one global generation. A commit that
  inserted or deleted a Project row, or inserted, updated or deleted a ProjectMember row, through the
  ORM bumps the generation of each company it touched; a bulk DELETE of either table or a bulk UPDATE
  of memberships (whose rows' companies are unknown here) bumps the global one. Updates of a
  project's own columns (its name, status, task counter) bump nothing. The bump runs right after the
  commit (`after_commit`), in the committing thread, whatever domain committed.
- A read takes both generations (one MGET) BEFORE it counts, and stores the count under them; an
  entry is served only while both are unchanged. A count read before a commit is thus never served
  after that commit's bump, on any process.
- The entry is per actor (user, role and company: `actor_key`), and the policy is asked on every
  call, hit or miss; the count itself is read in the actor's tenant scope (row-level security).
- Redis unreachable: nothing is served from the cache (every call counts in the database). A bump
  that fails after its commit is logged; the other processes then may serve the old count up to
  MAX_AGE_S, the age past which no entry is ever served.
Changes made outside the ORM (raw SQL, ON DELETE CASCADE of a deleted company or user) bump
nothing: the actors they affect lose their sessions or their rows anyway, and MAX_AGE_S bounds the rest.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis
from sqlalchemy import event, orm
from sqlalchemy.orm import ORMExecuteState, UOWTransaction
from sqlmodel import Session

from models import Project, ProjectMember
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.errors import ServiceUnavailable
from services.core.policy import Action, authorize
from services.core.redis_client import CONNECT_TIMEOUT_S, SOCKET_TIMEOUT_S, get_redis
from services.core.settings import get_settings
from services.work.projects import count_projects

log = logging.getLogger(__name__)

KEY_PREFIX = "workdash:project_count:gen:"
GLOBAL_KEY = KEY_PREFIX + "all"
MAX_AGE_S = 30.0
MAX_ENTRIES = 10_000  # past this the cache starts over (one entry per signed-in actor)
_COUNTED_ROWS = frozenset({Project.__tablename__, ProjectMember.__tablename__})
_MEMBERSHIPS = frozenset({ProjectMember.__tablename__})
_DIRTY = "workdash.project_count_dirty"  # Session.info: company ids (None: global) to bump after commit


def company_key(company_id: uuid.UUID) -> str:
    return f"{KEY_PREFIX}{company_id}"


@dataclass(frozen=True)
class _Entry:
    generations: tuple[str | None, str | None]
    count: int
    stored_at: float  # time.monotonic()


_entries: dict[str, _Entry] = {}
_outage = [False]  # Redis failed on the last read (its warning is logged)
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis[str]] = weakref.WeakKeyDictionary()


def _actor_key(actor: Actor) -> str:
    return f"{actor.user_id}|{actor.role.value}|{actor.company_id}"


def _client() -> aioredis.Redis[str] | None:
    """The asyncio Redis client of the running loop (one per loop: its connections belong to it)."""
    url = get_settings().redis_url
    if not url:
        return None
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = aioredis.Redis.from_url(
            url, decode_responses=True, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S
        )
    return client


async def _generations(company_id: uuid.UUID) -> tuple[str | None, str | None] | None:
    """(global, company) generations, or None when Redis cannot say (then nothing is cached)."""
    client = _client()
    if client is None:
        return None
    try:
        values = await client.mget(GLOBAL_KEY, company_key(company_id))
    except (redis.RedisError, OSError):
        if not _outage[0]:  # once per outage, not once per page load
            log.warning("project count cache: Redis unreachable, counting in the database", exc_info=True)
        _outage[0] = True
        return None
    _outage[0] = False
    return values[0], values[1]


def _count_in_database(actor: Actor) -> int:
    with tenant_scope(actor) as session:
        return count_projects(session, actor)


async def visible_project_count(actor: Actor, run_blocking: Callable[[Callable[[], int]], Awaitable[int]]) -> int:
    """`count_projects` for `actor`, from the cache when it may answer; on the event loop.

    `run_blocking(fn)` runs the database count off the loop (the dashboard's `off_loop`).
    """
    authorize(actor, Action.PROJECT_LIST)
    if actor.company_id is None:  # no company to key a generation by: not cached
        return await run_blocking(lambda: _count_in_database(actor))
    generations = await _generations(actor.company_id)
    key = _actor_key(actor)
    entry = _entries.get(key)
    if (
        generations is not None
        and entry is not None
        and entry.generations == generations
        and time.monotonic() - entry.stored_at < MAX_AGE_S
    ):
        return entry.count
    count = await run_blocking(lambda: _count_in_database(actor))
    if generations is not None:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[key] = _Entry(generations, count, time.monotonic())
    return count


def forget_all() -> None:
    """Empty this process's cache (tests)."""
    _entries.clear()


# ---- the bumps ----------------------------------------------------------------------------------


def _dirty(session: orm.Session) -> set[uuid.UUID | None]:
    dirty: set[uuid.UUID | None] | None = session.info.get(_DIRTY)
    if dirty is None:
        dirty = session.info[_DIRTY] = set()
    return dirty


@event.listens_for(Session, "after_flush")
def _note_flushed_rows(session: Session, flush_context: UOWTransaction) -> None:
    # After a flush the new/dirty/deleted collections still hold what was flushed.
    for row in (*session.new, *session.deleted):
        if isinstance(row, Project | ProjectMember):
            _dirty(session).add(row.company_id)
    for row in session.dirty:
        if isinstance(row, ProjectMember):
            _dirty(session).add(row.company_id)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_statements(state: ORMExecuteState) -> None:
    if state.is_delete:
        tables = _COUNTED_ROWS
    elif state.is_update:
        tables = _MEMBERSHIPS
    else:
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in tables:
        _dirty(state.session).add(None)


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    dirty: set[uuid.UUID | None] | None = session.info.pop(_DIRTY, None)
    if not dirty:
        return
    keys = sorted(GLOBAL_KEY if company is None else company_key(company) for company in dirty)
    try:
        pipeline = get_redis().pipeline(transaction=False)
        for key in keys:
            pipeline.incr(key)
        pipeline.execute()
    except ServiceUnavailable:
        return  # no Redis configured: nothing is ever served from the cache
    except (redis.RedisError, OSError):
        log.exception("project count cache: could not bump %s (stale counts possible for %ss)", keys, MAX_AGE_S)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_DIRTY, None)
