"""The audit log: recording who did what (in the caller's transaction), reading it, exporting it as CSV.

Writing: `record(...)` adds one row to the *caller's* transaction and never commits, so a change and
its audit entry are committed or rolled back together. The app role may only SELECT and INSERT
audit_logs (append-only); nothing here updates or deletes a row.

What is stored is made safe first: strings are cut to the column sizes, `changes` becomes plain JSON
(UUID, datetime, date, Decimal, Enum -> strings) and keys that look like secrets (password,
password_hash, token, token_hash, secret, api_key, ...) are dropped at every nesting level.

Reading: entries an operator (admin) made show in a company's log as "Operator" (`by_operator`):
without the operator's email, id, IP or user agent, in the list, the user filter and the export alike;
the operator's own view shows everything. The manager sees only their own company's rows (an explicit filter, services.core.access's
`in_scope`, whatever row-level security also does), the operator (admin) sees every row, optionally one company's.
Everyone else gets PermissionDenied. Newest first (index ix_audit_logs_company_created).
Date filters are calendar days in `AuditFilter.tz` (UTC unless given), both ends inclusive.

Export: `export_csv(...)` checks access and records an `audit_exported` entry at once, then returns a
lazy iterator of CSV lines (header first) read EXPORT_BATCH_SIZE rows at a time (keyset pagination on
(created_at, id)), so the whole log is never held in memory. After fetching each batch, and before
its lines go out, it calls `between_batches` (the route ends the transaction there): a client that
reads slowly then holds no pooled connection, and each batch is one short transaction. Rows added
meanwhile are newer than the keyset and never appear.
Cells that a spreadsheet would run as a formula are prefixed with a single quote.
"""

from __future__ import annotations

import csv
import io
import json
import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, col

from models import AuditLog, Company, Role, User
from services.core.access import in_scope
from services.core.actor import Actor
from services.core.errors import PermissionDenied, ValidationFailed
from services.core.policy import Action, Scope, authorize

# ---- names ---------------------------------------------------------------------------------


class AuditAction(StrEnum):
    """Every action name written to audit_logs.action (max 60 characters). Add new ones here only."""

    # identity and sessions
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    SESSION_REVOKED = "session_revoked"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an action name, not a password
    PASSWORD_RESET_REQUESTED = "password_reset_requested"  # noqa: S105 - an action name
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an action name, not a password
    TWO_FACTOR_ENABLED = "two_factor_enabled"
    TWO_FACTOR_DISABLED = "two_factor_disabled"
    RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
    TRUSTED_BROWSER_REVOKED = "trusted_browser_revoked"
    COMPANY_SECURITY_CHANGED = "company_security_changed"
    MEMBER_JOINED_BY_SSO = "member_joined_by_sso"
    SIGNUP = "signup"
    # the operator's console
    COMPANY_CREATED = "company_created"
    COMPANY_DEACTIVATED = "company_deactivated"
    COMPANY_REACTIVATED = "company_reactivated"
    # the company's people
    MEMBER_INVITED = "member_invited"
    INVITE_RESENT = "invite_resent"
    INVITE_REVOKED = "invite_revoked"
    INVITE_ACCEPTED = "invite_accepted"
    MEMBER_ROLE_CHANGED = "member_role_changed"
    MEMBER_DEACTIVATED = "member_deactivated"
    MEMBER_REACTIVATED = "member_reactivated"
    PROJECT_MEMBERS_CHANGED = "project_members_changed"
    # the audit log itself
    AUDIT_EXPORTED = "audit_exported"
    # generic create/update/delete for the work and billing features
    PROJECT_CREATED = "project_created"
    PROJECT_UPDATED = "project_updated"
    PROJECT_DELETED = "project_deleted"
    PROJECT_ARCHIVED = "project_archived"
    PROJECT_RESTORED = "project_restored"
    COMPANY_PROJECTS_VIEWED = "company_projects_viewed"  # the operator's read-only support view
    TASK_CREATED = "task_created"
    TASK_UPDATED = "task_updated"
    TASK_DELETED = "task_deleted"
    TASK_MOVED = "task_moved"
    TASKS_EXPORTED = "tasks_exported"
    LABEL_CREATED = "label_created"
    LABEL_DELETED = "label_deleted"
    BOARD_VIEWED = "board_viewed"  # the operator opened a company's board or task (support, read-only)
    COMMENT_ADDED = "comment_added"
    COMMENT_EDITED = "comment_edited"
    COMMENT_DELETED = "comment_deleted"
    FILE_CREATED = "file_created"
    FILE_UPDATED = "file_updated"
    FILE_DELETED = "file_deleted"
    APPROVAL_CREATED = "approval_created"
    APPROVAL_UPDATED = "approval_updated"
    APPROVAL_DELETED = "approval_deleted"
    PAYMENT_CREATED = "payment_created"
    PAYMENT_UPDATED = "payment_updated"
    PAYMENT_DELETED = "payment_deleted"
    INVOICE_CREATED = "invoice_created"
    INVOICE_UPDATED = "invoice_updated"
    INVOICE_DELETED = "invoice_deleted"
    # billing
    PLAN_CREATED = "plan_created"
    PLAN_UPDATED = "plan_updated"
    PLAN_RETIRED = "plan_retired"
    PLAN_RESTORED = "plan_restored"
    SUBSCRIPTION_CREATED = "subscription_created"
    SUBSCRIPTION_UPGRADED = "subscription_upgraded"
    SUBSCRIPTION_DOWNGRADE_SCHEDULED = "subscription_downgrade_scheduled"
    SUBSCRIPTION_DOWNGRADED = "subscription_downgraded"
    SUBSCRIPTION_CANCEL_SCHEDULED = "subscription_cancel_scheduled"
    SUBSCRIPTION_RESUMED = "subscription_resumed"
    SUBSCRIPTION_STATUS_CHANGED = "subscription_status_changed"
    SUBSCRIPTION_RENEWED = "subscription_renewed"
    TRIAL_ENDED = "trial_ended"
    INVOICE_ISSUED = "invoice_issued"
    INVOICE_VOIDED = "invoice_voided"
    INVOICE_PAID = "invoice_paid"
    PAYMENT_RECORDED = "payment_recorded"
    PAYMENT_REFUNDED = "payment_refunded"


