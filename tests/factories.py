"""Small row builders for tests on the real database.

Each helper adds one row, flushes (so constraints fire at once) and returns it. Defaults are valid
and unique; pass keyword arguments to override any column. Nothing here commits: use them with
the `db` fixture, whose transaction is rolled back after the test.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from datetime import timedelta
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel

from models import (
    AuditLog,
    Company,
    FileKind,
    Invitation,
    Invoice,
    InvoiceLineItem,
    Label,
    Notification,
    NotificationKind,
    PasswordReset,
    Payment,
    Plan,
    Project,
    ProjectMember,
    RecoveryCode,
    Role,
    SignupVerification,
    SsoProvider,
    StoredFile,
    Subscription,
    SubscriptionStatus,
    Task,
    TaskComment,
    TaskFollower,
    TaskLabel,
    Trial,
    TrustedBrowser,
    TwoFactorCredential,
    User,
    UserSession,
    utcnow,
)
from services.core.actor import Actor

Row = TypeVar("Row", bound=SQLModel)


def _unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def save(db: Session, row: Row) -> Row:
    db.add(row)
    db.flush()
    return row


# ---- tenancy -----------------------------------------------------------------------------


def make_company(db: Session, name: str = "Acme", **fields: Any) -> Company:
    fields.setdefault("slug", _unique(name.lower().replace(" ", "-")))
    return save(db, Company(name=name, **fields))


def make_user(
    db: Session, company: Company | None, role: Role = Role.WORKER, email: str | None = None, **fields: Any
) -> User:
    """A user of `company`; pass company=None with role=Role.ADMIN for the operator."""
    fields.setdefault("full_name", f"{role.value.title()} {secrets.token_hex(2)}")
    fields.setdefault("password_hash", "not-a-real-hash")
    return save(
        db,
        User(
            company_id=company.id if company else None,
            role=role,
            email=email or f"{_unique(role.value)}@example.com",
            **fields,
        ),
    )


def make_admin(db: Session, email: str | None = None, **fields: Any) -> User:
    return make_user(db, None, Role.ADMIN, email, **fields)


def operator_actor() -> Actor:
    """The operator's Actor without a user row: the app role's scope for setting up several companies."""
    return Actor(user_id=uuid.uuid4(), company_id=None, role=Role.ADMIN, full_name="Operator", email="op@example.com")


def make_session(db: Session, user: User, **fields: Any) -> UserSession:
    fields.setdefault("absolute_expires_at", utcnow() + timedelta(hours=12))
    return save(db, UserSession(user_id=user.id, token_hash=secrets.token_hex(32), **fields))


def make_invitation(
    db: Session, company: Company, invited_by: User | None = None, role: Role = Role.WORKER, **fields: Any
) -> Invitation:
    fields.setdefault("email", f"{_unique('invitee')}@example.com")
    fields.setdefault("expires_at", utcnow() + timedelta(days=7))
    return save(
        db,
        Invitation(
            company_id=company.id,
            role=role,
            token_hash=secrets.token_hex(32),
            invited_by_id=invited_by.id if invited_by else None,
            **fields,
        ),
    )


def make_signup_verification(db: Session, company: Company, user: User, **fields: Any) -> SignupVerification:
    """A sign-up waiting for its link (the manager should be inactive, as sign-up leaves it)."""
    fields.setdefault("expires_at", utcnow() + timedelta(hours=24))
    fields.setdefault("token_hash", secrets.token_hex(32))
    return save(db, SignupVerification(company_id=company.id, user_id=user.id, **fields))


def make_password_reset(db: Session, user: User, **fields: Any) -> PasswordReset:
    """A "forgot password" link of `user` (in the user's company), unused and valid for 30 minutes."""
    fields.setdefault("expires_at", utcnow() + timedelta(minutes=30))
    fields.setdefault("token_hash", secrets.token_hex(32))
    return save(db, PasswordReset(company_id=user.company_id, user_id=user.id, **fields))


def make_trusted_browser(db: Session, user: User, **fields: Any) -> TrustedBrowser:
    """A browser `user` trusted to skip the second step (30 days)."""
    fields.setdefault("expires_at", utcnow() + timedelta(days=30))
    fields.setdefault("token_hash", secrets.token_hex(32))
    return save(db, TrustedBrowser(company_id=user.company_id, user_id=user.id, **fields))


def make_two_factor(db: Session, user: User) -> TwoFactorCredential:
    """A confirmed (made-up, encrypted-looking) two-factor key of `user` and one recovery code."""
    save(db, RecoveryCode(company_id=user.company_id, user_id=user.id, code_hash=secrets.token_hex(32)))
    return save(
        db,
        TwoFactorCredential(
            company_id=user.company_id, user_id=user.id, secret_encrypted=secrets.token_hex(40), confirmed_at=utcnow()
        ),
    )


def make_sso_provider(db: Session, company: Company, **fields: Any) -> SsoProvider:
    """The company's OpenID Connect provider (made-up issuer and secret)."""
    fields.setdefault("name", "Company IdP")
    fields.setdefault("issuer", "https://idp.example.com")
    fields.setdefault("client_id", _unique("client"))
    fields.setdefault("client_secret_encrypted", secrets.token_hex(40))
    return save(db, SsoProvider(company_id=company.id, **fields))


# ---- work --------------------------------------------------------------------------------


_project_keys = itertools.count(1)


def make_project(
    db: Session, company: Company, name: str = "Website", created_by: User | None = None, **fields: Any
) -> Project:
    fields.setdefault("key", f"P{next(_project_keys)}")
    return save(
        db, Project(company_id=company.id, name=name, created_by_id=created_by.id if created_by else None, **fields)
    )


def add_member(db: Session, project: Project, user: User, **fields: Any) -> ProjectMember:
    fields.setdefault("company_id", project.company_id)
    return save(db, ProjectMember(project_id=project.id, user_id=user.id, **fields))


def make_task(
    db: Session,
    project: Project,
    title: str = "Do the thing",
    assignee: User | None = None,
    created_by: User | None = None,
    **fields: Any,
) -> Task:
    fields.setdefault("company_id", project.company_id)
    if "number" not in fields:
        # As the service does: the project's counter issues the number.
        project.task_counter += 1
        db.add(project)
        fields["number"] = project.task_counter
    return save(
        db,
        Task(
            project_id=project.id,
            title=title,
            assignee_id=assignee.id if assignee else None,
            created_by_id=created_by.id if created_by else None,
            **fields,
        ),
    )


def make_comment(db: Session, task: Task, author: User | None, body: str = "Looks good", **fields: Any) -> TaskComment:
    fields.setdefault("company_id", task.company_id)
    fields.setdefault("author_name", author.full_name if author else "Someone")
    return save(db, TaskComment(task_id=task.id, author_id=author.id if author else None, body=body, **fields))


def make_label(db: Session, project: Project, name: str = "Bug", **fields: Any) -> Label:
    fields.setdefault("company_id", project.company_id)
    return save(db, Label(project_id=project.id, name=name, **fields))


def label_task(db: Session, task: Task, label: Label) -> TaskLabel:
    return save(db, TaskLabel(task_id=task.id, label_id=label.id, company_id=task.company_id))


def follow(db: Session, task: Task, user: User) -> TaskFollower:
    return save(db, TaskFollower(task_id=task.id, user_id=user.id, company_id=task.company_id))


def make_notification(
    db: Session, user: User, task: Task | None = None, kind: NotificationKind = NotificationKind.ASSIGNED, **fields: Any
) -> Notification:
    fields.setdefault("company_id", user.company_id)
    return save(db, Notification(user_id=user.id, task_id=task.id if task else None, kind=kind, **fields))


def make_file(
    db: Session,
    company: Company,
    task: Task | None = None,
    project: Project | None = None,
    uploaded_by: User | None = None,
    **fields: Any,
) -> StoredFile:
    """A task attachment when `task` is given, otherwise a company file."""
    fields.setdefault("kind", FileKind.TASK_ATTACHMENT if task else FileKind.COMPANY_FILE)
    fields.setdefault("storage_key", f"companies/{company.id}/files/{uuid.uuid4()}")
    fields.setdefault("original_name", "report.pdf")
    fields.setdefault("display_name", fields["original_name"])
    fields.setdefault("content_type", "application/pdf")
    fields.setdefault("size_bytes", 1024)
    fields.setdefault("sha256", "0" * 64)
    return save(
        db,
        StoredFile(
            company_id=company.id,
            task_id=task.id if task else None,
            project_id=project.id if project else (task.project_id if task else None),
            uploaded_by_id=uploaded_by.id if uploaded_by else None,
            **fields,
        ),
    )


# ---- billing -----------------------------------------------------------------------------


def make_plan(db: Session, code: str | None = None, price_minor: int = 2900, **fields: Any) -> Plan:
    fields.setdefault("name", "Team")
    fields.setdefault("max_seats", 10)
    fields.setdefault("max_projects", 20)
    fields.setdefault("max_storage_mb", 5000)
    return save(db, Plan(code=code or _unique("plan"), price_minor=price_minor, **fields))


def make_subscription(
    db: Session, company: Company, plan: Plan, status: SubscriptionStatus = SubscriptionStatus.ACTIVE, **fields: Any
) -> Subscription:
    fields.setdefault("current_period_start", utcnow())
    fields.setdefault("current_period_end", utcnow() + timedelta(days=30))
    return save(db, Subscription(company_id=company.id, plan_id=plan.id, status=status, **fields))


def make_trial(db: Session, company: Company, plan: Plan, **fields: Any) -> Trial:
    fields.setdefault("ends_at", utcnow() + timedelta(days=plan.trial_days))
    return save(db, Trial(company_id=company.id, plan_id=plan.id, **fields))


def make_invoice(
    db: Session,
    company: Company,
    plan: Plan | None = None,
    subscription: Subscription | None = None,
    subtotal_minor: int = 2900,
    tax_minor: int = 0,
    **fields: Any,
) -> Invoice:
    fields.setdefault("number", _unique("INV"))
    fields.setdefault("bill_to_name", company.name)
    fields.setdefault("total_minor", subtotal_minor + tax_minor)
    return save(
        db,
        Invoice(
            company_id=company.id,
            plan_id=plan.id if plan else None,
            subscription_id=subscription.id if subscription else None,
            subtotal_minor=subtotal_minor,
            tax_minor=tax_minor,
            **fields,
        ),
    )


def make_line_item(
    db: Session, invoice: Invoice, quantity: int = 1, unit_price_minor: int = 2900, **fields: Any
) -> InvoiceLineItem:
    fields.setdefault("company_id", invoice.company_id)
    fields.setdefault("description", "Team plan, one month")
    fields.setdefault("amount_minor", quantity * unit_price_minor)
    return save(
        db, InvoiceLineItem(invoice_id=invoice.id, quantity=quantity, unit_price_minor=unit_price_minor, **fields)
    )


def make_payment(db: Session, invoice: Invoice, recorded_by: User | None = None, **fields: Any) -> Payment:
    fields.setdefault("company_id", invoice.company_id)
    fields.setdefault("amount_minor", invoice.total_minor or 1)
    fields.setdefault("currency", invoice.currency)
    return save(db, Payment(invoice_id=invoice.id, recorded_by_id=recorded_by.id if recorded_by else None, **fields))


# ---- audit -------------------------------------------------------------------------------


def make_audit(
    db: Session, company: Company | None, actor: User | None = None, action: str = "test.action", **fields: Any
) -> AuditLog:
    return save(
        db,
        AuditLog(
            company_id=company.id if company else None,
            actor_user_id=actor.id if actor else None,
            actor_email=actor.email if actor else "",
            actor_role=actor.role.value if actor else "",
            action=action,
            **fields,
        ),
    )
