"""The second step of a sign-in, /login/two-factor: after a right password, when the account has a
second factor (a code, or a recovery code) or must set one up now (the company requires it, or the
operator outside local/test). The form posts to /api/auth/two-factor, which opens the session.

The credential is this browser's pending sign-in cookie (HttpOnly, minutes; services/identity/totp.py),
read from the socket's handshake: no var of this state holds it. For an enrolment the page shows the
new key (a QR code rendered on the server, and as text) and its recovery codes: they are the signing-in
user's own, shown to the browser that proved the password.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from dashboard.state.base import AuthState, public
from services import identity
from services.core.db import system_scope


class SecondStepState(AuthState):
    loaded: bool = False
    step: str = ""  # "code", "enrol", or "" (no pending sign-in: sign in again)
    qr: rx.Field[str] = rx.field("")
    manual_key: rx.Field[str] = rx.field("")
    recovery_codes: rx.Field[list[str]] = rx.field(default_factory=list)

    @public
    def load(self) -> EventSpec | None:
        """Public: the second step of this browser's own pending sign-in (its HttpOnly cookie); shows a new
        key and recovery codes only when that sign-in must enrol; anything else shows nothing."""
        if (home := self._enter_public_form()) is not None:
            return home
        self._update(loaded=False, step="", qr="", manual_key="", recovery_codes=[])
        token = self._cookie(identity.pending_cookie_name())
        step = identity.pending_step(token)
        if step is None:
            self._update(error_key="error.sign_in_expired", retry_after=0, loaded=True)
            return None
        if step is identity.SecondStep.ENROL:
            with system_scope() as session:  # no actor yet: the pending sign-in is the credential
                enrolment = identity.start_sign_in_enrolment(session, token)
            self._update(
                qr=enrolment.qr_data_uri, manual_key=enrolment.secret, recovery_codes=list(enrolment.recovery_codes)
            )
        self._update(step=step.value, loaded=True)
        return None
