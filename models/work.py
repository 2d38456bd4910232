"""Projects, who is on them, tasks on the board, comments and files."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlmodel import Field, SQLModel

from models.base import (
    ApprovalStatus,
    FileKind,
    NotificationKind,
    ProjectStatus,
    TaskPriority,
    TaskStatus,
    pg_enum,
    tz_column,
    uuid_pk,
)

SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('russian'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B') || "
    "setweight(to_tsvector('russian'::regconfig, coalesce(description, '')), 'B')"
)


def company_fk_column() -> sa.Column[uuid.UUID]:
    return sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False)


class Project(SQLModel, table=True):
    __tablename__ = "projects"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "id"),
        # The key prefixes task numbers (WEB-42): unique in the company, upper-case letters and digits.
        sa.UniqueConstraint("company_id", "key"),
        sa.CheckConstraint("key ~ '^[A-Z][A-Z0-9]{1,9}$'", name="key_format"),
        sa.CheckConstraint("task_counter >= 0", name="task_counter_not_negative"),
        sa.CheckConstraint("due_date IS NULL OR start_date IS NULL OR due_date >= start_date", name="dates_in_order"),
        sa.Index("ix_projects_company_id_status", "company_id", "status"),
        sa.ForeignKeyConstraint(
            ["company_id", "created_by_id"], ["users.company_id", "users.id"], ondelete="SET NULL (created_by_id)"
        ),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    name: str = Field(max_length=200)
    key: str = Field(max_length=10)
    description: str = Field(default="", sa_column_kwargs={"server_default": ""})
    # What the client portal shows instead of the internal description.
    client_description: str = Field(default="", sa_column_kwargs={"server_default": ""})
    start_date: date | None = None
    due_date: date | None = None
    status: ProjectStatus = pg_enum(ProjectStatus, "project_status", default=ProjectStatus.ACTIVE)
    # The last task number issued (WEB-<n>); only ever incremented, so a number is never reused.
    task_counter: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_by_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    created_at: datetime = tz_column(nullable=False, server_now=True)
    updated_at: datetime = tz_column(nullable=False, server_now=True, onupdate=True)


class ProjectMember(SQLModel, table=True):
    """Which workers and clients see which project (managers see all of their company's)."""

    __tablename__ = "project_members"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["company_id", "project_id"], ["projects.company_id", "projects.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["company_id", "user_id"], ["users.company_id", "users.id"], ondelete="CASCADE"),
        sa.Index("ix_project_members_company_id_user_id", "company_id", "user_id"),
    )

    project_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(primary_key=True)
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    created_at: datetime = tz_column(nullable=False, server_now=True)


class Task(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "id"),
        sa.ForeignKeyConstraint(
            ["company_id", "project_id"], ["projects.company_id", "projects.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "assignee_id"], ["users.company_id", "users.id"], ondelete="SET NULL (assignee_id)"
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "created_by_id"], ["users.company_id", "users.id"], ondelete="SET NULL (created_by_id)"
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "updated_by_id"], ["users.company_id", "users.id"], ondelete="SET NULL (updated_by_id)"
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "approved_by_id"], ["users.company_id", "users.id"], ondelete="SET NULL (approved_by_id)"
        ),
        sa.UniqueConstraint("company_id", "project_id", "number"),
        # The board: one project's columns, cards in order.
        sa.Index("ix_tasks_board", "company_id", "project_id", "status", "position"),
        sa.Index("ix_tasks_assignee", "company_id", "assignee_id", "status"),
        sa.Index("ix_tasks_search", "search_vector", postgresql_using="gin"),
        sa.CheckConstraint("char_length(title) > 0", name="title_not_empty"),
        sa.CheckConstraint("number > 0", name="number_positive"),
        sa.CheckConstraint("version > 0", name="version_positive"),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    project_id: uuid.UUID
    number: int  # KEY-<number>: from the project's task_counter, never reused
    title: str = Field(max_length=300)
    description: str = Field(default="", sa_column_kwargs={"server_default": ""})
    status: TaskStatus = pg_enum(TaskStatus, "task_status", default=TaskStatus.TODO)
    priority: TaskPriority = pg_enum(TaskPriority, "task_priority", default=TaskPriority.MEDIUM)
    # Order inside the column: fractional, so a move writes one row (renumbered when too close).
    position: float = Field(default=0.0, sa_column=sa.Column(sa.Float, nullable=False, server_default="0"))
    # Bumped by every change: an edit or move names the version it saw (optimistic concurrency).
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    # Shared with the client portal (the approval states are shared whatever this says).
    shared_with_client: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    assignee_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    created_by_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    updated_by_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    due_date: date | None = None
    approval_status: ApprovalStatus = pg_enum(ApprovalStatus, "approval_status", default=ApprovalStatus.NONE)
    approved_by_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    approval_comment: str = Field(default="", sa_column_kwargs={"server_default": ""})
    approval_decided_at: datetime | None = tz_column()
    # Full-text search over title and description in English and Russian (and exact words).
    search_vector: str | None = Field(
        default=None,
        sa_column=sa.Column(TSVECTOR, sa.Computed(SEARCH_VECTOR_SQL, persisted=True), nullable=True),
        exclude=True,
    )
    created_at: datetime = tz_column(nullable=False, server_now=True)
    updated_at: datetime = tz_column(nullable=False, server_now=True, onupdate=True)


