"""Plain-HTTP auth routes mounted on Reflex's backend: login, logout, sign-up and its verification
link, invitation acceptance.

The forms are ordinary HTML forms, so they work before (and without) hydration. The session token
travels only in our HttpOnly cookie; the websocket handshake carries it to the states (see
dashboard/state/base.py). Errors never leak: every failure is a 303 back to the form's page with
`?error=<translation key>` (`&retry=<seconds>` when throttled). The entered non-secret fields come
back too, but never through the URL (proxy logs, browser history): they wait in Redis for a minute
under a random id, `&form=<id>` (dashboard/api/form_echo.py). A password never comes back.
A sign-up answers "check your mail" (`/signup?sent=1`) whatever the address, so the redirect does not
tell whether it has an account.
The database and password work runs in a worker thread (`off_loop`, the handlers' thread pool):
argon2 must not stall the event loop
that also serves the websockets.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import parse_qsl, quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from dashboard.api import form_echo
from dashboard.api.origins import origin_allowed
from dashboard.state.base import off_loop
from services import identity, people
from services.core.actor import Actor
from services.core.client_ip import client_ip as forwarded_client_ip
from services.core.db import system_scope
from services.core.errors import RateLimited, ServiceError
from services.core.settings import get_settings
from services.identity import (
    device_cookie_for,
    device_cookie_max_age_seconds,
    device_cookie_name,
    login,
    logout,
    session_cookie_name,
    session_max_age_seconds,
)

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 10
SIGNUP_SENT = "/signup?sent=1"  # the one answer of a sign-up that went through, known address or not

Result = TypeVar("Result")


def client_ip(request: Request) -> str:
    """The client's address: the TCP peer, or what a trusted reverse proxy forwards (services/core/client_ip.py)."""
    peer = request.client.host if request.client else ""
    return forwarded_client_ip(peer, lambda name: ", ".join(request.headers.getlist(name)) or None)


def _back(path: str, key: str, *, retry_after: int | None = None, echo: Mapping[str, str] | None = None) -> Response:
    query = {"error": key} | ({"retry": str(retry_after)} if retry_after else {})
    form_id = form_echo.keep(echo) if echo else None
    if form_id is not None:
        query[form_echo.FORM_PARAM] = form_id
    return _see_other(f"{path}?{urlencode(query)}")


