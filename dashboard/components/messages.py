"""The outcome of the last call: an error (with "try again in N s" when throttled) or a notice."""

from __future__ import annotations

import reflex as rx

from dashboard.i18n import t, t_var
from dashboard.state.base import AuthState


def messages() -> rx.Component:
    return rx.fragment(
        rx.cond(
            AuthState.error_key != "",
            rx.callout.root(
                rx.callout.icon(rx.icon("triangle_alert")),
                rx.callout.text(
                    t_var(AuthState.error_key),
                    rx.cond(
                        AuthState.retry_after > 0,
                        rx.fragment(" ", t("common.retry_in"), " ", AuthState.retry_after, " ", t("common.seconds")),
                    ),
                    id="page-error",
                ),
                color_scheme="red",
                width="100%",
            ),
        ),
        rx.cond(
            AuthState.notice_key != "",
            rx.callout.root(
                rx.callout.icon(rx.icon("circle_check")),
                rx.callout.text(t_var(AuthState.notice_key), id="page-notice"),
                color_scheme="green",
                width="100%",
            ),
        ),
    )