class AuditTarget(StrEnum):
    """Values for audit_logs.target_type (max 60 characters)."""

    USER = "user"
    SESSION = "session"
    COMPANY = "company"
    INVITATION = "invitation"
    PROJECT = "project"
    TASK = "task"
    LABEL = "label"
    FILE = "file"
    APPROVAL = "approval"
    PAYMENT = "payment"
    INVOICE = "invoice"
    PLAN = "plan"
    SUBSCRIPTION = "subscription"
    TRIAL = "trial"
    AUDIT_LOG = "audit_log"


# ---- limits --------------------------------------------------------------------------------

MAX_PAGE_SIZE = 500
EXPORT_BATCH_SIZE = 1000  # rows fetched per query (and transaction) of the export
MAX_CHANGE_TEXT = 1000  # a string inside `changes` longer than this is cut (with "…")
MAX_CHANGE_DEPTH = 8  # deeper nesting inside `changes` is stored as text
TRUNCATED = "…"

# A key is dropped from `changes` when its lower-cased name contains any of these.
SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "token",
    "secret",
    "api_key",
    "apikey",
    "private_key",
    "access_key",
    "credential",
    "authorization",
    "cookie",
)

# Characters that make a spreadsheet treat a cell as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

CSV_HEADER = (
    "id",
    "created_at",
    "company",
    "actor_email",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "changes",
)


def _column_length(name: str) -> int:
    length = getattr(sa.inspect(AuditLog).columns[name].type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"audit_logs.{name} has no size")
    return length


COLUMN_SIZES: dict[str, int] = {
    name: _column_length(name)
    for name in ("actor_email", "actor_role", "action", "target_type", "target_id", "ip", "user_agent")
}


# ---- making values safe to store -----------------------------------------------------------


def _clean_text(value: str, limit: int | None = None) -> str:
    """PostgreSQL text and JSONB cannot hold NUL; cut to `limit` characters."""
    text = value.replace("\x00", "")
    if limit is not None and len(text) > limit:
        return text[: max(limit - len(TRUNCATED), 0)] + TRUNCATED
    return text


