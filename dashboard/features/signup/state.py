"""The sign-up page's state: the form itself posts to /api/auth/signup (works before hydration).

On an error the route redirects back with the error key and the entered non-secret fields in the
query string; this state echoes them into the form (never the password).
"""

from __future__ import annotations

import reflex as rx

from dashboard.state.base import AuthState, public
from services.identity import MAX_COMPANY_NAME_LENGTH, MAX_EMAIL_LENGTH, MAX_FULL_NAME_LENGTH

# The non-secret fields the route echoes back after an error: query name -> max length.
ECHOED_FIELDS = {"company_name": MAX_COMPANY_NAME_LENGTH, "full_name": MAX_FULL_NAME_LENGTH, "email": MAX_EMAIL_LENGTH}


class SignupState(AuthState):
    company_name_input: str = ""
    full_name_input: str = ""
    email_input: str = ""

    @rx.var
    def form_key(self) -> str:
        """Changes when the fields above are filled from the URL, so the (uncontrolled) form re-mounts with them."""
        return "filled" if self.company_name_input or self.full_name_input or self.email_input else "empty"

    @public
    def load(self) -> rx.event.EventSpec | None:
        """Public: the sign-up page. Reads only this browser's URL and cookie; returns no data."""
        if (home := self._enter_public_form()) is not None:
            return home
        self.company_name_input = self._query_param("company_name", ECHOED_FIELDS["company_name"])
        self.full_name_input = self._query_param("full_name", ECHOED_FIELDS["full_name"])
        self.email_input = self._query_param("email", ECHOED_FIELDS["email"])
        return None
