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
                # mypy reads only rx.cond's Component overloads: its Var ones follow a TypeVar
                # definition in reflex_components_core/core/cond.py, which ends an overload chain.
                variant=rx.cond(UIState.lang == lang, "solid", "soft"),  # type: ignore[call-overload]
                # `@public` (dashboard/state/base.py, typed after the merge) keeps the method's type;
                # on the class Reflex has made it an EventHandler.
                on_click=UIState.set_language(lang),  # type: ignore[call-arg, arg-type]
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
        # Reflex's stub rebinds `color_mode` to a ColorModeNamespace after importing it as a plain Var,
        # so mypy keeps the Var type and misses `.switch`.
        rx.color_mode.switch(id="dark-mode", size="1"),  # type: ignore[attr-defined]
        align="center",
        spacing="1",
        title=t("header.dark_mode"),
    )


def hydration_marker() -> rx.Component:
    """Browser tests wait for #hydrated: a click before React hydrates would be lost."""
    return rx.cond(rx.State.is_hydrated, rx.el.span(id="hydrated", hidden=True))
