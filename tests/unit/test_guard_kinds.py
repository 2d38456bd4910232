"""One guard for every kind of event handler, run through Reflex's own event processor.

Each kind (plain, generator, async, async generator, background, background generator) is wrapped
by `@requires` and called the way a browser's event is processed (Reflex's BaseStateEventProcessor
with its in-memory state manager; the updates the browser would receive are collected). Sessions
are looked up by token in a table here instead of the database: the guard's own behaviour is under
test (tests/e2e/test_websocket_guard.py covers the real session lookup).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import reflex as rx
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex_base.event import Event, EventHandler
from reflex_base.event.processor import BaseStateEventProcessor
from reflex_base.registry import RegisteredEventHandler, RegistrationContext

from dashboard.state import base
from dashboard.state.base import AuthState, public, requires
from models import Role
from services.core.actor import Actor
from services.core.errors import NotFound, RateLimited
from services.core.policy import Action, scope_for
from tests.run_async import run_async

MANAGER = Actor(uuid.uuid4(), uuid.uuid4(), Role.MANAGER, "Maria Manager", "maria@example.com", "Acme")
WORKER = Actor(uuid.uuid4(), MANAGER.company_id, Role.WORKER, "Walter Worker", "walter@example.com", "Acme")
SESSIONS = {"manager-session": MANAGER, "worker-session": WORKER}
ACTION = Action.TEAM_VIEW  # a manager may, a worker may not
assert scope_for(MANAGER, ACTION) is not None and scope_for(WORKER, ACTION) is None

# What the handler bodies did: (kind, thread ident, actor name). Empty means the body never ran.
RAN: list[tuple[str, int, str]] = []


def _fail(how: str) -> None:
    if how == "not_found":
        raise NotFound()
    if how == "rate_limited":
        raise RateLimited(42)
    if how == "crash":
        raise RuntimeError("a bug, not a service error")


# ---- one handler of each kind: note the call, show progress, then fail as asked ---------------


def plain(self: Any, actor: Actor, fail: str) -> None:
    RAN.append(("plain", threading.get_ident(), actor.full_name))
    self.notice_key = "plain.started"
    _fail(fail)


def generator(self: Any, actor: Actor, fail: str) -> Iterator[None]:
    RAN.append(("generator", threading.get_ident(), actor.full_name))
    self.notice_key = "generator.started"
    yield  # the browser gets this update before the next step runs
    _fail(fail)
    self.notice_key = "generator.finished"


async def coroutine(self: Any, actor: Actor, fail: str) -> None:
    RAN.append(("coroutine", threading.get_ident(), actor.full_name))
    self.notice_key = "coroutine.started"
    await asyncio.sleep(0)
    _fail(fail)


async def async_generator(self: Any, actor: Actor, fail: str) -> AsyncIterator[None]:
    RAN.append(("async_generator", threading.get_ident(), actor.full_name))
    self.notice_key = "async_generator.started"
    yield
    _fail(fail)
    self.notice_key = "async_generator.finished"


async def background(self: Any, actor: Actor, fail: str) -> None:
    RAN.append(("background", threading.get_ident(), actor.full_name))
    async with self:  # a background task writes only while it holds the lock
        self.notice_key = "background.started"
    await asyncio.sleep(0)
    _fail(fail)


async def background_generator(self: Any, actor: Actor, fail: str) -> AsyncIterator[None]:
    RAN.append(("background_generator", threading.get_ident(), actor.full_name))
    async with self:
        self.notice_key = "background_generator.started"
    yield
    async with self:
        _fail(fail)  # raised while holding the lock: the guard reports it after the block released it
        self.notice_key = "background_generator.finished"


KINDS: dict[str, tuple[Callable[..., Any], bool]] = {
    "plain": (plain, False),
    "generator": (generator, False),
    "coroutine": (coroutine, False),
    "async_generator": (async_generator, False),
    "background": (background, True),
    "background_generator": (background_generator, True),
}
STEPPED = {"generator", "async_generator", "background", "background_generator"}  # progress reaches the browser


@dataclass
class Outcome:
    """What the browser received for one event."""

    vars: dict[str, Any] = field(default_factory=dict)  # AuthState's vars, merged over every update
    redirects: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # notice_key values in the order they arrived


class _Browser:
    """Reflex's event namespace as the processor sees it: every update goes to this one browser."""

    def __init__(self) -> None:
        self.outcome = Outcome()

    async def emit_update(self, update: Any, token: str) -> None:
        for name, values in (update.delta or {}).items():
            if name != AuthState.get_full_name():
                continue
            for key, value in values.items():
                var = key.split("_rx_state_")[0]
                self.outcome.vars[var] = value
                if var == "notice_key" and value:
                    self.outcome.notices.append(value)
        for event in update.events or []:
            if event.name == "_redirect":
                self.outcome.redirects.append(event.payload["path"])