def _see_other(location: str) -> Response:
    response = RedirectResponse(location, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _form_fields(request: Request) -> dict[str, str] | None:
    """The url-encoded fields of an HTML form post, or None for anything else or anything too big.

    The body is read with a byte cap: a chunked request has no Content-Length to check up front.
    """
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    return dict(pairs)


def _signed_in(token: str) -> Response:
    settings = get_settings()
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        session_cookie_name(),
        token,
        max_age=session_max_age_seconds(),
        path="/",
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def _run_form(
    request: Request,
    page_of: Callable[[Mapping[str, str]], str],
    echoed: tuple[str, ...],
    start: Callable[[dict[str, str], str, str], Result],
    done: Callable[[Result], Response],
) -> Response:
    """The shared flow of every form: read it, check the origin, run `start` (in system scope: there
    is no actor yet) and answer with `done(result)`, or go back to the form's page (`page_of(fields)`)
    with the error."""
    try:
        parsed = await _form_fields(request)
    except Exception:  # noqa: BLE001 - a malformed body is bad input, whatever the parser raised
        parsed = None
    fields = parsed or {}
    page = page_of(fields)
    if not origin_allowed(request.headers):
        return _back(page, "error.cross_site")
    if parsed is None:
        return _back(page, "error.invalid_input")
    try:
        result = await off_loop(start, fields, client_ip(request), request.headers.get("user-agent", ""))
    except RateLimited as exc:
        key, retry_after = "error.too_many_attempts", exc.retry_after
    except ServiceError as exc:
        from dashboard.i18n import error_key

        key, retry_after = error_key(exc.message), None
    except Exception:
        log.exception("%s failed unexpectedly", request.url.path)
        key, retry_after = "error.generic", None
    else:
        return done(result)
    # Keeping the echoed fields is a Redis write: off the loop, like the form's own work.
    return await off_loop(functools.partial(_back, page, key, retry_after=retry_after, echo=_echo(fields, echoed)))


async def _open_session(
    request: Request,
    page_of: Callable[[Mapping[str, str]], str],
    echoed: tuple[str, ...],
    start: Callable[[dict[str, str], str, str], tuple[str, Actor]],
) -> Response:
    """Login, verification and acceptance: `start` opens a session, whose cookie the answer sets."""
    return await _run_form(request, page_of, echoed, start, lambda opened: _signed_in(opened[0]))


def _echo(fields: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: fields.get(name, "") for name in names}


# ---- routes ------------------------------------------------------------------------------------


async def login_route(request: Request) -> Response:
    """Sign in. The browser's previous session (its cookie) ends first; a browser that signed in to the
    account before shows it with its device cookie, and gets a new one with every sign-in."""
    previous_token = request.cookies.get(session_cookie_name())
    device_cookie = request.cookies.get(device_cookie_name())
    issued: list[str] = []

    def start(fields: dict[str, str], ip: str, user_agent: str) -> tuple[str, Actor]:
        email = fields.get("email", "")
        with system_scope() as session:
            signed_in = login(
                session,
                email,
                fields.get("password", ""),
                user_agent=user_agent,
                ip=ip,
                device_cookie=device_cookie,
                previous_token=previous_token,
            )
        issued.append(device_cookie_for(email))
        return signed_in

    response = await _open_session(request, lambda _fields: "/login", (), start)
    if issued:
        response.set_cookie(
            device_cookie_name(),
            issued[0],
            max_age=device_cookie_max_age_seconds(),
            path="/",
            secure=get_settings().secure_cookies,
            httponly=True,
            samesite="lax",
        )
    return response


async def signup_route(request: Request) -> Response:
    def start(fields: dict[str, str], ip: str, _user_agent: str) -> None:
        with system_scope() as session:  # nothing is recorded about the browser before the address is proven
            identity.sign_up(
                session,
                company_name=fields.get("company_name", ""),
                full_name=fields.get("full_name", ""),
                email=fields.get("email", ""),
                password=fields.get("password", ""),
                ip=ip,
            )

    echoed = ("company_name", "full_name", "email")
    return await _run_form(request, lambda _fields: "/signup", echoed, start, lambda _: _see_other(SIGNUP_SENT))


def _link_page(prefix: str, max_token_length: int) -> Callable[[Mapping[str, str]], str]:
    """The page of a form behind a mailed link, /<prefix>/<token>: errors go back there (a missing or
    oversized token: /<prefix>/-, a page that says "invalid")."""

    def page_of(fields: Mapping[str, str]) -> str:
        token = fields.get("token", "")
        return f"/{prefix}/{quote(token, safe='')}" if 0 < len(token) <= max_token_length else f"/{prefix}/-"

    return page_of


async def verify_signup_route(request: Request) -> Response:
    def start(fields: dict[str, str], ip: str, user_agent: str) -> tuple[str, Actor]:
        with system_scope() as session:
            return identity.verify_sign_up(
                session, fields.get("token", ""), password=fields.get("password", ""), ip=ip, user_agent=user_agent
            )

    return await _open_session(request, _link_page("verify", identity.MAX_TOKEN_LENGTH), (), start)


async def accept_invite_route(request: Request) -> Response:
    def start(fields: dict[str, str], ip: str, user_agent: str) -> tuple[str, Actor]:
        with system_scope() as session:
            return people.accept(
                session,
                fields.get("token", ""),
                full_name=fields.get("full_name", ""),
                password=fields.get("password", ""),
                ip=ip,
                user_agent=user_agent,
            )

    return await _open_session(request, _link_page("invite", people.MAX_TOKEN_LENGTH), ("full_name",), start)


async def logout_route(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    if not origin_allowed(request.headers):
        return response  # do not log anyone out from another origin; do not revoke either
    token = request.cookies.get(session_cookie_name())
    if token:
        ip, user_agent = client_ip(request), request.headers.get("user-agent", "")

        def end() -> None:
            with system_scope() as session:
                logout(session, token, ip=ip, user_agent=user_agent)

        try:
            await off_loop(end)
        except Exception:
            log.exception("logout failed unexpectedly")
    settings = get_settings()
    response.delete_cookie(
        session_cookie_name(), path="/", secure=settings.secure_cookies, httponly=True, samesite="lax"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


routes = [
    Route("/api/auth/login", login_route, methods=["POST"]),
    Route("/api/auth/logout", logout_route, methods=["POST"]),
    Route("/api/auth/signup", signup_route, methods=["POST"]),
    Route("/api/auth/verify-signup", verify_signup_route, methods=["POST"]),
    Route("/api/auth/accept-invite", accept_invite_route, methods=["POST"]),
]
