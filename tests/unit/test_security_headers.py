"""The security headers middleware: every HTTP response gets them, the policy allows exactly the
built pages' own inline scripts (by hash) and the app's own websocket. The e2e suite checks the real
app (tests/e2e/test_security_headers.py)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from dashboard.api.headers import SecurityHeaders
from services.core.settings import Settings, get_settings
from tests.run_async import run_async
from tests.unit.asgi_client import request

INLINE = 'window.__ctx = {"a": "<b>"};\n'
MODULE = 'import "/assets/x.js";'


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture
def pages(tmp_path: Path) -> Path:
    (tmp_path / "login").mkdir()
    (tmp_path / "login" / "index.html").write_text(
        f'<html><head><script src="/assets/app.js"></script><script>{INLINE}</script>'
        f'<script type="module" async="">{MODULE}</script><style>.a{{color:red}}</style></head></html>'
    )
    (tmp_path / "index.html").write_text(f"<html><body><script>{INLINE}</script></body></html>")
    return tmp_path


def inner_app() -> Starlette:
    async def page(_request: object) -> PlainTextResponse:
        return PlainTextResponse("hi", headers={"X-Content-Type-Options": "whatever"})

    return Starlette(routes=[Route("/page", page)])


def get(settings: Settings, pages: Path, path: str = "/page") -> httpx.Response:
    return request(SecurityHeaders(inner_app(), settings=settings, pages_dir=pages), "GET", path)


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_every_response_carries_the_headers(pages: Path) -> None:
    for path in ("/page", "/missing"):
        response = get(get_settings(), pages, path)
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]  # replaced, not added
        policy = directives(response.headers["content-security-policy"])
        assert policy["frame-ancestors"] == ["'none'"]
        assert "strict-transport-security" not in response.headers  # not outside production


def test_scripts_only_from_the_app_and_its_own_inline_scripts(pages: Path) -> None:
    # No S3 server configured (earlier tests in the same run may have set one: its origin is checked below).
    settings = get_settings().model_copy(update={"s3_endpoint_url": None, "s3_public_url": None})
    policy = directives(get(settings, pages).headers["content-security-policy"])
    assert sorted(policy["script-src"]) == sorted(["'self'", sha256(INLINE), sha256(MODULE)])
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]  # the server-rendered two-factor QR code
    loose = [name for name, values in policy.items() if {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(values)]
    assert loose == ["style-src"]  # styles only: dashboard/api/headers.py STYLES says why


def test_the_websocket_may_reach_only_the_allowed_origins(pages: Path) -> None:
    settings = get_settings().model_copy(
        update={"allowed_origins": ("https://work.example.com", "http://localhost:8000")}
    )
    policy = directives(get(settings, pages).headers["content-security-policy"])
    assert policy["connect-src"] == ["'self'", "wss://work.example.com", "ws://localhost:8000"]


def test_production_adds_hsts(pages: Path) -> None:
    hsts = get(get_settings().model_copy(update={"env": "production"}), pages).headers["strict-transport-security"]
    max_age = int(hsts.split(";")[0].removeprefix("max-age="))
    assert max_age >= 365 * 24 * 3600 and "includeSubDomains" in hsts


def test_without_built_pages_no_inline_script_is_allowed(tmp_path: Path) -> None:
    policy = directives(get(get_settings(), tmp_path / "absent").headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]


def test_websocket_handshakes_pass_through_untouched(pages: Path) -> None:
    seen: list[dict] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        seen.append(scope)

    middleware = SecurityHeaders(app, settings=get_settings(), pages_dir=pages)
    run_async(middleware({"type": "websocket", "path": "/_event"}, None, None))
    assert seen == [{"type": "websocket", "path": "/_event"}]


def test_file_previews_may_load_from_the_s3_server_only(pages: Path) -> None:
    settings = get_settings().model_copy(update={"s3_public_url": "https://files.example.com/"})
    policy = directives(get(settings, pages).headers["content-security-policy"])
    assert policy["img-src"] == ["'self'", "data:", "https://files.example.com"]
    assert policy["frame-src"] == ["'self'", "https://files.example.com"]