@pytest.fixture(autouse=True)
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Session lookups by token; returns the threads the lookups ran on."""
    threads: list[int] = []

    def resolve_actor(token: str | None, *, ip: str = "", user_agent: str = "") -> Actor | None:
        assert ip == "203.0.113.9" and user_agent == "guard-test", (ip, user_agent)  # from the handshake
        threads.append(threading.get_ident())
        return SESSIONS.get(token or "")

    monkeypatch.setattr(base, "resolve_actor", resolve_actor)
    RAN.clear()
    return threads


@pytest.fixture
def register() -> Iterator[Callable[[str, Callable[..., Any]], str]]:
    """Register a guarded function as an AuthState handler with Reflex's event registry (not on the class:
    the handler-enumeration test must not see test handlers); returns the event name."""
    registry = RegistrationContext.ensure_context()
    added: list[str] = []

    def add(name: str, guarded: Callable[..., Any]) -> str:
        full_name = f"{AuthState.get_full_name()}.guard_test_{name}"
        handler = EventHandler(fn=guarded, state=AuthState)
        registry.event_handlers[full_name] = RegisteredEventHandler(handler=handler, states=(AuthState,))
        added.append(full_name)
        return full_name

    yield add
    for full_name in added:
        registry.event_handlers.pop(full_name, None)


async def _process(event_name: str, payload: dict[str, Any], cookie: str | None) -> tuple[Outcome, int]:
    """Process one event of a connected tab; returns what the browser got and the loop's thread."""
    return await _process_in_turn([(event_name, payload)], cookie)


async def _process_in_turn(events: list[tuple[str, dict[str, Any]]], cookie: str | None) -> tuple[Outcome, int]:
    """Process events of one connected tab one after the other (each finished before the next)."""
    browser = _Browser()
    manager = StateManagerMemory()
    processor = BaseStateEventProcessor().configure(state_manager=manager, event_namespace=browser)  # type: ignore[arg-type]
    token = secrets.token_hex(8)
    async with manager.modify_state(BaseStateToken(ident=token, cls=rx.State)) as root:
        root.router_data = {"pathname": "/team", "asPath": "/team", "query": {}}  # hydrated: no page load again
    headers = {"user-agent": "guard-test"} | ({"cookie": f"wd_session={cookie}"} if cookie else {})
    router_data = {"pathname": "/team", "asPath": "/team", "query": {}, "headers": headers, "ip": "203.0.113.9"}
    async with processor:
        for event_name, payload in events:
            future = await processor.enqueue(token, Event(name=event_name, payload=payload, router_data=router_data))
            await asyncio.wait_for(future, timeout=20)
    return browser.outcome, threading.get_ident()


def call(event_name: str, cookie: str | None, **payload: Any) -> tuple[Outcome, int]:
    # With this thread's context: Reflex's registry of handlers is a context variable.
    return run_async(_process(event_name, payload, cookie))


def _guarded(register: Callable[[str, Callable[..., Any]], str], kind: str) -> str:
    fn, in_background = KINDS[kind]
    return register(kind, requires(ACTION, background=in_background)(fn))


# ---- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("cookie", [None, "revoked-or-made-up"])
def test_without_an_actor_the_body_never_runs(register: Any, kind: str, cookie: str | None) -> None:
    outcome, _ = call(_guarded(register, kind), cookie, fail="")
    assert outcome.redirects == ["/login"]
    assert RAN == []
    assert not outcome.vars.get("user_name") and not outcome.notices


