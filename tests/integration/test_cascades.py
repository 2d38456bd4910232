"""Every rule of docs/db_cascades.md, proven on the real PostgreSQL schema (the migrated database).

Test names carry the rule ids of that document (c1, u1, ...). Each test runs in the rolled-back
`db` transaction; an expected refusal runs in a savepoint so the test can go on afterwards.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, func, select

from models import (
    AuditLog,
    Company,
    FileKind,
    Invitation,
    Invoice,
    InvoiceLineItem,
    InvoiceStatus,
    Label,
    Notification,
    Payment,
    PaymentStatus,
    Plan,
    Project,
    ProjectMember,
    Role,
    SignupVerification,
    StoredFile,
    Subscription,
    SubscriptionStatus,
    Task,
    TaskComment,
    TaskFollower,
    TaskLabel,
    Trial,
    TrialStatus,
    User,
    UserSession,
)
from services.core.db import apply_scope
from services.core.settings import PROJECT_ROOT
from tests.conftest import rolled_back_session
from tests.factories import (
    add_member,
    follow,
    label_task,
    make_admin,
    make_audit,
    make_comment,
    make_company,
    make_file,
    make_invitation,
    make_invoice,
    make_label,
    make_line_item,
    make_notification,
    make_payment,
    make_plan,
    make_project,
    make_session,
    make_signup_verification,
    make_subscription,
    make_task,
    make_trial,
    make_user,
    operator_actor,
)

if TYPE_CHECKING:
    pass

pytestmark = pytest.mark.integration

# A row of the docs' tables: | `fk_name` | columns | `ON DELETE action` | why |
DOC_ROW = re.compile(r"^\| `((?:fk|procrastinate)_\w+)` \| [^|]+ \| `([A-Z ()_a-z]+)` \|", re.MULTILINE)


def on_delete(definition: str) -> str:
    match = re.search(r"ON DELETE (.+)$", definition)
    return match.group(1) if match else "NO ACTION"  # pg_get_constraintdef omits the default


# ---- helpers ------------------------------------------------------------------------------


@contextmanager
def refused(db: Session, constraint: str) -> Iterator[None]:
    """The block must fail on exactly this constraint; the savepoint keeps the test's transaction usable."""
    with pytest.raises(IntegrityError) as failure, db.begin_nested():
        yield
    assert failure.value.orig is not None
    assert failure.value.orig.diag.constraint_name == constraint, str(failure.value.orig)


def delete(db: Session, model: type[SQLModel], row_id: Any) -> None:
    """One DELETE statement, as the services issue it; the database does the rest."""
    db.execute(sa.delete(model).where(model.id == row_id))  # type: ignore[attr-defined]
    db.expunge_all()  # the cascades changed rows behind the session's back: read them afresh


def count(db: Session, column: Any, ids: list[Any]) -> int:
    return db.exec(select(func.count()).where(column.in_(ids))).one()


@dataclass
class Tenant:
    """One company with a row in every company-owned table."""

    company: Company
    manager: User
    worker: User
    plan: Plan
    rows: dict[str, tuple[Any, list[Any]]] = field(default_factory=dict)  # table -> (id column, ids)


def populate(db: Session, name: str, plan: Plan) -> Tenant:
    company = make_company(db, name)
    manager = make_user(db, company, Role.MANAGER)
    worker = make_user(db, company, Role.WORKER)
    client = make_user(db, company, Role.CLIENT)
    project = make_project(db, company, created_by=manager)
    add_member(db, project, worker)
    task = make_task(db, project, assignee=worker, created_by=manager)
    comment = make_comment(db, task, client)
    label = make_label(db, project)
    label_task(db, task, label)
    follow(db, task, worker)
    notification = make_notification(db, worker, task, actor_id=manager.id)
    attachment = make_file(db, company, task=task, uploaded_by=worker)
    company_file = make_file(db, company, uploaded_by=manager)
    subscription = make_subscription(db, company, plan)
    trial = make_trial(db, company, plan, status=TrialStatus.CONVERTED)
    invoice = make_invoice(db, company, plan=plan, subscription=subscription)
    line = make_line_item(db, invoice)
    payment = make_payment(db, invoice, recorded_by=manager)
    invitation = make_invitation(db, company, invited_by=manager)
    verification = make_signup_verification(db, company, manager)
    session = make_session(db, worker)
    audit = make_audit(db, company, actor=manager)
    tenant = Tenant(company, manager, worker, plan)
    tenant.rows = {
        "companies": (Company.id, [company.id]),
        "users": (User.id, [manager.id, worker.id, client.id]),
        "sessions": (UserSession.id, [session.id]),
        "invitations": (Invitation.id, [invitation.id]),
        "signup_verifications": (SignupVerification.id, [verification.id]),
        "projects": (Project.id, [project.id]),
        "project_members": (ProjectMember.project_id, [project.id]),
        "tasks": (Task.id, [task.id]),
        "task_comments": (TaskComment.id, [comment.id]),
        "labels": (Label.id, [label.id]),
        "task_labels": (TaskLabel.label_id, [label.id]),
        "task_followers": (TaskFollower.task_id, [task.id]),
        "notifications": (Notification.id, [notification.id]),
        "files": (StoredFile.id, [attachment.id, company_file.id]),
        "subscriptions": (Subscription.id, [subscription.id]),
        "trials": (Trial.id, [trial.id]),
        "invoices": (Invoice.id, [invoice.id]),
        "invoice_line_items": (InvoiceLineItem.id, [line.id]),
        "payments": (Payment.id, [payment.id]),
        "audit_logs": (AuditLog.id, [audit.id]),
    }
    return tenant


