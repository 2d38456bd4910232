"""Shared column helpers and enums. Tables live in the sibling modules."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

# Deterministic constraint names so Alembic revisions are stable and reviewable.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def tz_column(*, nullable: bool = True, server_now: bool = False, onupdate: bool = False) -> Any:
    """A timezone-aware timestamp column (always stored as UTC)."""
    column = sa.Column(
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if server_now else None,
        onupdate=utcnow if onupdate else None,
    )
    return Field(default_factory=utcnow if server_now else None, sa_column=column)


def pg_enum(
    enum_cls: type[enum.Enum], name: str, *, nullable: bool = False, default: Any = None, index: bool = False
) -> Any:
    """A PostgreSQL ENUM column storing the enum *values* (lower-case strings)."""
    column: sa.Column[Any] = sa.Column(
        sa.Enum(enum_cls, name=name, values_callable=lambda e: [m.value for m in e], validate_strings=True),
        nullable=nullable,
        index=index,
        server_default=default.value if default is not None else None,
    )
    return Field(default=default, sa_column=column)


class Role(str, enum.Enum):
    ADMIN = "admin"
    MANAGER = "manager"
    WORKER = "worker"
    CLIENT = "client"


class CompanyStatus(str, enum.Enum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class ProjectStatus(str, enum.Enum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class TaskStatus(str, enum.Enum):
    BACKLOG = "backlog"
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    REVIEW = "review"
    DONE = "done"  # done by the team, awaiting the client's decision
    APPROVED = "approved"  # set by the client portal
    REJECTED = "rejected"  # set by the client portal; the team moves it back into work


class TaskPriority(str, enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class NotificationKind(str, enum.Enum):
    ASSIGNED = "assigned"  # a task was assigned to you
    MENTIONED = "mentioned"  # someone @mentioned you in a comment or description
    STATUS_CHANGED = "status_changed"  # a task you follow changed status
    CLIENT_DECISION = "client_decision"  # a client approved or rejected a task


class ApprovalStatus(str, enum.Enum):
    NONE = "none"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class FileKind(str, enum.Enum):
    TASK_ATTACHMENT = "task_attachment"
    COMPANY_FILE = "company_file"


class BillingInterval(str, enum.Enum):
    MONTH = "month"
    YEAR = "year"


class SubscriptionStatus(str, enum.Enum):
    """Stripe's subscription states."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    UNPAID = "unpaid"
    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    PAUSED = "paused"


class TrialStatus(str, enum.Enum):
    ACTIVE = "active"
    EXPIRED = "expired"
    CONVERTED = "converted"


class InvoiceStatus(str, enum.Enum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class PaymentStatus(str, enum.Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


class PaymentMethod(str, enum.Enum):
    CARD = "card"
    BANK_TRANSFER = "bank_transfer"
    MANUAL = "manual"
