"""The one place where a websocket event becomes an Actor, and where handler work leaves the event loop.

Every event handler is an endpoint: any browser can call any handler by name, with any arguments,
from any page, even with a fresh anonymous token. So every handler carries exactly one of two
markers (tests/unit/test_dashboard_handlers.py enumerates them all):

- `@requires(Action.X)`: reads our session cookie from the websocket handshake (server-side only;
  Reflex strips the cookie before state goes to the browser), resolves the Actor through
  `services.identity.resolve_actor` and asks `services.core.policy`. No actor → redirect to /login; a role
  without the action → redirect to / (the handler body never runs: no data, no change). The body
  receives the Actor as its first argument after `self`; a client can never pass one.
- `@public`: the handler needs no login (language choice, the public pages' own query string,
  an invitation link's preview). It still gets the same argument and error handling.

Both apply `rx.event` themselves (never stack a second event decorator) and take `background=True`
for Reflex background tasks. Both check the call's arguments against the handler's public signature
and turn service errors into a translated message (`error_key`; RateLimited also sets `retry_after`)
instead of a stack trace, also when the error is raised while a generator or background task runs.

Nothing blocks the event loop, which serves every websocket of the worker process:
- a synchronous handler (plain or generator) runs in a worker thread, actor resolution included, while
  the loop awaits it. Reflex holds the token's state lock for the whole event, so the thread is the only
  writer of that state; Reflex's change tracking is plain attribute bookkeeping and works from any
  thread. A generator's steps each run in a thread; its updates are sent between steps, on the loop;
- an `async` handler (coroutine, async generator, background task) runs on the loop; the guard resolves
  the actor in a thread, and the body must hand its own blocking calls to `off_loop`;
- a background handler holds no lock outside `async with self`, so the guard writes the signed-in user,
  the cleared messages and any error inside such a block.
A cancelled event (the browser went away) still waits for its thread: that thread may be writing
to the state whose lock the event holds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import logging
import math
import typing
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextvars import ContextVar
from http.cookies import CookieError, SimpleCookie
from typing import Any, TypeVar

import anyio.to_thread
import reflex as rx
from reflex.event import EventSpec
from reflex.state import BaseState
from reflex_base.event.context import EventContext

from services.core import clock
from services.core.actor import Actor
from services.core.client_ip import client_ip
from services.core.db import WORKER_THREADS
from services.core.errors import CompanyReadOnly, RateLimited, ServiceError
from services.core.policy import Action, is_read_only, refuse_if_read_only, scope_for
from services.identity import cached_actor, resolve_actor, session_cookie_name

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

LOGIN_ROUTE = "/login"
HOME_ROUTE = "/"

REQUIRES_ATTR = "__wd_requires__"
PUBLIC_ATTR = "__wd_public__"


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run blocking work (database, argon2, SMTP) in a worker thread while the loop serves other sockets.

    Starlette's `run_in_threadpool` and streamed responses use the same limiter, so the HTTP routes
    and the handlers share WORKER_THREADS threads per process (sized with the database pool). The
    context (Reflex's event context included) is copied into the thread. A cancelled caller waits
    for the thread to finish before it sees the cancellation.
    """
    limiter = anyio.to_thread.current_default_thread_limiter()  # one per event loop
    if limiter.total_tokens != WORKER_THREADS:
        limiter.total_tokens = WORKER_THREADS
    return await anyio.to_thread.run_sync(fn, *args, limiter=limiter)


def session_token_from_cookie_header(cookie_header: str | None) -> str | None:
    return cookie_from_header(cookie_header, session_cookie_name())


