"""Sign-in: a plain HTML form posting to /api/auth/login (works before hydration)."""

from __future__ import annotations

import reflex as rx

from dashboard.components.controls import dark_mode_switch, hydration_marker, language_switch
from dashboard.components.native_form import native_form
from dashboard.i18n import t, t_var
from dashboard.state.login import LoginState


def login_page() -> rx.Component:
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
                rx.heading(t("login.title"), size="6", id="login-title"),
                rx.cond(
                    LoginState.login_error != "",
                    rx.callout.root(
                        rx.callout.icon(rx.icon("triangle_alert")),
                        rx.callout.text(
                            t_var(LoginState.login_error),
                            rx.cond(
                                LoginState.retry_after > 0,
                                rx.fragment(
                                    " ", t("login.retry_in"), " ", LoginState.retry_after, " ", t("login.seconds")
                                ),
                            ),
                            id="login-error",
                        ),
                        color_scheme="red",
                        width="100%",
                    ),
                ),
                native_form(
                    rx.vstack(
                        rx.el.label(t("login.email"), html_for="email"),
                        rx.input(
                            id="email",
                            name="email",
                            type="email",
                            auto_complete="username",
                            required=True,
                            width="100%",
                        ),
                        rx.el.label(t("login.password"), html_for="password"),
                        rx.input(
                            id="password",
                            name="password",
                            type="password",
                            auto_complete="current-password",
                            required=True,
                            width="100%",
                        ),
                        rx.button(
                            t("login.submit"), type="submit", id="login-submit", width="100%", margin_top="0.5em"
                        ),
                        width="100%",
                        spacing="2",
                    ),
                    action="/api/auth/login",
                    method="post",
                    width="100%",
                ),
                width="100%",
                spacing="4",
            ),
            width="26em",
            max_width="95vw",
            padding="2em",
        ),
        hydration_marker(),
        min_height="100vh",
    )
