"""The signed-in frame: a sidebar with the pages the role may open, and a header."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.bell import notification_bell
from dashboard.components.controls import dark_mode_switch, hydration_marker, language_switch
from dashboard.components.messages import messages
from dashboard.components.native_form import native_form
from dashboard.i18n import t, t_var
from dashboard.state.base import AuthState, NavItem


def _nav_item(item: ObjectVar[NavItem]) -> rx.Component:
    return rx.link(
        t_var(item.name, "nav."),
        href=item.route,
        id=rx.Var.create("nav-") + item.name.to(str),
        data_testid="nav-item",
        underline="none",
        padding_y="0.4em",
    )


def sidebar() -> rx.Component:
    return rx.vstack(
        rx.heading(t("app.title"), size="5", margin_bottom="1em"),
        rx.foreach(AuthState.nav, _nav_item),
        id="sidebar",
        as_="nav",
        padding="1.5em",
        min_width="14em",
        min_height="100vh",
        border_right=f"1px solid {rx.color('gray', 5)}",
        spacing="1",
    )


def header() -> rx.Component:
    return rx.hstack(
        rx.hstack(
            rx.text(AuthState.user_name, weight="bold", id="header-user"),
            rx.badge(t_var(AuthState.user_role, "role."), id="header-role"),
            rx.cond(
                AuthState.company_name != "", rx.text(AuthState.company_name, id="header-company", color_scheme="gray")
            ),
            align="center",
            spacing="3",
        ),
        rx.spacer(),
        rx.hstack(
            notification_bell(),
            language_switch(),
            dark_mode_switch(),
            native_form(
                rx.button(t("header.logout"), type="submit", id="logout", size="1", variant="outline"),
                action="/api/auth/logout",
                method="post",
            ),
            align="center",
            spacing="4",
        ),
        padding="1em 1.5em",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        align="center",
    )


def billing_banner() -> rx.Component:
    """On every page of a company that is read-only, or will be (a trial, a cancelled subscription)."""
    return rx.cond(
        AuthState.read_only_now,
        rx.callout(
            rx.fragment(t("error.company_read_only"), " ", rx.link(t("billing.banner_link"), href="/billing")),
            icon="lock",
            color_scheme="red",
            id="read-only-banner",
            width="100%",
        ),
        rx.cond(
            AuthState.read_only_in_days >= 0,
            rx.callout(
                rx.fragment(
                    t("billing.banner_days"),
                    " ",
                    rx.el.strong(AuthState.read_only_in_days, id="banner-days"),
                    ". ",
                    rx.link(t("billing.banner_link"), href="/billing"),
                ),
                icon="clock",
                color_scheme="blue",
                id="trial-banner",
                width="100%",
            ),
        ),
    )


def page_frame(*children: rx.Component, title_key: str) -> rx.Component:
    return rx.hstack(
        sidebar(),
        rx.vstack(
            header(),
            rx.vstack(
                rx.heading(t(title_key), size="6", id="page-title"),
                billing_banner(),
                messages(),
                *children,
                padding="1.5em",
                width="100%",
                spacing="4",
            ),
            width="100%",
            spacing="0",
        ),
        hydration_marker(),
        spacing="0",
        width="100%",
        align="start",
    )
