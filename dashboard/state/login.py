"""The login page's state: show the error named in the URL; send signed-in users home."""

from __future__ import annotations

import reflex as rx

from dashboard.state.base import HOME_ROUTE, AuthState, public


class LoginState(AuthState):
    @rx.event
    @public
    def load(self) -> rx.event.EventSpec | None:
        """Public: the login page itself. Reads only this browser's URL and cookie; returns no data."""
        self._error_from_query()
        if self._session_token() and self._actor() is not None:
            return rx.redirect(HOME_ROUTE, replace=True)
        self._forget_user()
        return None
