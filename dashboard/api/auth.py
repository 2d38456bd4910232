"""POST /api/auth/login and /api/auth/logout: plain HTTP, mounted on Reflex's backend.

The login form is an ordinary HTML form, so it works before (and without) hydration. The
session token travels only in our HttpOnly cookie; the websocket handshake carries it to the
states (see dashboard/state/base.py). Errors never leak: every failure is a 303 to
/login?error=<translation key>.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from services.auth import SESSION_COOKIE, login, logout, session_max_age_seconds
from services.db import system_scope
from services.errors import RateLimited, ServiceError
from services.settings import get_settings

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 16 * 1024


def _login_error(key: str, retry_after: int | None = None) -> RedirectResponse:
    query = {"error": key} | ({"retry": str(retry_after)} if retry_after else {})
    return RedirectResponse("/login?" + urlencode(query), status_code=303)


def _same_origin(request: Request) -> bool:
    """Refuse cross-site form posts (CSRF, login CSRF).

    Browsers send Origin on every cross-origin POST, so a request whose Origin (or, failing that,
    Referer) names another host is refused. Requests with neither (curl, tests) carry no ambient
    browser credentials of a victim and are allowed.
    """
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return False
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True
    if source == "null":
        return False
    source_netloc = urlsplit(source).netloc.lower()
    allowed = {request.headers.get("host", "").lower(), urlsplit(get_settings().public_url).netloc.lower()}
    allowed.discard("")
    return source_netloc in allowed


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def _form_fields(request: Request) -> dict[str, str] | None:
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        return None
    form = await request.form(max_files=0, max_fields=10)
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _clear_cookie(response: Response) -> None:
    settings = get_settings()
    response.delete_cookie(SESSION_COOKIE, path="/", secure=settings.secure_cookies, httponly=True, samesite="lax")


async def login_route(request: Request) -> Response:
    if not _same_origin(request):
        return _login_error("error.cross_site")
    try:
        fields = await _form_fields(request)
        if fields is None:
            return _login_error("error.invalid_input")
        # Login looks users up by email before any tenant is known: system scope (services.db).
        with system_scope() as session:
            token, _actor = login(
                session,
                fields.get("email", ""),
                fields.get("password", ""),
                user_agent=request.headers.get("user-agent", ""),
                ip=_client_ip(request),
            )
    except RateLimited as exc:
        return _login_error("error.too_many_attempts", exc.retry_after)
    except ServiceError as exc:
        from dashboard.i18n import error_key

        return _login_error(error_key(exc.message))
    except Exception:
        log.exception("login failed unexpectedly")
        return _login_error("error.generic")
    settings = get_settings()
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=session_max_age_seconds(),
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def logout_route(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    if not _same_origin(request):
        return response  # do not log anyone out from another site; do not revoke either
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            with system_scope() as session:
                logout(session, token, ip=_client_ip(request), user_agent=request.headers.get("user-agent", ""))
        except Exception:
            log.exception("logout failed unexpectedly")
    _clear_cookie(response)
    response.headers["Cache-Control"] = "no-store"
    return response


routes = [
    Route("/api/auth/login", login_route, methods=["POST"]),
    Route("/api/auth/logout", logout_route, methods=["POST"]),
]