def cookie_from_header(cookie_header: str | None, cookie_name: str) -> str | None:
    """One cookie's value from a Cookie header (None when absent or empty)."""
    if not cookie_header:
        return None
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
class Credentials:
    """What a request or websocket handshake says about its caller, before anything is checked."""

    token: str | None
    ip: str
    user_agent: str

    @classmethod
    def of_handshake(cls, router: Any) -> Credentials:
        """A websocket's credentials, from its handshake (Reflex's `router`): our cookie, the client's
        address (the TCP peer or what a trusted proxy forwarded, as for HTTP) and user agent."""
        headers = router.headers
        raw = headers.raw_headers
        cookie = headers.cookie or raw.get("cookie", "")
        return cls(
            session_token_from_cookie_header(cookie),
            client_ip(router.session.client_ip, raw.get),
            headers.user_agent,
        )

    def resolve(self) -> Actor | None:
        """The Actor behind these credentials, or None (blocking: a database lookup; it may raise)."""
        return resolve_actor(self.token, ip=self.ip, user_agent=self.user_agent)

    async def actor_soon(self) -> Actor | None:
        """`actor`, awaited on the event loop: a session-cache hit answers at once (no I/O), anything
        else is looked up in a worker thread. Saves a thread hop on nearly every websocket event."""
        cached = cached_actor(self.token, ip=self.ip, user_agent=self.user_agent)
        return cached if cached is not None else await off_loop(self.actor)

    def actor(self) -> Actor | None:
        """`resolve`, for the websocket guard: a session that cannot be checked is no session.

        Within one websocket event the answer is resolved once: ActorChangeMiddleware resolves it before
        the event runs and the guard reuses it (the same credentials, the same event, no second lookup).
        """
        resolved = _EVENT_ACTOR.get()
        if resolved is not None and resolved[0] is _current_event() and resolved[1] == self:
            return resolved[2]
        try:
            return self.resolve()
        except Exception:
            log.exception("could not resolve the session")
            return None


# (the event's context, its credentials, the Actor they resolved to): set by ActorChangeMiddleware.
_EVENT_ACTOR: ContextVar[tuple[object, Credentials, Actor | None] | None] = ContextVar("wd_event_actor", default=None)


def _current_event() -> object | None:
    """Reflex's context of the event being processed (a new one per event), or None outside events."""
    try:
        return EventContext.get()
    except LookupError:
        return None


def actor_key(actor: Actor | None) -> str:
    """Whose data a token's states may hold: the user, role and company ("" for nobody)."""
    return f"{actor.user_id}|{actor.role.value}|{actor.company_id or ''}" if actor is not None else ""


@dataclasses.dataclass(frozen=True)
class NavItem:
    name: str
    route: str


def _report(state: Any, key: str, retry_after: int = 0) -> None:
    if isinstance(state, AuthState):
        state.error_key = key
        state.retry_after = retry_after


def _report_failure(state: Any, fn: Callable[..., Any], exc: Exception) -> None:
    """A failure inside a handler becomes the translated message the page shows, never a stack trace."""
    if isinstance(exc, RateLimited):
        _report(state, "error.too_many_attempts", exc.retry_after)
    elif isinstance(exc, ServiceError):
        from dashboard.i18n import error_key

        _report(state, error_key(exc.message))
    else:
        log.error("handler %s failed", fn.__qualname__, exc_info=exc)
        _report(state, "error.generic")


@dataclasses.dataclass(frozen=True)
class _Refused:
    """The body must not run; `answer` (a redirect, or None) goes back instead."""

    answer: Any