class TaskComment(SQLModel, table=True):
    """A comment on a task; internal ones are never shown to clients. The author's name is kept if they are deleted."""

    __tablename__ = "task_comments"
    __table_args__ = (
        sa.ForeignKeyConstraint(["company_id", "task_id"], ["tasks.company_id", "tasks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["company_id", "author_id"], ["users.company_id", "users.id"], ondelete="SET NULL (author_id)"
        ),
        sa.Index("ix_task_comments_task", "company_id", "task_id", "created_at"),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    task_id: uuid.UUID
    author_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    author_name: str = Field(max_length=200)
    body: str
    is_internal: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_at: datetime = tz_column(nullable=False, server_now=True)
    updated_at: datetime = tz_column(nullable=False, server_now=True, onupdate=True)


class StoredFile(SQLModel, table=True):
    """An object in S3 (task attachment or company file); the real name lives only here."""

    __tablename__ = "files"
    __table_args__ = (
        sa.ForeignKeyConstraint(["company_id", "task_id"], ["tasks.company_id", "tasks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["company_id", "project_id"], ["projects.company_id", "projects.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "uploaded_by_id"], ["users.company_id", "users.id"], ondelete="SET NULL (uploaded_by_id)"
        ),
        sa.CheckConstraint("kind <> 'task_attachment' OR task_id IS NOT NULL", name="attachment_has_task"),
        sa.CheckConstraint("size_bytes >= 0", name="size_not_negative"),
        sa.Index("ix_files_task", "company_id", "task_id"),
        sa.Index("ix_files_company_kind", "company_id", "kind", "created_at"),
        sa.Index("ix_files_project", "company_id", "project_id", "created_at"),
        sa.CheckConstraint("char_length(display_name) > 0", name="display_name_not_empty"),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    kind: FileKind = pg_enum(FileKind, "file_kind", default=FileKind.TASK_ATTACHMENT)
    project_id: uuid.UUID | None = None
    task_id: uuid.UUID | None = None
    storage_key: str = Field(max_length=512, unique=True)
    original_name: str = Field(max_length=255)  # as uploaded (sanitised)
    display_name: str = Field(max_length=255)  # what users see and rename; the object key never changes
    content_type: str = Field(max_length=255)  # detected from the bytes, from the allow-list
    size_bytes: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    uploaded_by_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    # Shown to the project's clients in the portal; private by default.
    visible_to_client: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_at: datetime = tz_column(nullable=False, server_now=True)


class Label(SQLModel, table=True):
    """A project's label (name and colour), put on tasks through task_labels."""

    __tablename__ = "labels"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "id"),
        sa.ForeignKeyConstraint(
            ["company_id", "project_id"], ["projects.company_id", "projects.id"], ondelete="CASCADE"
        ),
        sa.Index("uq_labels_project_name_lower", "project_id", sa.text("lower(name)"), unique=True),
        sa.Index("ix_labels_company_project", "company_id", "project_id"),
        sa.CheckConstraint("char_length(name) > 0", name="name_not_empty"),
        sa.CheckConstraint("color ~ '^#[0-9a-f]{6}$'", name="color_hex"),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    project_id: uuid.UUID
    name: str = Field(max_length=50)
    color: str = Field(default="#6b7280", max_length=7)
    created_at: datetime = tz_column(nullable=False, server_now=True)


class TaskLabel(SQLModel, table=True):
    __tablename__ = "task_labels"
    __table_args__ = (
        sa.ForeignKeyConstraint(["company_id", "task_id"], ["tasks.company_id", "tasks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["company_id", "label_id"], ["labels.company_id", "labels.id"], ondelete="CASCADE"),
        sa.Index("ix_task_labels_company_label", "company_id", "label_id"),
    )

    task_id: uuid.UUID = Field(primary_key=True)
    label_id: uuid.UUID = Field(primary_key=True)
    company_id: uuid.UUID = Field(sa_column=company_fk_column())


class TaskFollower(SQLModel, table=True):
    """Who hears about a task's status changes: its creator, assignee, commenters, and anyone who follows it."""

    __tablename__ = "task_followers"
    __table_args__ = (
        sa.ForeignKeyConstraint(["company_id", "task_id"], ["tasks.company_id", "tasks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["company_id", "user_id"], ["users.company_id", "users.id"], ondelete="CASCADE"),
        sa.Index("ix_task_followers_company_user", "company_id", "user_id"),
    )

    task_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(primary_key=True)
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    created_at: datetime = tz_column(nullable=False, server_now=True)


class Notification(SQLModel, table=True):
    """An in-app notification (the bell). The text is rebuilt from kind + fields in the reader's language."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.ForeignKeyConstraint(["company_id", "user_id"], ["users.company_id", "users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["company_id", "task_id"], ["tasks.company_id", "tasks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["company_id", "actor_id"], ["users.company_id", "users.id"], ondelete="SET NULL (actor_id)"
        ),
        sa.Index(
            "ix_notifications_unread",
            "company_id",
            "user_id",
            "created_at",
            postgresql_where=sa.text("read_at IS NULL"),
        ),
        sa.Index("ix_notifications_user_created", "company_id", "user_id", "created_at"),
        sa.Index("ix_notifications_mail_pending", "created_at", postgresql_where=sa.text("mail_pending")),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    user_id: uuid.UUID
    kind: NotificationKind = pg_enum(NotificationKind, "notification_kind")
    task_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    actor_name: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    # Kind-specific facts (new status, task title at the time, the comment excerpt), shown as given.
    detail: str = Field(default="", max_length=500, sa_column_kwargs={"server_default": ""})
    read_at: datetime | None = tz_column()
    # Its e-mail is still to be sent by the job worker (written with the row: a transactional outbox).
    mail_pending: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_at: datetime = tz_column(nullable=False, server_now=True)
