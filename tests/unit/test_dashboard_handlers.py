"""Every event handler of the dashboard's states is an endpoint any browser can call by name.

Each must either resolve the Actor and ask the policy (`@requires(Page.X)`) or be explicitly
marked `@public` (touches no server data). A new unmarked handler fails this test.
"""

from __future__ import annotations

from collections.abc import Iterator

import reflex as rx

import dashboard.dashboard  # noqa: F401  (registers every page and state)
from dashboard.state.base import PUBLIC_ATTR, REQUIRES_ATTR

# Reflex's own: `setvar` only dispatches to `set_<var>` handlers, which are checked like any other.
REFLEX_BUILTINS = {"setvar"}


def _states(cls: type[rx.State]) -> Iterator[type[rx.State]]:
    yield cls
    for sub in cls.get_substates():
        yield from _states(sub)


def test_every_dashboard_handler_is_guarded_or_public() -> None:
    checked, unguarded = [], []
    for state in _states(rx.State):
        if not state.__module__.startswith("dashboard."):
            continue
        for name, handler in state.event_handlers.items():
            if name in REFLEX_BUILTINS:
                continue
            checked.append(f"{state.__name__}.{name}")
            fn = handler.fn
            if not (getattr(fn, REQUIRES_ATTR, None) or getattr(fn, PUBLIC_ATTR, False)):
                unguarded.append(f"{state.__module__}.{state.__name__}.{name}")
    assert checked, "no dashboard handlers found"
    assert not unguarded, f"handlers without @requires or @public: {unguarded}"


def test_no_automatic_setters() -> None:
    from reflex.config import get_config

    assert not get_config().state_auto_setters
    from dashboard.state.base import AuthState

    assert "set_user_name" not in AuthState.event_handlers
