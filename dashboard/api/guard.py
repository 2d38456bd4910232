"""The HTTP routes' guard: `@route_requires(Action.X)`, the websocket guard's counterpart.

It reads our session cookie, resolves the Actor through the same `services.identity.resolve_actor`
(in a worker thread: it is a database lookup) and asks `services.core.policy` before the route runs;
the route receives `(request, actor)`, never a caller it derived itself. The answers reveal nothing:
403 for a request from another origin (dashboard/api/origins.py: the browser attached the cookie
for another site), no session, or a
role without the action; 500 with no detail (logged) for a failure the route did not answer itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from dashboard.api.auth import client_ip
from dashboard.api.origins import origin_allowed
from dashboard.i18n import DEFAULT_LANGUAGE, LANGUAGES
from dashboard.state.base import Credentials, off_loop, session_token_from_cookie_header
from services.core.actor import Actor
from services.core.policy import Action, scope_for

log = logging.getLogger(__name__)

GuardedRoute = Callable[[Request, Actor], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def forbidden() -> Response:
    return PlainTextResponse("Forbidden", status_code=403, headers={"Cache-Control": "no-store"})


def _failed() -> Response:
    return PlainTextResponse("Error", status_code=500, headers={"Cache-Control": "no-store"})


def credentials(request: Request) -> Credentials:
    return Credentials(
        session_token_from_cookie_header(request.headers.get("cookie")),
        client_ip(request),
        request.headers.get("user-agent", ""),
    )


def request_language(request: Request) -> str:
    """The language the page asked for (`X-Language`, sent by the app's own scripts), else the first
    of the browser's languages (Accept-Language) the app speaks, else the default."""
    asked = request.headers.get("x-language", "").strip().lower()
    if asked in LANGUAGES:
        return asked
    for item in request.headers.get("accept-language", "").split(","):
        code = item.split(";")[0].strip().lower().split("-")[0]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def route_requires(action: Action) -> Callable[[GuardedRoute], Endpoint]:
    """Resolve the Actor and check `action` before the route runs; the route gets `(request, actor)`."""
    if not isinstance(action, Action):
        raise TypeError(f"@route_requires takes an Action, not {action!r}")

    def decorate(route: GuardedRoute) -> Endpoint:
        @functools.wraps(route)
        async def endpoint(request: Request) -> Response:
            if not origin_allowed(request.headers):
                return forbidden()
            try:
                actor = await off_loop(credentials(request).resolve)
                if actor is None or scope_for(actor, action) is None:
                    return forbidden()
                return await route(request, actor)
            except Exception:
                log.exception("%s %s failed", request.method, request.url.path)
                return _failed()

        return endpoint

    return decorate
