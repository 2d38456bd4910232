"""Sign-in: a plain HTML form posting to /api/auth/login (works before hydration)."""

from __future__ import annotations

import reflex as rx

from dashboard.components.forms import post_form, text_field
from dashboard.components.public_frame import public_frame
from dashboard.i18n import t


def login_page() -> rx.Component:
    return public_frame(
        post_form(
            "/api/auth/login",
            text_field("login.email", "email", type="email", required=True, auto_complete="username"),
            text_field("login.password", "password", type="password", required=True, auto_complete="current-password"),
            submit_key="login.submit",
            submit_id="login-submit",
        ),
        rx.link(t("reset.forgot_link"), href="/reset", id="forgot-link", size="2"),
        rx.text(
            t("login.no_account"), " ", rx.link(t("login.signup_link"), href="/signup", id="signup-link"), size="2"
        ),
        title_key="login.title",
        title_id="login-title",
    )
