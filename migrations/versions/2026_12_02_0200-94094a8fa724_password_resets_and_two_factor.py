"""password_resets, two-factor sign-in (TOTP keys, recovery codes, trusted browsers), companies.require_two_factor,
sso_providers (OpenID Connect per company)

Revision ID: 94094a8fa724
Revises: 938036124e90
Create Date: 2026-12-02 02:00:00.000000+00:00

- `password_resets` (services/identity/recovery.py): the SHA-256 of a mailed link's token, its expiry
  (30 minutes) and when it was used (single use), for one user.
- `two_factor_credentials` (services/identity/totp.py): one per user, the TOTP key encrypted under
  ENCRYPTION_KEY, when it was confirmed, and the step of the last accepted code (no replay).
- `recovery_codes`: the SHA-256 of each single-use recovery code, and when it was used.
- `trusted_browsers`: "trust this browser for 30 days": the SHA-256 of the cookie's token, device, expiry,
  revocation.
- `companies.require_two_factor` (boolean, default false): a Manager requires two-factor for everyone.
- `sso_providers` (services/people/sso.py): one OpenID Connect provider per company (issuer, client id,
  client secret encrypted under ENCRYPTION_KEY, whether password sign-in stays allowed, the domain whose
  verified addresses may join as Workers). company_id NOT NULL, unique, -> companies ON DELETE CASCADE.
- Foreign keys of the other new tables (docs/db_cascades.md): company_id -> companies ON DELETE CASCADE;
  user_id -> users ON DELETE CASCADE (single column, like sessions: the operator's admins have no
  company and have a password and a second factor too).
- Tenant tables: ENABLE + FORCE ROW LEVEL SECURITY and the same three policies as revision
  2e342e4406e4 (copied: a revision must not change when another one does). Rows of admins
  (company_id NULL) are seen by the operator and system work only.
- The app role gets SELECT, INSERT, UPDATE, DELETE on them; so does the system role (the reset routes,
  the second step of a sign-in and the worker run as it), except DELETE on sso_providers.
"""

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision: str = "94094a8fa724"
down_revision: str | Sequence[str] | None = "938036124e90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("password_resets", "two_factor_credentials", "recovery_codes", "trusted_browsers", "sso_providers")
SCHEMA = "workdash_rls"
POLICIES = (
    ("tenant_isolation", f"(company_id = (SELECT {SCHEMA}.company()))", "PUBLIC"),
    ("operator_access", f"((SELECT {SCHEMA}.is_operator()))", "PUBLIC"),
    ("owner_maintenance", "(current_setting('app.rls_bypass', true) = 'on')", "CURRENT_USER"),
)


def role_of(key: str, default: str) -> str:
    # Resolved and validated (plain identifier) by migrations/env.py.
    return str(context.config.attributes.get(key, default))


def app_role() -> str:
    return role_of("app_role", "workdash_app")


def system_role() -> str:
    return role_of("system_role", "workdash_system")


def if_role_exists(role: str, statement: str) -> str:
    """One DO block: the same SQL works online and in `--sql` (offline) mode."""
    return (
        "DO $grants$\nBEGIN\n"
        f"  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN\n    {statement};\n"
        f"  ELSE\n    RAISE NOTICE 'role {role} does not exist: privileges not changed';\n"
        "  END IF;\nEND\n$grants$"
    )


def company_and_user(table: str) -> list[Any]:
    """company_id (NULL for admins) and user_id, each cascading, as every table here has them."""
    return [
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f(f"fk_{table}_company_id_companies"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"),
    ]


def create_tables() -> None:
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Uuid(), nullable=False),
        *company_and_user("password_resets"),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index(op.f("ix_password_resets_company_id"), "password_resets", ["company_id"], unique=False)
    op.create_index(op.f("ix_password_resets_user_id"), "password_resets", ["user_id"], unique=False)
    op.create_index(op.f("ix_password_resets_expires_at"), "password_resets", ["expires_at"], unique=False)

    op.create_table(
        "two_factor_credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        *company_and_user("two_factor_credentials"),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("last_used_step", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_two_factor_credentials")),
        sa.UniqueConstraint("user_id", name=op.f("uq_two_factor_credentials_user_id")),
    )
    op.create_index(
        op.f("ix_two_factor_credentials_company_id"), "two_factor_credentials", ["company_id"], unique=False
    )

    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Uuid(), nullable=False),
        *company_and_user("recovery_codes"),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index(op.f("ix_recovery_codes_company_id"), "recovery_codes", ["company_id"], unique=False)
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"], unique=False)

    op.create_table(
        "trusted_browsers",
        sa.Column("id", sa.Uuid(), nullable=False),
        *company_and_user("trusted_browsers"),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_browsers")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_trusted_browsers_token_hash")),
    )
    op.create_index(op.f("ix_trusted_browsers_company_id"), "trusted_browsers", ["company_id"], unique=False)
    op.create_index(op.f("ix_trusted_browsers_user_id"), "trusted_browsers", ["user_id"], unique=False)

    op.create_table(
        "sso_providers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("allow_password", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("join_domain", sa.String(length=253), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_sso_providers_company_id_companies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_providers")),
        sa.UniqueConstraint("company_id", name=op.f("uq_sso_providers_company_id")),
    )

    op.add_column("companies", sa.Column("require_two_factor", sa.Boolean(), server_default=sa.false(), nullable=False))


def upgrade() -> None:
    create_tables()
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        for name, expression, to in POLICIES:
            op.execute(
                f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR ALL TO {to} "
                f"USING {expression} WITH CHECK {expression}"
            )

    role = app_role()
    if not context.is_offline_mode():
        exists = op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        if not exists:
            logging.getLogger("workdash.migrations").warning("Role %s does not exist: app grants skipped", role)
    tables = ", ".join(TABLES)
    op.execute(if_role_exists(role, f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {tables} TO "{role}"'))
    # System work deletes reset links, replaced recovery codes and expired rows; a provider only a Manager removes.
    system = system_role()
    deletable = ", ".join(t for t in TABLES if t != "sso_providers")
    op.execute(if_role_exists(system, f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {deletable} TO "{system}"'))
    op.execute(if_role_exists(system, f'GRANT SELECT, INSERT, UPDATE ON TABLE sso_providers TO "{system}"'))


def downgrade() -> None:
    tables = ", ".join(TABLES)
    for grantee in (app_role(), system_role()):
        op.execute(if_role_exists(grantee, f'REVOKE ALL ON TABLE {tables} FROM "{grantee}"'))
    op.drop_column("companies", "require_two_factor")
    for table in reversed(TABLES):
        op.drop_table(table)  # drops its policies, indexes and constraints with it
