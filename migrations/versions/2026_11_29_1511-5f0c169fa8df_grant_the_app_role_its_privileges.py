"""grant the app role its privileges

Revision ID: 5f0c169fa8df
Revises: 2894458ceb12
Create Date: 2026-11-29 15:11:37.165625+00:00

The app connects as a role that does not own the tables (default `workdash_app`; choose another
with `alembic -x app_role=NAME`, APP_DB_ROLE=NAME, or services.core.schema.upgrade_head(app_role=NAME)).
It may read and write every table except:
- audit_logs: SELECT and INSERT only, so the trail is append-only for the app;
- alembic_version: SELECT only (the app may check that the schema is at head).
If the role does not exist (a single-role setup, a CI service container) the grants are skipped
with a notice, not an error. Every later revision that adds a table must grant it the same way.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision: str = "5f0c169fa8df"
down_revision: str | Sequence[str] | None = "2894458ceb12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READ_WRITE_TABLES = (
    "companies",
    "users",
    "sessions",
    "invitations",
    "projects",
    "project_members",
    "tasks",
    "task_comments",
    "files",
    "plans",
    "subscriptions",
    "trials",
    "invoices",
    "invoice_line_items",
    "payments",
)
APPEND_ONLY_TABLES = ("audit_logs",)


def app_role() -> str:
    # Resolved and validated (plain identifier) by migrations/env.py.
    return str(context.config.attributes.get("app_role", "workdash_app"))


def if_role_exists(role: str, statements: list[str]) -> str:
    """One DO block: the same SQL works online and in `--sql` (offline) mode."""
    body = "\n".join(f"    {statement};" for statement in statements)
    return (
        "DO $grants$\nBEGIN\n"
        f"  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN\n{body}\n"
        f"  ELSE\n    RAISE NOTICE 'role {role} does not exist: privileges not changed';\n"
        "  END IF;\nEND\n$grants$"
    )


def upgrade() -> None:
    role = app_role()
    if not context.is_offline_mode():
        exists = op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        if not exists:
            logging.getLogger("workdash.migrations").warning("Role %s does not exist: app grants skipped", role)
    op.execute(
        if_role_exists(
            role,
            [
                f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {", ".join(READ_WRITE_TABLES)} TO "{role}"',
                f'GRANT SELECT, INSERT ON TABLE {", ".join(APPEND_ONLY_TABLES)} TO "{role}"',
                f'GRANT SELECT ON TABLE alembic_version TO "{role}"',
                f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
            ],
        )
    )


def downgrade() -> None:
    role = app_role()
    tables = ", ".join((*READ_WRITE_TABLES, *APPEND_ONLY_TABLES, "alembic_version"))
    op.execute(
        if_role_exists(
            role,
            [
                f'REVOKE ALL ON TABLE {tables} FROM "{role}"',
                f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{role}"',
            ],
        )
    )
