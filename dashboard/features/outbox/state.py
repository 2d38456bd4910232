"""The development mail outbox (local and test only): how the operator reads invitation mails locally."""

from __future__ import annotations

import dataclasses

import reflex as rx

from dashboard.state.base import AuthState, requires
from dashboard.state.rows import when
from services.core.actor import Actor
from services.core.mailer import read_outbox
from services.core.policy import Action

OUTBOX_LIMIT = 50


@dataclasses.dataclass
class MailRow:
    recipient: str
    subject: str
    body: str
    sent: str


class OutboxState(AuthState):
    messages: rx.Field[list[MailRow]] = rx.field(default_factory=list)
    loaded: bool = False

    @requires(Action.OUTBOX_VIEW)
    def load(self, actor: Actor) -> None:
        # The outbox lives in Redis, not in the database: no transaction to open.
        messages = read_outbox(actor, OUTBOX_LIMIT)
        self.messages = [
            MailRow(recipient=m.to, subject=m.subject, body=m.body, sent=when(m.sent_at)) for m in messages
        ]
        self.loaded = True
