"""The audit log page: a manager sees their company's entries, the operator every company's.

The filters in force are kept server-side (`_filters`, never sent back): the form keeps what the
user typed. They are checked again (and the actor's scope applied) by services.audit.records on every call,
and by the CSV export route, which the `export` handler points the browser at.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlencode

import reflex as rx
from reflex.event import EventSpec

from dashboard.state.args import FILTER_FIELDS, audit_filter_arg, bool_arg, form_arg
from dashboard.state.base import AuthState, requires
from dashboard.state.rows import AuditRow, audit_row
from services import audit
from services.audit import AuditFilter
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.policy import Action
from services.tenants import list_companies

PAGE_SIZE = 50
EXPORT_ROUTE = "/api/audit/export.csv"
EXPORT_FILENAME = "audit-log.csv"


@dataclasses.dataclass
class Option:
    value: str
    label: str


class AuditState(AuthState):
    entries: rx.Field[list[AuditRow]] = rx.field(default_factory=list)
    total: int = 0
    offset: int = 0
    loaded: bool = False
    # Options of the filter selects; companies only for the operator.
    action_options: list[str] = []
    user_options: list[Option] = []
    company_options: rx.Field[list[Option]] = rx.field(default_factory=list)
    _filters: dict[str, str] = {}

    @rx.var
    def page_end(self) -> int:
        return min(self.offset + PAGE_SIZE, self.total)

    @rx.var
    def has_previous(self) -> bool:
        return self.offset > 0

    @rx.var
    def has_next(self) -> bool:
        return self.offset + PAGE_SIZE < self.total

    # ---- filter options (the page's on_load runs them before the entries) --------------------
    @requires(Action.AUDIT_VIEW)
    def load_actions(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            self.action_options = audit.distinct_actions(session, actor)

    @requires(Action.AUDIT_VIEW)
    def load_users(self, actor: Actor) -> None:
        with tenant_scope(actor) as session:
            options = audit.actors(session, actor)
        self.user_options = [Option(value=str(o.user_id), label=o.label) for o in options]

    @requires(Action.AUDIT_VIEW)
    def load_companies(self, actor: Actor) -> None:
        """The company filter is the operator's only (list_companies checks COMPANY_LIST itself)."""
        if not actor.is_admin:
            self.company_options = []
            return
        with tenant_scope(actor) as session:
            companies = list_companies(session, actor)
        self.company_options = [Option(value=str(c.id), label=c.name) for c in companies]

    # ---- entries -----------------------------------------------------------------------------
    @requires(Action.AUDIT_VIEW)
    def load_entries(self, actor: Actor) -> None:
        """A fresh visit: no filters, the first page."""
        with tenant_scope(actor) as session:
            page = audit.list_entries(session, actor, AuditFilter(), limit=PAGE_SIZE)
        self._filters, self.offset = {}, 0
        self.entries = [audit_row(e) for e in page.entries]
        self.total = page.total
        self.loaded = True

    @requires(Action.AUDIT_VIEW)
    def apply_filters(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        wanted = {k: fields.get(k, "").strip() for k in FILTER_FIELDS}
        filters = audit_filter_arg(wanted)  # invalid input stops here, before anything changes
        with tenant_scope(actor) as session:
            page = audit.list_entries(session, actor, filters, limit=PAGE_SIZE)
        self._filters, self.offset = wanted, 0
        self.entries = [audit_row(e) for e in page.entries]
        self.total = page.total

    @requires(Action.AUDIT_VIEW)
    def turn_page(self, actor: Actor, forward: bool) -> None:
        offset = max(0, self.offset + (PAGE_SIZE if bool_arg(forward) else -PAGE_SIZE))
        with tenant_scope(actor) as session:
            page = audit.list_entries(session, actor, audit_filter_arg(self._filters), limit=PAGE_SIZE, offset=offset)
        self.offset = offset
        self.entries = [audit_row(e) for e in page.entries]
        self.total = page.total

    @requires(Action.AUDIT_EXPORT)
    def export(self, actor: Actor) -> EventSpec:
        """Point the browser at the CSV route with the filters in force (the route checks everything again)."""
        query = {k: v for k, v in self._filters.items() if v}
        return rx.download(url=EXPORT_ROUTE + ("?" + urlencode(query) if query else ""), filename=EXPORT_FILENAME)
