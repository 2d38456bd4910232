"""billing: read-only companies, scheduled downgrades, invoice numbers, pending charges, refunds

Revision ID: 466f56142e8a
Revises: b4f2b4b3cebb
Create Date: 2026-12-02 01:00:00.000000+00:00

- companies.read_only_at: from this moment the company is read-only (trial over, subscription ended
  or unpaid); kept by services.billing, enforced by services.core.policy. Existing companies with a
  trial and no live subscription get their trial's end.
- subscriptions.scheduled_plan_id -> plans ON DELETE RESTRICT: a downgrade waiting for the period end;
  subscriptions.period_anchor: the first period's start, every period end is counted from it.
- invoices: tax_rate_bp (basis points), void_reason and dunning_level (reminders sent); the partial unique index
  uq_invoices_subscription_period (one live invoice per subscription period: a job that runs twice,
  or two workers at once, cannot bill twice); a trigger refuses to change an issued (non-draft)
  invoice's number, money, currency, period or bill-to name, and any line of it (void and reissue).
- payments: a refund is a negative amount with a reason (amount_positive becomes amount_not_zero and
  refund_has_reason); column reason.
- invoice_counters (company, year, last number; locked by the issuing transaction) and
  pending_charges (an upgrade's proration waiting for the next invoice): tenant tables with the three
  policies of revision 2e342e4406e4 and the app and system roles' grants (as c95fb22ff052 does).
  Foreign keys (docs/db_cascades.md): company_id -> companies CASCADE; pending_charges
  (company_id, subscription_id) -> subscriptions CASCADE, (company_id, invoice_id) -> invoices
  SET NULL (invoice_id).
- provider_events: the ids of payment-provider webhook events already applied (replays change
  nothing). Company-free (like plans): no row-level security; both roles get the usual grants.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision: str = "466f56142e8a"
down_revision: str | Sequence[str] | None = "b4f2b4b3cebb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_TABLES = ("invoice_counters", "pending_charges")
SCHEMA = "workdash_rls"
POLICIES = (
    ("tenant_isolation", f"(company_id = (SELECT {SCHEMA}.company()))", "PUBLIC"),
    ("operator_access", f"((SELECT {SCHEMA}.is_operator()))", "PUBLIC"),
    ("owner_maintenance", "(current_setting('app.rls_bypass', true) = 'on')", "CURRENT_USER"),
)
FROZEN_COLUMNS = (
    "number",
    "currency",
    "subtotal_minor",
    "tax_minor",
    "tax_rate_bp",
    "total_minor",
    "bill_to_name",
    "period_start",
    "period_end",
    "company_id",
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
    op.add_column("companies", sa.Column("read_only_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("subscriptions", sa.Column("scheduled_plan_id", sa.Uuid(), nullable=True))
    op.add_column("subscriptions", sa.Column("period_anchor", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_subscriptions_scheduled_plan_id_plans"),
        "subscriptions",
        "plans",
        ["scheduled_plan_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.create_index(op.f("ix_subscriptions_scheduled_plan_id"), "subscriptions", ["scheduled_plan_id"])

    op.add_column("invoices", sa.Column("tax_rate_bp", sa.Integer(), server_default="0", nullable=False))
    op.add_column("invoices", sa.Column("void_reason", sa.String(length=300), server_default="", nullable=False))
    op.add_column("invoices", sa.Column("dunning_level", sa.Integer(), server_default="0", nullable=False))
    op.create_check_constraint(
        op.f("ck_invoices_tax_rate_range"), "invoices", "tax_rate_bp >= 0 AND tax_rate_bp <= 10000"
    )
    op.create_index(
        "uq_invoices_subscription_period",
        "invoices",
        ["subscription_id", "period_start"],
        unique=True,
        postgresql_where=sa.text("subscription_id IS NOT NULL AND status <> 'void'"),
    )

    op.add_column("payments", sa.Column("reason", sa.String(length=300), server_default="", nullable=False))
    op.drop_constraint(op.f("ck_payments_amount_positive"), "payments", type_="check")
    op.create_check_constraint(op.f("ck_payments_amount_not_zero"), "payments", "amount_minor <> 0")
    op.create_check_constraint(op.f("ck_payments_refund_has_reason"), "payments", "amount_minor > 0 OR reason <> ''")

    op.create_table(
        "invoice_counters",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_invoice_counters_company_id_companies"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("company_id", "year", name=op.f("pk_invoice_counters")),
    )
    op.create_table(
        "pending_charges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_pending_charges_currency_iso")),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_pending_charges_company_id_companies"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "subscription_id"],
            ["subscriptions.company_id", "subscriptions.id"],
            name=op.f("fk_pending_charges_company_id_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "invoice_id"],
            ["invoices.company_id", "invoices.id"],
            name=op.f("fk_pending_charges_company_id_invoice_id_invoices"),
            ondelete="SET NULL (invoice_id)",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_charges")),
    )
    op.create_table(
        "provider_events",
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_provider_events")),
    )
    op.create_index(
        "ix_pending_charges_open",
        "pending_charges",
        ["company_id", "subscription_id"],
        postgresql_where=sa.text("invoice_id IS NULL"),
    )

    # An issued invoice is a legal record: void and reissue instead of changing it.
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FROZEN_COLUMNS)
    op.execute(
        "CREATE FUNCTION workdash_invoice_frozen() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        f"  IF OLD.status <> 'draft' AND ({changed}) THEN\n"
        "    RAISE EXCEPTION 'invoice % is issued: void it and issue a new one', OLD.number\n"
        "      USING ERRCODE = 'check_violation';\n"
        "  END IF;\n"
        "  RETURN NEW;\n"
        "END $$"
    )
    op.execute(
        "CREATE TRIGGER invoices_frozen BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION workdash_invoice_frozen()"
    )
    op.execute(
        "CREATE FUNCTION workdash_invoice_lines_frozen() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "BEGIN\n"
        "  IF EXISTS (SELECT FROM invoices WHERE id = NEW.invoice_id AND status <> 'draft') THEN\n"
        "    RAISE EXCEPTION 'the invoice of this line is issued' USING ERRCODE = 'check_violation';\n"
        "  END IF;\n"
        "  RETURN NEW;\n"
        "END $$"
    )
    op.execute(
        "CREATE TRIGGER invoice_line_items_frozen BEFORE INSERT OR UPDATE ON invoice_line_items "
        "FOR EACH ROW EXECUTE FUNCTION workdash_invoice_lines_frozen()"
    )

    for table in NEW_TABLES:
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
    tables = ", ".join((*NEW_TABLES, "provider_events"))
    op.execute(if_role_exists(role, f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {tables} TO "{role}"'))
    op.execute(if_role_exists(system_role(), f'GRANT SELECT, INSERT, UPDATE ON TABLE {tables} TO "{system_role()}"'))

    # Companies on a trial without a live subscription become read-only when the trial ends.
    op.execute("SELECT set_config('app.rls_bypass', 'on', true)")
    op.execute(
        "UPDATE companies c SET read_only_at = t.ends_at FROM trials t WHERE t.company_id = c.id "
        "AND NOT EXISTS (SELECT FROM subscriptions s WHERE s.company_id = c.id "
        "AND s.status NOT IN ('canceled', 'incomplete_expired'))"
    )


def downgrade() -> None:
    for role in (app_role(), system_role()):
        op.execute(if_role_exists(role, f'REVOKE ALL ON TABLE {", ".join(NEW_TABLES)}, provider_events FROM "{role}"'))
    op.execute("DROP TRIGGER invoice_line_items_frozen ON invoice_line_items")
    op.execute("DROP FUNCTION workdash_invoice_lines_frozen()")
    op.execute("DROP TRIGGER invoices_frozen ON invoices")
    op.execute("DROP FUNCTION workdash_invoice_frozen()")
    op.drop_table("provider_events")
    op.drop_table("pending_charges")
    op.drop_table("invoice_counters")
    op.execute("SELECT set_config('app.rls_bypass', 'on', true)")
    op.execute("DELETE FROM payments WHERE amount_minor < 0")  # refunds cannot exist before this revision
    op.drop_constraint(op.f("ck_payments_refund_has_reason"), "payments", type_="check")
    op.drop_constraint(op.f("ck_payments_amount_not_zero"), "payments", type_="check")
    op.create_check_constraint(op.f("ck_payments_amount_positive"), "payments", "amount_minor > 0")
    op.drop_column("payments", "reason")
    op.drop_index("uq_invoices_subscription_period", table_name="invoices")
    op.drop_constraint(op.f("ck_invoices_tax_rate_range"), "invoices", type_="check")
    op.drop_column("invoices", "void_reason")
    op.drop_column("invoices", "dunning_level")
    op.drop_column("invoices", "tax_rate_bp")
    op.drop_index(op.f("ix_subscriptions_scheduled_plan_id"), table_name="subscriptions")
    op.drop_constraint(op.f("fk_subscriptions_scheduled_plan_id_plans"), "subscriptions", type_="foreignkey")
    op.drop_column("subscriptions", "scheduled_plan_id")
    op.drop_column("subscriptions", "period_anchor")
    op.drop_column("companies", "read_only_at")
