"""Cost of the authorization check that guards every event handler and route.

What a guarded handler call pays before its own work: resolve the Actor from the session token
(`services.identity.resolve_actor`), then ask the policy table. Timed side by side:
- without the cache: every call reads the database (one indexed lookup of the token hash joined
  with the user and the company, inside a system-scope transaction), as on a cache miss;
- with the cache, hit path: the process's session cache (services/identity/session_cache.py),
  in sync with its Redis subscriber.
Also timed: the policy lookup alone, and the guard followed by the tenant-scoped transaction the
handler body then runs in (BEGIN + set_config + SELECT 1 + COMMIT).

Starts its own PostgreSQL in a temp dir unless BENCH_DATABASE_URL (owner) is set.
    .venv/bin/python bench/authz_check.py [--calls 3000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from devtools.devstack import EmbeddedStack, StackPorts, free_port, free_s3_port
from devtools.seed import DEMO_USERS, load_demo_data
from models import Role
from services.core.db import get_engine, get_system_engine, system_scope, tenant_scope
from services.core.policy import Action, authorize
from services.core.schema import upgrade_head
from services.core.settings import get_settings
from services.identity import auth, session_cache
from services.identity.session_cache import SessionCache


def timed(fn: Callable[[], object], calls: int) -> list[float]:
    for _ in range(min(200, calls)):  # warm-up: pool, caches
        fn()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def summary(samples: list[float]) -> str:
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    return f"{statistics.median(samples):9.1f} {p95:9.1f}"


def run(owner_url: str, calls: int) -> None:
    """`owner_url` for migrations and demo data; everything timed runs as the app role (settings)."""
    upgrade_head(owner_url)
    owner = create_engine(owner_url)
    with system_scope(owner) as session:
        load_demo_data(session)
    manager = next(u for u in DEMO_USERS if u.role is Role.MANAGER)
    with system_scope() as session:
        token, actor = auth.login(session, manager.email, manager.password, ip="127.0.0.1", user_agent="bench")
    uncached = SessionCache(None)  # never in sync: every call goes to the database
    cached = session_cache.process_cache()
    if not cached.wait_in_sync(10):
        raise RuntimeError("the session cache's subscriber did not get in sync with Redis")

    def guard(cache: SessionCache) -> Callable[[], None]:
        def call() -> None:
            resolved = auth.resolve_actor(token, ip="127.0.0.1", user_agent="bench", cache=cache)
            assert resolved is not None
            authorize(resolved, Action.TEAM_VIEW)

        return call

    def guard_and_transaction(cache: SessionCache) -> Callable[[], None]:
        def call() -> None:
            resolved = auth.resolve_actor(token, ip="127.0.0.1", user_agent="bench", cache=cache)
            assert resolved is not None
            authorize(resolved, Action.TEAM_VIEW)
            with tenant_scope(resolved) as session:
                session.execute(text("SELECT 1"))

        return call

    version = owner.dialect.server_version_info
    print(f"PostgreSQL {version}, {calls} calls each, one process, loopback TCP; times in µs")
    print(f"{'':<50} {'without cache':>19}   {'with cache (hit)':>19}")
    print(f"{'':<50} {'median':>9} {'p95':>9}   {'median':>9} {'p95':>9}")
    policy = summary(timed(lambda: authorize(actor, Action.TEAM_VIEW), calls))
    print(f"{'policy table lookup only':<50} {policy}   {policy}")
    for name, make in (
        ("resolve session + policy (the guard)", guard),
        ("guard + tenant-scoped transaction (SELECT 1)", guard_and_transaction),
    ):
        print(f"{name:<50} {summary(timed(make(uncached), calls))}   {summary(timed(make(cached), calls))}")
    hits = cached.get(auth.hash_token(token)) is not None
    print(f"(the cached runs were served from the cache: {hits})")
    cached.stop()
    owner.dispose()
    get_engine().dispose()
    get_system_engine().dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="workdash-bench-"))
    stack = EmbeddedStack(root, StackPorts(free_port(), free_port(), free_s3_port()), persistent=False)
    try:
        urls = stack.start()
        os.environ.update(urls.environ())  # login throttling talks to this Redis
        get_settings.cache_clear()
        name = "bench_authz"
        with psycopg.connect(
            make_url(urls.database_url).set(drivername="postgresql").render_as_string(False), autocommit=True
        ) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        owner = make_url(urls.database_url).set(database=name).render_as_string(hide_password=False)
        app = make_url(urls.app_database_url).set(database=name).render_as_string(hide_password=False)
        system = make_url(urls.system_database_url).set(database=name).render_as_string(hide_password=False)
        os.environ.update({"DATABASE_URL": owner, "APP_DATABASE_URL": app, "SYSTEM_DATABASE_URL": system})
        get_settings.cache_clear()
        run(owner, args.calls)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
