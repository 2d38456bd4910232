"""The per-process cache of resolved sessions (services/identity/session_cache.py), on real PostgreSQL
and Redis: every kind of revocation empties it on this process at once and on every other one
within a second (a second cache instance with its own subscriber, and a second OS process); it
serves nothing while its pub/sub connection is down or lagging; expiry still holds on a hit.

The rows are committed for real (resolve_actor reads through its own transaction, as the app role)
and removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import col, select

from models import Company, Role, User, UserSession
from services.core.actor import Actor
from services.core.db import system_scope, tenant_scope
from services.core.passwords import hash_password
from services.core.redis_client import get_redis
from services.core.settings import get_settings
from services.identity import accounts, auth, session_cache
from services.identity.session_cache import SYNC_LIMIT_S, SessionCache
from services.people import team
from services.tenants import companies
from tests.conftest import clock_at, committed_session, delete_committed
from tests.factories import make_admin, make_company, make_user

pytestmark = pytest.mark.integration

PASSWORD = "Cache-test-passphrase-7"
NEW_PASSWORD = "Quartz-Meadow-Violin-88"
EFFECTIVE_WITHIN_S = 1.0
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class World:
    company: Company
    manager: User
    worker: User
    admin: User

    def actor(self, user: User) -> Actor:
        return auth.actor_for(user, self.company if user.company_id else None)


@pytest.fixture
def world(owner_engine: Engine, clean_throttle: None) -> Iterator[World]:
    with committed_session(owner_engine) as setup:
        company = make_company(setup, "Cache Co")
        password_hash = hash_password(PASSWORD)
        data = World(
            company,
            make_user(setup, company, Role.MANAGER, password_hash=password_hash),
            make_user(setup, company, Role.WORKER, password_hash=password_hash),
            make_admin(setup),
        )
    try:
        yield data
    finally:
        delete_committed(owner_engine, companies=[data.company.id], users=[data.admin.id])


@pytest.fixture
def second(test_env: object) -> Iterator[SessionCache]:
    """Another process's cache, as far as Redis can tell: its own subscriber connection."""
    cache = SessionCache(get_settings().redis_url).start()
    assert cache.wait_in_sync(5)
    yield cache
    cache.stop()


def sign_in(user: User) -> str:
    with system_scope() as session:
        row = session.get(User, user.id)
        assert row is not None
        return auth.open_session(session, row, ip="203.0.113.9", user_agent="pytest")


def cached(cache: SessionCache, token: str) -> bool:
    """Whether `cache` serves `token` right now."""
    return cache.get(auth.hash_token(token)) is not None


def served(cache: SessionCache, token: str) -> bool:
    """Whether `cache` serves `token` once its subscriber is in sync: a refusal is then the entry's own."""
    assert cache.wait_in_sync(5)
    return cached(cache, token)


def fill(token: str, *caches: SessionCache) -> None:
    """Resolve `token` through the process's cache and each of `caches`, and check it is cached."""
    for cache in (session_cache.process_cache(), *caches):
        assert cache.wait_in_sync(5)
        assert auth.resolve_actor(token, cache=cache) is not None
        assert served(cache, token)


def seconds_until_dropped(cache: SessionCache, token: str, since: float, limit: float = 5.0) -> float:
    """How long until `cache`, in sync, no longer serves `token`."""
    while (cached(cache, token) or not cache.in_sync) and time.monotonic() - since < limit:
        time.sleep(0.002)
    return time.monotonic() - since


# ---- every kind of revocation, on this process and on another cache instance -----------------------


def _logout(w: World, token: str) -> None:
    with system_scope() as s:
        auth.logout(s, token)


def _revoke_one(w: World, token: str) -> None:
    with system_scope() as s:
        session_id = auth.session_id_for_token(s, token, w.worker.id)
    assert session_id is not None
    with tenant_scope(w.actor(w.worker)) as s:
        auth.revoke_session(s, w.actor(w.worker), session_id)


def _logout_everywhere(w: World, token: str) -> None:
    with tenant_scope(w.actor(w.worker)) as s:
        auth.logout_all(s, w.actor(w.worker))


