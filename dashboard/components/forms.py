"""Form pieces shared by every page: labelled fields, native selects, confirm buttons, password rules,
and the plain HTML forms of the public pages."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_components_radix.themes.base import LiteralAccentColor

from dashboard.components.native_form import native_form
from dashboard.i18n import t
from services.core.passwords import MIN_PASSWORD_LENGTH

# A native <select> (it submits with the form and works before hydration), styled like the inputs.
SELECT_STYLE = {
    "padding": "0.35em 0.5em",
    "border_radius": "var(--radius-2)",
    "border": f"1px solid {rx.color('gray', 7)}",
    "background": rx.color("gray", 1),
    "color": rx.color("gray", 12),
    "min_height": "2.2em",
}


def labelled(label_key: str, control: rx.Component, html_for: str, *, full_width: bool = True) -> rx.Component:
    """A label above its control (`full_width` False: as wide as the control, e.g. in a row of filters)."""
    width_prop: dict[str, Any] = {"width": "100%"} if full_width else {}
    return rx.vstack(rx.el.label(t(label_key), html_for=html_for), control, spacing="1", **width_prop)


def text_field(label_key: str, name: str, *, field_id: str | None = None, **props: Any) -> rx.Component:
    """A labelled text input named `name` (id defaults to the name)."""
    field_id = field_id if field_id is not None else name
    return labelled(label_key, rx.input(id=field_id, name=name, width="100%", **props), field_id)


def native_select(
    name: str, *options: rx.Component, select_id: str | rx.Var[str] | None = None, **props: Any
) -> rx.Component:
    return rx.el.select(*options, name=name, id=name if select_id is None else select_id, style=SELECT_STYLE, **props)


def option(value: str | rx.Var[str], label: Any) -> rx.Component:
    return rx.el.option(label, value=value)


def confirm_button(
    label_key: str,
    question_key: str,
    on_confirm: Any,
    *,
    button_id: str | rx.Var[str],
    color_scheme: LiteralAccentColor = "red",
) -> rx.Component:
    """A button that asks first (the confirm button's id is the button's id + "-confirm")."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(t(label_key), id=button_id, size="1", variant="soft", color_scheme=color_scheme, type="button")
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title(t(label_key)),
            rx.alert_dialog.description(t(question_key)),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(t("common.cancel"), variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        t(label_key),
                        color_scheme=color_scheme,
                        on_click=on_confirm,
                        id=rx.Var.create(button_id).to(str) + "-confirm",
                    )
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
    )


def password_rules() -> rx.Component:
    return rx.text(
        t("password.rules_1"),
        " ",
        MIN_PASSWORD_LENGTH,
        " ",
        t("password.rules_2"),
        size="1",
        color_scheme="gray",
        id="password-rules",
    )


def post_form(action: str, *fields: rx.Component, submit_key: str, submit_id: str, **props: Any) -> rx.Component:
    """A plain HTML form POSTing to one of our HTTP routes (works before hydration), fields stacked above
    a full-width submit button."""
    return native_form(
        rx.vstack(
            *fields,
            rx.button(t(submit_key), type="submit", id=submit_id, width="100%", margin_top="0.5em"),
            width="100%",
            spacing="3",
        ),
        action=action,
        method="post",
        width="100%",
        **props,
    )
