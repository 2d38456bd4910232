"""The sign-in route (issue 7): it ends the browser's previous session, and a browser that signed in
to an account before (its device cookie) is not kept out by strangers' failed attempts."""

from __future__ import annotations

import httpx
import pytest

from devtools.seed import DEMO_USERS
from tests.e2e.test_websocket_guard import PROJECTS
from tests.e2e.ws import EventSocket, login_cookie, redirects

pytestmark = pytest.mark.e2e

MANAGER = next(u for u in DEMO_USERS if u.email == "manager@acme.example.com")
WORKER = next(u for u in DEMO_USERS if u.email == "worker@acme.example.com")
GLOBEX_CLIENT = next(u for u in DEMO_USERS if u.email == "client@globex.example.com")


def _post(app_url: str, email: str, password: str, cookies: dict[str, str] | None = None) -> httpx.Response:
    cookie = "; ".join(f"{name}={value}" for name, value in (cookies or {}).items())
    return httpx.post(
        f"{app_url}/api/auth/login",
        data={"email": email, "password": password},
        headers={"Cookie": cookie} if cookie else {},
        timeout=30,
    )


def test_signing_in_ends_the_browsers_previous_session(app_url: str) -> None:
    first = login_cookie(app_url, MANAGER.email, MANAGER.password)
    response = _post(app_url, WORKER.email, WORKER.password, {"wd_session": first})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert response.cookies.get("wd_session") not in (None, first)
    socket = EventSocket(app_url, first)
    try:
        assert redirects(socket.call(PROJECTS + ".load", path="/projects")) == ["/login"]
    finally:
        socket.close()


def test_a_known_browser_gets_in_while_strangers_keep_the_account_delayed(app_url: str) -> None:
    own = _post(app_url, GLOBEX_CLIENT.email, GLOBEX_CLIENT.password)
    device = own.cookies.get("wd_device")
    assert device and "httponly" in own.headers["set-cookie"].lower()
    for _ in range(5):  # a stranger guesses
        assert "error=" in _post(app_url, GLOBEX_CLIENT.email, "wrong-password-123").headers["location"]
    stranger = _post(app_url, GLOBEX_CLIENT.email, GLOBEX_CLIENT.password)
    assert "error=error.too_many_attempts" in stranger.headers["location"]
    owner = _post(app_url, GLOBEX_CLIENT.email, GLOBEX_CLIENT.password, {"wd_device": device})
    assert owner.headers["location"] == "/" and owner.cookies.get("wd_session")
    assert owner.cookies.get("wd_device") not in (None, device)  # a fresh one with every sign-in
