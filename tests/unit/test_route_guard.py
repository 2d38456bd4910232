"""`route_requires(Action)`: the HTTP routes' guard, on a throwaway Starlette app.

Sessions are looked up by token in a table here instead of the database (the audit export's e2e
tests cover the real lookup through the same guard)."""

from __future__ import annotations

import dataclasses
import threading
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from dashboard.api.guard import route_requires
from dashboard.state import base
from models import Role
from services.core.actor import Actor
from services.core.policy import Action
from tests.run_async import run_async

MANAGER = Actor(uuid.uuid4(), uuid.uuid4(), Role.MANAGER, "Maria Manager", "maria@example.com", "Acme")
WORKER = Actor(uuid.uuid4(), MANAGER.company_id, Role.WORKER, "Walter Worker", "walter@example.com", "Acme")
SESSIONS = {"manager-session": MANAGER, "worker-session": WORKER}


LOOP_THREADS: list[int] = []


@route_requires(Action.AUDIT_EXPORT)
async def whoami(request: Request, actor: Actor) -> Response:
    LOOP_THREADS.append(threading.get_ident())
    if request.query_params.get("crash"):
        raise RuntimeError("a bug in the route")
    return PlainTextResponse(f"{actor.full_name} from {actor.ip}")


APP = Starlette(routes=[Route("/whoami", whoami)])


@pytest.fixture(autouse=True)
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Session lookups by token; returns the threads they ran on."""
    threads: list[int] = []

    def resolve_actor(token: str | None, *, ip: str = "", user_agent: str = "") -> Actor | None:
        threads.append(threading.get_ident())
        if token == "broken-database":
            raise ConnectionError("the database is down")
        actor = SESSIONS.get(token or "")
        return dataclasses.replace(actor, ip=ip, user_agent=user_agent) if actor else None

    monkeypatch.setattr(base, "resolve_actor", resolve_actor)
    LOOP_THREADS.clear()
    return threads


def get(cookie: str | None = None, query: str = "", **headers: str) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=APP, client=("198.51.100.7", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
            cookie_header = {"cookie": f"other=1; wd_session={cookie}"} if cookie else {}
            return await client.get(f"/whoami{query}", headers=cookie_header | headers)

    return run_async(send())


def test_no_session_is_forbidden() -> None:
    for cookie in (None, "made-up"):
        response = get(cookie)
        assert response.status_code == 403 and response.headers["cache-control"] == "no-store"
    assert LOOP_THREADS == []  # the route never ran


def test_a_role_without_the_action_is_forbidden() -> None:
    response = get("worker-session")
    assert response.status_code == 403 and "Walter" not in response.text
    assert LOOP_THREADS == []


def test_the_route_gets_the_actor_resolved_off_the_loop(lookups: list[int]) -> None:
    response = get("manager-session", **{"user-agent": "pytest"})
    assert response.status_code == 200
    assert response.text == "Maria Manager from 198.51.100.7"
    assert lookups and LOOP_THREADS and lookups[0] != LOOP_THREADS[0]


def test_a_cross_site_request_is_forbidden_before_any_lookup(lookups: list[int]) -> None:
    response = get("manager-session", **{"sec-fetch-site": "cross-site"})
    assert response.status_code == 403 and lookups == []


def test_failures_answer_500_without_detail() -> None:
    for response in (get("broken-database"), get("manager-session", query="?crash=1")):
        assert response.status_code == 500
        assert response.text == "Error"


def test_route_requires_takes_an_action() -> None:
    with pytest.raises(TypeError):
        route_requires("audit.export")  # type: ignore[arg-type]