def _fit(value: object, column: str) -> str:
    """A value for one of the text columns: str, without NULs, cut to the column size."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        value = value.value
    return _clean_text(str(value), COLUMN_SIZES[column])


def is_secret_key(key: object) -> bool:
    name = str(key.value if isinstance(key, Enum) else key).lower()
    return any(part in name for part in SECRET_KEY_PARTS)


def jsonable(value: Any, _depth: int = 0) -> Any:
    """`value` as plain JSON data: UUID, date/time, Decimal, Enum -> str; sets, tuples -> lists;
    mappings keep only non-secret keys (as strings); long strings are cut; NaN/inf become text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value, _depth)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _clean_text(value, MAX_CHANGE_TEXT)
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"  # binary content is never logged
    if _depth >= MAX_CHANGE_DEPTH:
        return _clean_text(str(value), MAX_CHANGE_TEXT)
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, Mapping):
        return {
            _clean_text(str(jsonable(key, _depth + 1))): jsonable(item, _depth + 1)
            for key, item in value.items()
            if not is_secret_key(key)
        }
    if isinstance(value, set | frozenset):
        return sorted((jsonable(item, _depth + 1) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, list | tuple):
        return [jsonable(item, _depth + 1) for item in value]
    return _clean_text(str(value), MAX_CHANGE_TEXT)


def sanitize_changes(changes: Mapping[str, Any] | None) -> dict[str, Any]:
    """What `record` stores as `changes`: JSON-ready, secrets dropped (at every level)."""
    if not changes:
        return {}
    cleaned = jsonable(changes)
    return cleaned if isinstance(cleaned, dict) else {"value": cleaned}


_MISSING = object()


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`{"field": {"from": old, "to": new}}` for the fields whose value changed (compared as stored,
    so UUID("…") and "…" are equal). A field on one side only counts as None on the other.
    Secret fields never appear."""
    result: dict[str, dict[str, Any]] = {}
    keys = [*before, *(key for key in after if key not in before)]
    for key in keys:
        if is_secret_key(key):
            continue
        old = jsonable(before.get(key))
        new = jsonable(after.get(key))
        if old != new or type(old) is not type(new):
            result[str(key)] = {"from": old, "to": new}
    return result


def snapshot(model: SQLModel, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of a row as plain JSON values (a copy: later edits to the row don't change it).
    An unknown field name raises AttributeError, so a typo cannot silently hide a change."""
    return {name: jsonable(getattr(model, name)) for name in fields}


# ---- writing -------------------------------------------------------------------------------


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: AuditAction,
    company_id: uuid.UUID | None,
    target_type: AuditTarget | None = None,
    target_id: object = "",
    changes: Mapping[str, Any] | None = None,
    actor_email: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> AuditLog:
    """Add one audit entry to the caller's transaction (flushed, never committed) and return it.

    actor None means anonymous or the system (say who was claimed with `actor_email`, e.g. a failed
    login with an unknown email). company_id None only for operator-wide actions. ip and user_agent
    default to the actor's; actor_email overrides the actor's email.
    """
    if not action:
        raise ValueError("an audit entry needs an action")
    entry = AuditLog(
        company_id=company_id,
        actor_user_id=actor.user_id if actor else None,
        actor_email=_fit(actor_email if actor_email is not None else (actor.email if actor else ""), "actor_email"),
        actor_role=_fit(actor.role.value if actor else "", "actor_role"),
        action=_fit(action, "action"),
        target_type=_fit(target_type, "target_type"),
        target_id=_fit(target_id, "target_id"),
        changes=sanitize_changes(changes),
        ip=_fit(ip if ip is not None else (actor.ip if actor else ""), "ip"),
        user_agent=_fit(user_agent if user_agent is not None else (actor.user_agent if actor else ""), "user_agent"),
    )
    session.add(entry)
    session.flush()  # constraint errors surface here, inside the caller's transaction
    return entry


# ---- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    user_id: uuid.UUID | None = None
    action: str | None = None
    date_from: date | None = None  # inclusive, a calendar day in `tz`
    date_to: date | None = None  # inclusive, a calendar day in `tz`
    company_id: uuid.UUID | None = None  # admin only; a manager may only pass their own company
    tz: tzinfo = UTC  # the viewer's time zone for the date filters and the export's timestamps


@dataclass(frozen=True)
class AuditEntry:
    id: int
    created_at: datetime
    actor_email: str
    actor_role: str
    action: str
    target_type: str
    target_id: str
    changes: dict[str, Any]
    ip: str
    company_name: str  # "" for operator-wide rows
    user_agent: str = ""
    actor_user_id: uuid.UUID | None = None  # None for anonymous entries, deleted users and the hidden operator
    company_id: uuid.UUID | None = None
    by_operator: bool = False  # an operator's entry, shown to a company as "Operator" (no email, IP, agent)


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    total: int  # rows matching the filters, over all pages


@dataclass(frozen=True)
class AuditActorOption:
    """One choice of the "user" filter: someone who appears in the (visible) log."""

    user_id: uuid.UUID
    email: str
    full_name: str = field(default="")

    @property
    def label(self) -> str:
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email


def _as_day(value: date | None) -> date | None:
    return value.date() if isinstance(value, datetime) else value


def _scope_conditions(actor: Actor | None, action: Action) -> tuple[Scope, list[ColumnElement[bool]]]:
    """Authorize, then the rows the actor may see at all (wall 1: explicit, on top of RLS)."""
    if actor is None:
        raise PermissionDenied()
    return authorize(actor, action), [in_scope(actor, action, AuditLog)]


def _hides_operator(viewer: Actor) -> bool:
    """A company's people see the operator's entries as "Operator", nothing more."""
    return not viewer.is_admin


def _not_by_operator() -> ColumnElement[bool]:
    return col(AuditLog.actor_role) != Role.ADMIN.value


def _by_operator(row: sa.Row[Any], viewer: Actor) -> bool:
    return _hides_operator(viewer) and row.actor_role == Role.ADMIN.value


def _conditions(actor: Actor | None, filters: AuditFilter, action: Action) -> list[ColumnElement[bool]]:
    scope, conditions = _scope_conditions(actor, action)
    if filters.company_id is not None:
        if scope is not Scope.ALL and (actor is None or filters.company_id != actor.company_id):
            raise PermissionDenied()
        conditions.append(col(AuditLog.company_id) == filters.company_id)
    date_from, date_to = _as_day(filters.date_from), _as_day(filters.date_to)
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ValidationFailed("error.audit_date_range")
    if filters.user_id is not None:
        conditions.append(col(AuditLog.actor_user_id) == filters.user_id)
        if actor is not None and _hides_operator(actor):  # the operator's id must not find their entries
            conditions.append(_not_by_operator())
    if filters.action:
        conditions.append(col(AuditLog.action) == filters.action)
    if date_from is not None:
        conditions.append(col(AuditLog.created_at) >= datetime.combine(date_from, time.min, tzinfo=filters.tz))
    if date_to is not None and date_to < date.max:
        conditions.append(
            col(AuditLog.created_at) < datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=filters.tz)
        )
    return conditions


