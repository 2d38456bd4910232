"""/outbox (the operator, local and test only): mail the app would have sent, e.g. invitation links."""

from __future__ import annotations

import reflex as rx
from reflex.vars import ObjectVar

from dashboard.components.layout import page_frame
from dashboard.features.outbox.state import MailRow, OutboxState
from dashboard.i18n import t


def _message(mail: ObjectVar[MailRow]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(t("outbox.to"), " ", rx.text.strong(mail.recipient)),
                rx.spacer(),
                rx.text(mail.sent, size="1", color_scheme="gray"),
                width="100%",
            ),
            rx.text(rx.text.strong(mail.subject)),
            rx.el.pre(mail.body, white_space="pre-wrap", font_size="0.85em", margin="0", data_testid="mail-body"),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid="mail",
        data_to=mail.recipient,
    )


def outbox_page() -> rx.Component:
    return page_frame(
        rx.text(t("outbox.hint"), size="2", color_scheme="gray"),
        rx.cond(
            OutboxState.messages.length() > 0,
            rx.vstack(rx.foreach(OutboxState.messages, _message), width="100%", spacing="3", id="outbox"),
            rx.cond(OutboxState.loaded, rx.text(t("outbox.empty"), id="outbox-empty")),
        ),
        title_key="outbox.title",
    )
