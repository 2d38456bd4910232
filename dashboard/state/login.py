"""The login page's state: show the error named in the URL; send signed-in users home."""

from __future__ import annotations

import reflex as rx

from dashboard.i18n import ERROR_KEYS
from dashboard.state.base import HOME_ROUTE, AuthState, public


class LoginState(AuthState):
    login_error: str = ""
    retry_after: int = 0

    @rx.event
    @public
    def load(self) -> rx.event.EventSpec | None:
        """Only reads this browser's own cookie; returns no data but a redirect."""
        key = self.router.url.query_parameters.get("error", "")
        self.login_error = key if key in ERROR_KEYS else ("error.generic" if key else "")
        retry = self.router.url.query_parameters.get("retry", "")
        self.retry_after = min(int(retry), 24 * 3600) if retry.isdigit() and self.login_error else 0
        if self._session_token() and self._actor() is not None:
            return rx.redirect(HOME_ROUTE, replace=True)
        self._forget_user()
        return None
