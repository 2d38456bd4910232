"""/notifications (the bell's page) and the account page's e-mail switch."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.bell import has_notifications
from dashboard.components.layout import page_frame
from dashboard.features.notifications.state import NotificationRow, NotificationSettingsState, NotificationsState
from dashboard.i18n import t, t_var
from models import NotificationKind


def _what(item: ObjectVar[NotificationRow]) -> rx.Component:
    """What happened, in the reader's language (a status change names both statuses)."""
    return rx.cond(
        item.kind == NotificationKind.STATUS_CHANGED.value,
        rx.text.span(
            t("notifications.kind.status_changed"),
            " ",
            t_var(item.old_status, "task_status."),
            " → ",
            t_var(item.new_status, "task_status."),
        ),
        rx.text.span(t_var(item.kind, "notifications.kind.")),
    )


def _item(item: ObjectVar[NotificationRow]) -> rx.Component:
    task = rx.fragment(rx.code(item.task_ref), " ", item.task_title)
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.cond(~item.read, rx.badge(t("notifications.new"), color_scheme="red")),
                rx.text(rx.text.strong(item.actor), " ", _what(item), size="2"),
                rx.spacer(),
                rx.text(item.time, size="1", color_scheme="gray"),
                width="100%",
                align="center",
            ),
            rx.cond(
                item.link != "",
                rx.link(
                    task,
                    href=item.link,
                    on_click=NotificationsState.mark_read(item.id),
                    data_testid="notification-link",
                ),
                rx.text(task),
            ),
            rx.cond(
                item.detail != "",
                rx.text(item.detail, size="2", color_scheme="gray", data_testid="notification-detail"),
            ),
            rx.cond(
                ~item.read,
                rx.button(
                    t("notifications.mark_read"),
                    size="1",
                    variant="ghost",
                    on_click=NotificationsState.mark_read(item.id),
                    id="mark-read-" + item.id.to(str),
                ),
            ),
            spacing="1",
            width="100%",
        ),
        width="100%",
        data_testid="notification",
        data_kind=item.kind,
        data_read=item.read.to(str),
    )


def notifications_page() -> rx.Component:
    return page_frame(
        rx.cond(
            NotificationsState.items.length() > 0,
            rx.button(
                t("notifications.mark_all_read"),
                id="mark-all-read",
                on_click=NotificationsState.mark_all_read,
                size="1",
            ),
        ),
        rx.cond(
            NotificationsState.items.length() > 0,
            rx.vstack(rx.foreach(NotificationsState.items, _item), width="100%", spacing="2", id="notifications-list"),
            rx.cond(
                NotificationsState.loaded,
                rx.text(t("notifications.empty"), id="notifications-empty", color_scheme="gray"),
            ),
        ),
        title_key="notifications.title",
    )


def email_switch() -> rx.Component:
    """The account page's switch for notification e-mails (not shown to the operator)."""
    return rx.cond(
        has_notifications(),
        rx.vstack(
            rx.heading(t("notifications.email_heading"), size="4"),
            rx.el.label(
                rx.hstack(
                    rx.switch(
                        checked=NotificationSettingsState.email_on,
                        on_change=NotificationSettingsState.set_email,
                        id="email-notifications",
                    ),
                    rx.text(t("notifications.email_label"), size="2"),
                    align="center",
                    spacing="2",
                ),
            ),
            on_mount=NotificationSettingsState.load,
            spacing="2",
        ),
    )
