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
    NotificationKind,
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
from models.billing import (  # noqa: E402
    Invoice,
    InvoiceCounter,
    InvoiceLineItem,
    Payment,
    PendingCharge,
    Plan,
    ProviderEvent,
    Subscription,
    Trial,
)
from models.tenancy import Company, Invitation, SignupVerification, User, UserSession  # noqa: E402
from models.work import (  # noqa: E402
    Label,
    Notification,
    Project,
    ProjectMember,
    StoredFile,
    Task,
    TaskComment,
    TaskFollower,
    TaskLabel,
)

metadata = SQLModel.metadata

# Tables whose rows belong to one company (row-level security applies to these).
TENANT_TABLES = (
    "users",
    "invitations",
    "signup_verifications",
    "projects",
    "project_members",
    "tasks",
    "labels",
    "task_labels",
    "task_followers",
    "notifications",
    "task_comments",
    "files",
    "subscriptions",
    "trials",
    "invoices",
    "invoice_line_items",
    "payments",
    "invoice_counters",
    "pending_charges",
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
    "InvoiceCounter",
    "InvoiceLineItem",
    "InvoiceStatus",
    "Label",
    "Notification",
    "NotificationKind",
    "Payment",
    "PaymentMethod",
    "PaymentStatus",
    "PendingCharge",
    "Plan",
    "Project",
    "ProjectMember",
    "ProjectStatus",
    "ProviderEvent",
    "Role",
    "SignupVerification",
    "StoredFile",
    "Subscription",
    "SubscriptionStatus",
    "Task",
    "TaskComment",
    "TaskFollower",
    "TaskLabel",
    "TaskPriority",
    "TaskStatus",
    "Trial",
    "TrialStatus",
    "User",
    "UserSession",
    "metadata",
    "utcnow",
]