@pytest.mark.parametrize("kind", KINDS)
def test_a_role_without_the_action_is_sent_home(register: Any, kind: str) -> None:
    outcome, _ = call(_guarded(register, kind), "worker-session", fail="")
    assert outcome.redirects == ["/"]
    assert RAN == []
    assert "Walter" not in repr(outcome)  # not even who you are


@pytest.mark.parametrize("kind", KINDS)
def test_the_body_gets_the_actor(register: Any, kind: str) -> None:
    outcome, _ = call(_guarded(register, kind), "manager-session", fail="")
    assert outcome.redirects == []
    assert [(k, name) for k, _, name in RAN] == [(kind, "Maria Manager")]
    assert outcome.vars["user_name"] == "Maria Manager"
    assert outcome.notices[-1] == (f"{kind}.finished" if kind.endswith("generator") else f"{kind}.started")
    assert not outcome.vars.get("error_key")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("fail", "error_key", "retry_after"),
    [
        ("not_found", "error.not_found", 0),
        ("rate_limited", "error.too_many_attempts", 42),
        ("crash", "error.generic", 0),
    ],
)
def test_an_error_inside_becomes_the_translated_message(
    register: Any, kind: str, fail: str, error_key: str, retry_after: int
) -> None:
    outcome, _ = call(_guarded(register, kind), "manager-session", fail=fail)
    assert outcome.redirects == []
    assert outcome.vars["error_key"] == error_key
    assert outcome.vars["retry_after"] == retry_after
    if kind in STEPPED:  # what the handler showed before it failed still reached the browser
        assert outcome.notices[0] == f"{kind}.started"
    assert "Traceback" not in repr(outcome)


@pytest.mark.parametrize("kind", KINDS)
def test_arguments_are_checked_against_the_public_signature(register: Any, kind: str) -> None:
    outcome, _ = call(_guarded(register, kind), "manager-session", unexpected=1)
    assert outcome.vars["error_key"] == "error.invalid_input"
    assert RAN == []


@pytest.mark.parametrize("kind", KINDS)
def test_nothing_blocking_runs_on_the_event_loop(register: Any, sessions: list[int], kind: str) -> None:
    """The session lookup always runs in a worker thread; so does a synchronous body (async bodies hand
    their own blocking calls to `off_loop`)."""
    _, loop_thread = call(_guarded(register, kind), "manager-session", fail="")
    assert sessions and loop_thread not in sessions
    [(_, body_thread, _)] = RAN
    if kind in ("plain", "generator"):
        assert body_thread != loop_thread
    else:
        assert body_thread == loop_thread


def test_public_handlers_of_every_kind_skip_the_session_lookup(register: Any, sessions: list[int]) -> None:
    def plain_public(self: Any, lang: str) -> None:
        self.notice_key = f"plain.{lang}"

    async def background_public(self: Any, lang: str) -> AsyncIterator[None]:
        async with self:
            self.notice_key = f"background.{lang}"
        yield

    for name, guarded in (
        ("plain_public", public(plain_public)),
        ("background_public", public(background=True)(background_public)),
    ):
        outcome, _ = call(register(name, guarded), None, lang="ru")
        assert outcome.redirects == [] and outcome.notices == [f"{name.split('_')[0]}.ru"]
    assert sessions == []


def test_background_needs_an_async_handler() -> None:
    with pytest.raises(TypeError, match="background handlers are async"):
        requires(ACTION, background=True)(plain)
    with pytest.raises(TypeError, match="background handlers are async"):
        requires(ACTION, background=True)(generator)


def side_read(self: Any, actor: Actor) -> None:
    RAN.append(("side_read", threading.get_ident(), actor.full_name))


@pytest.mark.parametrize("quiet", [True, False])
def test_a_quiet_side_read_leaves_the_pages_message_on_screen(register: Any, quiet: bool) -> None:
    """A page's load reports an error; the bell (or a live follower) fired beside it must not wipe it."""
    load = _guarded(register, "plain")
    side = register(f"side_read_{quiet}", requires(ACTION, quiet=quiet)(side_read))
    outcome, _ = run_async(_process_in_turn([(load, {"fail": "not_found"}), (side, {})], "manager-session"))
    assert [kind for kind, _, _ in RAN] == ["plain", "side_read"]
    assert outcome.vars["error_key"] == ("error.not_found" if quiet else "")
