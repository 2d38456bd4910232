"""SQLModel tables and enums only. Importing this package registers every table on the metadata."""

from sqlmodel import SQLModel

from models.base import NAMING_CONVENTION

SQLModel.metadata.naming_convention = NAMING_CONVENTION

from models.audit import AuditLog  # noqa: E402
from models.base import (  # noqa: E402
    ApprovalStatus,
    BillingInterval,
    CompanyStatus,
    FileKind,
    InvoiceStatus,
    PaymentMethod,
    PaymentStatus,
    ProjectStatus,
    Role,
    SubscriptionStatus,
    TaskPriority,
    TaskStatus,
    TrialStatus,
    utcnow,
)
from models.billing import Invoice, InvoiceLineItem, Payment, Plan, Subscription, Trial  # noqa: E402
from models.tenancy import Company, Invitation, SignupVerification, User, UserSession  # noqa: E402
from models.work import Project, ProjectMember, StoredFile, Task, TaskComment  # noqa: E402

metadata = SQLModel.metadata

# Tables whose rows belong to one company (row-level security applies to these).
TENANT_TABLES = (
    "users",
    "invitations",
    "signup_verifications",
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

__all__ = [
    "TENANT_TABLES",
    "ApprovalStatus",
    "AuditLog",
    "BillingInterval",
    "Company",
    "CompanyStatus",
    "FileKind",
    "Invitation",
    "Invoice",
    "InvoiceLineItem",
    "InvoiceStatus",
    "Payment",
    "PaymentMethod",
    "PaymentStatus",
    "Plan",
    "Project",
    "ProjectMember",
    "ProjectStatus",
    "Role",
    "SignupVerification",
    "StoredFile",
    "Subscription",
    "SubscriptionStatus",
    "Task",
    "TaskComment",
    "TaskPriority",
    "TaskStatus",
    "Trial",
    "TrialStatus",
    "User",
    "UserSession",
    "metadata",
    "utcnow",
]
