"""The frame of the pages anyone may open (sign in, sign up, accept an invitation): a centred card."""

from __future__ import annotations

import reflex as rx

from dashboard.components.controls import dark_mode_switch, hydration_marker, language_switch
from dashboard.components.messages import messages
from dashboard.i18n import t


def public_frame(*children: rx.Component, title_key: str, title_id: str) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading(t("app.title"), size="5"),
                    rx.spacer(),
                    language_switch(),
                    dark_mode_switch(),
                    width="100%",
                    align="center",
                ),
                rx.text(t("app.tagline"), color_scheme="gray", size="2"),
                rx.heading(t(title_key), size="6", id=title_id),
                messages(),
                *children,
                width="100%",
                spacing="4",
            ),
            width="28em",
            max_width="95vw",
            padding="2em",
        ),
        hydration_marker(),
        min_height="100vh",
    )
