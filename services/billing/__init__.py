"""Billing: plans, limits, trials, subscriptions, invoices, payments and their periodic jobs.

This module is the domain's public surface: other domains and the UI import only these names.
"""

from services.billing.account import set_read_only_at, start_trial
from services.billing.console import (
    MonthAmount,
    SubscriptionRow,
    list_subscriptions,
    monthly_price,
    mrr_by_month,
    revenue_by_month,
)
from services.billing.invoices import (
    INVOICE_MAIL_TASK,
    InvoiceFilter,
    InvoiceInfo,
    LineInfo,
    PaymentInfo,
    get_invoice,
    list_invoices,
    list_payments,
    send_invoice_mail,
    void_invoice,
)
from services.billing.jobs import chase_overdue, expire_trials, renew_subscriptions, run_billing_jobs
from services.billing.limits import (
    Limits,
    Usage,
    check_project_limit,
    check_seat_limit,
    check_storage_limit,
    plan_of,
    usage_of,
)
from services.billing.money import format_money, prorate, tax_of, totals
from services.billing.payments import record_payment, refund_payment
from services.billing.pdf import invoice_pdf
from services.billing.plans import (
    PlanInfo,
    PlanInput,
    create_plan,
    list_plans,
    save_plan,
    set_plan_active,
    update_plan,
)
from services.billing.subscriptions import (
    BillingOverview,
    Meter,
    PlanChange,
    cancel,
    change_plan,
    choose_plan,
    days_left,
    overview,
    resume,
    subscribe,
)
from services.billing.webhooks import SIGNATURE_HEADER, WebhookAnswer, handle_provider_event, sign

__all__ = [
    "INVOICE_MAIL_TASK",
    "SIGNATURE_HEADER",
    "BillingOverview",
    "InvoiceFilter",
    "InvoiceInfo",
    "Limits",
    "LineInfo",
    "Meter",
    "MonthAmount",
    "PaymentInfo",
    "PlanChange",
    "PlanInfo",
    "PlanInput",
    "SubscriptionRow",
    "Usage",
    "WebhookAnswer",
    "cancel",
    "change_plan",
    "chase_overdue",
    "check_project_limit",
    "check_seat_limit",
    "check_storage_limit",
    "choose_plan",
    "create_plan",
    "days_left",
    "expire_trials",
    "format_money",
    "get_invoice",
    "handle_provider_event",
    "invoice_pdf",
    "list_invoices",
    "list_payments",
    "list_plans",
    "list_subscriptions",
    "monthly_price",
    "mrr_by_month",
    "overview",
    "plan_of",
    "prorate",
    "record_payment",
    "refund_payment",
    "renew_subscriptions",
    "resume",
    "revenue_by_month",
    "run_billing_jobs",
    "save_plan",
    "send_invoice_mail",
    "set_plan_active",
    "set_read_only_at",
    "sign",
    "start_trial",
    "subscribe",
    "tax_of",
    "totals",
    "update_plan",
    "usage_of",
    "void_invoice",
]
