"""Plain-HTTP auth routes mounted on Reflex's backend: login, logout, sign-up and its verification
link, invitation acceptance, the password reset request and its mailed link, the second step of a
sign-in (two-factor), and single sign-on through a company's OpenID Connect provider (GET: the
provider's redirects).

The forms are ordinary HTML forms, so they work before (and without) hydration. The session token
travels only in our HttpOnly cookie; the websocket handshake carries it to the states (see
dashboard/state/base.py). Errors never leak: every failure is a 303 back to the form's page with
`?error=<translation key>` (`&retry=<seconds>` when throttled). The entered non-secret fields come
back too, but never through the URL (proxy logs, browser history): they wait in Redis for a minute
under a random id, `&form=<id>` (dashboard/api/form_echo.py). A password never comes back.
A sign-up answers "check your mail" (`/signup?sent=1`) whatever the address, so the redirect does not
tell whether it has an account; so does a reset request (`/reset?sent=1`).
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

from starlette.background import BackgroundTask
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
from services.core.errors import AuthenticationFailed, RateLimited, ServiceError, ValidationFailed
from services.core.settings import get_settings
from services.identity import (
    SecondFactorRequired,
    device_cookie_for,
    device_cookie_max_age_seconds,
    device_cookie_name,
    login,
    logout,
    pending_cookie_name,
    session_cookie_name,
    session_max_age_seconds,
    trusted_cookie_name,
)

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 16 * 1024
MAX_FORM_FIELDS = 10
SIGNUP_SENT = "/signup?sent=1"  # the one answer of a sign-up that went through, known address or not
RESET_SENT = "/reset?sent=1"  # the one answer of a reset request that went through, known address or not
SECOND_STEP = "/login/two-factor"  # the page of a pending sign-in's second step
PASSWORD_WAS_RESET = "/login?reset=1"  # noqa: S105 - a page, not a password: sign in with the new one

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


def _set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    """One of our cookies: HttpOnly, SameSite=Lax, the whole site, Secure when cookies must be."""
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=get_settings().secure_cookies, httponly=True, samesite="lax"
    )


def _signed_in(token: str) -> Response:
    response = _see_other("/")
    _set_cookie(response, session_cookie_name(), token, session_max_age_seconds())
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
    account before shows it with its device cookie, and gets a new one with every right password.
    When a second step is due (services/identity/totp.py) no session opens: a short-lived pending
    sign-in cookie leads to the second step's page (SECOND_STEP)."""
    previous_token = request.cookies.get(session_cookie_name())
    device_cookie = request.cookies.get(device_cookie_name())
    trusted_cookie = request.cookies.get(trusted_cookie_name())
    issued: list[str] = []

    def start(fields: dict[str, str], ip: str, user_agent: str) -> tuple[str, Actor] | SecondFactorRequired:
        email = fields.get("email", "")
        result: tuple[str, Actor] | SecondFactorRequired
        with system_scope() as session:
            try:
                result = login(
                    session,
                    email,
                    fields.get("password", ""),
                    user_agent=user_agent,
                    ip=ip,
                    device_cookie=device_cookie,
                    previous_token=previous_token,
                    trusted_cookie=trusted_cookie,
                )
            except SecondFactorRequired as second_step:
                result = second_step  # the block commits: a rehashed password is kept
        issued.append(device_cookie_for(email))
        return result

    def done(result: tuple[str, Actor] | SecondFactorRequired) -> Response:
        if isinstance(result, SecondFactorRequired):
            response = _see_other(SECOND_STEP)
            _set_cookie(response, pending_cookie_name(), result.pending_token, identity.PENDING_SECONDS)
            return response
        return _signed_in(result[0])

    response = await _run_form(request, lambda _fields: "/login", (), start, done)
    if issued:
        _set_cookie(response, device_cookie_name(), issued[0], device_cookie_max_age_seconds())
    return response


async def two_factor_route(request: Request) -> Response:
    """The second step: a code (or a recovery code; for an enrolment, the new key's first code) completes
    the pending sign-in of this browser's cookie and opens the session; "trust this browser" sets a
    30-day cookie that skips the step. Errors go back to the second step's page."""
    pending_token = request.cookies.get(pending_cookie_name())
    previous_token = request.cookies.get(session_cookie_name())

    def start(fields: dict[str, str], ip: str, user_agent: str) -> identity.SignedIn:
        with system_scope() as session:
            return identity.complete_sign_in(
                session,
                pending_token,
                fields.get("code", ""),
                ip=ip,
                user_agent=user_agent,
                previous_token=previous_token,
                trust_browser=fields.get("trust", "") == "on",
            )

    def done(result: identity.SignedIn) -> Response:
        response = _signed_in(result.token)
        settings = get_settings()
        response.delete_cookie(
            pending_cookie_name(), path="/", secure=settings.secure_cookies, httponly=True, samesite="lax"
        )
        if result.trusted_token:
            _set_cookie(response, trusted_cookie_name(), result.trusted_token, identity.TRUST_DAYS * 24 * 3600)
        return response

    return await _run_form(request, lambda _fields: SECOND_STEP, (), start, done)


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


