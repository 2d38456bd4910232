"""Sign-in: a plain HTML form posting to /api/auth/login (works before hydration)."""

from __future__ import annotations

import reflex as rx

from dashboard.components.native_form import native_form
from dashboard.components.public_frame import public_frame
from dashboard.i18n import t


def login_page() -> rx.Component:
    return public_frame(
        native_form(
            rx.vstack(
                rx.el.label(t("login.email"), html_for="email"),
                rx.input(id="email", name="email", type="email", auto_complete="username", required=True, width="100%"),
                rx.el.label(t("login.password"), html_for="password"),
                rx.input(
                    id="password",
                    name="password",
                    type="password",
                    auto_complete="current-password",
                    required=True,
                    width="100%",
                ),
                rx.button(t("login.submit"), type="submit", id="login-submit", width="100%", margin_top="0.5em"),
                width="100%",
                spacing="2",
            ),
            action="/api/auth/login",
            method="post",
            width="100%",
        ),
        rx.text(
            t("login.no_account"), " ", rx.link(t("login.signup_link"), href="/signup", id="signup-link"), size="2"
        ),
        title_key="login.title",
        title_id="login-title",
    )