def counts(db: Session, tenant: Tenant) -> dict[str, int]:
    return {table: count(db, column, ids) for table, (column, ids) in tenant.rows.items()}


@pytest.fixture
def plan(db: Session) -> Plan:
    return make_plan(db)


# ---- deleting a company -------------------------------------------------------------------


def test_c1_deleting_a_company_removes_all_its_rows_and_nothing_else(db: Session, plan: Plan) -> None:
    doomed = populate(db, "Doomed", plan)
    kept = populate(db, "Kept", plan)
    admin = make_admin(db)
    operator_entry = make_audit(db, None, actor=admin, action="plan.update")
    before = counts(db, kept)

    delete(db, Company, doomed.company.id)

    assert counts(db, doomed) == dict.fromkeys(doomed.rows, 0)
    assert counts(db, kept) == before
    assert all(before.values())
    assert db.get(Plan, plan.id) is not None  # plans are the operator's, shared by companies
    assert db.get(AuditLog, operator_entry.id) is not None


def test_c2_deleting_a_company_removes_invoices_with_their_payments_in_one_statement(db: Session, plan: Plan) -> None:
    company = make_company(db)
    invoice = make_invoice(db, company, plan=plan, status=InvoiceStatus.PAID)
    payment = make_payment(db, invoice, status=PaymentStatus.SUCCEEDED)

    delete(db, Company, company.id)  # payments → invoices is NO ACTION: checked at the end of the statement

    assert db.get(Invoice, invoice.id) is None
    assert db.get(Payment, payment.id) is None


# ---- deleting a user ----------------------------------------------------------------------


def test_u1_deleting_a_user_keeps_their_work_and_money_rows_and_clears_only_the_user_column(
    db: Session, plan: Plan
) -> None:
    company = make_company(db)
    gone = make_user(db, company, Role.MANAGER, full_name="Gone Manager")
    project = make_project(db, company, created_by=gone)
    task = make_task(db, project, assignee=gone, created_by=gone, approved_by_id=gone.id)
    comment = make_comment(db, task, gone)
    attachment = make_file(db, company, task=task, uploaded_by=gone)
    invoice = make_invoice(db, company, plan=plan)
    payment = make_payment(db, invoice, recorded_by=gone)
    invitation = make_invitation(db, company, invited_by=gone)
    audit = make_audit(db, company, actor=gone)

    delete(db, User, gone.id)

    kept = {
        "project": (db.get(Project, project.id), "created_by_id"),
        "task.assignee": (db.get(Task, task.id), "assignee_id"),
        "task.created_by": (db.get(Task, task.id), "created_by_id"),
        "task.approved_by": (db.get(Task, task.id), "approved_by_id"),
        "comment": (db.get(TaskComment, comment.id), "author_id"),
        "file": (db.get(StoredFile, attachment.id), "uploaded_by_id"),
        "payment": (db.get(Payment, payment.id), "recorded_by_id"),
        "invitation": (db.get(Invitation, invitation.id), "invited_by_id"),
        "audit": (db.get(AuditLog, audit.id), "actor_user_id"),
    }
    for what, (row, column) in kept.items():
        assert row is not None, f"{what} was deleted with its user"
        assert getattr(row, column) is None, what
        assert row.company_id == company.id, f"{what}: SET NULL must not touch company_id"
    assert db.exec(select(TaskComment.author_name).where(TaskComment.id == comment.id)).one() == "Gone Manager"
    assert db.exec(select(AuditLog.actor_email).where(AuditLog.id == audit.id)).one() == gone.email
    assert db.get(Invoice, invoice.id) is not None


