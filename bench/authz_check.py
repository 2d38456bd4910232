"""Cost of the authorization check that guards every event handler and route.

What a guarded handler call pays before its own work: resolve the Actor from the session token
(one indexed lookup of the token hash joined with the user, plus the company) inside a system-scope
transaction, then ask the policy table. Also timed: the policy lookup alone, and opening the
tenant-scoped transaction the handler body then runs in (BEGIN + set_config).

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
from services.core.db import system_scope, tenant_scope
from services.core.policy import Action, authorize
from services.core.schema import upgrade_head
from services.core.settings import get_settings
from services.identity import auth


def timed(fn: Callable[[], object], calls: int) -> list[float]:
    for _ in range(min(200, calls)):  # warm-up: pool, caches
        fn()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e6)
    return samples


def report(name: str, samples: list[float]) -> None:
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{name:<58} median {statistics.median(samples):9.1f} µs   p95 {p95:9.1f} µs   n={len(samples)}")


def run(owner_url: str, app_url: str, system_url: str, calls: int) -> None:
    upgrade_head(owner_url)
    owner = create_engine(owner_url)
    with system_scope(owner) as session:
        load_demo_data(session)
    app = create_engine(app_url, pool_size=5)
    system = create_engine(system_url, pool_size=2)  # session resolution is system work (its own role and pool)
    manager = next(u for u in DEMO_USERS if u.role is Role.MANAGER)
    with system_scope(system) as session:
        token, actor = auth.login(session, manager.email, manager.password, ip="127.0.0.1", user_agent="bench")

    def policy_only() -> None:
        authorize(actor, Action.TEAM_VIEW)

    def resolve_and_authorize() -> None:
        with system_scope(system) as session:
            resolved = auth.resolve_session(session, token)
        authorize(resolved, Action.TEAM_VIEW)

    def full_guard() -> None:
        with system_scope(system) as session:
            resolved = auth.resolve_session(session, token)
        assert resolved is not None
        authorize(resolved, Action.TEAM_VIEW)
        with tenant_scope(resolved, app) as session:
            session.execute(text("SELECT 1"))

    print(f"PostgreSQL {owner.dialect.server_version_info}, {calls} calls each, one process, loopback TCP")
    report("policy table lookup only", timed(policy_only, calls))
    report("resolve session + policy (the guard)", timed(resolve_and_authorize, calls))
    report("guard + open tenant-scoped transaction (SELECT 1)", timed(full_guard, calls))
    owner.dispose()
    app.dispose()
    system.dispose()


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
        run(owner, app, system, args.calls)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
