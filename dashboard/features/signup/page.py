"""Sign-up: a new company with its first manager. A plain HTML form posting to /api/auth/signup
(works before hydration); after an error the entered fields (never the password) come back; after a
sign-up that went through, "check your mail" instead of the form."""

from __future__ import annotations

import reflex as rx

from dashboard.components.forms import password_rules, post_form, text_field
from dashboard.components.public_frame import public_frame
from dashboard.features.signup.state import ECHOED_FIELDS, SignupState
from dashboard.i18n import t


def _check_your_mail() -> rx.Component:
    return rx.vstack(
        rx.text(t("signup.check_mail_hint"), id="signup-sent"),
        # A plain anchor: a full page load, so the state starts over with the empty form.
        rx.el.a(t("signup.again"), href="/signup", id="signup-again"),
        width="100%",
        spacing="3",
    )


def signup_page() -> rx.Component:
    form = post_form(
        "/api/auth/signup",
        text_field(
            "signup.company_name",
            "company_name",
            required=True,
            max_length=ECHOED_FIELDS["company_name"],
            default_value=SignupState.company_name_input,
            auto_complete="organization",
        ),
        text_field(
            "signup.full_name",
            "full_name",
            required=True,
            max_length=ECHOED_FIELDS["full_name"],
            default_value=SignupState.full_name_input,
            auto_complete="name",
        ),
        text_field(
            "login.email",
            "email",
            type="email",
            required=True,
            default_value=SignupState.email_input,
            auto_complete="email",
        ),
        text_field("login.password", "password", type="password", required=True, auto_complete="new-password"),
        password_rules(),
        submit_key="signup.submit",
        submit_id="signup-submit",
        key=SignupState.form_key,  # re-mounts with the echoed fields after an error
    )
    return public_frame(
        rx.cond(SignupState.sent, _check_your_mail(), form),
        rx.text(t("signup.have_account"), " ", rx.link(t("login.submit"), href="/login", id="login-link"), size="2"),
        title_key="signup.title",
        title_id="signup-title",
    )