def test_u2_deleting_a_user_removes_their_sessions_and_project_memberships(db: Session) -> None:
    company = make_company(db)
    worker = make_user(db, company)
    colleague = make_user(db, company)
    project = make_project(db, company)
    add_member(db, project, worker)
    add_member(db, project, colleague)
    session = make_session(db, worker)

    delete(db, User, worker.id)

    assert db.get(UserSession, session.id) is None
    members = db.exec(select(ProjectMember.user_id).where(ProjectMember.project_id == project.id)).all()
    assert members == [colleague.id]
    assert db.get(Project, project.id) is not None


def test_u3_deleting_an_admin_keeps_the_operator_audit_trail(db: Session) -> None:
    admin = make_admin(db)
    entry = make_audit(db, None, actor=admin, action="plan.create")

    delete(db, User, admin.id)

    kept = db.get(AuditLog, entry.id)
    assert kept is not None and kept.actor_user_id is None and kept.actor_email == admin.email


# ---- plans --------------------------------------------------------------------------------

PLAN_USERS: dict[str, tuple[Callable[[Session, Company, Plan], Any], str]] = {
    "subscription": (make_subscription, "fk_subscriptions_plan_id_plans"),
    "trial": (make_trial, "fk_trials_plan_id_plans"),
    "invoice": (lambda db, c, p: make_invoice(db, c, plan=p), "fk_invoices_plan_id_plans"),
}


@pytest.mark.parametrize("user_kind", PLAN_USERS)
def test_p1_a_plan_in_use_cannot_be_deleted(db: Session, plan: Plan, user_kind: str) -> None:
    build, constraint = PLAN_USERS[user_kind]
    build(db, make_company(db), plan)

    with refused(db, constraint):
        delete(db, Plan, plan.id)

    assert db.get(Plan, plan.id) is not None


def test_p2_an_unused_plan_can_be_deleted(db: Session, plan: Plan) -> None:
    delete(db, Plan, plan.id)
    assert db.get(Plan, plan.id) is None


# ---- invoices, payments, subscriptions ----------------------------------------------------


def test_i1_an_invoice_with_payments_cannot_be_deleted(db: Session, plan: Plan) -> None:
    invoice = make_invoice(db, make_company(db), plan=plan)
    payment = make_payment(db, invoice)

    with refused(db, "fk_payments_company_id_invoice_id_invoices"):
        delete(db, Invoice, invoice.id)

    assert db.get(Invoice, invoice.id) is not None
    assert db.get(Payment, payment.id) is not None


def test_i2_deleting_an_invoice_without_payments_removes_its_line_items(db: Session, plan: Plan) -> None:
    invoice = make_invoice(db, make_company(db), plan=plan, subtotal_minor=3000)
    lines = [make_line_item(db, invoice, quantity=1, unit_price_minor=1000) for _ in range(3)]

    delete(db, Invoice, invoice.id)

    assert count(db, InvoiceLineItem.id, [line.id for line in lines]) == 0


def test_i3_deleting_a_subscription_keeps_its_invoices(db: Session, plan: Plan) -> None:
    company = make_company(db)
    subscription = make_subscription(db, company, plan)
    invoice = make_invoice(db, company, plan=plan, subscription=subscription)

    delete(db, Subscription, subscription.id)

    kept = db.get(Invoice, invoice.id)
    assert kept is not None and kept.subscription_id is None and kept.company_id == company.id


# ---- projects and tasks -------------------------------------------------------------------


def test_w1_deleting_a_project_removes_its_tasks_comments_files_and_memberships(db: Session) -> None:
    company = make_company(db)
    worker = make_user(db, company)
    project = make_project(db, company)
    other_project = make_project(db, company, name="Other")
    add_member(db, project, worker)
    task = make_task(db, project, assignee=worker)
    comment = make_comment(db, task, worker)
    attachment = make_file(db, company, task=task)
    project_file = make_file(db, company, project=project)
    other_task = make_task(db, other_project)

    delete(db, Project, project.id)

    assert db.get(Task, task.id) is None
    assert db.get(TaskComment, comment.id) is None
    assert count(db, StoredFile.id, [attachment.id, project_file.id]) == 0
    assert count(db, ProjectMember.project_id, [project.id]) == 0
    assert db.get(Task, other_task.id) is not None
    assert db.get(User, worker.id) is not None


