"""The login page's state: show the error named in the URL; send signed-in users home."""

from __future__ import annotations

from reflex.event import EventSpec

from dashboard.state.base import AuthState, public


class LoginState(AuthState):
    @public
    def load(self) -> EventSpec | None:
        """Public: the login page itself. Reads only this browser's URL and cookie; returns no data."""
        return self._enter_public_form()
