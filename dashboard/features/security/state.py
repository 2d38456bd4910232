"""/security (Managers): the company's sign-in rules: require two-factor for every member (members
without it set it up at their next sign-in), and the company's OpenID Connect provider (single sign-on;
the client secret is write-only: never sent back to the browser)."""

from __future__ import annotations

from typing import Any

from dashboard.state.args import bool_arg, form_arg, text_arg
from dashboard.state.base import AuthState, requires
from services import identity, people
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.mailer import app_link
from services.core.policy import Action


class SecurityState(AuthState):
    security_loaded: bool = False
    require_two_factor: bool = False
    members_without: int = 0
    sso_configured: bool = False
    sso_name: str = ""
    sso_issuer: str = ""
    sso_client_id: str = ""
    sso_allow_password: bool = True
    sso_join_domain: str = ""
    sso_sign_in_url: str = ""
    sso_callback_url: str = ""
    sso_form_key: int = 0  # changes after a load or save, so the (uncontrolled) form re-mounts with the values

    @requires(Action.COMPANY_SECURITY_EDIT)
    def load(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            self._show(identity.company_security(session, actor))
            self._show_sso(people.sso_settings(session, actor))

    @requires(Action.COMPANY_SECURITY_EDIT)
    def save_sso(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        with tenant_scope(actor) as session:
            settings = people.save_sso(
                session,
                actor,
                name=text_arg(fields.get("sso_name", ""), 200),
                issuer=text_arg(fields.get("sso_issuer", ""), 600),
                client_id=text_arg(fields.get("sso_client_id", ""), 300),
                client_secret=text_arg(fields.get("sso_client_secret", ""), 1000, strip=False),
                allow_password=fields.get("sso_allow_password", "") == "on",
                join_domain=text_arg(fields.get("sso_join_domain", ""), 300),
            )
        self._show_sso(settings)
        self.notice_key = "security.sso_saved"

    @requires(Action.COMPANY_SECURITY_EDIT)
    def remove_sso(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            people.remove_sso(session, actor)
        self._show_sso(None)
        self.notice_key = "security.sso_removed"

    @requires(Action.COMPANY_SECURITY_EDIT)
    def set_require_two_factor(self, actor: Actor, required: bool) -> None:
        required = bool_arg(required)
        with tenant_scope(actor) as session:
            identity.set_two_factor_required(session, actor, required)
            security = identity.company_security(session, actor)
        self._show(security)
        self.notice_key = "security.required_on" if required else "security.required_off"

    def _show(self, security: identity.CompanySecurity) -> None:
        self._update(
            security_loaded=True,
            require_two_factor=security.require_two_factor,
            members_without=security.members_without_two_factor,
        )

    def _show_sso(self, settings: people.SsoSettings | None) -> None:
        self._update(
            sso_configured=settings is not None,
            sso_name=settings.name if settings else "",
            sso_issuer=settings.issuer if settings else "",
            sso_client_id=settings.client_id if settings else "",
            sso_allow_password=settings.allow_password if settings else True,
            sso_join_domain=settings.join_domain if settings else "",
            sso_sign_in_url=app_link(settings.sign_in_path) if settings else "",
            sso_callback_url=app_link(people.CALLBACK_PATH),
        )
        self.sso_form_key += 1