def _password_changed_elsewhere(w: World, token: str) -> None:
    current = sign_in(w.worker)  # the device the password is changed on keeps its session
    with tenant_scope(w.actor(w.worker)) as s:
        accounts.change_password(
            s, w.actor(w.worker), current_password=PASSWORD, new_password=NEW_PASSWORD, current_token=current
        )
    assert auth.resolve_actor(current) is not None


def _role_changed(w: World, token: str) -> None:
    with tenant_scope(w.actor(w.manager)) as s:
        team.change_role(s, w.actor(w.manager), w.worker.id, Role.CLIENT)


def _deactivated(w: World, token: str) -> None:
    with tenant_scope(w.actor(w.manager)) as s:
        team.set_active(s, w.actor(w.manager), w.worker.id, False)


def _company_deactivated(w: World, token: str) -> None:
    with tenant_scope(w.actor(w.admin)) as s:
        companies.set_company_active(s, w.actor(w.admin), w.company.id, False)


REVOCATIONS: dict[str, Callable[[World, str], None]] = {
    "logout": _logout,
    "revoke one session": _revoke_one,
    "log out everywhere": _logout_everywhere,
    "password change": _password_changed_elsewhere,
    "role change": _role_changed,
    "user deactivation": _deactivated,
    "company deactivation": _company_deactivated,
}


@pytest.mark.parametrize("kind", list(REVOCATIONS))
def test_a_revocation_empties_every_cache_within_a_second(world: World, second: SessionCache, kind: str) -> None:
    token = sign_in(world.worker)
    fill(token, second)
    bystander = sign_in(world.manager)  # another user's session is not touched (but by the company's end)
    fill(bystander, second)

    REVOCATIONS[kind](world, token)
    committed = time.monotonic()

    local = session_cache.process_cache()
    assert local.in_sync and not cached(local, token)  # this process: at once, before the commit returns
    assert auth.resolve_actor(token) is None
    assert seconds_until_dropped(second, token, committed) < EFFECTIVE_WITHIN_S
    assert auth.resolve_actor(token, cache=second) is None
    if kind != "company deactivation":
        assert served(second, bystander) and served(local, bystander)


def test_a_rolled_back_revocation_leaves_the_cache_alone(world: World, second: SessionCache) -> None:
    token = sign_in(world.worker)
    fill(token, second)
    with pytest.raises(RuntimeError), system_scope() as s:
        auth.logout(s, token)
        raise RuntimeError("the unit of work fails after the revocation")
    time.sleep(SYNC_LIMIT_S)
    assert served(session_cache.process_cache(), token) and served(second, token)
    assert auth.resolve_actor(token) is not None


CHILD = textwrap.dedent(
    """
    import sys, time
    from services.identity import auth, session_cache

    token = sys.argv[1]
    cache = session_cache.process_cache()
    assert cache.wait_in_sync(10)
    assert auth.resolve_actor(token) is not None and cache.get(auth.hash_token(token)) is not None
    print("cached", flush=True)
    deadline = time.time() + 10
    while (cache.get(auth.hash_token(token)) is not None or not cache.in_sync) and time.time() < deadline:
        time.sleep(0.002)
    gone = time.time()
    print(gone, auth.resolve_actor(token) is None, flush=True)
    """
)


def test_a_revocation_reaches_another_process_within_a_second(world: World) -> None:
    token = sign_in(world.worker)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, token],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "cached"
        _logout_everywhere(world, token)
        committed = time.time()
        gone, refused = child.stdout.readline().split()
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
    assert float(gone) - committed < EFFECTIVE_WITHIN_S
    assert refused == "True"  # and its database answer agrees


# ---- pub/sub down or lagging: the cache serves nothing ---------------------------------------------


def test_without_pubsub_nothing_is_cached_and_the_database_answers(world: World) -> None:
    unreachable = SessionCache("redis://127.0.0.1:9/0").start()  # the discard port: nobody listens
    try:
        token = sign_in(world.worker)
        for _ in range(3):
            assert auth.resolve_actor(token, cache=unreachable) is not None
        assert not unreachable.in_sync and len(unreachable) == 0
    finally:
        unreachable.stop()


