"""/login/sso/[company_slug]: the company's sign-in page with its identity provider's button."""

from __future__ import annotations

import reflex as rx

from dashboard.components.public_frame import public_frame
from dashboard.features.sso.state import SsoSignInState
from dashboard.i18n import t


def sso_sign_in_page() -> rx.Component:
    return public_frame(
        rx.cond(
            SsoSignInState.provider_name != "",
            # A plain link: the start route redirects to the provider (a form's redirect to another
            # site would be stopped by the form-action policy).
            rx.el.a(
                rx.button(t("sso.sign_in_with"), " ", SsoSignInState.provider_name, width="100%", type="button"),
                href=SsoSignInState.sso_start,
                # Reflex renders the anchor as React Router's Link: a full document load, so the
                # request reaches the server's start route instead of the client-side router.
                custom_attrs={"reloadDocument": True},
                id="sso-start",
                width="100%",
            ),
        ),
        rx.link(t("sso.use_password"), href="/login", id="sso-password-link", size="2"),
        title_key="login.title",
        title_id="sso-title",
    )
