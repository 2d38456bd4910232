"""Demo data for `make run` and the browser tests: a plan catalogue, two companies, every role.

Idempotent: running it again changes nothing. Refuses to run in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlmodel import Session, select

from models import (
    ApprovalStatus,
    BillingInterval,
    Company,
    Invoice,
    InvoiceLineItem,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Plan,
    Project,
    ProjectMember,
    Role,
    Subscription,
    SubscriptionStatus,
    Task,
    TaskComment,
    TaskPriority,
    TaskStatus,
    User,
)
from services.core import clock
from services.core.passwords import hash_password
from services.core.settings import get_settings


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str
    role: Role
    full_name: str
    company: str | None  # company slug; None for the operator


# Local demo accounts only (seeding is refused in production).
DEMO_USERS: list[DemoUser] = [
    DemoUser("admin@example.com", "demo-admin-password", Role.ADMIN, "Ada Operator", None),
    DemoUser("manager@acme.example.com", "demo-manager-password", Role.MANAGER, "Maria Manager", "acme"),
    DemoUser("worker@acme.example.com", "demo-worker-password", Role.WORKER, "Walter Worker", "acme"),
    DemoUser("client@acme.example.com", "demo-client-password", Role.CLIENT, "Clara Client", "acme"),
    DemoUser("manager@globex.example.com", "demo-manager-password", Role.MANAGER, "Greg Globex", "globex"),
    DemoUser("worker@globex.example.com", "demo-worker-password", Role.WORKER, "Gina Globex", "globex"),
    DemoUser("client@globex.example.com", "demo-client-password", Role.CLIENT, "Carl Globex", "globex"),
]

PLANS = [
    # code, name, price (minor units), seats, projects, storage MB
    ("starter", "Starter", 900, 5, 3, 1024),
    ("team", "Team", 2900, 20, 20, 10240),
    ("business", "Business", 9900, 100, 200, 102400),
]

COMPANIES = {"acme": "Acme Studio", "globex": "Globex Logistics"}

PROJECTS = {
    "acme": [
        ("Website redesign", "WEB", ["worker", "client"]),
        ("Mobile app", "APP", ["worker"]),
        ("Internal tooling", "OPS", []),
    ],
    "globex": [("Warehouse rollout", "WH", ["worker", "client"])],
}

TASK_TITLES = {
    TaskStatus.BACKLOG: "Collect requirements",
    TaskStatus.TODO: "Draft the plan",
    TaskStatus.IN_PROGRESS: "Build the first version",
    TaskStatus.REVIEW: "Review with the client",
    TaskStatus.DONE: "Kick-off meeting",
    TaskStatus.APPROVED: "Agree on the scope",
    TaskStatus.REJECTED: "First logo draft",
}


def load_demo_data(session: Session) -> bool:
    """Insert the demo data unless it is already there. Returns True when something was inserted."""
    if get_settings().env == "production":
        raise RuntimeError("demo data is never loaded in production")
    plans = _ensure_plans(session)
    if session.exec(select(Company).where(Company.slug == "acme")).first() is not None:
        return False
    now = clock.now()
    companies = {slug: Company(name=name, slug=slug) for slug, name in COMPANIES.items()}
    session.add_all(companies.values())
    session.flush()

    users: dict[tuple[str | None, Role], User] = {}
    for demo in DEMO_USERS:
        user = User(
            email=demo.email,
            full_name=demo.full_name,
            password_hash=_demo_hash(demo.password),
            role=demo.role,
            company_id=companies[demo.company].id if demo.company else None,
        )
        users[(demo.company, demo.role)] = user
        session.add(user)
    session.flush()

    for slug, projects in PROJECTS.items():
        company = companies[slug]
        manager = users[(slug, Role.MANAGER)]
        for index, (name, key, members) in enumerate(projects):
            project = Project(
                company_id=company.id,
                name=name,
                key=key,
                description=f"{name} for {company.name}",
                created_by_id=manager.id,
            )
            session.add(project)
            session.flush()
            for member in members:
                session.add(
                    ProjectMember(company_id=company.id, project_id=project.id, user_id=users[(slug, Role(member))].id)
                )
            _add_tasks(session, project, manager, users[(slug, Role.WORKER)], with_review=index == 0)

    _add_billing(session, companies, plans, now)
    session.flush()
    return True


@lru_cache(maxsize=16)
def _demo_hash(password: str) -> str:
    # Argon2 is slow on purpose; the demo passwords are few and fixed, so hash each once per process.
    return hash_password(password)


def _ensure_plans(session: Session) -> dict[str, Plan]:
    plans = {plan.code: plan for plan in session.exec(select(Plan)).all()}
    for code, name, price, seats, projects, storage in PLANS:
        if code not in plans:
            plans[code] = Plan(
                code=code,
                name=name,
                price_minor=price,
                currency="USD",
                interval=BillingInterval.MONTH,
                max_seats=seats,
                max_projects=projects,
                max_storage_mb=storage,
            )
            session.add(plans[code])
    session.flush()
    return plans


def _add_tasks(session: Session, project: Project, manager: User, worker: User, *, with_review: bool) -> None:
    for position, status in enumerate(TaskStatus):
        project.task_counter += 1
        task = Task(
            company_id=project.company_id,
            project_id=project.id,
            number=project.task_counter,
            title=TASK_TITLES[status],
            description=f"{TASK_TITLES[status]} ({project.name})",
            status=status,
            priority=list(TaskPriority)[position % len(TaskPriority)],
            position=float(position),
            assignee_id=worker.id if status is not TaskStatus.BACKLOG else None,
            created_by_id=manager.id,
            approval_status=ApprovalStatus.PENDING
            if with_review and status is TaskStatus.REVIEW
            else ApprovalStatus.NONE,
        )
        session.add(task)
        session.flush()
        session.add(
            TaskComment(
                company_id=task.company_id,
                task_id=task.id,
                author_id=manager.id,
                author_name=manager.full_name,
                body="Internal note: keep the client posted.",
                is_internal=True,
            )
        )


def _add_billing(
    session: Session,
    companies: dict[str, Company],
    plans: dict[str, Plan],
    now: datetime,
) -> None:
    """Acme: subscribed to Team for two periods (the first paid by card, the current one open);
    Globex: on its Business trial (billing.start_trial: it turns read-only when the trial ends)."""
    from services import billing
    from services.billing.invoices import next_number, plan_line
    from services.billing.money import add_interval

    acme, globex = companies["acme"], companies["globex"]
    team = plans["team"]
    anchor = add_interval(now - timedelta(days=20), team.interval, -1)
    start = add_interval(anchor, team.interval)
    subscription = Subscription(
        company_id=acme.id,
        plan_id=team.id,
        status=SubscriptionStatus.ACTIVE,
        current_period_start=start,
        current_period_end=add_interval(anchor, team.interval, 2),
        period_anchor=anchor,
    )
    session.add(subscription)
    session.flush()
    line = plan_line(team)
    # Written as the billing code writes them (a draft with its line, then issued), without audit
    # entries: the demo's audit log starts empty.
    for period_start, period_end in ((anchor, start), (start, subscription.current_period_end)):
        paid = period_end == start
        invoice = Invoice(
            company_id=acme.id,
            subscription_id=subscription.id,
            plan_id=team.id,
            number=next_number(session, acme, period_start.year),
            status=InvoiceStatus.DRAFT,
            currency=team.currency,
            subtotal_minor=team.price_minor,
            total_minor=team.price_minor,
            bill_to_name=acme.name,
            period_start=period_start,
            period_end=period_end,
        )
        session.add(invoice)
        session.flush()
        session.add(
            InvoiceLineItem(
                company_id=acme.id,
                invoice_id=invoice.id,
                description=line.description,
                quantity=1,
                unit_price_minor=team.price_minor,
                amount_minor=team.price_minor,
            )
        )
        session.flush()
        invoice.status = InvoiceStatus.PAID if paid else InvoiceStatus.OPEN
        invoice.issued_at = period_start
        invoice.due_at = period_start + timedelta(days=14)
        invoice.paid_at = period_start + timedelta(days=2) if paid else None
        session.add(invoice)
        if paid:
            session.add(
                Payment(
                    company_id=acme.id,
                    invoice_id=invoice.id,
                    amount_minor=team.price_minor,
                    currency=team.currency,
                    status=PaymentStatus.SUCCEEDED,
                    method=PaymentMethod.CARD,
                    reference="demo-card-4242",
                    paid_at=period_start + timedelta(days=2),
                )
            )
        session.flush()
    billing.start_trial(session, globex.id, plans["business"])
    session.flush()


def main() -> None:
    from services.core.db import system_scope

    with system_scope() as session:  # seeding is system work: the system role sees every row
        load_demo_data(session)


if __name__ == "__main__":
    main()
