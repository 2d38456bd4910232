"""/login/two-factor: the code (or a recovery code) after the password; or, when two-factor is required
and not set up yet, the new key as a QR code and as text, its recovery codes, and its first code.
A plain HTML form posting to /api/auth/two-factor (works before hydration)."""

from __future__ import annotations

import reflex as rx

from dashboard.components.forms import post_form, text_field
from dashboard.components.public_frame import public_frame
from dashboard.components.two_factor import key_and_codes, trust_checkbox
from dashboard.features.two_factor.state import SecondStepState
from dashboard.i18n import t


def _form() -> rx.Component:
    return post_form(
        "/api/auth/two-factor",
        text_field(
            "two_factor.code",
            "code",
            required=True,
            auto_complete="one-time-code",
            input_mode="numeric",
            max_length=64,
        ),
        rx.cond(SecondStepState.step == "code", rx.text(t("two_factor.code_hint"), size="1", color_scheme="gray")),
        trust_checkbox(),
        submit_key="two_factor.submit",
        submit_id="two-factor-submit",
    )


def second_step_page() -> rx.Component:
    return public_frame(
        rx.cond(
            SecondStepState.step == "enrol",
            rx.vstack(
                rx.text(t("two_factor.required_hint"), size="2", id="two-factor-required"),
                key_and_codes(SecondStepState.qr, SecondStepState.manual_key, SecondStepState.recovery_codes),
                width="100%",
                spacing="3",
            ),
        ),
        rx.cond(SecondStepState.step != "", _form()),
        rx.cond(
            SecondStepState.loaded & (SecondStepState.step == ""),
            rx.link(t("invite.to_login"), href="/login", id="two-factor-login-link"),
        ),
        title_key="two_factor.title",
        title_id="two-factor-title",
    )
