"""A company's sign-in page, /login/sso/[company_slug]: "Sign in with <provider>" (a link to
/api/auth/sso/start, which sends the browser to the company's identity provider). Errors of the
callback come back to /login."""

from __future__ import annotations

from reflex.event import EventSpec

from dashboard.state.base import AuthState, public
from services import people
from services.core.db import system_scope
from services.core.errors import NotFound

SLUG_PARAM = "company_slug"


class SsoSignInState(AuthState):
    sso_loaded: bool = False
    provider_name: str = ""
    sso_start: str = ""  # the start route's URL for this company

    @public
    def load(self) -> EventSpec | None:
        """Public: the name of an active company's identity provider, for the button (nothing else)."""
        if (home := self._enter_public_form()) is not None:
            return home
        self._update(sso_loaded=False, provider_name="", sso_start="")
        try:
            with system_scope() as session:  # no actor yet
                entry = people.describe_sso(session, self._route_param(SLUG_PARAM))
        except NotFound as exc:
            self._update(error_key=exc.message, sso_loaded=True)
            return None
        self._update(provider_name=entry.name, sso_start=f"/api/auth/sso/start?company={entry.slug}", sso_loaded=True)
        return None
