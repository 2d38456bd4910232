"""notification mail queue: notifications.mail_pending

Revision ID: 7d3e5a91c2f4
Revises: 7d3e9a41c2b6
Create Date: 2026-12-02 02:00:00+00:00

A notification whose reader wants e-mail is written with `mail_pending = true` in the same
transaction as the change it reports (a transactional outbox); the job worker sends the mail and
clears the flag (services/work/jobs.py), so a card move never waits for an SMTP server and a mail
is never sent for a change that rolled back. A partial index finds the pending rows. The table's
grants (app and system role) and policies already cover the new column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "7d3e5a91c2f4"
down_revision: str | Sequence[str] | None = "7d3e9a41c2b6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "notifications", sa.Column("mail_pending", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.create_index(
        "ix_notifications_mail_pending",
        "notifications",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("mail_pending"),
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_mail_pending", table_name="notifications", postgresql_where=sa.text("mail_pending"))
    op.drop_column("notifications", "mail_pending")
