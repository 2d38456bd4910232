"""Plans (the operator's catalogue), subscriptions, trials, invoices, line items and payments.

Money is stored as integer minor units (cents, kopecks) beside an ISO-4217 currency code.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import (
    BillingInterval,
    InvoiceStatus,
    PaymentMethod,
    PaymentStatus,
    SubscriptionStatus,
    TrialStatus,
    pg_enum,
    tz_column,
    uuid_pk,
)
from models.work import company_fk_column

CURRENCY_CHECK = "currency ~ '^[A-Z]{3}$'"


def plan_fk_column(*, nullable: bool = False) -> sa.Column[uuid.UUID]:
    # A plan that anything points to cannot be deleted: retire it with is_active = false.
    return sa.Column(sa.Uuid, sa.ForeignKey("plans.id", ondelete="RESTRICT"), nullable=nullable, index=True)


class Plan(SQLModel, table=True):
    __tablename__ = "plans"
    __table_args__ = (
        sa.CheckConstraint(CURRENCY_CHECK, name="currency_iso"),
        sa.CheckConstraint("price_minor >= 0", name="price_not_negative"),
        sa.CheckConstraint("max_seats > 0 AND max_projects > 0 AND max_storage_mb > 0", name="limits_positive"),
    )

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=100)
    price_minor: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    currency: str = Field(default="USD", max_length=3)
    interval: BillingInterval = pg_enum(BillingInterval, "billing_interval", default=BillingInterval.MONTH)
    max_seats: int
    max_projects: int
    max_storage_mb: int
    trial_days: int = Field(default=14, sa_column_kwargs={"server_default": "14"})
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    created_at: datetime = tz_column(nullable=False, server_now=True)
    updated_at: datetime = tz_column(nullable=False, server_now=True, onupdate=True)


class Subscription(SQLModel, table=True):
    __tablename__ = "subscriptions"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "id"),
        # At most one subscription per company that is still alive.
        sa.Index(
            "uq_subscriptions_one_live_per_company",
            "company_id",
            unique=True,
            postgresql_where=sa.text("status NOT IN ('canceled', 'incomplete_expired')"),
        ),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    plan_id: uuid.UUID = Field(sa_column=plan_fk_column())
    status: SubscriptionStatus = pg_enum(SubscriptionStatus, "subscription_status", default=SubscriptionStatus.ACTIVE)
    current_period_start: datetime = tz_column(nullable=False)
    # The first period's start: every period end is counted from it (Jan 31 -> Feb 28 -> Mar 31).
    period_anchor: datetime | None = tz_column()
    current_period_end: datetime = tz_column(nullable=False)
    # A downgrade waiting for the period end (services.billing.subscriptions).
    scheduled_plan_id: uuid.UUID | None = Field(default=None, sa_column=plan_fk_column(nullable=True))
    cancel_at_period_end: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    canceled_at: datetime | None = tz_column()
    created_at: datetime = tz_column(nullable=False, server_now=True)
    updated_at: datetime = tz_column(nullable=False, server_now=True, onupdate=True)


class Trial(SQLModel, table=True):
    """The free trial a company gets at sign-up (one per company)."""

    __tablename__ = "trials"

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    plan_id: uuid.UUID = Field(sa_column=plan_fk_column())
    status: TrialStatus = pg_enum(TrialStatus, "trial_status", default=TrialStatus.ACTIVE)
    started_at: datetime = tz_column(nullable=False, server_now=True)
    ends_at: datetime = tz_column(nullable=False)
    converted_at: datetime | None = tz_column()


class Invoice(SQLModel, table=True):
    __tablename__ = "invoices"
    __table_args__ = (
        sa.UniqueConstraint("company_id", "id"),
        sa.UniqueConstraint("company_id", "number"),
        sa.ForeignKeyConstraint(
            ["company_id", "subscription_id"],
            ["subscriptions.company_id", "subscriptions.id"],
            ondelete="SET NULL (subscription_id)",
        ),
        sa.CheckConstraint(CURRENCY_CHECK, name="currency_iso"),
        sa.CheckConstraint(
            "subtotal_minor >= 0 AND tax_minor >= 0 AND total_minor = subtotal_minor + tax_minor", name="totals_add_up"
        ),
        sa.Index("ix_invoices_company_status", "company_id", "status", "issued_at"),
        # One live invoice per subscription period: the worker may run twice, or twice at once.
        sa.Index(
            "uq_invoices_subscription_period",
            "subscription_id",
            "period_start",
            unique=True,
            postgresql_where=sa.text("subscription_id IS NOT NULL AND status <> 'void'"),
        ),
        sa.CheckConstraint("tax_rate_bp >= 0 AND tax_rate_bp <= 10000", name="tax_rate_range"),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    subscription_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    plan_id: uuid.UUID | None = Field(default=None, sa_column=plan_fk_column(nullable=True))
    number: str = Field(max_length=40)
    status: InvoiceStatus = pg_enum(InvoiceStatus, "invoice_status", default=InvoiceStatus.DRAFT)
    currency: str = Field(default="USD", max_length=3)
    subtotal_minor: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))
    tax_minor: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))
    tax_rate_bp: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # basis points: 2000 = 20 %
    total_minor: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))
    bill_to_name: str = Field(max_length=200)
    void_reason: str = Field(default="", max_length=300, sa_column_kwargs={"server_default": ""})
    # Reminders sent about this invoice: 1 overdue, 2 final notice (the subscription went unpaid).
    dunning_level: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    period_start: datetime | None = tz_column()
    period_end: datetime | None = tz_column()
    issued_at: datetime | None = tz_column()
    due_at: datetime | None = tz_column()
    paid_at: datetime | None = tz_column()
    voided_at: datetime | None = tz_column()
    created_at: datetime = tz_column(nullable=False, server_now=True)
    updated_at: datetime = tz_column(nullable=False, server_now=True, onupdate=True)


class InvoiceLineItem(SQLModel, table=True):
    __tablename__ = "invoice_line_items"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["company_id", "invoice_id"], ["invoices.company_id", "invoices.id"], ondelete="CASCADE"
        ),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("amount_minor = quantity * unit_price_minor", name="amount_adds_up"),
        sa.Index("ix_invoice_line_items_invoice", "company_id", "invoice_id"),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    invoice_id: uuid.UUID
    description: str = Field(max_length=300)
    quantity: int = Field(default=1)
    unit_price_minor: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    amount_minor: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class Payment(SQLModel, table=True):
    """A payment against an invoice (a refund: a negative amount with a reason). Deleting an invoice that has payments is refused (NO ACTION);
    deleting the whole company removes both in one statement."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.ForeignKeyConstraint(["company_id", "invoice_id"], ["invoices.company_id", "invoices.id"]),
        sa.ForeignKeyConstraint(
            ["company_id", "recorded_by_id"], ["users.company_id", "users.id"], ondelete="SET NULL (recorded_by_id)"
        ),
        sa.CheckConstraint(CURRENCY_CHECK, name="currency_iso"),
        # A refund is a negative payment and says why.
        sa.CheckConstraint("amount_minor <> 0", name="amount_not_zero"),
        sa.CheckConstraint("amount_minor > 0 OR reason <> ''", name="refund_has_reason"),
        sa.Index("ix_payments_invoice", "company_id", "invoice_id"),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    invoice_id: uuid.UUID
    amount_minor: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    currency: str = Field(default="USD", max_length=3)
    status: PaymentStatus = pg_enum(PaymentStatus, "payment_status", default=PaymentStatus.PENDING)
    method: PaymentMethod = pg_enum(PaymentMethod, "payment_method", default=PaymentMethod.MANUAL)
    reference: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    reason: str = Field(default="", max_length=300, sa_column_kwargs={"server_default": ""})
    recorded_by_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    paid_at: datetime | None = tz_column()
    created_at: datetime = tz_column(nullable=False, server_now=True)


