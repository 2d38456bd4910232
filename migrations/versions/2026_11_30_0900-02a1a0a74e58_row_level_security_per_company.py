"""row-level security per company (tenant isolation, wall 2); index on sessions.user_id

Revision ID: 02a1a0a74e58
Revises: 5f0c169fa8df
Create Date: 2026-11-30 09:00:00.000000+00:00

Every tenant table (models.TENANT_TABLES) and `companies` get ENABLE + FORCE ROW LEVEL SECURITY
and one policy `tenant_isolation`, FOR ALL, with the same USING and WITH CHECK expression, so a
transaction can neither read nor write another company's rows. The policy reads two settings that
services/core/db.py sets per transaction with `set_config(..., true)`:
- `app.company_id`: the actor's company (uuid text). Missing or empty means "no company": no rows
  (NULLIF turns '' into NULL before the uuid cast, and `company_id = NULL` is never true);
- `app.rls_bypass = 'on'`: the operator (admin) and system work (login lookup, sign-up, invitation
  acceptance, the worker, seeding, data fixes) see and write every row.
Rows with company_id NULL (admin users, operator-wide audit rows) are therefore visible only with
the bypass. FORCE makes the policies apply to the table owner too (only a superuser or a
BYPASSRLS role skips them); foreign-key checks and ON DELETE actions are not subject to them.
`sessions` (no company) and `plans` (the public catalogue) have no row-level security.

Also: a plain index on sessions.user_id (the partial one only covers live sessions; deleting a
user cascades into all of them).
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision: str = "02a1a0a74e58"
down_revision: str | Sequence[str] | None = "5f0c169fa8df"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from models.TENANT_TABLES on purpose: a revision must not change when models/ change.
TENANT_TABLES = (
    "users",
    "invitations",
    "projects",
    "project_members",
    "tasks",
    "task_comments",
    "files",
    "subscriptions",
    "trials",
    "invoices",
    "invoice_line_items",
    "payments",
    "audit_logs",
)
POLICY = "tenant_isolation"
BYPASS = "current_setting('app.rls_bypass', true) = 'on'"
CURRENT_COMPANY = "NULLIF(current_setting('app.company_id', true), '')::uuid"


def policy_expression(table: str) -> str:
    column = "id" if table == "companies" else "company_id"
    return f"({BYPASS} OR {column} = {CURRENT_COMPANY})"


def upgrade() -> None:
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"], unique=False)
    for table in ("companies", *TENANT_TABLES):
        expression = policy_expression(table)
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON {table} AS PERMISSIVE FOR ALL TO PUBLIC USING {expression} WITH CHECK {expression}"
        )
    if not context.is_offline_mode():
        warn_if_app_role_skips_policies()


def warn_if_app_role_skips_policies() -> None:
    """A superuser or BYPASSRLS app role would make all of the above decorative: say so loudly."""
    role = str(context.config.attributes.get("app_role", "workdash_app"))
    row = (
        op.get_bind()
        .execute(sa.text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role})
        .first()
    )
    if row is not None and row[0]:
        logging.getLogger("workdash.migrations").warning(
            "App role %s is a superuser or has BYPASSRLS: row-level security does not apply to it", role
        )


def downgrade() -> None:
    for table in reversed(("companies", *TENANT_TABLES)):
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.drop_index(op.f("ix_sessions_user_id"), table_name="sessions")
