"""/account (everyone): own sessions and the password change."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.forms import confirm_button, password_rules, text_field
from dashboard.components.layout import page_frame
from dashboard.components.table import data_table
from dashboard.features.account.state import AccountState, SessionRow
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
        title_key="account.title",
    )