def _entries_query(conditions: Sequence[ColumnElement[bool]]) -> sa.Select[Any]:
    return (
        sa.select(
            col(AuditLog.id),
            col(AuditLog.created_at),
            col(AuditLog.actor_email),
            col(AuditLog.actor_role),
            col(AuditLog.action),
            col(AuditLog.target_type),
            col(AuditLog.target_id),
            col(AuditLog.changes),
            col(AuditLog.ip),
            col(AuditLog.user_agent),
            col(AuditLog.actor_user_id),
            col(AuditLog.company_id),
            col(Company.name).label("company_name"),
        )
        .select_from(AuditLog)
        .outerjoin(Company, col(Company.id) == col(AuditLog.company_id))
        .where(*conditions)
        .order_by(col(AuditLog.created_at).desc(), col(AuditLog.id).desc())
    )


def _connection(session: Session) -> sa.Connection:
    """The session's own connection (same transaction, same RLS settings), pending rows flushed."""
    session.flush()
    return session.connection()


def list_entries(
    session: Session, actor: Actor | None, filters: AuditFilter | None = None, *, limit: int = 50, offset: int = 0
) -> AuditPage:
    """One page of the visible log, newest first. limit is capped at MAX_PAGE_SIZE."""
    conditions = _conditions(actor, filters or AuditFilter(), Action.AUDIT_VIEW)
    if limit < 1 or offset < 0:
        raise ValidationFailed("error.audit_bad_page")
    connection = _connection(session)
    total = connection.execute(sa.select(sa.func.count()).select_from(AuditLog).where(*conditions)).scalar_one()
    rows = connection.execute(_entries_query(conditions).limit(min(limit, MAX_PAGE_SIZE)).offset(offset)).all()
    if actor is None:  # unreachable: _conditions refused it
        raise PermissionDenied()
    return AuditPage(entries=[_entry(row, actor) for row in rows], total=int(total))