async def reset_request_route(request: Request) -> Response:
    """ "Forgot password?": the same answer whatever the address (services/identity/recovery.py)."""

    def start(fields: dict[str, str], ip: str, _user_agent: str) -> identity.ResetMail | None:
        with system_scope() as session:
            return identity.request_password_reset(session, fields.get("email", ""), ip=ip)

    def done(mail: identity.ResetMail | None) -> Response:
        response = _see_other(RESET_SENT)
        if mail is not None:
            # Committed; sent once the answer is out (Starlette runs it in a worker thread), so a known
            # address takes no longer to answer than an unknown one, whatever the SMTP server does.
            response.background = BackgroundTask(identity.send_reset_mail, mail)
        return response

    return await _run_form(request, lambda _fields: "/reset", ("email",), start, done)


async def reset_password_route(request: Request) -> Response:
    """The mailed link's form: a new password (twice). Every session of the account ends; no sign-in here."""

    def start(fields: dict[str, str], ip: str, user_agent: str) -> None:
        if fields.get("password", "") != fields.get("repeat_password", ""):
            raise ValidationFailed("error.password_mismatch")
        with system_scope() as session:
            identity.reset_password(
                session, fields.get("token", ""), new_password=fields.get("password", ""), ip=ip, user_agent=user_agent
            )

    page_of = _link_page("reset", identity.MAX_TOKEN_LENGTH)
    return await _run_form(request, page_of, (), start, lambda _: _see_other(PASSWORD_WAS_RESET))


SSO_COOKIE = "wd_sso"  # the base name: browsers get sso_cookie_name()


def sso_cookie_name() -> str:
    """The cookie binding an SSO sign-in to the browser that started it (its `state`)."""
    return f"__Host-{SSO_COOKIE}" if get_settings().secure_cookies else SSO_COOKIE


async def sso_start_route(request: Request) -> Response:
    """GET /api/auth/sso/start?company=<slug>: off to the company's identity provider (a link, not a form:
    the form-action policy would stop a form's redirect to another site). Errors: back to the company's
    sign-in page."""
    slug = request.query_params.get("company", "")[:80]
    back = f"/login/sso/{quote(slug, safe='')}" if slug else "/login"

    def start() -> people.SsoStart:
        with system_scope() as session:
            return people.begin_sso(session, slug)

    try:
        begun = await off_loop(start)
    except ServiceError as exc:
        from dashboard.i18n import error_key

        return _see_other(f"{back}?{urlencode({'error': error_key(exc.message)})}")
    except Exception:
        log.exception("sso start failed unexpectedly")
        return _see_other(f"{back}?error=error.generic")
    response = _see_other(begun.url)
    _set_cookie(response, sso_cookie_name(), begun.state, people.FLOW_SECONDS)
    return response


async def sso_callback_route(request: Request) -> Response:
    """GET /api/auth/sso/callback?code&state: the provider sends the browser back here. A session opens
    for whoever may come in (services/people/sso.py); every refusal goes to /login with its reason."""
    params = request.query_params
    browser_state = request.cookies.get(sso_cookie_name())
    previous_token = request.cookies.get(session_cookie_name())
    ip, user_agent = client_ip(request), request.headers.get("user-agent", "")

    def complete() -> tuple[str, Actor]:
        if params.get("error"):
            raise AuthenticationFailed("error.sso_failed")  # the provider refused, or the person cancelled
        with system_scope() as session:
            return people.complete_sso(
                session,
                state=params.get("state", ""),
                browser_state=browser_state,
                code=params.get("code", ""),
                ip=ip,
                user_agent=user_agent,
                previous_token=previous_token,
            )

    try:
        token, _actor = await off_loop(complete)
    except ServiceError as exc:
        from dashboard.i18n import error_key

        response = _see_other(f"/login?{urlencode({'error': error_key(exc.message)})}")
    except Exception:
        log.exception("sso callback failed unexpectedly")
        response = _see_other("/login?error=error.generic")
    else:
        response = _signed_in(token)
    settings = get_settings()
    response.delete_cookie(sso_cookie_name(), path="/", secure=settings.secure_cookies, httponly=True, samesite="lax")
    return response


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
    Route("/api/auth/two-factor", two_factor_route, methods=["POST"]),
    Route("/api/auth/sso/start", sso_start_route, methods=["GET"]),
    Route(people.CALLBACK_PATH, sso_callback_route, methods=["GET"]),
    Route("/api/auth/signup", signup_route, methods=["POST"]),
    Route("/api/auth/verify-signup", verify_signup_route, methods=["POST"]),
    Route("/api/auth/accept-invite", accept_invite_route, methods=["POST"]),
    Route("/api/auth/reset-request", reset_request_route, methods=["POST"]),
    Route("/api/auth/reset-password", reset_password_route, methods=["POST"]),
]
