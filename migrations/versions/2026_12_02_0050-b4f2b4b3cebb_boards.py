"""boards: project keys and dates, task numbers, versions, positions, search, labels, followers, notifications

Revision ID: b4f2b4b3cebb
Revises: c95fb22ff052
Create Date: 2026-12-02 00:50:02.784898+00:00

The schema of the project list and the live task boards (services/work):
- projects: `key` (task numbers are KEY-n; unique per company; existing projects get P1, P2, … in
  creation order), `client_description` (the portal's text), `start_date`, `due_date`, and
  `task_counter` (the last number issued: only ever incremented, so a number is never reused).
- tasks: `number` (existing tasks numbered per project in creation order, and the counter set to the
  highest), `version` (optimistic concurrency: every change bumps it), `position` becomes fractional
  (a move writes one row), `shared_with_client`, `updated_by_id`, and `search_vector`, a stored
  generated tsvector over title and description in English and Russian (plus exact words), with a GIN
  index. `task_status` gains `approved` and `rejected` (set by the client portal).
- New tenant tables `labels`, `task_labels`, `task_followers`, `notifications` (enum `notification_kind`),
  and `users.email_notifications` (the per-user switch for notification mail).
- Foreign keys (docs/db_cascades.md): every new table -> companies ON DELETE CASCADE; composite
  (company_id, …) keys to projects/tasks/labels/users so no row can point into another company;
  labels, task_labels, task_followers, notifications go with their project/task/user (CASCADE);
  notifications.actor_id and tasks.updated_by_id are SET NULL (the column only).
- Each new table: ENABLE + FORCE ROW LEVEL SECURITY with the three policies of 2e342e4406e4 (copied:
  a revision must not change when another one does); the app role gets SELECT, INSERT, UPDATE, DELETE,
  the system role SELECT, INSERT, UPDATE (the worker sends notification mail), like every tenant table.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "b4f2b4b3cebb"
down_revision: str | Sequence[str] | None = "c95fb22ff052"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("labels", "task_labels", "task_followers", "notifications")
SCHEMA = "workdash_rls"
POLICIES = (
    ("tenant_isolation", f"(company_id = (SELECT {SCHEMA}.company()))", "PUBLIC"),
    ("operator_access", f"((SELECT {SCHEMA}.is_operator()))", "PUBLIC"),
    ("owner_maintenance", "(current_setting('app.rls_bypass', true) = 'on')", "CURRENT_USER"),
)
OLD_TASK_STATUSES = ("backlog", "todo", "in_progress", "review", "done")


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
        "labels",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("color ~ '^#[0-9a-f]{6}$'", name=op.f("ck_labels_color_hex")),
        sa.CheckConstraint("char_length(name) > 0", name=op.f("ck_labels_name_not_empty")),
        sa.ForeignKeyConstraint(
            ["company_id", "project_id"],
            ["projects.company_id", "projects.id"],
            name=op.f("fk_labels_company_id_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_labels_company_id_companies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("company_id", "id", name=op.f("uq_labels_company_id_id")),
    )
    op.create_index("ix_labels_company_project", "labels", ["company_id", "project_id"], unique=False)
    op.create_index(
        "uq_labels_project_name_lower", "labels", ["project_id", sa.literal_column("lower(name)")], unique=True
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("assigned", "mentioned", "status_changed", "client_decision", name="notification_kind"),
            nullable=False,
        ),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), server_default="", nullable=False),
        sa.Column("detail", sa.String(length=500), server_default="", nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id", "actor_id"],
            ["users.company_id", "users.id"],
            name=op.f("fk_notifications_company_id_actor_id_users"),
            ondelete="SET NULL (actor_id)",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "task_id"],
            ["tasks.company_id", "tasks.id"],
            name=op.f("fk_notifications_company_id_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "user_id"],
            ["users.company_id", "users.id"],
            name=op.f("fk_notifications_company_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_notifications_company_id_companies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["company_id", "user_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_index(
        "ix_notifications_user_created", "notifications", ["company_id", "user_id", "created_at"], unique=False
    )
    op.create_table(
        "task_followers",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id", "task_id"],
            ["tasks.company_id", "tasks.id"],
            name=op.f("fk_task_followers_company_id_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "user_id"],
            ["users.company_id", "users.id"],
            name=op.f("fk_task_followers_company_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_task_followers_company_id_companies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "user_id", name=op.f("pk_task_followers")),
    )
    op.create_index("ix_task_followers_company_user", "task_followers", ["company_id", "user_id"], unique=False)
    op.create_table(
        "task_labels",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("label_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id", "label_id"],
            ["labels.company_id", "labels.id"],
            name=op.f("fk_task_labels_company_id_label_id_labels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "task_id"],
            ["tasks.company_id", "tasks.id"],
            name=op.f("fk_task_labels_company_id_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_task_labels_company_id_companies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "label_id", name=op.f("pk_task_labels")),
    )
    op.create_index("ix_task_labels_company_label", "task_labels", ["company_id", "label_id"], unique=False)
    op.execute("ALTER TYPE task_status ADD VALUE IF NOT EXISTS 'approved'")
    op.execute("ALTER TYPE task_status ADD VALUE IF NOT EXISTS 'rejected'")
    op.add_column("projects", sa.Column("key", sa.String(length=10), nullable=True))
    op.execute(
        "UPDATE projects SET key = numbered.key FROM (SELECT id, 'P' || row_number() OVER "
        "(PARTITION BY company_id ORDER BY created_at, id) AS key FROM projects) AS numbered "
        "WHERE projects.id = numbered.id"
    )
    op.alter_column("projects", "key", nullable=False)
    op.add_column("projects", sa.Column("client_description", sa.String(), server_default="", nullable=False))
    op.add_column("projects", sa.Column("start_date", sa.Date(), nullable=True))
    op.add_column("projects", sa.Column("due_date", sa.Date(), nullable=True))
    op.add_column("projects", sa.Column("task_counter", sa.Integer(), server_default="0", nullable=False))
    op.create_unique_constraint(op.f("uq_projects_company_id_key"), "projects", ["company_id", "key"])
    op.create_check_constraint(
        op.f("ck_projects_dates_in_order"),
        "projects",
        "due_date IS NULL OR start_date IS NULL OR due_date >= start_date",
    )
    op.create_check_constraint(op.f("ck_projects_key_format"), "projects", "key ~ '^[A-Z][A-Z0-9]{1,9}$'")
    op.create_check_constraint(op.f("ck_projects_task_counter_not_negative"), "projects", "task_counter >= 0")
    op.add_column("tasks", sa.Column("number", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE tasks SET number = numbered.n FROM (SELECT id, row_number() OVER "
        "(PARTITION BY project_id ORDER BY created_at, id) AS n FROM tasks) AS numbered "
        "WHERE tasks.id = numbered.id"
    )
    op.execute(
        "UPDATE projects SET task_counter = counted.n FROM (SELECT project_id, max(number) AS n FROM tasks "
        "GROUP BY project_id) AS counted WHERE projects.id = counted.project_id"
    )
    op.alter_column("tasks", "number", nullable=False)
    op.add_column("tasks", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column(
        "tasks", sa.Column("shared_with_client", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )
    op.add_column("tasks", sa.Column("updated_by_id", sa.Uuid(), nullable=True))
    op.add_column(
        "tasks",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('russian'::regconfig, coalesce(title, '')), 'A') || setweight(to_tsvector('english'::regconfig, coalesce(description, '')), 'B') || setweight(to_tsvector('russian'::regconfig, coalesce(description, '')), 'B')",
                persisted=True,
            ),
            nullable=True,
        ),
    )
    op.alter_column(
        "tasks",
        "position",
        existing_type=sa.INTEGER(),
        type_=sa.Float(),
        existing_nullable=False,
        existing_server_default=sa.text("0"),
        postgresql_using="position::double precision",
    )
    op.create_index("ix_tasks_search", "tasks", ["search_vector"], unique=False, postgresql_using="gin")
    op.create_unique_constraint(
        op.f("uq_tasks_company_id_project_id_number"), "tasks", ["company_id", "project_id", "number"]
    )
    op.create_foreign_key(
        op.f("fk_tasks_company_id_updated_by_id_users"),
        "tasks",
        "users",
        ["company_id", "updated_by_id"],
        ["company_id", "id"],
        ondelete="SET NULL (updated_by_id)",
    )
    op.create_check_constraint(op.f("ck_tasks_number_positive"), "tasks", "number > 0")
    op.create_check_constraint(op.f("ck_tasks_version_positive"), "tasks", "version > 0")
    op.add_column(
        "users", sa.Column("email_notifications", sa.Boolean(), server_default=sa.text("true"), nullable=False)
    )

    for table in NEW_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        for name, expression, to in POLICIES:
            op.execute(
                f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR ALL TO {to} "
                f"USING {expression} WITH CHECK {expression}"
            )
    tables = ", ".join(NEW_TABLES)
    role = app_role()
    if not context.is_offline_mode():
        exists = op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        if not exists:
            logging.getLogger("workdash.migrations").warning("Role %s does not exist: app grants skipped", role)
    op.execute(if_role_exists(role, f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {tables} TO "{role}"'))
    op.execute(if_role_exists(system_role(), f'GRANT SELECT, INSERT, UPDATE ON TABLE {tables} TO "{system_role()}"'))


def downgrade() -> None:
    tables = ", ".join(NEW_TABLES)
    op.execute(if_role_exists(app_role(), f'REVOKE ALL ON TABLE {tables} FROM "{app_role()}"'))
    op.execute(if_role_exists(system_role(), f'REVOKE ALL ON TABLE {tables} FROM "{system_role()}"'))
    op.drop_column("users", "email_notifications")
    op.drop_constraint(op.f("ck_tasks_version_positive"), "tasks", type_="check")
    op.drop_constraint(op.f("ck_tasks_number_positive"), "tasks", type_="check")
    op.drop_constraint(op.f("fk_tasks_company_id_updated_by_id_users"), "tasks", type_="foreignkey")
    op.drop_constraint(op.f("uq_tasks_company_id_project_id_number"), "tasks", type_="unique")
    op.drop_index("ix_tasks_search", table_name="tasks", postgresql_using="gin")
    op.alter_column(
        "tasks",
        "position",
        existing_type=sa.Float(),
        type_=sa.INTEGER(),
        existing_nullable=False,
        existing_server_default=sa.text("0"),
        postgresql_using="round(position)::integer",
    )
    op.drop_column("tasks", "search_vector")
    op.drop_column("tasks", "updated_by_id")
    op.drop_column("tasks", "shared_with_client")
    op.drop_column("tasks", "version")
    op.drop_column("tasks", "number")
    op.drop_constraint(op.f("ck_projects_task_counter_not_negative"), "projects", type_="check")
    op.drop_constraint(op.f("ck_projects_key_format"), "projects", type_="check")
    op.drop_constraint(op.f("ck_projects_dates_in_order"), "projects", type_="check")
    op.drop_constraint(op.f("uq_projects_company_id_key"), "projects", type_="unique")
    op.drop_column("projects", "task_counter")
    op.drop_column("projects", "due_date")
    op.drop_column("projects", "start_date")
    op.drop_column("projects", "client_description")
    op.drop_column("projects", "key")
    op.drop_index("ix_task_labels_company_label", table_name="task_labels")
    op.drop_table("task_labels")
    op.drop_index("ix_task_followers_company_user", table_name="task_followers")
    op.drop_table("task_followers")
    op.drop_index("ix_notifications_user_created", table_name="notifications")
    op.drop_index("ix_notifications_unread", table_name="notifications", postgresql_where=sa.text("read_at IS NULL"))
    op.drop_table("notifications")
    op.drop_index("uq_labels_project_name_lower", table_name="labels")
    op.drop_index("ix_labels_company_project", table_name="labels")
    op.drop_table("labels")
    op.execute("DROP TYPE notification_kind")
    # PostgreSQL cannot drop an enum value: rebuild task_status without the portal's two states.
    op.execute("UPDATE tasks SET status = 'done' WHERE status IN ('approved', 'rejected')")
    op.execute("ALTER TABLE tasks ALTER COLUMN status DROP DEFAULT")
    op.execute("ALTER TYPE task_status RENAME TO task_status_with_approvals")
    labels = ", ".join(f"'{value}'" for value in OLD_TASK_STATUSES)
    op.execute(f"CREATE TYPE task_status AS ENUM ({labels})")
    op.execute("ALTER TABLE tasks ALTER COLUMN status TYPE task_status USING status::text::task_status")
    op.execute("ALTER TABLE tasks ALTER COLUMN status SET DEFAULT 'todo'")
    op.execute("DROP TYPE task_status_with_approvals")