def _entry(row: sa.Row[Any], viewer: Actor) -> AuditEntry:
    hidden = _by_operator(row, viewer)
    return AuditEntry(
        id=row.id,
        created_at=row.created_at,
        actor_email="" if hidden else row.actor_email,
        actor_role=row.actor_role,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        changes=dict(row.changes or {}),
        ip="" if hidden else row.ip,
        company_name=row.company_name or "",
        user_agent="" if hidden else row.user_agent,
        actor_user_id=None if hidden else row.actor_user_id,
        company_id=row.company_id,
        by_operator=hidden,
    )


def distinct_actions(session: Session, actor: Actor | None) -> list[str]:
    """The action names present in the visible log, sorted (for the "action" filter)."""
    _, conditions = _scope_conditions(actor, Action.AUDIT_VIEW)
    query = sa.select(col(AuditLog.action)).where(*conditions).distinct().order_by(col(AuditLog.action))
    return list(_connection(session).execute(query).scalars())


def actors(session: Session, actor: Actor | None) -> list[AuditActorOption]:
    """The users who appear in the visible log (for the "user" filter), sorted by name.
    A user's last logged email is used; the name only when the user is one of the viewer's company
    (or the viewer is the operator). Entries of deleted users cannot be filtered by user."""
    if actor is None:
        raise PermissionDenied()
    _, conditions = _scope_conditions(actor, Action.AUDIT_VIEW)
    if _hides_operator(actor):
        conditions.append(_not_by_operator())
    latest = (
        sa.select(col(AuditLog.actor_user_id), col(AuditLog.actor_email))
        .where(col(AuditLog.actor_user_id).is_not(None), *conditions)
        .ext(distinct_on(col(AuditLog.actor_user_id)))
        .order_by(col(AuditLog.actor_user_id), col(AuditLog.created_at).desc(), col(AuditLog.id).desc())
        .subquery()
    )
    query = sa.select(latest.c.actor_user_id, latest.c.actor_email, col(User.full_name)).outerjoin(
        User, sa.and_(col(User.id) == latest.c.actor_user_id, in_scope(actor, Action.AUDIT_VIEW, User))
    )
    options = [
        AuditActorOption(user_id=user_id, email=email, full_name=full_name or "")
        for user_id, email, full_name in _connection(session).execute(query)
    ]
    return sorted(options, key=lambda option: (option.label.lower(), str(option.user_id)))


@dataclass(frozen=True)
class HistoryEntry:
    """One change of a single target as its history shows it: who (a name), what, when."""

    created_at: datetime
    actor_name: str  # the user's name, else the logged email; "" for the operator (shown as "Operator")
    action: str
    changes: dict[str, Any]
    by_operator: bool = False


MAX_HISTORY = 200


def target_history(
    session: Session, viewer: Actor, target_type: AuditTarget, target_id: object, *, limit: int = 100
) -> list[HistoryEntry]:
    """The entries about one target (say a task), newest first, in the viewer's company only.

    No audit permission is asked: the CALLER must already have let the viewer see that target (a
    task's discussion asks for the task). The operator's entries show as "Operator", as in the log."""
    if viewer.company_id is None:
        raise PermissionDenied()
    query = (
        sa.select(
            col(AuditLog.created_at),
            col(AuditLog.actor_email),
            col(AuditLog.actor_role),
            col(AuditLog.action),
            col(AuditLog.changes),
            col(User.full_name),
        )
        .select_from(AuditLog)
        .outerjoin(
            User, sa.and_(col(User.id) == col(AuditLog.actor_user_id), col(User.company_id) == viewer.company_id)
        )
        .where(
            col(AuditLog.company_id) == viewer.company_id,
            col(AuditLog.target_type) == target_type.value,
            col(AuditLog.target_id) == _fit(target_id, "target_id"),
        )
        .order_by(col(AuditLog.created_at).desc(), col(AuditLog.id).desc())
        .limit(max(1, min(limit, MAX_HISTORY)))
    )
    entries = []
    for row in _connection(session).execute(query):
        hidden = row.actor_role == Role.ADMIN.value
        entries.append(
            HistoryEntry(
                created_at=row.created_at,
                actor_name="" if hidden else (row.full_name or row.actor_email),
                action=row.action,
                changes=dict(row.changes or {}),
                by_operator=hidden,
            )
        )
    return entries


