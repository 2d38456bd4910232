"""The sign-up link's page, /verify/[verify_token]: which company and address it confirms, then the
password chosen at sign-up, posted to /api/auth/verify-signup (which signs the manager in).

The link's token is the credential: `describe_sign_up` shows company and email only for a live link;
any dead link (unknown, used, expired) gets the same "invalid" answer. The form sends the token in a
hidden field filled from the URL (Reflex's route var); no var of this state holds it.
"""

from __future__ import annotations

from dashboard.state.base import AuthState, public
from services.core.db import system_scope
from services.core.errors import NotFound
from services.identity import describe_sign_up

TOKEN_PARAM = "verify_token"  # noqa: S105 - the dynamic segment of /verify/[verify_token], not a secret


class VerifyState(AuthState):
    loaded: bool = False
    valid: bool = False
    verify_company: str = ""
    verify_email: str = ""

    @public
    def load(self) -> None:
        """Public: whoever holds the link may see which company and address it confirms (nothing else)."""
        self.loaded, self.valid = False, False
        self.verify_company = self.verify_email = ""
        try:
            # No actor yet: the token is looked up in system scope (services.core.db).
            with system_scope() as session:
                preview = describe_sign_up(session, self._route_param(TOKEN_PARAM))
        except NotFound:
            self.error_key, self.loaded = "error.signup_link_invalid", True
            return
        self.verify_company, self.verify_email = preview.company_name, preview.email
        self.valid, self.loaded = True, True
        self._error_from_query()  # an error of a previous attempt (say, a wrong password)
