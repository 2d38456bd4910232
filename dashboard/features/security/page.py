"""/security (Managers): require two-factor sign-in for every member of the company; the company's
OpenID Connect provider (single sign-on)."""

from __future__ import annotations

import reflex as rx

from dashboard.components.forms import confirm_button, text_field
from dashboard.components.layout import page_frame
from dashboard.features.security.state import SecurityState
from dashboard.i18n import t


def _sso_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            text_field("security.sso_name", "sso_name", default_value=SecurityState.sso_name, max_length=80),
            text_field(
                "security.sso_issuer",
                "sso_issuer",
                default_value=SecurityState.sso_issuer,
                placeholder="https://login.example.com/realms/acme",
            ),
            text_field("security.sso_client_id", "sso_client_id", default_value=SecurityState.sso_client_id),
            text_field(
                "security.sso_client_secret",
                "sso_client_secret",
                type="password",
                auto_complete="off",
            ),
            rx.cond(
                SecurityState.sso_configured, rx.text(t("security.sso_secret_kept"), size="1", color_scheme="gray")
            ),
            text_field(
                "security.sso_join_domain",
                "sso_join_domain",
                default_value=SecurityState.sso_join_domain,
                placeholder="example.com",
            ),
            rx.text(t("security.sso_join_domain_hint"), size="1", color_scheme="gray"),
            rx.hstack(
                rx.el.input(
                    type="checkbox",
                    name="sso_allow_password",
                    id="sso_allow_password",
                    default_checked=SecurityState.sso_allow_password,
                ),
                rx.el.label(t("security.sso_allow_password"), html_for="sso_allow_password"),
                spacing="2",
                align="center",
            ),
            rx.button(t("security.sso_save"), type="submit", id="sso-save"),
            spacing="3",
            width="100%",
            max_width="32em",
        ),
        on_submit=SecurityState.save_sso,
        key=SecurityState.sso_form_key,
        id="sso-form",
    )


def _sso_section() -> rx.Component:
    return rx.vstack(
        rx.heading(t("security.sso"), size="4"),
        rx.text(t("security.sso_hint"), size="2"),
        rx.text(t("security.sso_callback"), ": ", rx.code(SecurityState.sso_callback_url, id="sso-callback"), size="2"),
        rx.cond(
            SecurityState.sso_configured,
            rx.text(
                t("security.sso_sign_in_url"),
                ": ",
                rx.code(SecurityState.sso_sign_in_url, id="sso-sign-in-url"),
                size="2",
            ),
        ),
        _sso_form(),
        rx.cond(
            SecurityState.sso_configured,
            confirm_button(
                "security.sso_remove", "security.sso_remove_question", SecurityState.remove_sso, button_id="sso-remove"
            ),
        ),
        spacing="3",
        width="100%",
    )


def security_page() -> rx.Component:
    return page_frame(
        rx.heading(t("security.two_factor"), size="4"),
        rx.text(t("security.two_factor_hint"), size="2"),
        rx.cond(
            SecurityState.security_loaded,
            rx.vstack(
                rx.cond(
                    SecurityState.require_two_factor,
                    rx.badge(t("security.required"), color_scheme="green", id="two-factor-required-badge"),
                    rx.badge(t("security.optional"), color_scheme="gray", id="two-factor-optional-badge"),
                ),
                rx.text(
                    t("security.members_without"),
                    ": ",
                    rx.text.strong(SecurityState.members_without, id="members-without"),
                    size="2",
                ),
                rx.cond(
                    SecurityState.require_two_factor,
                    confirm_button(
                        "security.stop_requiring",
                        "security.stop_requiring_question",
                        SecurityState.set_require_two_factor(False),
                        button_id="stop-requiring",
                    ),
                    confirm_button(
                        "security.require",
                        "security.require_question",
                        SecurityState.set_require_two_factor(True),
                        button_id="require-two-factor",
                        color_scheme="green",
                    ),
                ),
                spacing="3",
            ),
        ),
        _sso_section(),
        title_key="security.title",
    )
