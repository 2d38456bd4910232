"""The password reset pages: /reset ("forgot password?": the address, posted to /api/auth/reset-request)
and /reset/[reset_token] (the mailed link: a new password, posted to /api/auth/reset-password).

The request page answers "if an account exists, a link is on its way" (`?sent=1`) whatever the address.
The link's token is the credential: `describe_password_reset` shows the account's address only for a
live link; any dead link gets the same "invalid" answer. The form sends the token in a hidden field
filled from the URL (Reflex's route var); no var of this state holds it.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from dashboard.api import form_echo
from dashboard.state.base import AuthState, public
from services.core.db import system_scope
from services.core.errors import NotFound
from services.identity import MAX_EMAIL_LENGTH, describe_password_reset

TOKEN_PARAM = "reset_token"  # noqa: S105 - the dynamic segment of /reset/[reset_token], not a secret


class ResetRequestState(AuthState):
    email_input: str = ""
    sent: bool = False

    @rx.var
    def form_key(self) -> str:
        """Changes when the address is filled in, so the (uncontrolled) form re-mounts with it."""
        return "filled" if self.email_input else "empty"

    @public
    def load(self) -> EventSpec | None:
        """Public: the "forgot password?" page. Reads this browser's URL and cookie, and the address its own
        failed attempt left under the URL's random form id for a minute; returns no other data."""
        if (home := self._enter_public_form()) is not None:
            return home
        echoed = form_echo.recall(self._query_param(form_echo.FORM_PARAM, 64))
        self.email_input = echoed.get("email", "")[:MAX_EMAIL_LENGTH]
        self.sent = self._query_param("sent", 1) == "1" and not self.error_key
        if self.sent:
            self.notice_key = "reset.check_mail"
        return None


class ResetPasswordState(AuthState):
    loaded: bool = False
    valid: bool = False
    reset_email: str = ""

    @public
    def load(self) -> None:
        """Public: whoever holds the link may see which address it resets (nothing else)."""
        self.loaded, self.valid, self.reset_email = False, False, ""
        try:
            with system_scope() as session:  # no actor: the token is looked up in system scope
                preview = describe_password_reset(session, self._route_param(TOKEN_PARAM))
        except NotFound:
            self.error_key, self.loaded = "error.reset_link_invalid", True
            return
        self.reset_email = preview.email
        self.valid, self.loaded = True, True
        self._error_from_query()  # an error of a previous attempt (say, a password the rules refuse)
