"""The invitation page: who invited you where, before you choose a name and a password.

The link's token is the credential: `invitations.describe` shows company, email and role only for
a live link; any dead link (unknown, expired, used, revoked) gets the same "invalid" answer. The
form posts to /api/auth/accept-invite with the token in a hidden field, filled from the URL (Reflex's
route var); no var of this state holds it.
"""

from __future__ import annotations

import reflex as rx

from dashboard.api import form_echo
from dashboard.state.base import AuthState, public
from services.core.db import system_scope
from services.core.errors import NotFound
from services.identity import MAX_FULL_NAME_LENGTH
from services.people import describe

TOKEN_PARAM = "invite_token"  # noqa: S105 - the dynamic segment of /invite/[invite_token], not a secret


class InviteState(AuthState):
    loaded: bool = False
    valid: bool = False
    invite_company: str = ""
    invite_email: str = ""
    invite_role: str = ""
    full_name_input: str = ""

    @rx.var
    def form_key(self) -> str:
        """Changes when the name is filled in, so the (uncontrolled) form re-mounts with it."""
        return "filled" if self.full_name_input else "empty"

    @public
    def load(self) -> None:
        """Public: whoever holds the link may see what it invites to (nothing else)."""
        self.loaded, self.valid = False, False
        self.invite_company = self.invite_email = self.invite_role = ""
        token = self._route_param(TOKEN_PARAM)
        try:
            # No actor yet: the token is looked up in system scope (services.core.db).
            with system_scope() as session:
                preview = describe(session, token)
        except NotFound:
            self.error_key, self.loaded = "error.invite_invalid", True
            return
        self.invite_company, self.invite_email, self.invite_role = (
            preview.company_name,
            preview.email,
            preview.role.value,
        )
        self.valid, self.loaded = True, True
        self._error_from_query()  # an error of a previous attempt to accept (say, a weak password)
        # The name that attempt entered waits on the server under the URL's form id (never in the URL).
        echoed = form_echo.recall(self._query_param(form_echo.FORM_PARAM, 64))
        self.full_name_input = echoed.get("full_name", "")[:MAX_FULL_NAME_LENGTH]
