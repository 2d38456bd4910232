"""Other origins against the running app: the websocket handshake and every credentialed HTTP route
accept only the allowed origins (here the app's own, PUBLIC_URL = app_url), over raw connections
that send exactly the headers a browser on another origin would."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import websocket

from devtools.seed import DEMO_USERS
from models import Role
from services.identity import session_cookie_name
from tests.e2e.ws import login_cookie

pytestmark = pytest.mark.e2e

MANAGER = next(u for u in DEMO_USERS if u.role is Role.MANAGER)
EXPORT = "/api/audit/export.csv"


def other_origins(app_url: str) -> list[str]:
    """Origins a browser may send that are not the app's: another site, a sibling name of the same
    server, another scheme with the same host and port."""
    port = urlsplit(app_url).port
    return ["https://evil.example", f"http://localhost:{port}", f"https://127.0.0.1:{port}", "null"]


def handshake(app_url: str, origin: str) -> str:
    """Open /_event like a browser page at `origin`; the engine.io open packet, or "refused <status>"."""
    url = app_url.replace("http://", "ws://", 1) + "/_event/?EIO=4&transport=websocket"
    try:
        connection = websocket.create_connection(url, origin=origin, timeout=15)
    except websocket.WebSocketBadStatusException as exc:
        return f"refused {exc.status_code}"
    try:
        return str(connection.recv())
    finally:
        connection.close()


def client(app_url: str, cookies: dict[str, str] | None = None) -> httpx.Client:
    return httpx.Client(base_url=app_url, cookies=cookies, timeout=30, follow_redirects=False)


@pytest.fixture
def http(app_url: str) -> Iterator[httpx.Client]:
    with client(app_url) as anonymous:
        yield anonymous


@pytest.fixture
def manager(app_url: str) -> Iterator[httpx.Client]:
    """A client holding a fresh session cookie of the manager."""
    cookie = login_cookie(app_url, MANAGER.email, MANAGER.password)
    with client(app_url, {session_cookie_name(): cookie}) as signed_in:
        yield signed_in


def test_the_websocket_handshake_refuses_other_origins(app_url: str) -> None:
    for origin in other_origins(app_url):
        assert handshake(app_url, origin).startswith("refused"), origin
    opened = handshake(app_url, app_url)
    assert opened.startswith("0{") and '"sid"' in opened  # engine.io's open packet


def test_the_audit_export_refuses_other_origins(manager: httpx.Client, app_url: str) -> None:
    for origin in other_origins(app_url):
        refused = manager.get(EXPORT, headers={"Origin": origin, "Sec-Fetch-Site": "cross-site"})
        assert refused.status_code == 403, origin
        assert "access-control-allow-origin" not in refused.headers, origin  # nor may a script read it
    # A sibling subdomain's page: same-site, and a GET carries no Origin.
    sibling = manager.get(EXPORT, headers={"Sec-Fetch-Site": "same-site"})
    assert sibling.status_code == 403

    own = manager.get(EXPORT, headers={"Origin": app_url, "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 200 and own.text.startswith("id,")
    clicked = manager.get(EXPORT, headers={"Sec-Fetch-Site": "same-origin"})
    assert clicked.status_code == 200


def test_sign_in_refuses_other_origins(http: httpx.Client, app_url: str) -> None:
    form = {"email": MANAGER.email, "password": MANAGER.password}
    for origin in other_origins(app_url):
        refused = http.post("/api/auth/login", data=form, headers={"Origin": origin})
        assert refused.status_code == 303 and "error=error.cross_site" in refused.headers["location"], origin
        assert session_cookie_name() not in refused.headers.get("set-cookie", ""), origin
    # DNS rebinding: the attacker's name resolves to the server, so Host and Origin agree, on the wrong name.
    rebound = http.post("/api/auth/login", data=form, headers={"Origin": "http://evil.example", "Host": "evil.example"})
    assert "error=error.cross_site" in rebound.headers["location"]

    accepted = http.post("/api/auth/login", data=form, headers={"Origin": app_url})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/"
    assert accepted.cookies.get(session_cookie_name())


def test_sign_out_from_another_origin_ends_nothing(manager: httpx.Client, app_url: str) -> None:
    cookie = dict(manager.cookies)
    for origin in other_origins(app_url):
        manager.post("/api/auth/logout", headers={"Origin": origin})
        assert manager.get(EXPORT).status_code == 200, origin

    manager.post("/api/auth/logout", headers={"Origin": app_url})
    with client(app_url, cookie) as same_cookie:  # the response cleared it in `manager`; the session must be over too
        assert same_cookie.get(EXPORT).status_code == 403