# ---- CSV export ----------------------------------------------------------------------------


def csv_safe(cell: str) -> str:
    """Neutralise CSV/formula injection: a cell a spreadsheet would evaluate gets a leading quote."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def _csv_row(row: sa.Row[Any], tz: tzinfo, viewer: Actor, operator_label: str) -> list[str]:
    hidden = _by_operator(row, viewer)
    cells = [
        str(row.id),
        row.created_at.astimezone(tz).isoformat(timespec="seconds"),
        row.company_name or "",
        operator_label if hidden else row.actor_email,
        row.actor_role,
        row.action,
        row.target_type,
        row.target_id,
        "" if hidden else row.ip,
        "" if hidden else row.user_agent,
        json.dumps(row.changes or {}, ensure_ascii=False, sort_keys=True) if row.changes else "",
    ]
    return [csv_safe(cell) for cell in cells]


def _filters_for_log(filters: AuditFilter) -> dict[str, Any]:
    described = {
        "user_id": filters.user_id,
        "action": filters.action,
        "date_from": _as_day(filters.date_from),
        "date_to": _as_day(filters.date_to),
        "company_id": filters.company_id,
    }
    return {key: value for key, value in described.items() if value not in (None, "")}


def export_csv(
    session: Session,
    actor: Actor | None,
    filters: AuditFilter | None = None,
    *,
    operator_label: str = "Operator",
    between_batches: Callable[[], None] | None = None,
) -> Iterator[str]:
    """CSV lines of the visible log (header first, newest first), for a streamed download.
    `operator_label` (the viewer's language) stands for the operator in a company's export.

    Access and filters are checked, and the `audit_exported` entry recorded, when this is called;
    the rows are read lazily, EXPORT_BATCH_SIZE at a time, while the iterator is consumed, each batch
    in the session's current transaction; `between_batches()` runs after each batch is fetched (the
    caller may end the transaction there: the session's scope applies again to the next one). The
    export's own entry is not part of the file.
    """
    filters = filters or AuditFilter()
    if actor is None:
        raise PermissionDenied()
    conditions = _conditions(actor, filters, Action.AUDIT_EXPORT)
    company_id = filters.company_id if actor.is_admin else actor.company_id
    own = record(
        session,
        actor=actor,
        action=AuditAction.AUDIT_EXPORTED,
        company_id=company_id,
        target_type=AuditTarget.AUDIT_LOG,
        changes={"filters": _filters_for_log(filters), "format": "csv"},
    )
    return _stream_csv(
        session, [*conditions, col(AuditLog.id) != own.id], filters.tz, actor, operator_label, between_batches
    )


def _stream_csv(
    session: Session,
    conditions: list[ColumnElement[bool]],
    tz: tzinfo,
    viewer: Actor,
    operator_label: str,
    between_batches: Callable[[], None] | None,
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: Sequence[str]) -> str:
        writer.writerow(cells)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)
        return text

    yield line(CSV_HEADER)
    after: ColumnElement[bool] | None = None
    while True:
        query = _entries_query([*conditions, *([after] if after is not None else [])]).limit(EXPORT_BATCH_SIZE)
        rows = _connection(session).execute(query).all()
        if between_batches is not None:
            between_batches()
        for row in rows:
            yield line(_csv_row(row, tz, viewer, operator_label))
        if len(rows) < EXPORT_BATCH_SIZE:
            return
        last = rows[-1]  # the order is (created_at, id) descending: the next batch lies below it
        after = sa.tuple_(col(AuditLog.created_at), col(AuditLog.id)) < sa.tuple_(last.created_at, last.id)
