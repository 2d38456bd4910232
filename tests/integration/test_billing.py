"""Billing on the real database: plans, limits, read-only companies, subscriptions, invoices,
payments and the billing jobs, with the clock moved through services.core.clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col, select

from models import (
    AuditLog,
    Company,
    Invoice,
    InvoiceLineItem,
    InvoiceStatus,
    PaymentMethod,
    Project,
    ProjectStatus,
    Role,
    Subscription,
    SubscriptionStatus,
    Trial,
    TrialStatus,
    User,
)
from services import billing
from services.core import mailer
from services.core.actor import Actor
from services.core.errors import CompanyReadOnly, Conflict, LimitReached, NotFound, PermissionDenied, ValidationFailed
from services.core.policy import Action
from services.identity.auth import actor_for
from services.people import invitations, team
from tests.conftest import clock_at
from tests.factories import make_admin, make_company, make_file, make_plan, make_project, make_user

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
DAY = 86400


class World:
    def __init__(self, db: Session) -> None:
        self.db = db
        self.small = make_plan(db, name="Small", price_minor=1000, max_seats=3, max_projects=2, max_storage_mb=1)
        self.big = make_plan(db, name="Big", price_minor=4000, max_seats=10, max_projects=20, max_storage_mb=100)
        self.yearly = make_plan(db, name="Yearly", price_minor=40000, interval="year")
        self.acme = make_company(db, "Acme")
        self.manager = make_user(db, self.acme, Role.MANAGER)
        self.worker = make_user(db, self.acme, Role.WORKER)
        self.globex = make_company(db, "Globex")
        self.g_manager = make_user(db, self.globex, Role.MANAGER)
        self.admin_user = make_admin(db)
        billing.start_trial(db, self.acme.id, self.small)

    def actor(self, user: User) -> Actor:
        company = self.db.get(Company, user.company_id) if user.company_id else None
        if company is not None:
            self.db.refresh(company)
        return actor_for(user, company)

    @property
    def m(self) -> Actor:
        return self.actor(self.manager)

    @property
    def admin(self) -> Actor:
        return self.actor(self.admin_user)


@pytest.fixture
def move(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    return clock_at(monkeypatch, START)


@pytest.fixture
def world(db: Session, move: Callable[[float], None]) -> World:
    return World(db)


def audit_actions(db: Session, company_id: uuid.UUID | None) -> list[str]:
    return list(db.exec(select(AuditLog.action).where(AuditLog.company_id == company_id)).all())


# ---- plans ----------------------------------------------------------------------------------


def plan_input(**overrides: object) -> billing.PlanInput:
    values: dict[str, object] = {
        "name": "Pro",
        "price_minor": 2500,
        "max_seats": 5,
        "max_projects": 5,
        "max_storage_mb": 10,
        "trial_days": 14,
        "code": f"pro-{uuid.uuid4().hex[:6]}",
        "currency": "eur",
    }
    values.update(overrides)
    return billing.PlanInput(**values)  # type: ignore[arg-type]


def test_the_operator_creates_edits_retires_and_restores_plans(world: World) -> None:
    plan = billing.create_plan(world.db, world.admin, plan_input())
    assert plan.currency == "EUR" and plan.is_active
    edited = billing.update_plan(world.db, world.admin, plan.id, plan_input(name="Pro 2", price_minor=3000))
    assert (edited.name, edited.price_minor, edited.code) == ("Pro 2", 3000, plan.code)
    billing.set_plan_active(world.db, world.admin, plan.id, False)
    assert plan.id not in {p.id for p in billing.list_plans(world.db, world.m)}
    assert plan.id in {p.id for p in billing.list_plans(world.db, world.admin, action=Action.PLAN_MANAGE)}
    with pytest.raises(Conflict, match=r"error.plan_retired"):
        billing.subscribe(world.db, world.m, plan.id)
    billing.set_plan_active(world.db, world.admin, plan.id, True)
    assert plan.id in {p.id for p in billing.list_plans(world.db, world.m)}
    actions = audit_actions(world.db, None)
    for action in ("plan_created", "plan_updated", "plan_retired", "plan_restored"):
        assert action in actions


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"code": "X"}, "error.plan_code"),
        ({"currency": "EURO"}, "error.plan_currency"),
        ({"name": " "}, "error.plan_name"),
        ({"price_minor": -1}, "error.plan_price"),
        ({"max_seats": 0}, "error.plan_limits"),
        ({"trial_days": 400}, "error.plan_trial_days"),
    ],
)
def test_bad_plan_input_is_refused_by_name(world: World, overrides: dict[str, object], key: str) -> None:
    with pytest.raises(ValidationFailed, match=key):
        billing.create_plan(world.db, world.admin, plan_input(**overrides))


def test_managers_cannot_manage_plans(world: World) -> None:
    with pytest.raises(PermissionDenied):
        billing.create_plan(world.db, world.m, plan_input())
    with pytest.raises(PermissionDenied):
        billing.set_plan_active(world.db, world.m, world.small.id, False)


def test_editing_a_price_never_changes_an_issued_invoice(world: World) -> None:
    invoice = billing.subscribe(world.db, world.m, world.small.id)
    billing.update_plan(
        world.db,
        world.admin,
        world.small.id,
        plan_input(name="Small", price_minor=9999, max_seats=3, max_projects=2, max_storage_mb=1),
    )
    assert world.db.get(Invoice, invoice.id).total_minor == 1000  # type: ignore[union-attr]


# ---- limits ---------------------------------------------------------------------------------


def test_the_seat_limit_refuses_invites_and_reactivation_over_it(world: World) -> None:
    make_user(world.db, world.acme, Role.CLIENT)  # 3 of 3 seats
    with pytest.raises(LimitReached, match=r"error.limit_seats"):
        invitations.invite(world.db, world.m, email="new@example.com", role=Role.WORKER, project_ids=[])
    gone = make_user(world.db, world.acme, Role.WORKER, is_active=False)
    with pytest.raises(LimitReached, match=r"error.limit_seats"):
        team.set_active(world.db, world.m, gone.id, True)


def test_the_project_and_storage_limits(world: World) -> None:
    assert billing.check_project_limit(world.db, world.acme.id) == 0
    make_project(world.db, world.acme, "One")
    make_project(world.db, world.acme, "Archived", status=ProjectStatus.ARCHIVED)  # does not count
    assert billing.check_project_limit(world.db, world.acme.id) == 1
    make_project(world.db, world.acme, "Two")
    with pytest.raises(LimitReached, match=r"error.limit_projects"):
        billing.check_project_limit(world.db, world.acme.id)
    assert billing.check_storage_limit(world.db, world.acme.id, 1024 * 1024) == 0
    make_file(world.db, world.acme, size_bytes=1024 * 1024 - 10)
    assert billing.check_storage_limit(world.db, world.acme.id, 10) == 1024 * 1024 - 10
    with pytest.raises(LimitReached, match=r"error.limit_storage"):
        billing.check_storage_limit(world.db, world.acme.id, 11)


def test_a_company_without_trial_or_subscription_has_no_limits(world: World) -> None:
    for _ in range(4):
        make_project(world.db, world.globex)
    assert billing.check_project_limit(world.db, world.globex.id) == 4


# ---- trial and read-only ---------------------------------------------------------------------


def test_the_trial_counts_down_and_then_the_company_is_read_only(world: World, move: Callable[[float], None]) -> None:
    view = billing.overview(world.db, world.m)
    assert (view.state, view.trial_days_left, view.read_only) == ("trialing", 14, False)
    assert view.seats == billing.Meter(2, 3)
    move(13.5 * DAY)
    assert billing.overview(world.db, world.m).trial_days_left == 1
    move(14 * DAY)
    actor = world.m
    view = billing.overview(world.db, actor)  # reading still works
    assert (view.state, view.read_only, view.trial_days_left) == ("none", True, 0)
    with pytest.raises(CompanyReadOnly):
        invitations.invite(world.db, actor, email="x@example.com", role=Role.WORKER, project_ids=[])
    with pytest.raises(CompanyReadOnly):
        team.change_role(world.db, actor, world.worker.id, Role.CLIENT)
    assert team.list_members(world.db, actor)  # reads pass
    with pytest.raises(CompanyReadOnly):  # the no-actor entry points (accepting an invitation) too
        billing.check_seat_limit(world.db, world.acme.id)
    # Subscribing is the way out.
    billing.subscribe(world.db, actor, world.small.id)
    actor = world.m
    assert not billing.overview(world.db, actor).read_only
    team.change_role(world.db, actor, world.worker.id, Role.CLIENT)
    trial = world.db.exec(select(Trial).where(Trial.company_id == world.acme.id)).one()
    assert trial.status is TrialStatus.CONVERTED


def test_one_trial_per_company(world: World) -> None:
    with pytest.raises(IntegrityError), world.db.begin_nested():
        billing.start_trial(world.db, world.acme.id, world.big)


def test_expired_trials_are_ended_and_the_managers_told(
    world: World, move: Callable[[float], None], outbox: None
) -> None:
    move(14 * DAY + 1)
    assert billing.expire_trials(world.db) == 1
    assert billing.expire_trials(world.db) == 0
    (mail,) = [m for m in mailer.read_outbox(world.admin) if m.to == world.manager.email]
    assert "trial has ended" in mail.subject
    assert "trial_ended" in audit_actions(world.db, world.acme.id)


# ---- subscriptions ---------------------------------------------------------------------------


def test_subscribing_issues_the_first_invoice_with_a_gapless_number(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(billing.invoices.get_settings(), "billing_tax_rate_bp", 2000)  # type: ignore[attr-defined]
    invoice = billing.subscribe(world.db, world.m, world.small.id)
    assert invoice.number == f"{world.acme.slug.upper().replace('-', '')}-2026-0001"
    assert (invoice.subtotal_minor, invoice.tax_minor, invoice.total_minor) == (1000, 200, 1200)
    assert invoice.status is InvoiceStatus.OPEN and invoice.due_at == START + timedelta(days=14)
    assert [line.amount_minor for line in invoice.lines] == [1000]
    view = billing.overview(world.db, world.m)
    assert view.state == "active" and view.period_end == datetime(2026, 2, 28, 9, tzinfo=UTC)
    with pytest.raises(Conflict, match=r"error.already_subscribed"):
        billing.subscribe(world.db, world.m, world.big.id)
    assert "subscription_created" in audit_actions(world.db, world.acme.id)


def test_an_upgrade_is_prorated_exactly_onto_the_next_invoice(world: World, move: Callable[[float], None]) -> None:
    billing.subscribe(world.db, world.m, world.small.id)  # Jan 31 -> Feb 28: 28 days
    move(7 * DAY)  # 21 of 28 days left
    change = billing.change_plan(world.db, world.m, world.big.id)
    assert change.kind == "upgrade" and change.proration_minor == (4000 - 1000) * 21 // 28 == 2250
    assert billing.overview(world.db, world.m).plan.id == world.big.id  # type: ignore[union-attr]
    move(28 * DAY)
    assert billing.renew_subscriptions(world.db) == 1
    invoice = billing.list_invoices(world.db, world.m)[0]
    full = billing.get_invoice(world.db, world.m, invoice.id)
    assert sorted(line.amount_minor for line in full.lines) == [2250, 4000]
    assert full.total_minor == 6250 and full.period_start == datetime(2026, 2, 28, 9, tzinfo=UTC)


def test_a_downgrade_waits_for_the_period_end_and_is_refused_over_the_limits(
    world: World, move: Callable[[float], None]
) -> None:
    billing.subscribe(world.db, world.m, world.big.id)
    for _ in range(3):
        make_project(world.db, world.acme)
    with pytest.raises(Conflict, match=r"error.plan_too_small_projects"):
        billing.change_plan(world.db, world.m, world.small.id)
    world.db.execute(
        sa.update(Project).where(col(Project.company_id) == world.acme.id).values(status=ProjectStatus.ARCHIVED)
    )
    change = billing.change_plan(world.db, world.m, world.small.id)
    assert change.kind == "downgrade_scheduled" and change.effective_at == datetime(2026, 2, 28, 9, tzinfo=UTC)
    view = billing.overview(world.db, world.m)
    assert view.plan.id == world.big.id and view.scheduled_plan.id == world.small.id  # type: ignore[union-attr]
    with pytest.raises(Conflict, match=r"error.plan_terms_differ"):
        billing.change_plan(world.db, world.m, world.yearly.id)
    move(28 * DAY)
    billing.renew_subscriptions(world.db)
    assert billing.overview(world.db, world.m).plan.id == world.small.id  # type: ignore[union-attr]
    assert billing.list_invoices(world.db, world.m)[0].total_minor == 1000


def test_cancel_at_period_end_resume_and_the_end(world: World, move: Callable[[float], None]) -> None:
    billing.subscribe(world.db, world.m, world.small.id)
    end = billing.cancel(world.db, world.m)
    assert billing.overview(world.db, world.m).cancel_at_period_end
    billing.resume(world.db, world.m)
    assert not billing.overview(world.db, world.m).cancel_at_period_end
    with pytest.raises(Conflict, match=r"error.not_canceled"):
        billing.resume(world.db, world.m)
    billing.cancel(world.db, world.m)
    move((end - START).total_seconds())
    assert billing.renew_subscriptions(world.db) == 0
    view = billing.overview(world.db, world.m)
    assert (view.state, view.read_only) == ("canceled", True)
    assert len(billing.list_invoices(world.db, world.m)) == 1
    billing.subscribe(world.db, world.m, world.small.id)  # and back
    assert not billing.overview(world.db, world.m).read_only


# ---- invoices --------------------------------------------------------------------------------


def test_an_issued_invoice_is_frozen_void_and_reissue_instead(world: World) -> None:
    invoice = billing.subscribe(world.db, world.m, world.small.id)
    row = world.db.get(Invoice, invoice.id)
    assert row is not None
    with pytest.raises(DBAPIError), world.db.begin_nested():
        world.db.execute(sa.update(Invoice).where(col(Invoice.id) == row.id).values(total_minor=1, subtotal_minor=1))
    with pytest.raises(DBAPIError), world.db.begin_nested():
        world.db.execute(
            sa.update(InvoiceLineItem).where(col(InvoiceLineItem.invoice_id) == row.id).values(description="x")
        )
    with pytest.raises(ValidationFailed, match=r"error.void_reason_required"):
        billing.void_invoice(world.db, world.admin, invoice.id, reason=" ")
    new = billing.void_invoice(world.db, world.admin, invoice.id, reason="wrong address", reissue=True)
    world.db.refresh(row)
    assert row.status is InvoiceStatus.VOID and row.void_reason == "wrong address"
    assert new.number.endswith("-2026-0002") and new.total_minor == 1000 and new.status is InvoiceStatus.OPEN
    with pytest.raises(Conflict, match=r"error.invoice_not_open"):
        billing.void_invoice(world.db, world.admin, invoice.id, reason="again")
    assert "invoice_voided" in audit_actions(world.db, world.acme.id)


def test_another_companys_invoice_is_not_found(world: World) -> None:
    invoice = billing.subscribe(world.db, world.m, world.small.id)
    outsider = world.actor(world.g_manager)
    with pytest.raises(NotFound):
        billing.get_invoice(world.db, outsider, invoice.id)
    assert billing.list_invoices(world.db, outsider) == []
    assert billing.get_invoice(world.db, world.admin, invoice.id).number == invoice.number


def test_two_periods_never_get_two_live_invoices(world: World) -> None:
    invoice = billing.subscribe(world.db, world.m, world.small.id)
    row = world.db.get(Invoice, invoice.id)
    assert row is not None
    with pytest.raises(IntegrityError), world.db.begin_nested():
        world.db.add(
            Invoice(
                company_id=row.company_id,
                subscription_id=row.subscription_id,
                number="DUP-1",
                bill_to_name="x",
                period_start=row.period_start,
                status=InvoiceStatus.OPEN,
            )
        )
        world.db.flush()


# ---- payments --------------------------------------------------------------------------------


def test_partial_payments_add_up_to_paid_and_refunds_need_a_reason(world: World) -> None:
    invoice = billing.subscribe(world.db, world.m, world.small.id)
    with pytest.raises(ValidationFailed, match=r"error.payment_currency"):
        billing.record_payment(world.db, world.admin, invoice.id, amount_minor=400, currency="EUR")
    billing.record_payment(world.db, world.admin, invoice.id, amount_minor=400, currency="USD", reference="wire 1")
    assert billing.get_invoice(world.db, world.m, invoice.id).status is InvoiceStatus.OPEN
    with pytest.raises(ValidationFailed, match=r"error.payment_amount"):
        billing.record_payment(world.db, world.admin, invoice.id, amount_minor=601, currency="USD")
    billing.record_payment(
        world.db, world.admin, invoice.id, amount_minor=600, currency="usd", method=PaymentMethod.BANK_TRANSFER
    )
    paid = billing.get_invoice(world.db, world.m, invoice.id)
    assert paid.status is InvoiceStatus.PAID and paid.paid_minor == 1000 and paid.balance_minor == 0
    with pytest.raises(Conflict, match=r"error.invoice_not_payable"):
        billing.record_payment(world.db, world.admin, invoice.id, amount_minor=1, currency="USD")
    with pytest.raises(ValidationFailed, match=r"error.refund_reason_required"):
        billing.refund_payment(world.db, world.admin, invoice.id, amount_minor=100, reason="")
    with pytest.raises(ValidationFailed, match=r"error.refund_amount"):
        billing.refund_payment(world.db, world.admin, invoice.id, amount_minor=1001, reason="too much")
    refund = billing.refund_payment(world.db, world.admin, invoice.id, amount_minor=100, reason="goodwill")
    assert refund.amount_minor == -100
    assert billing.get_invoice(world.db, world.m, invoice.id).paid_minor == 900
    assert [p.amount_minor for p in billing.list_payments(world.db, world.m)] == [-100, 600, 400]
    with pytest.raises(PermissionDenied):
        billing.record_payment(world.db, world.m, invoice.id, amount_minor=1, currency="USD")
    actions = audit_actions(world.db, world.acme.id)
    assert actions.count("payment_recorded") == 2 and "invoice_paid" in actions and "payment_refunded" in actions


# ---- overdue, past_due, unpaid ----------------------------------------------------------------


def test_overdue_past_due_unpaid_and_back(world: World, move: Callable[[float], None], outbox: None) -> None:
    invoice = billing.subscribe(world.db, world.m, world.small.id)
    move(13 * DAY)
    assert billing.chase_overdue(world.db) == 0
    move(14 * DAY)
    assert billing.chase_overdue(world.db) == 1
    assert billing.chase_overdue(world.db) == 0  # one mail per step
    assert billing.overview(world.db, world.m).state == "past_due"
    assert not billing.overview(world.db, world.m).read_only
    move(28 * DAY)
    billing.run_billing_jobs(world.db)  # renews (second invoice), then unpaid
    view = billing.overview(world.db, world.m)
    assert (view.state, view.read_only) == ("unpaid", True)
    subjects = [m.subject for m in mailer.read_outbox(world.admin) if m.to == world.manager.email]
    assert any("overdue" in s for s in subjects) and any("Final notice" in s for s in subjects)
    billing.record_payment(world.db, world.admin, invoice.id, amount_minor=1000, currency="USD")
    view = billing.overview(world.db, world.m)
    assert (view.state, view.read_only) == ("active", False)  # the second invoice is not due yet


def test_the_jobs_twice_issue_each_invoice_once(world: World, move: Callable[[float], None]) -> None:
    billing.subscribe(world.db, world.m, world.small.id)
    move(95 * DAY)  # three renewals missed while no worker ran
    assert billing.renew_subscriptions(world.db) == 3
    assert billing.renew_subscriptions(world.db) == 0
    rows = world.db.exec(select(Invoice).where(Invoice.company_id == world.acme.id).order_by(col(Invoice.number))).all()
    assert [r.number[-4:] for r in rows] == ["0001", "0002", "0003", "0004"]
    assert [r.period_start.day for r in rows if r.period_start] == [31, 28, 31, 30]  # from the anchor, no drift
    sub = world.db.exec(select(Subscription).where(Subscription.company_id == world.acme.id)).one()
    assert sub.status is SubscriptionStatus.PAST_DUE or sub.status is SubscriptionStatus.ACTIVE


def test_a_later_unpaid_invoice_keeps_the_first_read_only_moment(
    world: World, move: Callable[[float], None], outbox: None
) -> None:
    billing.subscribe(world.db, world.m, world.small.id)
    move(28 * DAY)  # the first invoice is due + grace days old: unpaid, read-only from now
    billing.run_billing_jobs(world.db)
    world.db.refresh(world.acme)
    first = world.acme.read_only_at
    assert first == START + timedelta(days=28)
    move(60 * DAY)  # the second invoice goes the same way
    billing.run_billing_jobs(world.db)
    world.db.refresh(world.acme)
    assert world.acme.read_only_at == first
    assert billing.overview(world.db, world.m).state == "unpaid"


def test_a_retired_plan_keeps_its_subscribers(world: World, move: Callable[[float], None]) -> None:
    billing.subscribe(world.db, world.m, world.small.id)
    billing.set_plan_active(world.db, world.admin, world.small.id, False)
    move(28 * DAY)
    assert billing.renew_subscriptions(world.db) == 1  # renewed on the retired plan, at its price
    assert billing.list_invoices(world.db, world.m)[0].total_minor == 1000
    assert billing.overview(world.db, world.m).plan.id == world.small.id  # type: ignore[union-attr]
