"""Every event handler of every State class is an endpoint any browser can call by name.

Each of the dashboard's must carry exactly one marker: `@requires(Action.X)` (resolves the Actor and
asks the policy) or `@public` (needs no login). Reflex's own handlers (and the ones every state
inherits from rx.State) are listed below one by one, each with the reason it is safe; a new Reflex
handler, a stale entry or an unmarked dashboard handler fails this test.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any

import reflex as rx
from reflex_base.event import EventHandler

import dashboard.dashboard  # noqa: F401  (registers every page and state)
from dashboard.registry import PAGES
from dashboard.state.base import PUBLIC_ATTR, REQUIRES_ATTR, AuthState, public, requires
from services.core.policy import Action

# (owner class, handler) -> why a browser may call it.
REFLEX_BUILTINS = {
    ("State", "hydrate"): "sends this token's own state back to it; no server data, nothing written",
    ("State", "hydrate_and_load"): "hydrate, then queue the page's on_load handlers (each guarded itself)",
    ("State", "set_is_hydrated"): "flips this tab's hydration flag",
    ("OnLoadInternalState", "set_is_hydrated"): "flips this tab's hydration flag",
    ("OnLoadInternalState", "on_load_internal"): "queues the current page's on_load handlers (each guarded itself)",
    ("UpdateVarsInternalState", "update_vars_internal"): "writes client-storage vars only (see below: UIState.lang)",
    ("FrontendEventExceptionState", "handle_frontend_exception"): "logs a browser-side error; no data",
    ("*", "setvar"): "dispatches to set_<var> handlers only; auto setters are off, so those are ours and checked",
}
# The only vars a browser may write through update_vars_internal.
CLIENT_STORAGE_VARS = {("UIState", "lang")}


def _states(cls: type[rx.State] = rx.State) -> Iterator[type[rx.State]]:
    yield cls
    for sub in cls.get_substates():
        yield from _states(sub)


def _handlers(state: type[rx.State]) -> dict[str, EventHandler]:
    """The state's own handlers and every handler it inherits (reachable through the substate too)."""
    found = dict(state.event_handlers)
    for name in dir(state):
        try:
            value = getattr(state, name)
        except Exception:  # noqa: BLE001, S112 - some class attributes only work on instances
            continue
        if isinstance(value, EventHandler):
            found.setdefault(name, value)
    return found


def _owner(state: type[rx.State], name: str) -> str:
    for klass in state.__mro__:
        if name in vars(klass):
            return klass.__name__
    return state.__name__


def _is_dashboard(state: type[rx.State], name: str) -> bool:
    return next((k for k in state.__mro__ if name in vars(k)), state).__module__.startswith("dashboard.")


def _marks(handler: EventHandler) -> list[bool]:
    """[guarded by @requires, marked @public]: exactly one must be true."""
    fn = handler.fn
    return [bool(getattr(fn, REQUIRES_ATTR, None)), bool(getattr(fn, PUBLIC_ATTR, False))]


def test_every_handler_is_guarded_public_or_a_listed_builtin() -> None:
    checked, unguarded, doubly_marked, unlisted, builtins_seen = [], [], [], [], set()
    for state in _states():
        for name, handler in _handlers(state).items():
            where = f"{state.__module__}.{state.__name__}.{name}"
            checked.append(where)
            if name == "setvar":
                builtins_seen.add(("*", "setvar"))
                continue
            if not _is_dashboard(state, name):
                key = (_owner(state, name), name)
                if key in REFLEX_BUILTINS:
                    builtins_seen.add(key)
                else:
                    unlisted.append(where)
                continue
            marks = _marks(handler)
            if sum(marks) == 0:
                unguarded.append(where)
            elif sum(marks) > 1:
                doubly_marked.append(where)
    assert len(checked) > 20, checked
    assert not unguarded, f"handlers without @requires or @public: {unguarded}"
    assert not doubly_marked, f"handlers with both markers: {doubly_marked}"
    assert not unlisted, f"Reflex handlers nobody has reviewed (add them to REFLEX_BUILTINS with a reason): {unlisted}"
    assert set(REFLEX_BUILTINS) == builtins_seen, (
        f"stale REFLEX_BUILTINS entries: {set(REFLEX_BUILTINS) - builtins_seen}"
    )


