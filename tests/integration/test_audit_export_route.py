"""Issue 7, item 9: the CSV export must not hold a pooled database connection while a slow client
reads it. Sixteen downloads whose clients stop reading after the first rows (more than the app
pool's POOL_SIZE + POOL_OVERFLOW connections) run through the real route in this process; another
page's work must still get a connection at once.

The rows are committed for real (the route opens its own transactions) and removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import select

from dashboard.api import api_app
from dashboard.state.base import off_loop
from models import Company, Role
from services.core.db import POOL_OVERFLOW, POOL_SIZE, system_scope, tenant_scope
from services.identity import actor_for, open_session, session_cookie_name
from tests.factories import make_audit, make_company, make_user
from tests.run_async import run_async

pytestmark = pytest.mark.integration

DOWNLOADS = 16
WAIT_LIMIT_S = 5.0


@pytest.fixture
def manager_cookie(owner_engine: Engine, migrated_database: str) -> Iterator[tuple[str, Any]]:
    with system_scope() as session:
        company = make_company(session, "Slow Readers Ltd")
        user = make_user(session, company, Role.MANAGER)
        for i in range(5):
            make_audit(session, company, user, f"row{i}")
        token = open_session(session, user, ip="192.0.2.1", user_agent="pytest")
        actor, company_id = actor_for(user, company), company.id
    try:
        yield token, actor
    finally:
        with system_scope(owner_engine) as session:  # the owner's bypass: the app roles may not delete
            session.delete(session.exec(select(Company).where(Company.id == company_id)).one())


async def _stalled_download(app: Any, token: str, reading: asyncio.Event, gone: asyncio.Event) -> None:
    """GET the export like a browser whose connection stops draining after the first rows."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": "/api/audit/export.csv",
        "raw_path": b"/api/audit/export.csv",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"cookie", f"{session_cookie_name()}={token}".encode()), (b"host", b"work.example.com")],
        "client": ("192.0.2.1", 4711),
        "server": ("work.example.com", 443),
    }
    chunks = 0

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal chunks
        if message["type"] == "http.response.body" and message.get("body"):
            chunks += 1
            if chunks >= 2:  # the header and a first row arrived; now the client reads no more
                reading.set()
                await gone.wait()
                raise OSError("the client went away")

    with contextlib.suppress(OSError):
        await app(scope, receive, send)


def test_sixteen_slow_downloads_leave_connections_for_other_pages(manager_cookie: tuple[str, Any]) -> None:
    token, actor = manager_cookie
    assert DOWNLOADS > POOL_SIZE + POOL_OVERFLOW  # with a connection each, the pool would be empty

    def other_page() -> int:
        with tenant_scope(actor) as session:
            return int(session.connection().execute(sa.text("SELECT 1")).scalar_one())

    async def scenario() -> float:
        app = api_app()
        gone = asyncio.Event()
        readings = [asyncio.Event() for _ in range(DOWNLOADS)]
        tasks = [asyncio.create_task(_stalled_download(app, token, r, gone)) for r in readings]
        try:
            # every download has sent rows (or is stuck waiting for a connection of its own)
            await asyncio.wait([asyncio.create_task(r.wait()) for r in readings], timeout=WAIT_LIMIT_S)
            started = time.monotonic()
            assert await asyncio.wait_for(off_loop(other_page), timeout=WAIT_LIMIT_S) == 1
            waited = time.monotonic() - started
            assert all(r.is_set() for r in readings), "a download got no connection"
            return waited
        finally:
            gone.set()
            await asyncio.wait(tasks, timeout=60)

    waited = run_async(scenario())
    assert waited < 1.0, f"another page waited {waited:.2f} s for a database connection"
