"""/verify/[verify_token]: the sign-up link. Shows the company and the address it confirms, then asks
for the password chosen at sign-up (posted to /api/auth/verify-signup). A dead link gets one clear
message and the ways on: sign up again, or sign in."""

from __future__ import annotations

import reflex as rx

from dashboard.components.forms import post_form, text_field
from dashboard.components.public_frame import public_frame
from dashboard.features.verify.state import TOKEN_PARAM, VerifyState
from dashboard.i18n import t


def _form() -> rx.Component:
    return post_form(
        "/api/auth/verify-signup",
        # The token is the page's own URL segment (Reflex's route var for /verify/[verify_token]).
        rx.el.input(type="hidden", name="token", value=getattr(rx.State, TOKEN_PARAM)),
        text_field("login.password", "password", type="password", required=True, auto_complete="current-password"),
        submit_key="signup.verify_submit",
        submit_id="verify-submit",
    )


def verify_page() -> rx.Component:
    return public_frame(
        rx.cond(
            VerifyState.valid,
            rx.vstack(
                rx.text(
                    t("signup.company_name"), ": ", rx.text.strong(VerifyState.verify_company, id="verify-company")
                ),
                rx.text(t("login.email"), ": ", rx.text.strong(VerifyState.verify_email, id="verify-email")),
                rx.text(t("signup.verify_hint"), size="2"),
                _form(),
                width="100%",
                spacing="3",
            ),
            rx.cond(
                VerifyState.loaded,
                rx.hstack(
                    rx.el.a(t("signup.again"), href="/signup", id="verify-signup-link"),
                    rx.link(t("invite.to_login"), href="/login", id="verify-login-link"),
                    spacing="4",
                ),
            ),
        ),
        title_key="signup.verify_title",
        title_id="verify-title",
    )
