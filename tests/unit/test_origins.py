"""Credentialed HTTP routes accept only the allowed origins; production's session cookie is `__Host-`.

No servers: the origin check reads headers only, and the cookie tests use the routes that need no
database (the sign-in response is built directly; logout without a cookie touches nothing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from dashboard.api import api_app
from dashboard.api.auth import _signed_in
from dashboard.api.origins import origin_allowed
from dashboard.state.base import session_token_from_cookie_header
from services.core.settings import PROJECT_ROOT, Settings, get_settings
from services.identity import session_cookie_name
from tests.unit.asgi_client import request

APP = "https://work.example.com"


@pytest.fixture
def deployed_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings of an https deployment at APP (ENV stays test: no production secrets needed)."""
    monkeypatch.setenv("PUBLIC_URL", APP)
    monkeypatch.delenv("ALLOWED_ORIGINS", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        pytest.param({"origin": APP}, True, id="the-app-itself"),
        pytest.param({"origin": "https://evil.example"}, False, id="another-site"),
        pytest.param({"origin": "https://uploads.work.example.com"}, False, id="a-subdomain"),
        pytest.param({"origin": "http://work.example.com"}, False, id="another-scheme"),
        pytest.param({"origin": "https://work.example.com:8443"}, False, id="another-port"),
        pytest.param({"origin": "null"}, False, id="opaque-origin"),
        pytest.param({"origin": "null", "sec-fetch-site": "cross-site"}, False, id="sandboxed-frame"),
        pytest.param({"origin": "null", "sec-fetch-site": "same-site"}, False, id="sibling-no-referrer-post"),
        pytest.param({"origin": "null", "sec-fetch-site": "none"}, False, id="null-not-from-a-page"),
        # Our own pages post forms under Referrer-Policy: no-referrer, and browsers then send "null".
        pytest.param({"origin": "null", "sec-fetch-site": "same-origin"}, True, id="own-form-post"),
        pytest.param({"origin": "https://evil.example", "host": "evil.example"}, False, id="dns-rebinding"),
        pytest.param({"origin": APP, "sec-fetch-site": "same-origin"}, True, id="fetch-from-the-app"),
        # A GET carries no Origin; a sibling subdomain's request is then "same-site", not "same-origin".
        pytest.param({"sec-fetch-site": "same-site"}, False, id="sibling-subdomain-get"),
        pytest.param({"sec-fetch-site": "cross-site"}, False, id="cross-site-get"),
        pytest.param({"sec-fetch-site": "same-origin"}, True, id="same-origin-get"),
        pytest.param({"sec-fetch-site": "none"}, True, id="typed-or-bookmarked"),
        pytest.param({"referer": "https://evil.example/page"}, False, id="old-browser-from-another-site"),
        pytest.param({"referer": APP + "/audit"}, True, id="old-browser-from-the-app"),
        pytest.param({}, True, id="no-browser-at-all"),
    ],
)
def test_only_allowed_origins_pass(deployed_at: Settings, headers: dict[str, str], allowed: bool) -> None:
    assert origin_allowed(headers) is allowed


def test_every_listed_origin_passes(monkeypatch: pytest.MonkeyPatch, deployed_at: Settings) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", f"{APP},https://admin.example.com")
    get_settings.cache_clear()
    assert origin_allowed({"origin": "https://admin.example.com", "sec-fetch-site": "same-site"})
    assert not origin_allowed({"origin": "https://other.example.com"})


def test_https_deployments_use_a_host_prefixed_secure_cookie(deployed_at: Settings) -> None:
    assert session_cookie_name() == "__Host-wd_session"
    cookie = _signed_in("the-token").headers["set-cookie"]
    assert cookie.startswith("__Host-wd_session=the-token;")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes
    assert "Path=/;" in cookie + ";"


def test_logout_clears_the_same_cookie(deployed_at: Settings) -> None:
    response = request(api_app(), "POST", "/api/auth/logout")
    assert response.status_code == 303
    cleared = response.headers["set-cookie"]
    assert cleared.startswith("__Host-wd_session=") and "Max-Age=0" in cleared and "Secure" in cleared


def test_the_guard_reads_only_the_host_prefixed_cookie(deployed_at: Settings) -> None:
    # A sibling subdomain can set `wd_session` for the parent domain, never `__Host-wd_session`.
    assert session_token_from_cookie_header("wd_session=tossed; __Host-wd_session=real") == "real"
    assert session_token_from_cookie_header("wd_session=tossed") is None


def test_plain_http_keeps_the_plain_cookie() -> None:
    assert not get_settings().secure_cookies  # the test environment: http://localhost
    assert session_cookie_name() == "wd_session"
    assert session_token_from_cookie_header("wd_session=t") == "t"


def test_reflex_gets_the_same_origins_for_the_websocket_and_cors() -> None:
    from reflex.config import get_config

    assert list(get_config().cors_allowed_origins) == list(get_settings().allowed_origins) != ["*"]


def test_reflex_refuses_its_own_origin_override() -> None:
    """REFLEX_<KEY> overrides any config key; a `*` there would reopen the websocket to every site."""
    env = {**os.environ, "REFLEX_CORS_ALLOWED_ORIGINS": "*"}
    result = subprocess.run(
        [sys.executable, "-c", "import rxconfig"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "ALLOWED_ORIGINS" in result.stderr
