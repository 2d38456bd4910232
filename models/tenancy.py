"""Companies (tenants), their users, login sessions, invitations and sign-ups waiting for their link."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

from models.base import CompanyStatus, Role, pg_enum, tz_column, uuid_pk


class Company(SQLModel, table=True):
    __tablename__ = "companies"

    id: uuid.UUID = uuid_pk()
    name: str = Field(max_length=200)
    slug: str = Field(max_length=80, unique=True)
    status: CompanyStatus = pg_enum(CompanyStatus, "company_status", default=CompanyStatus.ACTIVE)
    # From this moment the company is read-only (its trial ended, its subscription ended or went
    # unpaid); None: writable. Kept by services.billing, read by the policy (services.core.policy).
    read_only_at: datetime | None = tz_column()
    # Every member must sign in with a second factor (members without one enrol at their next sign-in).
    require_two_factor: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    created_at: datetime = tz_column(nullable=False, server_now=True)
    updated_at: datetime = tz_column(nullable=False, server_now=True, onupdate=True)


class User(SQLModel, table=True):
    """A login. Admins (the SaaS operator) belong to no company; everyone else to exactly one."""

    __tablename__ = "users"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "id"),
        sa.Index("uq_users_email_lower", sa.text("lower(email)"), unique=True),
        sa.CheckConstraint(
            "(role = 'admin' AND company_id IS NULL) OR (role <> 'admin' AND company_id IS NOT NULL)",
            name="admin_has_no_company",
        ),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    email: str = Field(max_length=320)
    full_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    role: Role = pg_enum(Role, "user_role", default=Role.WORKER)
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    locale: str = Field(default="en", max_length=8, sa_column_kwargs={"server_default": "en"})
    # The per-user switch for notification e-mails (in-app notifications are always kept).
    email_notifications: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    last_login_at: datetime | None = tz_column()
    created_at: datetime = tz_column(nullable=False, server_now=True)
    updated_at: datetime = tz_column(nullable=False, server_now=True, onupdate=True)


class UserSession(SQLModel, table=True):
    """A login session. Only the SHA-256 of the random token is stored."""

    __tablename__ = "sessions"
    __table_args__ = (
        sa.Index("ix_sessions_user_id_active", "user_id", postgresql_where=sa.text("revoked_at IS NULL")),
    )

    id: uuid.UUID = uuid_pk()
    # Indexed: deleting a user cascades into all of their sessions, revoked ones included.
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    token_hash: str = Field(max_length=64, unique=True)
    user_agent: str = Field(default="", max_length=512)
    ip: str = Field(default="", max_length=64)
    created_at: datetime = tz_column(nullable=False, server_now=True)
    last_seen_at: datetime = tz_column(nullable=False, server_now=True)
    absolute_expires_at: datetime = tz_column(nullable=False)
    revoked_at: datetime | None = tz_column()


class Invitation(SQLModel, table=True):
    """A single-use invite link (token stored hashed) to join a company with a role."""

    __tablename__ = "invitations"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "id"),
        sa.CheckConstraint("role <> 'admin'", name="no_admin_invites"),
        sa.ForeignKeyConstraint(
            ["company_id", "invited_by_id"], ["users.company_id", "users.id"], ondelete="SET NULL (invited_by_id)"
        ),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    email: str = Field(max_length=320)
    role: Role = pg_enum(Role, "user_role")
    project_ids: list[uuid.UUID] = Field(
        default_factory=list, sa_column=sa.Column(pg.ARRAY(sa.Uuid), nullable=False, server_default="{}")
    )
    token_hash: str = Field(max_length=64, unique=True)
    invited_by_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    expires_at: datetime = tz_column(nullable=False)
    accepted_at: datetime | None = tz_column()
    revoked_at: datetime | None = tz_column()
    created_at: datetime = tz_column(nullable=False, server_now=True)


class SignupVerification(SQLModel, table=True):
    """A sign-up waiting for its emailed link. While the row exists the company's first manager is
    inactive and the company has no trial; opening the link deletes it (single use). Only the
    SHA-256 of the link's token is stored."""

    __tablename__ = "signup_verifications"
    __table_args__ = (
        sa.ForeignKeyConstraint(["company_id", "user_id"], ["users.company_id", "users.id"], ondelete="CASCADE"),
        sa.Index("ix_signup_verifications_expires_at", "expires_at"),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = tz_column(nullable=False)
    created_at: datetime = tz_column(nullable=False, server_now=True)


class PasswordReset(SQLModel, table=True):
    """A "forgot password" link waiting to be used (services/identity/recovery.py). Only the SHA-256 of
    the link's token is stored; `used_at` makes it single use. `company_id` is the user's (NULL for the
    operator's admins, like users.company_id)."""

    __tablename__ = "password_resets"
    __table_args__ = (sa.Index("ix_password_resets_expires_at", "expires_at"),)

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = tz_column(nullable=False)
    used_at: datetime | None = tz_column()
    created_at: datetime = tz_column(nullable=False, server_now=True)


class TwoFactorCredential(SQLModel, table=True):
    """A user's TOTP key (services/identity/totp.py), encrypted under ENCRYPTION_KEY. `confirmed_at` NULL:
    an enrolment not yet confirmed with a first code (not required at sign-in). `last_used_step`: the
    30-second step of the last accepted code, so the same code is never accepted twice."""

    __tablename__ = "two_factor_credentials"

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    secret_encrypted: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    last_used_step: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))
    confirmed_at: datetime | None = tz_column()
    created_at: datetime = tz_column(nullable=False, server_now=True)


class RecoveryCode(SQLModel, table=True):
    """One of a user's single-use two-factor recovery codes; only its SHA-256 is stored."""

    __tablename__ = "recovery_codes"

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = tz_column()
    created_at: datetime = tz_column(nullable=False, server_now=True)


class TrustedBrowser(SQLModel, table=True):
    """A browser that may skip the second step for 30 days ("trust this browser"): the SHA-256 of the
    random token in its cookie. Listed on the account page, revocable."""

    __tablename__ = "trusted_browsers"

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    token_hash: str = Field(max_length=64, unique=True)
    user_agent: str = Field(default="", max_length=512)
    ip: str = Field(default="", max_length=64)
    created_at: datetime = tz_column(nullable=False, server_now=True)
    expires_at: datetime = tz_column(nullable=False)
    revoked_at: datetime | None = tz_column()


class SsoProvider(SQLModel, table=True):
    """A company's OpenID Connect identity provider (services/people/sso.py): one per company. The client
    secret is stored encrypted under ENCRYPTION_KEY. `allow_password` False: members other than
    Managers sign in only through the provider. `join_domain`: addresses of this domain that the
    provider reports verified may join as Workers ("" = nobody joins that way)."""

    __tablename__ = "sso_providers"

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    name: str = Field(max_length=80)
    issuer: str = Field(max_length=500)
    client_id: str = Field(max_length=255)
    client_secret_encrypted: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    allow_password: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    join_domain: str = Field(default="", max_length=253, sa_column_kwargs={"server_default": ""})
    created_at: datetime = tz_column(nullable=False, server_now=True)
    updated_at: datetime = tz_column(nullable=False, server_now=True, onupdate=True)