def test_a_lost_subscription_stops_serving_and_forgets_everything(world: World, second: SessionCache) -> None:
    token = sign_in(world.worker)
    fill(token, second)
    get_redis().execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    killed = time.monotonic()
    while cached(second, token) and time.monotonic() - killed < 5:
        time.sleep(0.002)
    assert time.monotonic() - killed < SYNC_LIMIT_S + 0.2
    assert second.wait_in_sync(5)  # it resubscribes by itself...
    assert len(second) == 0  # ...with nothing from before: what was published meanwhile is lost


def test_a_lagging_subscriber_stops_serving_until_it_catches_up(world: World, second: SessionCache) -> None:
    token = sign_in(world.worker)
    fill(token, second)
    get_redis().execute_command("CLIENT", "PAUSE", "1500", "ALL")  # Redis answers nobody for 1.5 s
    paused = time.monotonic()
    while cached(second, token) and time.monotonic() - paused < 5:
        time.sleep(0.002)
    assert time.monotonic() - paused < SYNC_LIMIT_S + 0.2
    assert len(second) == 1  # still held, not served
    assert second.wait_in_sync(5) and time.monotonic() - paused >= 1.4
    assert cached(second, token)  # in sync again: nothing was missed


# ---- expiry on a hit (clock seam) ------------------------------------------------------------------


def test_expiry_is_enforced_on_a_hit(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    move = clock_at(monkeypatch, datetime.now(UTC))
    token, short = sign_in(world.worker), sign_in(world.worker)
    with system_scope() as s:  # `short` reaches its absolute expiry 30 s from now
        s.execute(
            sa.update(UserSession)
            .where(col(UserSession.token_hash) == auth.hash_token(short))
            .values(absolute_expires_at=UserSession.created_at + timedelta(seconds=30))
        )
    local = session_cache.process_cache()
    fill(token)
    fill(short)

    move(29)
    assert served(local, token) and served(local, short)
    move(31)
    assert not served(local, short)  # absolute expiry, on the hit itself
    assert auth.resolve_actor(short) is None

    move(59)
    assert served(local, token)
    move(61)  # last_seen_at is due: the hit refuses, the database writes it and the entry comes back
    assert not served(local, token)
    assert auth.resolve_actor(token) is not None and served(local, token)
    with system_scope() as s:
        row = s.exec(select(UserSession).where(col(UserSession.token_hash) == auth.hash_token(token))).one()
    assert row.last_seen_at == row.created_at + timedelta(seconds=61)

    move(61 + get_settings().session_idle_minutes * 60)  # idle since the last write
    assert not served(local, token)
    assert auth.resolve_actor(token) is None


def test_a_race_with_a_revocation_does_not_cache_the_revoked_session(world: World) -> None:
    """The database said "active" just before a revocation arrived: the fill is thrown away."""
    cache = session_cache.process_cache()
    token = sign_in(world.worker)
    assert cache.wait_in_sync(5)
    ticket = cache.ticket()
    with system_scope() as s:
        session_id = auth.session_id_for_token(s, token, world.worker.id)
    assert session_id is not None
    actor = world.actor(world.worker)

    def put(ticket: int) -> None:
        valid_until = datetime.now(UTC) + timedelta(minutes=1)
        cache.put(auth.hash_token(token), ticket, actor=actor, session_id=session_id, valid_until=valid_until)

    cache.drop([uuid.uuid4()])  # any invalidation between the read and the put
    put(ticket)
    assert not served(cache, token)
    put(cache.ticket())
    assert served(cache, token)  # with no invalidation meanwhile, the same put is kept


def test_cached_actor_answers_from_the_process_cache_only(world: World) -> None:
    """The websocket guard asks `cached_actor` on the event loop: a hit needs no database, a miss says
    None (the guard then resolves in a thread), and a revocation is seen at once."""
    token = sign_in(world.worker)
    assert auth.cached_actor(token, ip="198.51.100.7") is None or not served(session_cache.process_cache(), token)
    fill(token)
    hit = auth.cached_actor(token, ip="198.51.100.7", user_agent="ua")
    assert hit is not None and hit.user_id == world.worker.id and hit.ip == "198.51.100.7" and hit.user_agent == "ua"
    assert auth.cached_actor("x" * 500) is None and auth.cached_actor(None) is None
    _logout(world, token)
    assert auth.cached_actor(token) is None
