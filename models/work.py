"""Projects, who is on them, tasks on the board, comments and files."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import (
    ApprovalStatus,
    FileKind,
    ProjectStatus,
    TaskPriority,
    TaskStatus,
    pg_enum,
    tz_column,
    uuid_pk,
)


def company_fk_column() -> sa.Column[uuid.UUID]:
    return sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False)


class Project(SQLModel, table=True):
    __tablename__ = "projects"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "id"),
        sa.Index("ix_projects_company_id_status", "company_id", "status"),
        sa.ForeignKeyConstraint(
            ["company_id", "created_by_id"], ["users.company_id", "users.id"], ondelete="SET NULL (created_by_id)"
        ),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    name: str = Field(max_length=200)
    description: str = Field(default="", sa_column_kwargs={"server_default": ""})
    status: ProjectStatus = pg_enum(ProjectStatus, "project_status", default=ProjectStatus.ACTIVE)
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
            ["company_id", "approved_by_id"], ["users.company_id", "users.id"], ondelete="SET NULL (approved_by_id)"
        ),
        # The board: one project's columns, cards in order.
        sa.Index("ix_tasks_board", "company_id", "project_id", "status", "position"),
        sa.Index("ix_tasks_assignee", "company_id", "assignee_id", "status"),
        sa.CheckConstraint("char_length(title) > 0", name="title_not_empty"),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    project_id: uuid.UUID
    title: str = Field(max_length=300)
    description: str = Field(default="", sa_column_kwargs={"server_default": ""})
    status: TaskStatus = pg_enum(TaskStatus, "task_status", default=TaskStatus.TODO)
    priority: TaskPriority = pg_enum(TaskPriority, "task_priority", default=TaskPriority.MEDIUM)
    position: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    assignee_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    created_by_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    due_date: date | None = None
    approval_status: ApprovalStatus = pg_enum(ApprovalStatus, "approval_status", default=ApprovalStatus.NONE)
    approved_by_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    approval_comment: str = Field(default="", sa_column_kwargs={"server_default": ""})
    approval_decided_at: datetime | None = tz_column()
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
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    kind: FileKind = pg_enum(FileKind, "file_kind", default=FileKind.TASK_ATTACHMENT)
    project_id: uuid.UUID | None = None
    task_id: uuid.UUID | None = None
    storage_key: str = Field(max_length=512, unique=True)
    original_name: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size_bytes: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    uploaded_by_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    created_at: datetime = tz_column(nullable=False, server_now=True)