@dataclasses.dataclass(frozen=True)
class _Entry:
    """The checks every handler kind shares; `action` None means public (no actor)."""

    fn: Callable[..., Any]
    action: Action | None
    public_signature: inspect.Signature
    # A side read that a page fires beside its load (the bell, a live follower, a drawer's panels): it
    # must not wipe the message the load just showed, so it leaves the messages as they are.
    quiet: bool = False

    def actor_of(self, state: Any) -> Actor | None:
        """Blocking: resolve the caller (only for @requires handlers)."""
        return state._credentials().actor() if self.action is not None else None

    async def actor_off_loop(self, state: Any) -> Actor | None:
        """The caller's Actor: from the session cache on the loop, or resolved in a thread."""
        if self.action is None:
            return None
        credentials: Credentials = state._credentials()
        return await credentials.actor_soon()

    def admit(
        self, state: Any, actor: Actor | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, ...] | _Refused:
        """Apply the policy and check the arguments: the body's positional arguments, or a refusal.

        Writes the state (who is signed in, the cleared messages): a background handler calls it
        inside `async with self`.
        """
        inner_args: tuple[Any, ...] = args
        if self.action is not None:
            if not isinstance(state, AuthState):
                raise TypeError(f"{self.fn.__qualname__}: @requires handlers belong to AuthState substates")
            if actor is None:
                state._forget_user()
                return _Refused(rx.redirect(LOGIN_ROUTE, replace=True))
            if scope_for(actor, self.action) is None:
                return _Refused(rx.redirect(HOME_ROUTE, replace=True))  # and nothing else: not even who you are
            state._remember_user(actor)
            try:
                refuse_if_read_only(actor, self.action)  # the policy's own check, before any argument is read
            except CompanyReadOnly as exc:
                state._clear_messages()
                _report(state, exc.message)
                return _Refused(None)
            inner_args = (actor, *args)
        if isinstance(state, AuthState) and not self.quiet:
            state._clear_messages()  # each call shows its own outcome
        try:
            self.public_signature.bind(state, *args, **kwargs)
        except TypeError:  # missing, extra or misnamed arguments from a hand-made event
            _report(state, "error.invalid_input")
            return _Refused(None)
        return inner_args

    def run_sync(self, state: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Blocking, in a worker thread: the whole call of a plain synchronous handler."""
        admitted = self.admit(state, self.actor_of(state), args, kwargs)
        if isinstance(admitted, _Refused):
            return admitted.answer
        try:
            return self.fn(state, *admitted, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message (and a log line)
            _report_failure(state, self.fn, exc)
        return None

    def start_generator(self, state: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Generator[Any] | _Refused:
        """Blocking, in a worker thread: admit the call and create the generator (none of its body runs yet)."""
        admitted = self.admit(state, self.actor_of(state), args, kwargs)
        return admitted if isinstance(admitted, _Refused) else self.fn(state, *admitted, **kwargs)


@dataclasses.dataclass
class _Step:
    value: Any = None
    done: bool = False


def _next_step(generator: Iterator[Any]) -> _Step:
    """Blocking, in a worker thread: one step of a synchronous generator handler (its return value ends it)."""
    try:
        return _Step(next(generator))
    except StopIteration as stop:
        return _Step(stop.value, done=True)


@contextlib.asynccontextmanager
async def _locked(state: Any, background: bool) -> AsyncIterator[None]:
    """Where the guard may write the state: anywhere in a foreground event, inside `async with self` in a
    background task (which holds no lock otherwise)."""
    if background:
        async with state:
            yield
    else:
        yield


def _wrapper(entry: _Entry, background: bool) -> Callable[..., Any]:
    """The coroutine or async generator Reflex calls, by the kind of handler it wraps."""
    fn = entry.fn

    if inspect.isasyncgenfunction(fn):

        async def async_generator(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            actor = await entry.actor_off_loop(self)
            async with _locked(self, background):
                admitted = entry.admit(self, actor, args, kwargs)
            if isinstance(admitted, _Refused):
                if admitted.answer is not None:
                    yield admitted.answer
                return
            try:
                async with contextlib.aclosing(fn(self, *admitted, **kwargs)) as events:
                    async for event in events:
                        yield event
            except Exception as exc:  # noqa: BLE001 - every failure becomes a message (and a log line)
                async with _locked(self, background):
                    _report_failure(self, fn, exc)

        return async_generator

    if inspect.iscoroutinefunction(fn):

        async def coroutine(self: Any, *args: Any, **kwargs: Any) -> Any:
            actor = await entry.actor_off_loop(self)
            async with _locked(self, background):
                admitted = entry.admit(self, actor, args, kwargs)
            if isinstance(admitted, _Refused):
                return admitted.answer
            try:
                return await fn(self, *admitted, **kwargs)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a message (and a log line)
                async with _locked(self, background):
                    _report_failure(self, fn, exc)
            return None

        return coroutine

    if background:
        raise TypeError(f"{fn.__qualname__}: background handlers are async (Reflex runs them as tasks)")

    if inspect.isgeneratorfunction(fn):

        async def generator(self: Any, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            started = await off_loop(entry.start_generator, self, args, kwargs)
            if isinstance(started, _Refused):
                if started.answer is not None:
                    yield started.answer
                return
            try:
                step = _Step()
                while not step.done:
                    try:
                        step = await off_loop(_next_step, started)
                    except Exception as exc:  # noqa: BLE001 - every failure becomes a message (and a log line)
                        _report_failure(self, fn, exc)
                        return
                    if not step.done or step.value is not None:
                        yield step.value
            finally:
                if inspect.getgeneratorstate(started) == inspect.GEN_SUSPENDED:  # abandoned: its cleanup blocks too
                    await off_loop(started.close)

        return generator

    async def plain(self: Any, *args: Any, **kwargs: Any) -> Any:
        return await off_loop(entry.run_sync, self, args, kwargs)

    return plain


def _guard(
    fn: Callable[..., Any], action: Action | None, *, background: bool = False, quiet: bool = False
) -> Callable[..., Any]:
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

    wrapper = functools.wraps(fn)(_wrapper(_Entry(fn, action, public_signature, quiet), background))
    del wrapper.__wrapped__  # Reflex must see the public signature, not the inner one
    wrapper.__signature__ = public_signature  # type: ignore[attr-defined]
    wrapper.__annotations__ = hints
    setattr(wrapper, REQUIRES_ATTR if action is not None else PUBLIC_ATTR, action if action is not None else True)
    # The guard is the event marker too: no handler carries two decorators.
    return typing.cast(Callable[..., Any], rx.event(wrapper, background=background))


@typing.overload
def public(fn: F, /) -> F: ...
@typing.overload
def public(*, background: bool = False) -> Callable[[F], F]: ...
def public(fn: F | None = None, /, *, background: bool = False) -> F | Callable[[F], F]:
    """A handler anyone may call: it reads no tenant data (or only what its own link unlocks).

    `@public` or `@public(background=True)`.
    """
    if fn is None:
        return lambda inner: typing.cast(F, _guard(inner, None, background=background))
    return typing.cast(F, _guard(fn, None, background=background))


def requires(
    action: Action, *, background: bool = False, quiet: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Resolve the Actor and check `action` before the handler runs; the body gets `(self, actor, ...)`.

    `quiet=True` for side reads fired beside a page's load (see `_Entry.quiet`): they keep the message
    on screen instead of clearing it (their own errors are still reported)."""
    if not isinstance(action, Action):
        raise TypeError(f"@requires takes an Action, not {action!r}")
    return lambda fn: _guard(fn, action, background=background, quiet=quiet)


class AuthState(rx.State):
    """Who is signed in (for display only; the Actor itself is resolved again on every call) and the
    outcome of the last call: a translated error or notice key shown by the page frame.

    Every state that holds tenant or user data is a substate of this one, so resetting it resets them
    all (ActorChangeMiddleware, when the actor behind the client token changes). `_actor_key` records
    whose data the token's states hold (`actor_key`); it never leaves the server."""

    _actor_key: str = ""
    user_name: str = ""
    user_role: str = ""
    company_name: str = ""
    nav: list[NavItem] = []
    error_key: str = ""
    retry_after: int = 0
    notice_key: str = ""
    # The billing banner: the company is read-only now, or will be in this many days (-1: not planned).
    read_only_now: bool = False
    read_only_in_days: int = -1

    def _session_token(self) -> str | None:
        return self._credentials().token

    def _cookie(self, name: str) -> str | None:
        """A cookie of this socket's handshake (HttpOnly ones too: they never reach page scripts)."""
        headers = self.router.headers
        return cookie_from_header(headers.cookie or headers.raw_headers.get("cookie", ""), name)

    def _credentials(self) -> Credentials:
        return Credentials.of_handshake(self.router)

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

    def _enter_public_form(self) -> EventSpec | None:
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
        """Blocking (a database lookup): only for synchronous handlers, which run in a worker thread."""
        return self._credentials().actor()

    def _update(self, **values: Any) -> None:
        """Assign only what changed: Reflex sends (and re-serialises) every assigned var with each event."""
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    def _remember_user(self, actor: Actor) -> None:
        from dashboard.registry import nav_for  # the registry imports every page, and they import this module

        read_only_now = is_read_only(actor)
        days = -1
        if actor.read_only_at is not None and not read_only_now:
            days = max(0, math.ceil((actor.read_only_at - clock.now()).total_seconds() / 86400))
        self._update(
            user_name=actor.full_name,
            user_role=actor.role.value,
            company_name=actor.company_name,
            nav=nav_for(actor),
            read_only_now=read_only_now,
            read_only_in_days=days,
        )

    def _forget_user(self) -> None:
        self._update(user_name="", user_role="", company_name="", nav=[], read_only_now=False, read_only_in_days=-1)

    def _clear_messages(self) -> None:
        self._update(error_key="", retry_after=0, notice_key="")


def _with_descendants(cls: type[BaseState]) -> Iterator[type[BaseState]]:
    yield cls
    for sub in cls.get_substates():
        yield from _with_descendants(sub)


def _is_hydrate_or_user_event(name: str) -> bool:
    """The events that may send a token's user data: the root state's own (hydrate, hydrate_and_load,
    which send every substate) and every handler of AuthState and its substates."""
    state_name = name.rpartition(".")[0]
    auth = AuthState.get_full_name()
    return state_name == rx.State.get_full_name() or state_name == auth or state_name.startswith(auth + ".")


class ActorChangeMiddleware(rx.Middleware):
    """Reset every substate of AuthState when the actor behind a Reflex client token changes.

    A tab's client token survives sign-out and full page loads, and Reflex keeps its substates in Redis
    and sends all of them on hydrate. So before such an event runs (Reflex calls `preprocess` after
    loading the token's states and before the hydrate handler, the inline rehydration or any other
    handler, and nothing of the state is sent on connect), the actor is resolved from the handshake's
    cookie and compared with the one whose data the states hold (`AuthState._actor_key`): sign-out, a
    different sign-in, an expired or revoked session, no cookie. On a change every substate is loaded
    and reset to its defaults first. The Actor resolved here is the one the guard then uses for the
    same event (`Credentials.actor`), so a handler call still costs one lookup. A token that holds
    nobody's data yet (a fresh tab, or one used only signed out: public pages carry no tenant data)
    is not reset, so a new tab's first event sends no burst of defaults.

    Added in front of every other middleware (dashboard/dashboard.py); it never answers an event itself.
    """

    async def preprocess(self, app: rx.App, state: BaseState, event: Any) -> None:
        if not _is_hydrate_or_user_event(event.name):
            return None
        auth = await state.get_state(AuthState)
        credentials = auth._credentials()
        actor = await credentials.actor_soon()
        _EVENT_ACTOR.set((_current_event(), credentials, actor))
        key = actor_key(actor)
        if auth._actor_key != key:
            # Nobody's data yet (a fresh token, or one only used signed out): nothing to reset. user_name
            # covers states saved before `_actor_key` existed: every @requires handler sets it.
            if auth._actor_key or auth.user_name:
                for cls in _with_descendants(AuthState):  # a state not loaded for this event would keep its data
                    await auth.get_state(cls)
                auth.reset()  # type: ignore[no-untyped-call]  # Reflex leaves reset() unannotated
            auth._actor_key = key
        return None
