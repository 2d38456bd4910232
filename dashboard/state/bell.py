"""The bell's state: the caller's unread notifications, fetched when the header mounts (every page
the user opens) and after the notifications page marks something read."""

from __future__ import annotations

from typing import cast

from reflex.event import EventSpec

from dashboard.state.base import AuthState, requires
from services import work
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.policy import Action

TEAM_ROLES = ("manager", "worker", "client")  # the roles with notifications (the operator has none)


class BellState(AuthState):
    unread: int = 0

    @requires(Action.NOTIFICATION_LIST, quiet=True)
    def refresh(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            count = work.unread_count(session, actor)
        self._update(unread=count)


def refresh_bell() -> EventSpec:
    """The event that refreshes the bell: what a handler returns after it changed what is unread."""
    return cast(EventSpec, BellState.refresh())
