"""/invite/[invite_token]: what the link invites to, then name + password, posted to
/api/auth/accept-invite. A dead link (unknown, expired, used, revoked) gets one clear message."""

from __future__ import annotations

import reflex as rx

from dashboard.components.forms import password_rules, post_form, text_field
from dashboard.components.public_frame import public_frame
from dashboard.features.invite.state import TOKEN_PARAM, InviteState
from dashboard.i18n import t, t_var
from services.identity import MAX_FULL_NAME_LENGTH


def _form() -> rx.Component:
    return post_form(
        "/api/auth/accept-invite",
        # The token is the page's own URL segment (Reflex's route var for /invite/[invite_token]).
        rx.el.input(type="hidden", name="token", value=getattr(rx.State, TOKEN_PARAM)),
        text_field(
            "signup.full_name",
            "full_name",
            required=True,
            max_length=MAX_FULL_NAME_LENGTH,
            default_value=InviteState.full_name_input,
            auto_complete="name",
        ),
        text_field("login.password", "password", type="password", required=True, auto_complete="new-password"),
        password_rules(),
        submit_key="invite.accept",
        submit_id="invite-accept",
        key=InviteState.form_key,
    )


def invite_page() -> rx.Component:
    return public_frame(
        rx.cond(
            InviteState.valid,
            rx.vstack(
                rx.text(
                    t("invite.joining"),
                    " ",
                    rx.text.strong(InviteState.invite_company, id="invite-company"),
                    " ",
                    t("invite.as"),
                    " ",
                    rx.text.strong(t_var(InviteState.invite_role, "role."), id="invite-role"),
                ),
                rx.text(t("login.email"), ": ", rx.text.strong(InviteState.invite_email, id="invite-email")),
                _form(),
                width="100%",
                spacing="3",
            ),
            rx.cond(InviteState.loaded, rx.link(t("invite.to_login"), href="/login", id="invite-login-link")),
        ),
        title_key="invite.title",
        title_id="invite-title",
    )
