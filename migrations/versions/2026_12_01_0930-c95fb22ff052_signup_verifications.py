"""signup_verifications: sign-ups waiting for their emailed link (verification-first sign-up)

Revision ID: c95fb22ff052
Revises: 2e342e4406e4
Create Date: 2026-12-01 09:00:00.000000+00:00

One row per company whose first manager has not opened the sign-up link yet (services/identity/signup.py):
the SHA-256 of the link's token, its expiry, the company and the (inactive) manager. The row is
deleted when the link is used; the worker deletes the company of an expired one.
- Foreign keys (docs/db_cascades.md): company_id -> companies ON DELETE CASCADE; (company_id, user_id)
  -> users (company_id, id) ON DELETE CASCADE (composite: it cannot point at another company's user).
- A tenant table: ENABLE + FORCE ROW LEVEL SECURITY and the same three policies as revision
  2e342e4406e4 (tenant_isolation on the verified company, operator_access, owner_maintenance for the
  owner's bypass; copied here: a revision must not change when another one does).
- The app role gets SELECT, INSERT, UPDATE, DELETE on it, like the grants revision 5f0c169fa8df. The
  system role (sign-up, invitation acceptance and the worker run as it) gets the same on it, and
  DELETE on companies: replacing or expiring a pending sign-up deletes its unverified company.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision: str = "c95fb22ff052"
down_revision: str | Sequence[str] | None = "2e342e4406e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "signup_verifications"
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


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_signup_verifications_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "user_id"],
            ["users.company_id", "users.id"],
            name=op.f("fk_signup_verifications_company_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_verifications")),
        sa.UniqueConstraint("company_id", name=op.f("uq_signup_verifications_company_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signup_verifications_token_hash")),
    )
    op.create_index(op.f("ix_signup_verifications_user_id"), TABLE, ["user_id"], unique=False)
    op.create_index(op.f("ix_signup_verifications_expires_at"), TABLE, ["expires_at"], unique=False)

    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    for name, expression, to in POLICIES:
        op.execute(
            f"CREATE POLICY {name} ON {TABLE} AS PERMISSIVE FOR ALL TO {to} USING {expression} WITH CHECK {expression}"
        )

    role = app_role()
    if not context.is_offline_mode():
        exists = op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        if not exists:
            logging.getLogger("workdash.migrations").warning("Role %s does not exist: app grants skipped", role)
    op.execute(if_role_exists(role, f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {TABLE} TO "{role}"'))
    system = system_role()
    op.execute(
        if_role_exists(system, f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {TABLE}, companies TO "{system}"')
    )


def downgrade() -> None:
    op.execute(if_role_exists(app_role(), f'REVOKE ALL ON TABLE {TABLE} FROM "{app_role()}"'))
    system = system_role()
    op.execute(if_role_exists(system, f'REVOKE ALL ON TABLE {TABLE} FROM "{system}"'))
    op.execute(if_role_exists(system, f'REVOKE DELETE ON TABLE companies FROM "{system}"'))
    op.drop_table(TABLE)  # drops its policy, indexes and constraints with it
