"""The one place where a websocket event becomes an Actor.

Every handler that returns data is wrapped in `@requires(Page.X)`: it reads our session cookie
from the websocket handshake headers (server-side only; Reflex strips the cookie before state
goes to the browser), resolves the Actor through `services.auth.resolve_session`, and asks
`services.policy`. No actor → redirect to /login; wrong role → redirect to /. The page
`on_load` guards use the same handlers, so the guard and the data check cannot drift apart.

Handlers that touch no data (language choice) are marked `@public`; a test can enumerate all
handlers and require one of the two markers.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import reflex as rx

from services.actor import Actor
from services.auth import SESSION_COOKIE, resolve_session
from services.db import system_scope
from services.errors import ServiceError
from services.policy import Page, can_open, pages_for

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

LOGIN_ROUTE = "/login"
HOME_ROUTE = "/"
PAGE_ROUTES: dict[str, str] = {
    Page.HOME.value: HOME_ROUTE,
    Page.PROJECTS.value: "/projects",
    Page.COMPANIES.value: "/companies",
}

REQUIRES_ATTR = "__wd_requires__"
PUBLIC_ATTR = "__wd_public__"


def session_token_from_cookie_header(cookie_header: str | None) -> str | None:
    if not cookie_header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        # One malformed cookie from another app on the same host must not lock the user out.
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE and value:
                return value
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def public(fn: F) -> F:
    """Mark a handler that reads and writes no server data (safe for anonymous callers)."""
    setattr(fn, PUBLIC_ATTR, True)
    return fn


def requires(page: Page) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Resolve the Actor and check `can_open(actor, page)` before the handler runs.

    The wrapped function receives the Actor as its first argument after `self`:
    `def load(self, actor: Actor, ...)`. The wrapper exposes the signature without `actor`,
    so a client can never pass one. Service errors become a translated `error_key`.
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(fn)
        params = list(signature.parameters.values())
        if len(params) < 2 or params[1].name != "actor":
            raise TypeError(f"{fn.__qualname__}: @requires handlers take (self, actor, ...)")
        public_signature = signature.replace(parameters=[params[0], *params[2:]])

        @functools.wraps(fn)
        def wrapper(self: AuthState, *args: Any, **kwargs: Any) -> Any:
            actor = self._actor()
            if actor is None:
                self._forget_user()
                return rx.redirect(LOGIN_ROUTE, replace=True)
            self._remember_user(actor)
            if not can_open(actor, page):
                return rx.redirect(HOME_ROUTE, replace=True)
            try:
                return fn(self, actor, *args, **kwargs)
            except ServiceError as exc:
                from dashboard.i18n import error_key

                self.error_key = error_key(exc.message)
                return None
            except Exception:
                log.exception("handler %s failed", fn.__qualname__)
                self.error_key = "error.generic"
                return None

        del wrapper.__wrapped__  # Reflex must see the public signature, not the inner one
        wrapper.__signature__ = public_signature  # type: ignore[attr-defined]
        wrapper.__annotations__ = {k: v for k, v in fn.__annotations__.items() if k != "actor"}
        setattr(wrapper, REQUIRES_ATTR, page)
        return wrapper

    return decorate


class AuthState(rx.State):
    """Who is signed in, for display only. The Actor itself is resolved again on every call."""

    user_name: str = ""
    user_role: str = ""
    company_name: str = ""
    nav_pages: list[str] = []
    error_key: str = ""

    def _session_token(self) -> str | None:
        headers = self.router.headers
        cookie = headers.cookie or headers.raw_headers.get("cookie", "")
        return session_token_from_cookie_header(cookie)

    def _actor(self) -> Actor | None:
        token = self._session_token()
        if not token:
            return None
        router = self.router
        try:
            # Resolving a token happens before any tenant is known: system scope (services.db).
            with system_scope() as session:
                return resolve_session(
                    session, token, ip=router.session.client_ip, user_agent=router.headers.user_agent
                )
        except Exception:
            log.exception("could not resolve the session")
            return None

    def _remember_user(self, actor: Actor) -> None:
        self.user_name = actor.full_name
        self.user_role = actor.role.value
        self.company_name = actor.company_name
        self.nav_pages = [p.value for p in pages_for(actor.role)]
        self.error_key = ""

    def _forget_user(self) -> None:
        self.user_name = ""
        self.user_role = ""
        self.company_name = ""
        self.nav_pages = []
