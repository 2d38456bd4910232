"""The one place where a websocket event becomes an Actor.

Every event handler is an endpoint: any browser can call any handler by name, with any arguments,
from any page, even with a fresh anonymous token. So every handler carries exactly one of two
markers (tests/unit/test_dashboard_handlers.py enumerates them all):

- `@requires(Action.X)`: reads our session cookie from the websocket handshake (server-side only;
  Reflex strips the cookie before state goes to the browser), resolves the Actor through
  `services.identity.auth.resolve_session` and asks `services.core.policy`. No actor → redirect to /login; a role
  without the action → redirect to / (the handler body never runs: no data, no change). The body
  receives the Actor as its first argument after `self`; a client can never pass one.
- `@public`: the handler needs no login (language choice, the public pages' own query string,
  an invitation link's preview). It still gets the same argument and error handling.

Both wrappers check the call's arguments against the handler's signature and turn service errors
into a translated message (`error_key`; RateLimited also sets `retry_after`) instead of a stack trace.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import typing
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import reflex as rx

from services.core.actor import Actor
from services.core.errors import RateLimited, ServiceError
from services.core.policy import Action, scope_for
from services.identity import resolve_actor, session_cookie_name

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

LOGIN_ROUTE = "/login"
HOME_ROUTE = "/"

REQUIRES_ATTR = "__wd_requires__"
PUBLIC_ATTR = "__wd_public__"


def session_token_from_cookie_header(cookie_header: str | None) -> str | None:
    if not cookie_header:
        return None
    cookie_name = session_cookie_name()
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        # One malformed cookie from another app on the same host must not lock the user out.
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == cookie_name and value:
                return value
        return None
    morsel = jar.get(cookie_name)
    return morsel.value if morsel is not None and morsel.value else None


@dataclasses.dataclass(frozen=True)
class NavItem:
    name: str
    route: str


def _report(state: Any, key: str, retry_after: int = 0) -> None:
    if isinstance(state, AuthState):
        state.error_key = key
        state.retry_after = retry_after


def _guard(fn: Callable[..., Any], action: Action | None) -> Callable[..., Any]:
    """The wrapper behind both markers: `action` None means public (no actor)."""
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    if action is not None and (len(params) < 2 or params[1].name != "actor"):
        raise TypeError(f"{fn.__qualname__}: @requires handlers take (self, actor, ...)")
    visible = [params[0], *params[2:]] if action is not None else params
    public_signature = signature.replace(parameters=visible)
    try:  # resolved here: Reflex reads the hints from the wrapper, whose globals are this module's
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError):
        hints = dict(fn.__annotations__)
    hints.pop("actor", None)

    @functools.wraps(fn)
    def wrapper(self: rx.State, *args: Any, **kwargs: Any) -> Any:
        inner_args: tuple[Any, ...] = args
        if action is not None:
            if not isinstance(self, AuthState):
                raise TypeError(f"{fn.__qualname__}: @requires handlers belong to AuthState substates")
            actor = self._actor()
            if actor is None:
                self._forget_user()
                return rx.redirect(LOGIN_ROUTE, replace=True)
            if scope_for(actor, action) is None:
                return rx.redirect(HOME_ROUTE, replace=True)  # and nothing else: not even who you are
            self._remember_user(actor)
            inner_args = (actor, *args)
        if isinstance(self, AuthState):
            self._clear_messages()  # each call shows its own outcome
        try:
            public_signature.bind(self, *args, **kwargs)
        except TypeError:  # missing, extra or misnamed arguments from a hand-made event
            _report(self, "error.invalid_input")
            return None
        try:
            return fn(self, *inner_args, **kwargs)
        except RateLimited as exc:
            _report(self, "error.too_many_attempts", exc.retry_after)
        except ServiceError as exc:
            from dashboard.i18n import error_key

            _report(self, error_key(exc.message))
        except Exception:
            log.exception("handler %s failed", fn.__qualname__)
            _report(self, "error.generic")
        return None

    del wrapper.__wrapped__  # Reflex must see the public signature, not the inner one
    wrapper.__signature__ = public_signature  # type: ignore[attr-defined]
    wrapper.__annotations__ = hints
    setattr(wrapper, REQUIRES_ATTR if action is not None else PUBLIC_ATTR, action if action is not None else True)
    return rx.event(wrapper)  # the guard is the event marker too: no handler carries two decorators


def public(fn: F) -> F:
    """A handler anyone may call: it reads no tenant data (or only what its own link unlocks)."""
    return typing.cast(F, _guard(fn, None))


def requires(action: Action) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Resolve the Actor and check `action` before the handler runs; the body gets `(self, actor, ...)`."""
    if not isinstance(action, Action):
        raise TypeError(f"@requires takes an Action, not {action!r}")
    return lambda fn: _guard(fn, action)


class AuthState(rx.State):
    """Who is signed in (for display only; the Actor itself is resolved again on every call) and the
    outcome of the last call: a translated error or notice key shown by the page frame."""

    user_name: str = ""
    user_role: str = ""
    company_name: str = ""
    nav: list[NavItem] = []
    error_key: str = ""
    retry_after: int = 0
    notice_key: str = ""

    def _session_token(self) -> str | None:
        headers = self.router.headers
        cookie = headers.cookie or headers.raw_headers.get("cookie", "")
        return session_token_from_cookie_header(cookie)

    def _query_param(self, name: str, max_length: int = 320) -> str:
        """A query-string value of the current URL, cut to `max_length` (the browser's own input)."""
        value = self.router.url.query_parameters.get(name, "")
        return value[:max_length] if isinstance(value, str) else ""

    def _error_from_query(self) -> None:
        """Show the error an HTTP route redirected with (?error=<key>&retry=<seconds>); unknown keys are generic."""
        from dashboard.i18n import ERROR_KEYS

        key = self._query_param("error", 80)
        self.error_key = key if key in ERROR_KEYS else ("error.generic" if key else "")
        retry = self._query_param("retry", 8)
        self.retry_after = min(int(retry), 24 * 3600) if retry.isdigit() and self.error_key else 0

    def _enter_public_form(self) -> rx.event.EventSpec | None:
        """The sign-in and sign-up pages: show the error named in the URL; send a signed-in user home."""
        self._error_from_query()
        if self._actor() is not None:
            return rx.redirect(HOME_ROUTE, replace=True)
        self._forget_user()
        return None

    def _route_param(self, name: str) -> str:
        """A dynamic segment of the current URL (the browser's own input: check it before use)."""
        value = self.rx_router_page.params.get(name, "")
        return value if isinstance(value, str) else ""

    def _actor(self) -> Actor | None:
        router = self.router
        try:
            return resolve_actor(
                self._session_token(), ip=router.session.client_ip, user_agent=router.headers.user_agent
            )
        except Exception:
            log.exception("could not resolve the session")
            return None

    def _remember_user(self, actor: Actor) -> None:
        self.user_name = actor.full_name
        self.user_role = actor.role.value
        self.company_name = actor.company_name
        from dashboard.registry import nav_for  # the registry imports every page, and they import this module

        self.nav = nav_for(actor)

    def _forget_user(self) -> None:
        self.user_name = ""
        self.user_role = ""
        self.company_name = ""
        self.nav = []

    def _clear_messages(self) -> None:
        self.error_key = ""
        self.retry_after = 0
        self.notice_key = ""
