from __future__ import annotations

import reflex as rx

from dashboard.components.layout import page_frame
from dashboard.features.home.state import HomeState
from dashboard.i18n import t, t_var
from dashboard.state.base import AuthState


def home_page() -> rx.Component:
    return page_frame(
        rx.text(
            t("home.signed_in_as"),
            " ",
            rx.text.strong(AuthState.user_name),
            " · ",
            t_var(AuthState.user_role, "role."),
            rx.cond(AuthState.company_name != "", rx.fragment(" · ", AuthState.company_name)),
            id="signed-in-as",
        ),
        rx.cond(
            HomeState.summary_key != "",
            rx.vstack(
                rx.text(t_var(HomeState.summary_key), id="role-summary"),
                rx.card(
                    rx.vstack(
                        rx.text(t_var(HomeState.count_label_key), size="2", color_scheme="gray"),
                        rx.heading(HomeState.count, size="7", id="summary-count"),
                        spacing="1",
                    ),
                ),
                spacing="3",
            ),
        ),
        title_key="home.title",
    )