def test_w2_deleting_a_task_removes_its_comments_and_attachments_only(db: Session) -> None:
    company = make_company(db)
    project = make_project(db, company)
    task = make_task(db, project)
    sibling = make_task(db, project, title="Sibling")
    comment = make_comment(db, task, None)
    attachment = make_file(db, company, task=task)
    sibling_file = make_file(db, company, task=sibling)
    company_file = make_file(db, company)

    delete(db, Task, task.id)

    assert db.get(TaskComment, comment.id) is None
    assert db.get(StoredFile, attachment.id) is None
    assert count(db, StoredFile.id, [sibling_file.id, company_file.id]) == 2
    assert db.get(Project, project.id) is not None


# ---- pending sign-ups ---------------------------------------------------------------------


def test_s1_a_pending_sign_up_goes_with_its_manager_or_its_company(db: Session) -> None:
    company = make_company(db)
    manager = make_user(db, company, Role.MANAGER, is_active=False)
    by_user = make_signup_verification(db, company, manager)
    delete(db, User, manager.id)
    assert db.get(SignupVerification, by_user.id) is None
    assert db.get(Company, company.id) is not None  # the expiry job deletes the company (services.identity.jobs)

    other = make_company(db)
    other_manager = make_user(db, other, Role.MANAGER, is_active=False)
    by_company = make_signup_verification(db, other, other_manager)
    delete(db, Company, other.id)
    assert db.get(SignupVerification, by_company.id) is None
    assert db.get(User, other_manager.id) is None


def test_s2_one_pending_sign_up_per_company_and_unique_links(db: Session) -> None:
    company = make_company(db)
    manager = make_user(db, company, Role.MANAGER, is_active=False)
    first = make_signup_verification(db, company, manager)
    with refused(db, "uq_signup_verifications_company_id"):
        make_signup_verification(db, company, manager)
    other = make_company(db)
    with refused(db, "uq_signup_verifications_token_hash"):
        make_signup_verification(db, other, make_user(db, other, Role.MANAGER), token_hash=first.token_hash)


# ---- tenant walls (composite foreign keys) ------------------------------------------------


@dataclass
class TwoTenants:
    ours: Company
    theirs: Company
    our_user: User
    their_user: User
    their_project: Project
    their_task: Task
    their_invoice: Invoice
    their_subscription: Subscription
    our_project: Project
    our_task: Task
    our_invoice: Invoice


@pytest.fixture
def two(db: Session, plan: Plan) -> TwoTenants:
    ours, theirs = make_company(db, "Ours"), make_company(db, "Theirs")
    their_user = make_user(db, theirs)
    their_project = make_project(db, theirs)
    our_project = make_project(db, ours)
    return TwoTenants(
        ours=ours,
        theirs=theirs,
        our_user=make_user(db, ours),
        their_user=their_user,
        their_project=their_project,
        their_task=make_task(db, their_project),
        their_invoice=make_invoice(db, theirs, plan=plan),
        their_subscription=make_subscription(db, theirs, plan),
        our_project=our_project,
        our_task=make_task(db, our_project),
        our_invoice=make_invoice(db, ours, plan=plan),
    )


