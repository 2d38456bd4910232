"""Everyone's own account: sessions (revoke one, log out everywhere) and the password change."""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from dashboard.state.args import form_arg, text_arg, uuid_arg
from dashboard.state.base import LOGIN_ROUTE, AuthState, requires
from dashboard.state.rows import when
from services import identity
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.errors import ValidationFailed
from services.core.policy import Action
from services.identity import MAX_PASSWORD_LENGTH


@dataclasses.dataclass
class SessionRow:
    id: str
    device: str
    ip: str
    created: str
    last_seen: str
    current: bool


class AccountState(AuthState):
    sessions: rx.Field[list[SessionRow]] = rx.field(default_factory=list)
    loaded: bool = False

    @requires(Action.SESSION_LIST)
    def load(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            infos = identity.list_sessions(session, actor, current_token=self._session_token())
        self.sessions = [
            SessionRow(
                id=str(s.id),
                device=s.user_agent,
                ip=s.ip,
                created=when(s.created_at),
                last_seen=when(s.last_seen_at),
                current=s.current,
            )
            for s in infos
        ]
        self.loaded = True

    @requires(Action.SESSION_REVOKE)
    def revoke(self, actor: Actor, session_id: str) -> None:
        target = uuid_arg(session_id)
        with tenant_scope(actor) as session:
            identity.revoke_session(session, actor, target)
        self.sessions = [s for s in self.sessions if s.id != str(target)]
        self.notice_key = "account.session_revoked"

    @requires(Action.SESSION_REVOKE)
    def logout_everywhere(self, actor: Actor) -> EventSpec:
        with tenant_scope(actor) as session:
            identity.logout_all(session, actor)
        # This browser's cookie is dead now too; the login page shows the form again.
        self._forget_user()
        return rx.redirect(LOGIN_ROUTE, replace=True)

    @requires(Action.PASSWORD_CHANGE)
    def change_password(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        current = text_arg(fields.get("current_password", ""), MAX_PASSWORD_LENGTH, strip=False)
        new = text_arg(fields.get("new_password", ""), MAX_PASSWORD_LENGTH, strip=False)
        if new != fields.get("repeat_password", ""):
            raise ValidationFailed("error.password_mismatch")
        with tenant_scope(actor) as session:
            identity.change_password(
                session, actor, current_password=current, new_password=new, current_token=self._session_token()
            )
        self.sessions = [s for s in self.sessions if s.current]  # every other session has ended
        self.notice_key = "account.password_changed"
