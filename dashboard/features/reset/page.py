"""/reset ("forgot password?") and /reset/[reset_token] (the mailed link): plain HTML forms posting to
/api/auth/reset-request and /api/auth/reset-password (they work before hydration)."""

from __future__ import annotations

import reflex as rx

from dashboard.components.forms import password_rules, post_form, text_field
from dashboard.components.public_frame import public_frame
from dashboard.features.reset.state import TOKEN_PARAM, ResetPasswordState, ResetRequestState
from dashboard.i18n import t


def _back_to_login() -> rx.Component:
    return rx.link(t("invite.to_login"), href="/login", id="reset-login-link", size="2")


def reset_request_page() -> rx.Component:
    form = post_form(
        "/api/auth/reset-request",
        rx.text(t("reset.request_hint"), size="2"),
        text_field(
            "login.email",
            "email",
            type="email",
            required=True,
            default_value=ResetRequestState.email_input,
            auto_complete="username",
        ),
        submit_key="reset.request_submit",
        submit_id="reset-request-submit",
        key=ResetRequestState.form_key,  # re-mounts with the echoed address after an error
    )
    sent = rx.vstack(
        rx.text(t("reset.check_mail_hint"), id="reset-sent"),
        # Back to the empty form: the page's load sees no `sent=1` in the URL any more.
        rx.el.a(t("reset.again"), href="/reset", id="reset-again"),
        width="100%",
        spacing="3",
    )
    return public_frame(
        rx.cond(ResetRequestState.sent, sent, form),
        _back_to_login(),
        title_key="reset.request_title",
        title_id="reset-request-title",
    )


def reset_password_page() -> rx.Component:
    form = post_form(
        "/api/auth/reset-password",
        # The token is the page's own URL segment (Reflex's route var for /reset/[reset_token]).
        rx.el.input(type="hidden", name="token", value=getattr(rx.State, TOKEN_PARAM)),
        # The account's address, for the browser's password manager (it files the new password under it).
        rx.el.input(type="hidden", name="username", value=ResetPasswordState.reset_email, auto_complete="username"),
        text_field("account.new_password", "password", type="password", required=True, auto_complete="new-password"),
        text_field(
            "account.repeat_password", "repeat_password", type="password", required=True, auto_complete="new-password"
        ),
        password_rules(),
        submit_key="reset.submit",
        submit_id="reset-submit",
    )
    return public_frame(
        rx.cond(
            ResetPasswordState.valid,
            rx.vstack(
                rx.text(t("login.email"), ": ", rx.text.strong(ResetPasswordState.reset_email, id="reset-email")),
                rx.text(t("reset.hint"), size="2"),
                form,
                width="100%",
                spacing="3",
            ),
            rx.cond(
                ResetPasswordState.loaded,
                rx.hstack(
                    rx.el.a(t("reset.again"), href="/reset", id="reset-again"),
                    _back_to_login(),
                    spacing="4",
                ),
            ),
        ),
        title_key="reset.title",
        title_id="reset-title",
    )
