"""The append-only audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from models.base import tz_column


class AuditLog(SQLModel, table=True):
    """Who did what, where and when. company_id is NULL only for operator-wide actions (plans).
    The actor's name and email are copied so the trail survives the user's deletion."""

    __tablename__ = "audit_logs"
    __table_args__ = (
        sa.Index("ix_audit_logs_company_created", "company_id", "created_at"),
        sa.Index("ix_audit_logs_actor", "actor_user_id", "created_at"),
        sa.Index("ix_audit_logs_target", "target_type", "target_id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True))
    company_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=True)
    )
    actor_user_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    )
    actor_email: str = Field(default="", max_length=320)
    actor_role: str = Field(default="", max_length=20)
    action: str = Field(max_length=60)
    target_type: str = Field(default="", max_length=60)
    target_id: str = Field(default="", max_length=64)
    changes: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(pg.JSONB, nullable=False, server_default="{}")
    )
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=512)
    created_at: datetime = tz_column(nullable=False, server_now=True)
