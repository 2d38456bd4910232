"""Issue 7, item 1: a tab's Reflex client token outlives its user. Reflex keeps every substate of the
token in Redis and sends all of them on hydrate, so whoever uses the token next (no cookie, another
company's user, a colleague with another role) must get none of the previous user's data, in any
message, hydrate included.

For every page of the registry that shows data: user A loads it on a token; then a socket with the
same token hydrates as each observer. What the observer may legitimately see is measured on a fresh
token of their own (hydrate plus the page's own on-load handlers): any of A's values beyond that is
a leak.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from devtools.seed import DEMO_USERS
from models import Company, Role
from tests.e2e.ws import EventSocket, login_cookie, without_router

pytestmark = pytest.mark.e2e

HYDRATE = "reflex___state____state.hydrate_and_load"
PLAIN_HYDRATE = "reflex___state____state.hydrate"
ACME_MANAGER, ACME_WORKER, GLOBEX_MANAGER, ADMIN = (
    "manager@acme.example.com",
    "worker@acme.example.com",
    "manager@globex.example.com",
    "admin@example.com",
)


def _data_pages() -> list[Any]:
    from dashboard.registry import PAGES, available

    return [page for page in PAGES if page.action is not None and available(page)]


def _leaves(updates: list[dict[str, Any]]) -> set[str]:
    """Every text value the updates carried (router data aside: it echoes the caller's own request)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if len(value) >= 3:
                found.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(without_router(updates))
    return found


@pytest.fixture(scope="module")
def cookies(app_url: str) -> dict[str, str]:
    by_email = {u.email: u for u in DEMO_USERS}
    return {
        email: login_cookie(app_url, email, by_email[email].password)
        for email in (ACME_MANAGER, ACME_WORKER, GLOBEX_MANAGER, ADMIN)
    }


@pytest.fixture(scope="module")
def acme_id(e2e_database: tuple[str, str]) -> Iterator[str]:
    from services.core.db import system_scope

    engine = create_engine(e2e_database[0])
    try:
        with system_scope(engine) as session:
            yield str(session.exec(select(Company.id).where(Company.name == "Acme Studio")).one()[0])
    finally:
        engine.dispose()


def _path(route: str, acme_id: str) -> tuple[str, dict[str, str]]:
    if "[" not in route:
        return route, {}
    name = route.split("[", 1)[1].split("]", 1)[0]
    return route.split("[", 1)[0] + acme_id, {name: acme_id}


def _load(socket: EventSocket, page: Any, path: str, query: dict[str, str]) -> list[dict[str, Any]]:
    updates: list[dict[str, Any]] = []
    for handler in page.on_load:
        updates += socket.call(_handler_name(handler), path=path, query=query)
    return updates


def _handler_name(handler: Any) -> str:
    from reflex_base.utils.format import format_event_handler

    return format_event_handler(handler)


def _roles_of(page: Any) -> tuple[str, list[str | None]]:
    """(user A, observers): A is Acme's manager where a manager may open the page, else the operator."""
    from services.core.policy import RULES

    if Role.MANAGER in RULES[page.action]:
        return ACME_MANAGER, [None, GLOBEX_MANAGER, ACME_WORKER]
    return ADMIN, [None, GLOBEX_MANAGER, ACME_MANAGER]


# Browsers send hydrate_and_load; a hand-made client may send the plain hydrate, which also sends everything.
CASES = [(page, HYDRATE) for page in _data_pages()] + [(p, PLAIN_HYDRATE) for p in _data_pages() if p.name == "team"]


@pytest.mark.parametrize(
    ("page", "hydrate"), CASES, ids=[f"{page.name}-{hydrate.rsplit('.', 1)[1]}" for page, hydrate in CASES]
)
def test_the_next_user_of_a_token_gets_none_of_the_previous_users_data(
    app_url: str, cookies: dict[str, str], acme_id: str, page: Any, hydrate: str
) -> None:
    path, query = _path(page.route, acme_id)
    user_a, observers = _roles_of(page)
    for observer in observers:
        first = EventSocket(app_url, cookies[user_a])
        try:
            seen_by_a = _leaves(first.call(hydrate, path=path, query=query) + _load(first, page, path, query))
        finally:
            first.close()
        assert seen_by_a, f"{user_a} saw nothing on {path}: the test would prove nothing"

        own = EventSocket(app_url, cookies[observer] if observer else None)
        try:
            allowed = _leaves(own.call(hydrate, path=path, query=query) + _load(own, page, path, query))
        finally:
            own.close()

        after = EventSocket(app_url, cookies[observer] if observer else None, token=first.token)
        try:
            received = _leaves(after.call(hydrate, path=path, query=query))
        finally:
            after.close()
        leaked = (received & seen_by_a) - allowed
        assert not leaked, f"{observer or 'anonymous'} got {user_a}'s data on {path}'s token: {sorted(leaked)[:10]}"