# Each builds a row of OUR company that points at THEIR row; the composite FK must refuse it.
CROSS_TENANT: dict[str, tuple[Callable[[Session, TwoTenants], Any], str]] = {
    "task -> their project": (
        lambda db, t: make_task(db, t.their_project, company_id=t.ours.id),
        "fk_tasks_company_id_project_id_projects",
    ),
    "task -> their assignee": (
        lambda db, t: make_task(db, t.our_project, assignee=t.their_user),
        "fk_tasks_company_id_assignee_id_users",
    ),
    "comment -> their task": (
        lambda db, t: make_comment(db, t.their_task, None, company_id=t.ours.id),
        "fk_task_comments_company_id_task_id_tasks",
    ),
    "comment author -> their user": (
        lambda db, t: make_comment(db, t.our_task, t.their_user),
        "fk_task_comments_company_id_author_id_users",
    ),
    "project member -> their user": (
        lambda db, t: add_member(db, t.our_project, t.their_user),
        "fk_project_members_company_id_user_id_users",
    ),
    "project member -> their project": (
        lambda db, t: add_member(db, t.their_project, t.our_user, company_id=t.ours.id),
        "fk_project_members_company_id_project_id_projects",
    ),
    "project creator -> their user": (
        lambda db, t: make_project(db, t.ours, created_by=t.their_user),
        "fk_projects_company_id_created_by_id_users",
    ),
    "file -> their task": (
        lambda db, t: make_file(db, t.ours, task=t.their_task, project=t.our_project),
        "fk_files_company_id_task_id_tasks",
    ),
    "file -> their project": (
        lambda db, t: make_file(db, t.ours, project=t.their_project),
        "fk_files_company_id_project_id_projects",
    ),
    "file uploader -> their user": (
        lambda db, t: make_file(db, t.ours, uploaded_by=t.their_user),
        "fk_files_company_id_uploaded_by_id_users",
    ),
    "invitation -> their inviter": (
        lambda db, t: make_invitation(db, t.ours, invited_by=t.their_user),
        "fk_invitations_company_id_invited_by_id_users",
    ),
    "invoice -> their subscription": (
        lambda db, t: make_invoice(db, t.ours, subscription=t.their_subscription),
        "fk_invoices_company_id_subscription_id_subscriptions",
    ),
    "line item -> their invoice": (
        lambda db, t: make_line_item(db, t.their_invoice, company_id=t.ours.id),
        "fk_invoice_line_items_company_id_invoice_id_invoices",
    ),
    "payment -> their invoice": (
        lambda db, t: make_payment(db, t.their_invoice, company_id=t.ours.id),
        "fk_payments_company_id_invoice_id_invoices",
    ),
    "payment recorder -> their user": (
        lambda db, t: make_payment(db, t.our_invoice, recorded_by=t.their_user),
        "fk_payments_company_id_recorded_by_id_users",
    ),
    "pending sign-up -> their user": (
        lambda db, t: make_signup_verification(db, t.ours, t.their_user),
        "fk_signup_verifications_company_id_user_id_users",
    ),
}


@pytest.mark.parametrize("case", CROSS_TENANT)
def test_t1_a_row_cannot_point_at_another_companys_row(db: Session, two: TwoTenants, case: str) -> None:
    build, constraint = CROSS_TENANT[case]
    with refused(db, constraint):
        build(db, two)


# ---- checks and unique rules --------------------------------------------------------------


def test_k1_an_admin_has_no_company_and_everyone_else_has_one(db: Session) -> None:
    company = make_company(db)
    with refused(db, "ck_users_admin_has_no_company"):
        make_user(db, company, Role.ADMIN)
    for role in (Role.MANAGER, Role.WORKER, Role.CLIENT):
        with refused(db, "ck_users_admin_has_no_company"):
            make_user(db, None, role)
    assert make_admin(db).company_id is None


def test_k2_an_invitation_never_grants_admin(db: Session) -> None:
    with refused(db, "ck_invitations_no_admin_invites"):
        make_invitation(db, make_company(db), role=Role.ADMIN)


MONEY_CASES: dict[str, tuple[Callable[[Session, Company, Plan, Invoice], Any], str]] = {
    "plan price below zero": (lambda db, c, p, i: make_plan(db, price_minor=-1), "ck_plans_price_not_negative"),
    "plan currency not ISO": (lambda db, c, p, i: make_plan(db, currency="usd"), "ck_plans_currency_iso"),
    "plan limit zero": (lambda db, c, p, i: make_plan(db, max_seats=0), "ck_plans_limits_positive"),
    "invoice total != subtotal + tax": (
        lambda db, c, p, i: make_invoice(db, c, subtotal_minor=1000, tax_minor=200, total_minor=1000),
        "ck_invoices_totals_add_up",
    ),
    "invoice negative subtotal": (
        lambda db, c, p, i: make_invoice(db, c, subtotal_minor=-100, tax_minor=100),
        "ck_invoices_totals_add_up",
    ),
    "invoice currency not ISO": (lambda db, c, p, i: make_invoice(db, c, currency="eur"), "ck_invoices_currency_iso"),
    "line amount != quantity x price": (
        lambda db, c, p, i: make_line_item(db, i, quantity=2, unit_price_minor=500, amount_minor=500),
        "ck_invoice_line_items_amount_adds_up",
    ),
    "line quantity zero": (
        lambda db, c, p, i: make_line_item(db, i, quantity=0, unit_price_minor=500),
        "ck_invoice_line_items_quantity_positive",
    ),
    "payment of zero": (lambda db, c, p, i: make_payment(db, i, amount_minor=0), "ck_payments_amount_not_zero"),
    "payment currency not ISO": (lambda db, c, p, i: make_payment(db, i, currency="US$"), "ck_payments_currency_iso"),
}


