"""The operator's console: the company list (with search) and one company's detail page."""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex as rx

from dashboard.state.args import bool_arg, form_arg, text_arg, uuid_arg
from dashboard.state.base import AuthState, requires
from dashboard.state.rows import AuditRow, audit_row, when
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.errors import NotFound
from services.core.policy import Action
from services.tenants import MAX_SEARCH_LENGTH, CompanyDetail, company_detail, list_companies, set_company_active

DETAIL_PARAM = "company_ref"  # the dynamic segment of /companies/[company_ref]


@dataclasses.dataclass
class CompanyRow:
    id: str
    name: str
    status: str
    members: int
    plan: str
    on_trial: bool


class CompaniesState(AuthState):
    companies: rx.Field[list[CompanyRow]] = rx.field(default_factory=list)
    loaded: bool = False

    def _fill(self, actor: Actor, search: str) -> None:
        with tenant_scope(actor) as session:
            summaries = list_companies(session, actor, search=search)
        self.companies = [
            CompanyRow(
                id=str(c.id),
                name=c.name,
                status=c.status.value,
                members=c.members,
                plan=c.plan_name,
                on_trial=c.on_trial,
            )
            for c in summaries
        ]
        self.loaded = True

    @requires(Action.COMPANY_LIST)
    def load(self, actor: Actor) -> None:
        self._fill(actor, "")

    @requires(Action.COMPANY_LIST)
    def search(self, actor: Actor, form_data: dict[str, Any]) -> None:
        self._fill(actor, text_arg(form_arg(form_data).get("q", ""), MAX_SEARCH_LENGTH))


class CompanyDetailState(AuthState):
    """Only plain values of the one company the operator opened; `found` False shows "not found"."""

    found: bool = False
    loaded: bool = False
    company_id: str = ""
    name: str = ""
    slug: str = ""
    status: str = ""
    created: str = ""
    members_by_role: dict[str, int] = {}
    active_members: rx.Field[int] = rx.field(0)
    project_count: rx.Field[int] = rx.field(0)
    plan: str = ""
    subscription_status: str = ""
    period_end: str = ""
    trial_status: str = ""
    trial_ends: str = ""
    recent_audit: rx.Field[list[AuditRow]] = rx.field(default_factory=list)

    def _show(self, detail: CompanyDetail) -> None:
        self.found = True
        self.company_id = str(detail.id)
        self.name = detail.name
        self.slug = detail.slug
        self.status = detail.status.value
        self.created = when(detail.created_at)
        self.members_by_role = dict(detail.members_by_role)
        self.active_members = detail.active_members
        self.project_count = detail.project_count
        self.plan = detail.plan_name
        self.subscription_status = detail.subscription_status.value if detail.subscription_status else ""
        self.period_end = when(detail.current_period_end)
        self.trial_status = detail.trial_status.value if detail.trial_status else ""
        self.trial_ends = when(detail.trial_ends_at)
        self.recent_audit = [audit_row(e) for e in detail.recent_audit]

    @requires(Action.COMPANY_VIEW)
    def load(self, actor: Actor) -> None:
        self.found, self.loaded, self.company_id = False, False, ""
        try:
            company_id = uuid_arg(self._route_param(DETAIL_PARAM))
            with tenant_scope(actor) as session:
                detail = company_detail(session, actor, company_id)
        except NotFound:
            detail = None  # a malformed, missing or unreachable id: the same "not found" view
        self.loaded = True
        if detail is not None:
            self._show(detail)

    @requires(Action.COMPANY_SET_ACTIVE)
    def set_active(self, actor: Actor, company_id: str, active: bool) -> None:
        active = bool_arg(active)
        target = uuid_arg(company_id)
        with tenant_scope(actor) as session:
            detail = set_company_active(session, actor, target, active)
        self._show(detail)
        self.notice_key = "company.reactivated" if active else "company.deactivated"
