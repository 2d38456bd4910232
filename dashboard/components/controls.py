"""Language and colour-mode switches, and the hydration marker every page carries."""

from __future__ import annotations

import reflex as rx

from dashboard.i18n import LANGUAGES, t
from dashboard.state.ui import UIState


def language_switch() -> rx.Component:
    return rx.hstack(
        *[
            rx.button(
                lang.upper(),
                id=f"lang-{lang}",
                size="1",
                variant=rx.cond(UIState.lang == lang, "solid", "soft"),
                on_click=UIState.set_language(lang),
                type="button",
            )
            for lang in LANGUAGES
        ],
        spacing="1",
        aria_label=t("login.language"),
        data_testid="language-switch",
    )


def dark_mode_switch() -> rx.Component:
    return rx.hstack(
        rx.icon("moon", size=16),
        rx.color_mode.switch(id="dark-mode", size="1"),
        align="center",
        spacing="1",
        title=t("header.dark_mode"),
    )


def hydration_marker() -> rx.Component:
    """Browser tests wait for #hydrated: a click before React hydrates would be lost."""
    return rx.cond(rx.State.is_hydrated, rx.el.span(id="hydrated", hidden=True))