@pytest.mark.parametrize("case", MONEY_CASES)
def test_k3_money_must_add_up(db: Session, plan: Plan, case: str) -> None:
    company = make_company(db)
    invoice = make_invoice(db, company, plan=plan)
    build, constraint = MONEY_CASES[case]
    with refused(db, constraint):
        build(db, company, plan, invoice)


def test_k4_one_live_subscription_per_company(db: Session, plan: Plan) -> None:
    company = make_company(db)
    make_subscription(db, company, plan, SubscriptionStatus.CANCELED)
    make_subscription(db, company, plan, SubscriptionStatus.INCOMPLETE_EXPIRED)
    make_subscription(db, company, plan, SubscriptionStatus.PAST_DUE)  # the dead ones above do not count
    for status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        with refused(db, "uq_subscriptions_one_live_per_company"):
            make_subscription(db, company, plan, status)
    make_subscription(db, make_company(db), plan)  # another company is not affected


def test_k5_one_trial_per_company(db: Session, plan: Plan) -> None:
    company = make_company(db)
    make_trial(db, company, plan)
    with refused(db, "uq_trials_company_id"):
        make_trial(db, company, plan)


def test_k6_email_is_unique_whatever_its_case(db: Session) -> None:
    make_user(db, make_company(db), email="Same@Example.com")
    with refused(db, "uq_users_email_lower"):
        make_user(db, make_company(db), email="same@example.COM")


def test_k7_files_and_tasks_are_well_formed(db: Session) -> None:
    company = make_company(db)
    project = make_project(db, company)
    with refused(db, "ck_files_attachment_has_task"):
        make_file(db, company, project=project, kind=FileKind.TASK_ATTACHMENT)
    with refused(db, "ck_files_size_not_negative"):
        make_file(db, company, size_bytes=-1)
    with refused(db, "ck_tasks_title_not_empty"):
        make_task(db, project, title="")


# ---- the audit trail: append-only for the app, yet the cascades still reach it -------------


@pytest.fixture
def app_db(app_engine: Engine) -> Iterator[Session]:
    """Like `db`, but connected as the app role (not the owner of the tables)."""
    with rolled_back_session(app_engine, rls_bypass=False) as session:
        apply_scope(session, operator_actor())  # row-level security: the operator sees all
        yield session


def test_a1_the_app_cannot_rewrite_the_audit_trail_but_deletions_still_cascade_into_it(app_db: Session) -> None:
    db = app_db
    plan = make_plan(db)
    company = make_company(db)
    user = make_user(db, company)
    by_user = make_audit(db, company, actor=user)
    other = make_audit(db, make_company(db), action="kept")
    make_subscription(db, company, plan)

    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), db.begin_nested():
        db.execute(sa.update(AuditLog).where(AuditLog.id == by_user.id).values(action="forged"))
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), db.begin_nested():
        db.execute(sa.delete(AuditLog).where(AuditLog.id == other.id))

    # The foreign-key actions run as the table owner, so the app's deletes still reach audit_logs.
    delete(db, User, user.id)
    entry = db.get(AuditLog, by_user.id)
    assert entry is not None and entry.actor_user_id is None and entry.actor_email == user.email
    delete(db, Company, company.id)
    assert db.get(AuditLog, by_user.id) is None
    assert db.get(AuditLog, other.id) is not None


def test_factories_make_distinct_valid_rows(db: Session, plan: Plan) -> None:
    """Guard for the helpers other tests reuse: two calls never collide on a unique column."""
    a, b = make_company(db), make_company(db)
    assert a.slug != b.slug
    assert make_user(db, a).email != make_user(db, a).email
    assert isinstance(make_invoice(db, a, plan=plan).id, uuid.UUID)


def test_docs_list_every_foreign_key_with_its_on_delete(db: Session) -> None:
    """docs/db_cascades.md must name every foreign key of the schema with its real ON DELETE."""
    rows = db.execute(
        sa.text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = to_regnamespace(current_schema())"
        )
    ).all()
    in_schema = {name: on_delete(definition) for name, definition in rows}
    documented = dict(DOC_ROW.findall((PROJECT_ROOT / "docs" / "db_cascades.md").read_text()))
    assert documented == in_schema
