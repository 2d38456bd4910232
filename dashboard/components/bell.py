"""The bell in the header: a link to /notifications with the unread count."""

from __future__ import annotations

import reflex as rx

from dashboard.i18n import t
from dashboard.state.base import AuthState
from dashboard.state.bell import TEAM_ROLES, BellState


def has_notifications() -> rx.Var[bool]:
    """The signed-in user's role has notifications (the operator has none)."""
    return rx.Var.create(list(TEAM_ROLES)).contains(AuthState.user_role)


def notification_bell() -> rx.Component:
    return rx.cond(
        has_notifications(),
        rx.link(
            rx.hstack(
                rx.icon("bell", size=18),
                rx.cond(
                    BellState.unread > 0,
                    rx.badge(BellState.unread, color_scheme="red", variant="solid", id="bell-count"),
                ),
                spacing="1",
                align="center",
            ),
            href="/notifications",
            id="bell",
            aria_label=t("notifications.title"),
            on_mount=BellState.refresh,
        ),
    )
