"""A plain HTML <form> that really submits to its action (rx.el.form always prevents default).

Used for login, logout, sign-up and invitation acceptance: they must work before the page hydrates
and reach our HTTP routes, which set and clear the HttpOnly session cookie.
"""

from __future__ import annotations

from reflex.vars.base import Var
from reflex_components_core.el.elements.base import BaseHTML


class NativeForm(BaseHTML):
    tag = "form"

    action: Var[str]
    method: Var[str]
    auto_complete: Var[str]


native_form = NativeForm.create
