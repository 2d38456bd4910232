"""The login page's state: show the error (or the "password reset" notice) named in the URL; send signed-in
users home."""

from __future__ import annotations

from reflex.event import EventSpec

from dashboard.state.base import AuthState, public


class LoginState(AuthState):
    @public
    def load(self) -> EventSpec | None:
        """Public: the login page itself. Reads only this browser's URL and cookie; returns no data."""
        if (home := self._enter_public_form()) is not None:
            return home
        if self._query_param("reset", 1) == "1" and not self.error_key:  # /api/auth/reset-password's answer
            self.notice_key = "reset.done"
        return None