class InvoiceCounter(SQLModel, table=True):
    """The last invoice number a company used in a year: locked (upsert) in the transaction that
    issues the invoice, so numbers have no gaps and no duplicates."""

    __tablename__ = "invoice_counters"

    company_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True)
    )
    year: int = Field(primary_key=True)
    last_number: int = Field(default=0)


class PendingCharge(SQLModel, table=True):
    """A charge waiting for the company's next invoice (an upgrade's proration); invoice_id is set
    when an invoice took it."""

    __tablename__ = "pending_charges"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["company_id", "subscription_id"], ["subscriptions.company_id", "subscriptions.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["company_id", "invoice_id"], ["invoices.company_id", "invoices.id"], ondelete="SET NULL (invoice_id)"
        ),
        sa.CheckConstraint(CURRENCY_CHECK, name="currency_iso"),
        sa.Index(
            "ix_pending_charges_open", "company_id", "subscription_id", postgresql_where=sa.text("invoice_id IS NULL")
        ),
    )

    id: uuid.UUID = uuid_pk()
    company_id: uuid.UUID = Field(sa_column=company_fk_column())
    subscription_id: uuid.UUID
    invoice_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True))
    description: str = Field(max_length=300)
    amount_minor: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    currency: str = Field(max_length=3)
    created_at: datetime = tz_column(nullable=False, server_now=True)


class ProviderEvent(SQLModel, table=True):
    """A payment provider's webhook event already processed (its id), stored in the transaction that
    applied it: a replay, or two deliveries at once, find it and change nothing."""

    __tablename__ = "provider_events"

    event_id: str = Field(max_length=200, primary_key=True)
    kind: str = Field(max_length=60)
    received_at: datetime = tz_column(nullable=False, server_now=True)
