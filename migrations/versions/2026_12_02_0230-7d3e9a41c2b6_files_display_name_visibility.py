"""files: display name, visible-to-client flag, per-project listing index

Revision ID: 7d3e9a41c2b6
Revises: 94094a8fa724
Create Date: 2026-12-02 02:30:00.000000+00:00

Files on S3 (services/work/files.py):
- `display_name`: what users see and rename (the object key never changes); existing rows get their
  `original_name`; never empty.
- `visible_to_client`: shown to the project's clients in the portal; private (false) by default.
- `ix_files_project` (company_id, project_id, created_at): a project's Files tab lists by it.
No new table: `files` already has its policies and both roles' grants (UPDATE and DELETE included).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "7d3e9a41c2b6"
down_revision: str | Sequence[str] | None = "94094a8fa724"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("files", sa.Column("display_name", sa.String(length=255), nullable=True))
    op.execute("UPDATE files SET display_name = original_name")
    op.alter_column("files", "display_name", nullable=False)
    op.add_column("files", sa.Column("visible_to_client", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_check_constraint(op.f("ck_files_display_name_not_empty"), "files", "char_length(display_name) > 0")
    op.create_index("ix_files_project", "files", ["company_id", "project_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_files_project", table_name="files")
    op.drop_constraint(op.f("ck_files_display_name_not_empty"), "files", type_="check")
    op.drop_column("files", "visible_to_client")
    op.drop_column("files", "display_name")
