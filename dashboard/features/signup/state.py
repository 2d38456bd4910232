"""The sign-up page's state: the form itself posts to /api/auth/signup (works before hydration).

After an error the route redirects back with the error key and a form id (`?form=<id>`); this state
reads the entered non-secret fields back from the server (dashboard/api/form_echo.py, kept for a
minute) into the form, never the password. After a sign-up that went through the route redirects to
`?sent=1`: the page says "check your mail" instead of showing the form, whatever the address was.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from dashboard.api import form_echo
from dashboard.state.base import AuthState, public
from services.identity import MAX_COMPANY_NAME_LENGTH, MAX_EMAIL_LENGTH, MAX_FULL_NAME_LENGTH

# The non-secret fields the route keeps for the form after an error: field name -> max length.
ECHOED_FIELDS = {"company_name": MAX_COMPANY_NAME_LENGTH, "full_name": MAX_FULL_NAME_LENGTH, "email": MAX_EMAIL_LENGTH}


class SignupState(AuthState):
    company_name_input: str = ""
    full_name_input: str = ""
    email_input: str = ""
    sent: bool = False

    @rx.var
    def form_key(self) -> str:
        """Changes when the fields above are filled in, so the (uncontrolled) form re-mounts with them."""
        return "filled" if self.company_name_input or self.full_name_input or self.email_input else "empty"

    @public
    def load(self) -> EventSpec | None:
        """Public: the sign-up page. Reads this browser's URL and cookie, and the fields its own failed
        attempt left under the URL's random form id for a minute; returns no other data."""
        if (home := self._enter_public_form()) is not None:
            return home
        echoed = form_echo.recall(self._query_param(form_echo.FORM_PARAM, 64))
        self.company_name_input = echoed.get("company_name", "")[: ECHOED_FIELDS["company_name"]]
        self.full_name_input = echoed.get("full_name", "")[: ECHOED_FIELDS["full_name"]]
        self.email_input = echoed.get("email", "")[: ECHOED_FIELDS["email"]]
        self.sent = self._query_param("sent", 1) == "1" and not self.error_key
        if self.sent:
            self.notice_key = "signup.check_mail"
        return None
