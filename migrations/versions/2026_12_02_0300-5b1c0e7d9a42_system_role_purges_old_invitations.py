"""system role may delete invitations: the worker purges the ones that can no longer be used

Revision ID: 5b1c0e7d9a42
Revises: 7d3e5a91c2f4
Create Date: 2026-12-02 03:00:00+00:00

The job worker (system role) deletes invitations that expired unaccepted, or were revoked, more than a
month ago (services/people/jobs.py). Only the privilege changes: the table, its policies and the app
role's grants stay as they are.
"""

from collections.abc import Sequence

from alembic import context, op

# revision identifiers, used by Alembic.
revision: str = "5b1c0e7d9a42"
down_revision: str | Sequence[str] | None = "7d3e5a91c2f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def system_role() -> str:
    # Resolved and validated (plain identifier) by migrations/env.py.
    return str(context.config.attributes.get("system_role", "workdash_system"))


def if_role_exists(role: str, statement: str) -> str:
    """One DO block: the same SQL works online and in `--sql` (offline) mode."""
    return (
        "DO $grants$\nBEGIN\n"
        f"  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN\n    {statement};\n"
        f"  ELSE\n    RAISE NOTICE 'role {role} does not exist: privileges not changed';\n"
        "  END IF;\nEND\n$grants$"
    )


def upgrade() -> None:
    op.execute(if_role_exists(system_role(), f'GRANT DELETE ON TABLE invitations TO "{system_role()}"'))


def downgrade() -> None:
    op.execute(if_role_exists(system_role(), f'REVOKE DELETE ON TABLE invitations FROM "{system_role()}"'))
