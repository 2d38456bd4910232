"""The login page's state: show the error named in the URL; send signed-in users home."""

from __future__ import annotations

import reflex as rx

from dashboard.state.base import AuthState, public


class LoginState(AuthState):
    @public
    def load(self) -> rx.event.EventSpec | None:
        """Public: the login page itself. Reads only this browser's URL and cookie; returns no data."""
        return self._enter_public_form()
