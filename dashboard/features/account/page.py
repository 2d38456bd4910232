"""/account (everyone): own sessions, the password change, and two-factor sign-in."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars import ObjectVar
from reflex_components_radix.themes.base import LiteralAccentColor

from dashboard.components.forms import confirm_button, password_rules, text_field
from dashboard.components.layout import page_frame
from dashboard.components.table import data_table
from dashboard.components.two_factor import key_and_codes, recovery_code_list
from dashboard.features.account.state import AccountState, SessionRow, TrustedBrowserRow, TwoFactorState
from dashboard.features.notifications.page import email_switch
from dashboard.i18n import t


def _session_row(row: ObjectVar[SessionRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.device, size="1"), max_width="28em"),
        rx.table.cell(row.ip),
        rx.table.cell(row.created),
        rx.table.cell(row.last_seen),
        rx.table.cell(
            rx.cond(
                row.current,
                rx.badge(t("account.this_session"), color_scheme="green", id="this-session"),
                confirm_button(
                    "account.revoke",
                    "account.revoke_question",
                    AccountState.revoke(row.id),
                    button_id="revoke-session-" + row.id.to(str),
                ),
            )
        ),
        data_testid="session-row",
    )


def _password_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            text_field(
                "account.current_password", "current_password", type="password", auto_complete="current-password"
            ),
            text_field("account.new_password", "new_password", type="password", auto_complete="new-password"),
            text_field("account.repeat_password", "repeat_password", type="password", auto_complete="new-password"),
            password_rules(),
            rx.button(t("account.change_password"), type="submit", id="change-password"),
            spacing="3",
            width="100%",
            max_width="26em",
        ),
        on_submit=AccountState.change_password,
        reset_on_submit=True,  # never keep passwords in the page
        id="password-form",
    )


def _code_field() -> rx.Component:
    return text_field(
        "two_factor.code", "code", auto_complete="one-time-code", input_mode="numeric", max_length=64, required=True
    )


def _password_and_code_form(
    form_id: str, submit_key: str, on_submit: Any, color: LiteralAccentColor = "gray"
) -> rx.Component:
    """Regenerating recovery codes and turning two-factor off both ask for the password and a code."""
    return rx.form(
        rx.vstack(
            text_field(
                "account.current_password",
                "current_password",
                type="password",
                auto_complete="current-password",
                field_id=f"{form_id}-password",
            ),
            text_field(
                "two_factor.code",
                "code",
                auto_complete="one-time-code",
                max_length=64,
                field_id=f"{form_id}-code",
            ),
            rx.button(t(submit_key), type="submit", id=f"{form_id}-submit", variant="soft", color_scheme=color),
            spacing="2",
            width="100%",
            max_width="26em",
        ),
        on_submit=on_submit,
        reset_on_submit=True,
        id=form_id,
    )


def _browser_row(row: ObjectVar[TrustedBrowserRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row.device, size="1"), max_width="28em"),
        rx.table.cell(row.ip),
        rx.table.cell(row.created),
        rx.table.cell(row.expires),
        rx.table.cell(
            confirm_button(
                "two_factor.revoke_browser",
                "two_factor.revoke_browser_question",
                TwoFactorState.revoke_browser(row.id),
                button_id="revoke-browser-" + row.id.to(str),
            )
        ),
        data_testid="browser-row",
    )


def _enrolment() -> rx.Component:
    return rx.vstack(
        key_and_codes(TwoFactorState.qr, TwoFactorState.manual_key, TwoFactorState.new_codes),
        rx.form(
            rx.vstack(
                _code_field(),
                rx.button(t("two_factor.confirm"), type="submit", id="two-factor-confirm"),
                spacing="2",
                max_width="26em",
            ),
            on_submit=TwoFactorState.confirm_two_factor,
            reset_on_submit=True,
            id="two-factor-confirm-form",
        ),
        spacing="3",
        width="100%",
    )


def _two_factor_on() -> rx.Component:
    return rx.vstack(
        rx.text(t("two_factor.codes_left"), ": ", rx.text.strong(TwoFactorState.codes_left, id="codes-left")),
        rx.cond(
            TwoFactorState.new_codes.length() > 0,
            rx.vstack(
                recovery_code_list(TwoFactorState.new_codes),
                rx.button(t("two_factor.codes_saved"), on_click=TwoFactorState.hide_codes, id="codes-saved"),
                spacing="2",
            ),
        ),
        rx.heading(t("two_factor.trusted_browsers"), size="3"),
        data_table(
            "browsers",
            ["account.device", "account.ip", "two_factor.trusted_since", "two_factor.trusted_until", "team.actions"],
            TwoFactorState.browsers,
            _browser_row,
            loaded=TwoFactorState.two_factor_loaded,
        ),
        rx.heading(t("two_factor.regenerate"), size="3"),
        _password_and_code_form("regenerate-form", "two_factor.regenerate", TwoFactorState.regenerate_codes),
        rx.cond(
            TwoFactorState.required,
            rx.text(t("two_factor.required_note"), size="2", id="two-factor-required-note"),
            rx.vstack(
                rx.heading(t("two_factor.disable"), size="3"),
                _password_and_code_form(
                    "disable-form", "two_factor.disable", TwoFactorState.disable_two_factor, color="red"
                ),
                spacing="2",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _two_factor_section() -> rx.Component:
    return rx.vstack(
        rx.heading(t("two_factor.heading"), size="4"),
        rx.cond(
            TwoFactorState.enabled,
            rx.vstack(rx.badge(t("two_factor.on"), color_scheme="green", id="two-factor-on"), _two_factor_on()),
            rx.cond(
                TwoFactorState.enrolling,
                _enrolment(),
                rx.vstack(
                    rx.text(t("two_factor.off_hint"), size="2", id="two-factor-off"),
                    rx.button(t("two_factor.start"), on_click=TwoFactorState.start_two_factor, id="two-factor-start"),
                    spacing="2",
                ),
            ),
        ),
        spacing="3",
        width="100%",
        id="two-factor",
    )


def account_page() -> rx.Component:
    return page_frame(
        rx.heading(t("account.sessions"), size="4"),
        data_table(
            "sessions",
            ["account.device", "account.ip", "account.created", "account.last_seen", "team.actions"],
            AccountState.sessions,
            _session_row,
            loaded=AccountState.loaded,
        ),
        confirm_button(
            "account.logout_all",
            "account.logout_all_question",
            AccountState.logout_everywhere,
            button_id="logout-all",
        ),
        rx.heading(t("account.password"), size="4"),
        _password_form(),
        _two_factor_section(),
        email_switch(),
        title_key="account.title",
    )
