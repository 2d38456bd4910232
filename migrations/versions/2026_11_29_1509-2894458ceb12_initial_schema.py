"""initial schema: tenancy, work, billing and audit tables

Revision ID: 2894458ceb12
Revises: (none, first revision)
Create Date: 2026-11-29 15:09:29.879675+00:00

Generated with autogenerate against an empty database, then reviewed by hand:
- the PostgreSQL enum types are created once up front and dropped in downgrade()
  (user_role is shared by users and invitations);
- ON DELETE of every foreign key follows docs/db_cascades.md;
- composite foreign keys (company_id, x_id) keep every reference inside one company;
  `SET NULL (x_id)` clears only the user column, never company_id;
- partial and expression indexes are spelled out.
Values are copied here on purpose: a revision must not change when models/ change later.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "2894458ceb12"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENUMS: dict[str, tuple[str, ...]] = {
    "company_status": ("active", "deactivated"),
    "user_role": ("admin", "manager", "worker", "client"),
    "project_status": ("active", "archived"),
    "task_status": ("backlog", "todo", "in_progress", "review", "done"),
    "task_priority": ("low", "medium", "high", "urgent"),
    "approval_status": ("none", "pending", "approved", "rejected"),
    "file_kind": ("task_attachment", "company_file"),
    "billing_interval": ("month", "year"),
    "subscription_status": (
        "trialing",
        "active",
        "past_due",
        "canceled",
        "unpaid",
        "incomplete",
        "incomplete_expired",
        "paused",
    ),
    "trial_status": ("active", "expired", "converted"),
    "invoice_status": ("draft", "open", "paid", "void", "uncollectible"),
    "payment_status": ("pending", "succeeded", "failed", "refunded"),
    "payment_method": ("card", "bank_transfer", "manual"),
}

CURRENCY_CHECK = "currency ~ '^[A-Z]{3}$'"


def enum(name: str) -> postgresql.ENUM:
    """A column type for an enum created in upgrade(); create_table must not create it again."""
    return postgresql.ENUM(*ENUMS[name], name=name, create_type=False)


def created_at() -> sa.Column[sa.DateTime]:
    return sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def updated_at() -> sa.Column[sa.DateTime]:
    return sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def company_fk(table: str) -> sa.ForeignKeyConstraint:
    """Deleting a company deletes all of its rows."""
    return sa.ForeignKeyConstraint(
        ["company_id"], ["companies.id"], name=op.f(f"fk_{table}_company_id_companies"), ondelete="CASCADE"
    )


def user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    """A user of the same company; deleting the user clears only this column (the row stays)."""
    return sa.ForeignKeyConstraint(
        ["company_id", column],
        ["users.company_id", "users.id"],
        name=op.f(f"fk_{table}_company_id_{column}_users"),
        ondelete=f"SET NULL ({column})",
    )


def upgrade() -> None:
    bind = op.get_bind()
    for name, values in ENUMS.items():
        postgresql.ENUM(*values, name=name).create(bind, checkfirst=False)

    # ---- tenancy ---------------------------------------------------------------------------
    op.create_table(
        "companies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("status", enum("company_status"), server_default="active", nullable=False),
        created_at(),
        updated_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("slug", name=op.f("uq_companies_slug")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=True),  # NULL only for admins (the operator)
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", enum("user_role"), server_default="worker", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("locale", sa.String(length=8), server_default="en", nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        created_at(),
        updated_at(),
        sa.CheckConstraint(
            "(role = 'admin' AND company_id IS NULL) OR (role <> 'admin' AND company_id IS NOT NULL)",
            name=op.f("ck_users_admin_has_no_company"),
        ),
        company_fk("users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        # Target of every composite (company_id, user_id) foreign key.
        sa.UniqueConstraint("company_id", "id", name=op.f("uq_users_company_id_id")),
    )
    op.create_index(op.f("ix_users_company_id"), "users", ["company_id"], unique=False)
    # E-mail is unique whatever its case.
    op.create_index("uq_users_email_lower", "users", [sa.literal_column("lower(email)")], unique=True)
    op.create_table(
        "sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        created_at(),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("absolute_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
    )
    op.create_index(
        "ix_sessions_user_id_active",
        "sessions",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", enum("user_role"), nullable=False),
        sa.Column("project_ids", postgresql.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        created_at(),
        sa.CheckConstraint("role <> 'admin'", name=op.f("ck_invitations_no_admin_invites")),
        company_fk("invitations"),
        user_fk("invitations", "invited_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("company_id", "id", name=op.f("uq_invitations_company_id_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    op.create_index(op.f("ix_invitations_company_id"), "invitations", ["company_id"], unique=False)

    # ---- work ------------------------------------------------------------------------------
    op.create_table(
        "projects",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(), server_default="", nullable=False),
        sa.Column("status", enum("project_status"), server_default="active", nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        created_at(),
        updated_at(),
        company_fk("projects"),
        user_fk("projects", "created_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("company_id", "id", name=op.f("uq_projects_company_id_id")),
    )
    op.create_index("ix_projects_company_id_status", "projects", ["company_id", "status"], unique=False)
    op.create_table(
        "project_members",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        created_at(),
        company_fk("project_members"),
        # A membership is meaningless without its project or its user: it goes with either.
        sa.ForeignKeyConstraint(
            ["company_id", "project_id"],
            ["projects.company_id", "projects.id"],
            name=op.f("fk_project_members_company_id_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "user_id"],
            ["users.company_id", "users.id"],
            name=op.f("fk_project_members_company_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_project_members")),
    )
    op.create_index("ix_project_members_company_id_user_id", "project_members", ["company_id", "user_id"], unique=False)
    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.String(), server_default="", nullable=False),
        sa.Column("status", enum("task_status"), server_default="todo", nullable=False),
        sa.Column("priority", enum("task_priority"), server_default="medium", nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("approval_status", enum("approval_status"), server_default="none", nullable=False),
        sa.Column("approved_by_id", sa.Uuid(), nullable=True),
        sa.Column("approval_comment", sa.String(), server_default="", nullable=False),
        sa.Column("approval_decided_at", sa.DateTime(timezone=True), nullable=True),
        created_at(),
        updated_at(),
        sa.CheckConstraint("char_length(title) > 0", name=op.f("ck_tasks_title_not_empty")),
        company_fk("tasks"),
        sa.ForeignKeyConstraint(
            ["company_id", "project_id"],
            ["projects.company_id", "projects.id"],
            name=op.f("fk_tasks_company_id_project_id_projects"),
            ondelete="CASCADE",
        ),
        user_fk("tasks", "assignee_id"),
        user_fk("tasks", "created_by_id"),
        user_fk("tasks", "approved_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("company_id", "id", name=op.f("uq_tasks_company_id_id")),
    )
    op.create_index("ix_tasks_board", "tasks", ["company_id", "project_id", "status", "position"], unique=False)
    op.create_index("ix_tasks_assignee", "tasks", ["company_id", "assignee_id", "status"], unique=False)
    op.create_table(
        "task_comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),  # kept when the author is deleted
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("is_internal", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        created_at(),
        updated_at(),
        company_fk("task_comments"),
        sa.ForeignKeyConstraint(
            ["company_id", "task_id"],
            ["tasks.company_id", "tasks.id"],
            name=op.f("fk_task_comments_company_id_task_id_tasks"),
            ondelete="CASCADE",
        ),
        user_fk("task_comments", "author_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_comments")),
    )
    op.create_index("ix_task_comments_task", "task_comments", ["company_id", "task_id", "created_at"], unique=False)
    op.create_table(
        "files",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("kind", enum("file_kind"), server_default="task_attachment", nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column("original_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Uuid(), nullable=True),
        created_at(),
        sa.CheckConstraint(
            "kind <> 'task_attachment' OR task_id IS NOT NULL", name=op.f("ck_files_attachment_has_task")
        ),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_files_size_not_negative")),
        company_fk("files"),
        sa.ForeignKeyConstraint(
            ["company_id", "project_id"],
            ["projects.company_id", "projects.id"],
            name=op.f("fk_files_company_id_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "task_id"],
            ["tasks.company_id", "tasks.id"],
            name=op.f("fk_files_company_id_task_id_tasks"),
            ondelete="CASCADE",
        ),
        user_fk("files", "uploaded_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_files_storage_key")),
    )
    op.create_index("ix_files_task", "files", ["company_id", "task_id"], unique=False)
    op.create_index("ix_files_company_kind", "files", ["company_id", "kind", "created_at"], unique=False)

    # ---- billing ---------------------------------------------------------------------------
    # Money is integer minor units beside an ISO-4217 code; plans are referenced with RESTRICT
    # (retire a plan with is_active = false instead of deleting it).
    op.create_table(
        "plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("interval", enum("billing_interval"), server_default="month", nullable=False),
        sa.Column("max_seats", sa.Integer(), nullable=False),
        sa.Column("max_projects", sa.Integer(), nullable=False),
        sa.Column("max_storage_mb", sa.Integer(), nullable=False),
        sa.Column("trial_days", sa.Integer(), server_default="14", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        created_at(),
        updated_at(),
        sa.CheckConstraint(CURRENCY_CHECK, name=op.f("ck_plans_currency_iso")),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_plans_price_not_negative")),
        sa.CheckConstraint(
            "max_seats > 0 AND max_projects > 0 AND max_storage_mb > 0", name=op.f("ck_plans_limits_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("code", name=op.f("uq_plans_code")),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("status", enum("subscription_status"), server_default="active", nullable=False),
        sa.Column("current_period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("canceled_at", sa.DateTime(timezone=True), nullable=True),
        created_at(),
        updated_at(),
        company_fk("subscriptions"),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_subscriptions_plan_id_plans"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("company_id", "id", name=op.f("uq_subscriptions_company_id_id")),
    )
    op.create_index(op.f("ix_subscriptions_plan_id"), "subscriptions", ["plan_id"], unique=False)
    # At most one subscription per company that is still alive.
    op.create_index(
        "uq_subscriptions_one_live_per_company",
        "subscriptions",
        ["company_id"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('canceled', 'incomplete_expired')"),
    )
    op.create_table(
        "trials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("status", enum("trial_status"), server_default="active", nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("converted_at", sa.DateTime(timezone=True), nullable=True),
        company_fk("trials"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_trials_plan_id_plans"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trials")),
        sa.UniqueConstraint("company_id", name=op.f("uq_trials_company_id")),  # one trial per company
    )
    op.create_index(op.f("ix_trials_plan_id"), "trials", ["plan_id"], unique=False)
    op.create_table(
        "invoices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=True),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("status", enum("invoice_status"), server_default="draft", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("total_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("bill_to_name", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        created_at(),
        updated_at(),
        sa.CheckConstraint(CURRENCY_CHECK, name=op.f("ck_invoices_currency_iso")),
        sa.CheckConstraint(
            "subtotal_minor >= 0 AND tax_minor >= 0 AND total_minor = subtotal_minor + tax_minor",
            name=op.f("ck_invoices_totals_add_up"),
        ),
        company_fk("invoices"),
        # The invoice outlives its subscription (only subscription_id is cleared).
        sa.ForeignKeyConstraint(
            ["company_id", "subscription_id"],
            ["subscriptions.company_id", "subscriptions.id"],
            name=op.f("fk_invoices_company_id_subscription_id_subscriptions"),
            ondelete="SET NULL (subscription_id)",
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_invoices_plan_id_plans"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("company_id", "id", name=op.f("uq_invoices_company_id_id")),
        sa.UniqueConstraint("company_id", "number", name=op.f("uq_invoices_company_id_number")),
    )
    op.create_index("ix_invoices_company_status", "invoices", ["company_id", "status", "issued_at"], unique=False)
    op.create_index(op.f("ix_invoices_plan_id"), "invoices", ["plan_id"], unique=False)
    op.create_table(
        "invoice_line_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_invoice_line_items_quantity_positive")),
        sa.CheckConstraint(
            "amount_minor = quantity * unit_price_minor", name=op.f("ck_invoice_line_items_amount_adds_up")
        ),
        company_fk("invoice_line_items"),
        sa.ForeignKeyConstraint(
            ["company_id", "invoice_id"],
            ["invoices.company_id", "invoices.id"],
            name=op.f("fk_invoice_line_items_company_id_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_line_items")),
    )
    op.create_index("ix_invoice_line_items_invoice", "invoice_line_items", ["company_id", "invoice_id"], unique=False)
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", enum("payment_status"), server_default="pending", nullable=False),
        sa.Column("method", enum("payment_method"), server_default="manual", nullable=False),
        sa.Column("reference", sa.String(length=200), server_default="", nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        created_at(),
        sa.CheckConstraint(CURRENCY_CHECK, name=op.f("ck_payments_currency_iso")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payments_amount_positive")),
        company_fk("payments"),
        # NO ACTION, not RESTRICT: deleting an invoice with payments is refused, but deleting the
        # company removes invoices and payments in one statement (checked at its end).
        sa.ForeignKeyConstraint(
            ["company_id", "invoice_id"],
            ["invoices.company_id", "invoices.id"],
            name=op.f("fk_payments_company_id_invoice_id_invoices"),
        ),
        user_fk("payments", "recorded_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index("ix_payments_invoice", "payments", ["company_id", "invoice_id"], unique=False)

    # ---- audit -----------------------------------------------------------------------------
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=True),  # NULL: operator-wide actions (plans)
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_email", sa.String(length=320), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=60), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        created_at(),
        company_fk("audit_logs"),
        # Single-column on purpose: the actor may be an admin, who has no company.
        # The actor's e-mail and role are copied into the row, so the trail survives.
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_audit_logs_actor_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_logs")),
    )
    op.create_index("ix_audit_logs_company_created", "audit_logs", ["company_id", "created_at"], unique=False)
    op.create_index("ix_audit_logs_actor", "audit_logs", ["actor_user_id", "created_at"], unique=False)
    op.create_index("ix_audit_logs_target", "audit_logs", ["target_type", "target_id"], unique=False)


def downgrade() -> None:
    # Reverse order of creation; a table's indexes and constraints go with it.
    for table in (
        "audit_logs",
        "payments",
        "invoice_line_items",
        "invoices",
        "trials",
        "subscriptions",
        "plans",
        "files",
        "task_comments",
        "tasks",
        "project_members",
        "projects",
        "invitations",
        "sessions",
        "users",
        "companies",
    ):
        op.drop_table(table)
    # drop_table leaves the enum types behind; without this a second upgrade fails.
    bind = op.get_bind()
    for name in reversed(ENUMS):
        postgresql.ENUM(name=name).drop(bind, checkfirst=False)