def test_requires_names_an_action_and_hides_the_actor() -> None:
    for state in _states():
        for name, handler in state.event_handlers.items():
            action = getattr(handler.fn, REQUIRES_ATTR, None)
            if action is None:
                continue
            assert isinstance(action, Action), f"{state.__name__}.{name}"
            assert issubclass(state, AuthState), f"{state.__name__}.{name}: guarded handlers live on AuthState"
            assert "actor" not in inspect.signature(handler.fn).parameters, f"{state.__name__}.{name}"


def test_public_handlers_are_the_reviewed_few() -> None:
    """Adding a public handler is a decision: list it here (and in the lead's note)."""
    public = {
        f"{state.__name__}.{name}"
        for state in _states()
        for name, handler in state.event_handlers.items()
        if getattr(handler.fn, PUBLIC_ATTR, False)
    }
    assert public == {
        "LoginState.load",
        "SignupState.load",
        "VerifyState.load",
        "InviteState.load",
        "ResetRequestState.load",
        "ResetPasswordState.load",
        "SecondStepState.load",
        "SsoSignInState.load",
        "UIState.set_language",
    }


def test_no_automatic_setters_and_no_stray_set_methods() -> None:
    from reflex.config import get_config

    assert not get_config().state_auto_setters
    assert "set_user_name" not in AuthState.event_handlers
    # setvar(name, value) calls `set_<name>`: every such attribute must be a checked handler.
    for state in _states():
        if not state.__module__.startswith("dashboard."):
            continue
        for name in dir(state):
            if name.startswith("set_") and name != "set_is_hydrated":
                assert name in state.event_handlers, f"{state.__name__}.{name} is reachable through setvar"


def test_only_the_language_is_client_storage() -> None:
    found = {
        (state.__name__, var)
        for state in _states()
        for var in state.base_vars
        if state.__module__.startswith("dashboard.") and state._is_client_storage(var)
    }
    assert found == CLIENT_STORAGE_VARS


def test_every_page_has_a_route() -> None:
    routes = [p.route for p in PAGES]
    assert len(set(routes)) == len(routes) == len({p.name for p in PAGES})
    assert all(p.action is not None for p in PAGES if p.in_nav), "a sidebar page must name its action"


def test_every_kind_of_handler_is_seen_as_guarded_or_unguarded() -> None:
    """The enumeration above judges a handler by its markers, whatever its kind: each kind the guard
    wraps (plain, generator, async, async generator, background) is seen as guarded or public, and
    the same function without the guard as unguarded."""

    def plain(self: Any, actor: Any = None) -> None: ...

    def generator(self: Any, actor: Any = None) -> Iterator[None]:
        yield

    async def coroutine(self: Any, actor: Any = None) -> None: ...

    async def async_generator(self: Any, actor: Any = None) -> AsyncIterator[None]:
        yield

    kinds = [(plain, False), (generator, False), (coroutine, False), (async_generator, False)]
    kinds += [(coroutine, True), (async_generator, True)]
    for fn, background in kinds:
        name = f"{fn.__name__}{' (background)' if background else ''}"
        guarded = EventHandler(fn=requires(Action.TEAM_VIEW, background=background)(fn), state=AuthState)
        assert _marks(guarded) == [True, False], name
        assert guarded.is_background is background, name
        assert "actor" not in inspect.signature(guarded.fn).parameters, name
        open_to_all = EventHandler(fn=public(background=background)(fn), state=AuthState)
        assert _marks(open_to_all) == [False, True], name
        assert _marks(EventHandler(fn=fn, state=AuthState)) == [False, False], name
