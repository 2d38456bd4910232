"""The session cookie reaches the server on the websocket handshake, and a handler called by name
over a raw socket.io connection (no page, no on_load) still checks the Actor itself."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.seed import DEMO_USERS
from models import Role
from tests.e2e.ws import EventSocket, login_cookie, merged_delta, redirects

pytestmark = pytest.mark.e2e

STATE = "reflex___state____state.dashboard___state___base____auth_state"
PROJECTS = STATE + ".dashboard___features___projects___state____projects_state"
COMPANIES = STATE + ".dashboard___features___companies___state____companies_state"
TEAM = STATE + ".dashboard___features___team___state____team_state"
AUDIT = STATE + ".dashboard___features___audit___state____audit_state"


def _login_token(app_url: str, role: Role) -> str:
    user = next(u for u in DEMO_USERS if u.role is role)
    return login_cookie(app_url, user.email, user.password)


def _call(
    app_url: str, handler: str, path: str, cookie: str | None, payload: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Connect like a browser would (any made-up client token), call one handler, collect its updates."""
    socket = EventSocket(app_url, cookie)
    try:
        return socket.call(handler, payload or {}, path=path)
    finally:
        socket.close()


def _var(delta: dict[str, dict[str, Any]], state: str, name: str) -> Any:
    values = delta.get(state, {})
    return next((v for k, v in values.items() if k == name or k.startswith(name + "_rx_state_")), None)


def test_anonymous_socket_gets_redirect_not_data(app_url: str) -> None:
    updates = _call(app_url, PROJECTS + ".load", "/projects", cookie=None)
    assert redirects(updates) == ["/login"], updates
    assert not _var(merged_delta(updates), PROJECTS, "projects")


def test_cookie_on_handshake_identifies_the_user(app_url: str) -> None:
    token = _login_token(app_url, Role.MANAGER)
    updates = _call(app_url, PROJECTS + ".load", "/projects", cookie=token)
    delta = merged_delta(updates)
    assert redirects(updates) == [], updates
    assert _var(delta, STATE, "user_name") == "Maria Manager"  # resolved from the cookie, on the server
    assert _var(delta, PROJECTS, "projects"), delta


def test_wrong_role_over_socket_gets_no_data(app_url: str) -> None:
    token = _login_token(app_url, Role.WORKER)
    updates = _call(app_url, COMPANIES + ".load", "/companies", cookie=token)
    assert redirects(updates) == ["/"], updates
    assert not _var(merged_delta(updates), COMPANIES, "companies")
    assert "Globex" not in repr(updates)


def test_session_token_never_reaches_the_browser_state(app_url: str) -> None:
    token = _login_token(app_url, Role.MANAGER)
    updates = _call(app_url, PROJECTS + ".load", "/projects", cookie=token)
    assert updates and token not in repr(updates)


def test_anonymous_socket_cannot_change_a_role(app_url: str) -> None:
    payload = {"user_id": "00000000-0000-4000-8000-000000000000", "role": "manager"}
    updates = _call(app_url, TEAM + ".change_role", "/team", cookie=None, payload=payload)
    assert redirects(updates) == ["/login"], updates
    assert not _var(merged_delta(updates), TEAM, "members")


def test_client_socket_gets_no_team_or_audit_data(app_url: str) -> None:
    token = _login_token(app_url, Role.CLIENT)
    for handler, path, var in (
        (TEAM + ".load_members", "/team", "members"),
        (AUDIT + ".load_entries", "/audit", "entries"),
    ):
        updates = _call(app_url, handler, path, cookie=token)
        assert redirects(updates) == ["/"], updates
        assert not _var(merged_delta(updates), handler.rsplit(".", 1)[0], var)
        assert "@acme.example.com" not in repr(updates).replace("client@acme.example.com", "")


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        # A malformed id names no row: the same answer as a well-formed id that names none (below).
        ({"user_id": "not-a-uuid", "role": "worker"}, "error.not_found"),
        ({"user_id": ["a", "list"], "role": "worker"}, "error.not_found"),
        ({"user_id": "00000000-0000-4000-8000-000000000000", "role": "admin"}, "error.invalid_input"),
        ({"user_id": "00000000-0000-4000-8000-000000000000", "role": "worker"}, "error.not_found"),
        ({"unexpected": 1}, "error.invalid_input"),
    ],
)
def test_bad_arguments_get_a_clear_error(app_url: str, payload: dict[str, Any], error: str) -> None:
    token = _login_token(app_url, Role.MANAGER)
    updates = _call(app_url, TEAM + ".change_role", "/team", cookie=token, payload=payload)
    assert redirects(updates) == [], updates
    assert _var(merged_delta(updates), STATE, "error_key") == error, updates
    assert "Traceback" not in repr(updates)


def test_oversized_chunked_login_body_is_refused_without_reading_it_all(app_url: str) -> None:
    import httpx

    def body():  # no Content-Length: the route must count bytes itself
        yield b"email=a%40example.com&password="
        for _ in range(64):
            yield b"x" * 1024

    response = httpx.post(
        f"{app_url}/api/auth/login",
        content=body(),
        headers={"content-type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code == 303
    assert "error=error.invalid_input" in response.headers["location"]
    assert "wd_session" not in response.cookies
