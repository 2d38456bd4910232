"""Everyone's own account: sessions (revoke one, log out everywhere), the password change, and two-factor
sign-in (set up, new recovery codes, turn off, trusted browsers)."""

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
from services.identity import MAX_PASSWORD_LENGTH, MAX_TWO_FACTOR_CODE_LENGTH


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


@dataclasses.dataclass
class TrustedBrowserRow:
    id: str
    device: str
    ip: str
    created: str
    expires: str


class TwoFactorState(AuthState):
    """The account page's two-factor part. The new key, its QR code and recovery codes are the actor's
    own and are shown once: `enrolling` while a started key waits for its first code, `new_codes` until
    the user says they are saved (or leaves the page: a reload shows them no more)."""

    two_factor_loaded: bool = False
    enabled: bool = False
    required: bool = False
    codes_left: int = 0
    browsers: rx.Field[list[TrustedBrowserRow]] = rx.field(default_factory=list)
    enrolling: bool = False
    qr: rx.Field[str] = rx.field("")
    manual_key: rx.Field[str] = rx.field("")
    new_codes: rx.Field[list[str]] = rx.field(default_factory=list)

    @requires(Action.TWO_FACTOR_MANAGE)
    def load_two_factor(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            status = identity.two_factor_status(session, actor)
        self._show(status)
        self._update(enrolling=False, qr="", manual_key="", new_codes=[])

    @requires(Action.TWO_FACTOR_MANAGE)
    def start_two_factor(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            enrolment = identity.start_two_factor(session, actor)
        self._update(
            enrolling=True,
            qr=enrolment.qr_data_uri,
            manual_key=enrolment.secret,
            new_codes=list(enrolment.recovery_codes),
        )

    @requires(Action.TWO_FACTOR_MANAGE)
    def confirm_two_factor(self, actor: Actor, form_data: dict[str, Any]) -> None:
        code = text_arg(form_arg(form_data).get("code", ""), MAX_TWO_FACTOR_CODE_LENGTH)
        with tenant_scope(actor) as session:
            identity.confirm_two_factor(session, actor, code)
            status = identity.two_factor_status(session, actor)
        self._show(status)
        self._update(enrolling=False, qr="", manual_key="")  # the codes stay on screen until saved
        self.notice_key = "two_factor.enabled"

    @requires(Action.TWO_FACTOR_MANAGE)
    def regenerate_codes(self, actor: Actor, form_data: dict[str, Any]) -> None:
        password, code = self._password_and_code(form_data)
        with tenant_scope(actor) as session:
            codes = identity.regenerate_recovery_codes(
                session, actor, password=password, code=code, current_token=self._session_token()
            )
            status = identity.two_factor_status(session, actor)
        self._show(status)
        self.new_codes = list(codes)
        self.notice_key = "two_factor.codes_regenerated"

    @requires(Action.TWO_FACTOR_MANAGE)
    def disable_two_factor(self, actor: Actor, form_data: dict[str, Any]) -> None:
        password, code = self._password_and_code(form_data)
        with tenant_scope(actor) as session:
            identity.disable_two_factor(
                session, actor, password=password, code=code, current_token=self._session_token()
            )
            status = identity.two_factor_status(session, actor)
        self._show(status)
        self._update(new_codes=[])
        self.notice_key = "two_factor.disabled"

    @requires(Action.TWO_FACTOR_MANAGE)
    def revoke_browser(self, actor: Actor, browser_id: str) -> None:
        target = uuid_arg(browser_id)
        with tenant_scope(actor) as session:
            identity.revoke_trusted_browser(session, actor, target)
        self.browsers = [b for b in self.browsers if b.id != str(target)]
        self.notice_key = "two_factor.browser_revoked"

    @requires(Action.TWO_FACTOR_MANAGE)
    def hide_codes(self, actor: Actor) -> None:
        """The user saved the recovery codes: they leave the page (and the state) for good."""
        self._update(new_codes=[])

    def _password_and_code(self, form_data: dict[str, Any]) -> tuple[str, str]:
        fields = form_arg(form_data)
        password = text_arg(fields.get("current_password", ""), MAX_PASSWORD_LENGTH, strip=False)
        return password, text_arg(fields.get("code", ""), MAX_TWO_FACTOR_CODE_LENGTH)

    def _show(self, status: identity.TwoFactorStatus) -> None:
        self._update(
            two_factor_loaded=True,
            enabled=status.enabled,
            required=status.required,
            codes_left=status.recovery_codes_left,
        )
        self.browsers = [
            TrustedBrowserRow(
                id=str(b.id), device=b.user_agent, ip=b.ip, created=when(b.created_at), expires=when(b.expires_at)
            )
            for b in status.trusted_browsers
        ]
