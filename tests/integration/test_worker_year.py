"""Time travel: the job worker over a simulated year for several companies, with upgrades,
downgrades, a cancellation, late payments and a company that never pays; then the same year with
two worker processes at once. Every invoice, state change and reminder mail is checked; two workers
issue exactly what one does (no duplicate, no missing invoice).

The workers are real processes (tests/worker_clock.py) on their own database, stepped one simulated
day at a time; the test plays the people (subscribing, paying) between the steps, on the same clock.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import (
    BillingInterval,
    Company,
    Invoice,
    InvoiceStatus,
    Role,
    Subscription,
    SubscriptionStatus,
    Trial,
    TrialStatus,
    User,
)
from services import billing
from services.billing.money import add_interval
from services.core import clock, mailer
from services.core.redis_client import get_redis
from services.core.schema import upgrade_head
from services.core.settings import PROJECT_ROOT, get_settings
from services.identity.auth import actor_for
from tests.conftest import create_database, drop_database
from tests.factories import make_admin, make_company, make_plan, make_user

if TYPE_CHECKING:
    from tests.conftest import TestServers

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
DAYS = 366  # the first renewal a year on (Jan 31, 2027) included
RLS_BYPASS = "SELECT set_config('app.rls_bypass', 'on', true)"


@dataclass
class Year:
    url: str
    engine: sa.Engine
    env: dict[str, str]


@pytest.fixture
def year_db(test_env: TestServers) -> Iterator[Year]:
    name = create_database(test_env, "wd_year")
    url = test_env.database(name)
    upgrade_head(url, app_role=None)
    env = {
        **os.environ,
        "ENV": "test",
        "DATABASE_URL": url,
        "APP_DATABASE_URL": test_env.database(name, app_role=True),
        "SYSTEM_DATABASE_URL": test_env.database(name, system_role=True),
        "MAIL_BACKEND": "outbox",
    }
    get_redis().delete(mailer.OUTBOX_KEY)
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        yield Year(url, engine, env)
    finally:
        engine.dispose()
        get_redis().delete(mailer.OUTBOX_KEY)
        drop_database(test_env, name)


class Workers:
    """`count` worker processes, each stepped to the same simulated moment."""

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.worker_clock"],
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]

    def step(self, moment: datetime) -> list[dict[str, int]]:
        for process in self.processes:  # all start the same step at once
            assert process.stdin is not None
            process.stdin.write(moment.isoformat() + "\n")
            process.stdin.flush()
        answers = []
        for process in self.processes:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line, f"a worker died (exit code {process.poll()})"
            answers.append(json.loads(line))
        return answers

    def close(self) -> None:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.close()
            assert process.wait(timeout=60) == 0


@dataclass
class Cast:
    small: object
    big: object
    yearly: object
    companies: dict[str, Company]
    managers: dict[str, User]


def setup_companies(session: Session) -> Cast:
    small = make_plan(session, code="small", name="Small", price_minor=1000, max_seats=5)
    big = make_plan(session, code="big", name="Big", price_minor=4000, max_seats=20)
    yearly = make_plan(session, code="yearly", name="Yearly", price_minor=100_000, interval=BillingInterval.YEAR)
    companies, managers = {}, {}
    for key in ("alpha", "bravo", "charlie", "delta", "echo"):
        company = make_company(session, key.title(), slug=key)
        companies[key] = company
        managers[key] = make_user(session, company, Role.MANAGER, email=f"{key}@example.com")
        billing.start_trial(session, company.id, small)
    make_admin(session, email="operator@example.com")
    return Cast(small, big, yearly, companies, managers)


def run_year(year: Year, monkeypatch: pytest.MonkeyPatch, workers_count: int) -> dict[str, object]:
    """Play the year; returns what the checks need."""
    moment = START
    monkeypatch.setattr(clock, "now", lambda: moment)
    with Session(year.engine, expire_on_commit=False) as session:
        # The owner's bypass in every transaction of this session (the people and the operator).
        sa.event.listen(session, "after_begin", lambda _s, _t, conn: conn.execute(sa.text(RLS_BYPASS)))
        cast = setup_companies(session)

        def actor(key: str):
            manager = cast.managers[key]
            company = session.get(Company, manager.company_id)
            session.refresh(company)
            return actor_for(manager, company)

        for key, plan in (("alpha", cast.small), ("bravo", cast.big), ("charlie", cast.small), ("delta", cast.yearly)):
            billing.subscribe(session, actor(key), plan.id)  # echo stays on its trial
        session.commit()
        admin = actor_for(session.exec(select(User).where(User.email == "operator@example.com")).one())

        workers = Workers(year.env, workers_count)
        issued = Counter[int]()
        try:
            for day in range(1, DAYS + 1):
                moment = START + timedelta(days=day)
                for answer in workers.step(moment):
                    issued[day] += answer["invoices_issued"]
                if day == 45:
                    billing.change_plan(session, actor("alpha"), cast.big.id)  # upgrade: prorated
                if day == 100:
                    billing.change_plan(session, actor("bravo"), cast.small.id)  # downgrade at period end
                if day == 150:
                    billing.cancel(session, actor("charlie"))
                for invoice in session.exec(
                    select(Invoice).where(col(Invoice.status) == InvoiceStatus.OPEN).order_by(col(Invoice.number))
                ).all():
                    assert invoice.issued_at is not None
                    age = moment - invoice.issued_at
                    key = invoice.bill_to_name.lower()
                    # alpha and charlie pay the day after; bravo 20 days late (past_due, never unpaid)
                    if (key in ("alpha", "charlie") and age >= timedelta(days=1)) or (
                        key == "bravo" and age >= timedelta(days=20)
                    ):
                        billing.record_payment(
                            session, admin, invoice.id, amount_minor=invoice.total_minor, currency=invoice.currency
                        )
                session.commit()
        finally:
            workers.close()

        invoices = session.exec(select(Invoice).order_by(col(Invoice.number))).all()
        subscriptions = {s.company_id: s for s in session.exec(select(Subscription)).all()}
        jobs = session.execute(sa.text("SELECT task_name, args->>'invoice_id' FROM procrastinate_jobs")).all()
        trial_echo = session.exec(select(Trial).where(Trial.company_id == cast.companies["echo"].id)).one()
        echo_read_only_at = cast.companies["echo"].read_only_at
        session.refresh(cast.companies["delta"])
        return {
            "cast": cast,
            "invoices": list(invoices),
            "subscriptions": subscriptions,
            "jobs": jobs,
            "trial_echo": trial_echo,
            "echo_read_only_at": echo_read_only_at,
            "delta": cast.companies["delta"],
            "mails": mailer.read_outbox(admin, limit=mailer.OUTBOX_SIZE),
            "issued": sum(issued.values()),
        }


def monthly_starts(until: datetime) -> list[datetime]:
    starts, n = [], 0
    while (moment := add_interval(START, BillingInterval.MONTH, n)) <= until:
        starts.append(moment)
        n += 1
    return starts


@pytest.mark.parametrize("workers_count", [1, 2], ids=["one worker", "two workers at once"])
def test_a_year_of_billing(year_db: Year, monkeypatch: pytest.MonkeyPatch, workers_count: int) -> None:
    monkeypatch.setattr(get_settings(), "billing_grace_days", 14)
    result = run_year(year_db, monkeypatch, workers_count)
    cast: Cast = result["cast"]  # type: ignore[assignment]
    invoices: list[Invoice] = result["invoices"]  # type: ignore[assignment]
    end = START + timedelta(days=DAYS)
    by_company: dict[str, list[Invoice]] = {}
    for invoice in invoices:
        by_company.setdefault(invoice.bill_to_name.lower(), []).append(invoice)

    # Every company's numbers run 0001, 0002, ... per year with no gap and no duplicate.
    for key, rows in by_company.items():
        for year in {r.number.split("-")[1] for r in rows}:
            numbers = sorted(int(r.number.split("-")[2]) for r in rows if r.number.split("-")[1] == year)
            assert numbers == list(range(1, len(numbers) + 1)), (key, year, numbers)

    # Monthly subscribers: one invoice per period, periods back to back from the anchor.
    starts = monthly_starts(end)
    for key in ("alpha", "bravo"):
        rows = sorted(by_company[key], key=lambda r: r.period_start or START)
        assert [r.period_start for r in rows] == starts, key
        assert all(a.period_end == b.period_start for a, b in itertools.pairwise(rows))
        assert all(r.status is InvoiceStatus.PAID for r in rows[:-1])
    alpha = sorted(by_company["alpha"], key=lambda r: r.period_start or START)
    upgrade_day = START + timedelta(days=45)
    assert [r.total_minor for r in alpha[:2]] == [1000, 1000]
    first_after = next(r for r in alpha if r.period_start and r.period_start > upgrade_day)
    period = next(r for r in alpha if r.period_start and r.period_start <= upgrade_day < (r.period_end or end))
    assert period.period_end is not None and period.period_start is not None
    proration = billing.prorate(
        1000,
        4000,
        int((period.period_end - upgrade_day).total_seconds()),
        int((period.period_end - period.period_start).total_seconds()),
    )
    assert first_after.total_minor == 4000 + proration  # the upgrade's exact proration, once
    assert all(r.total_minor == 4000 for r in alpha if r.period_start and r.period_start > first_after.period_start)  # type: ignore[operator]
    bravo = sorted(by_company["bravo"], key=lambda r: r.period_start or START)
    downgrade_day = START + timedelta(days=100)
    assert all(r.total_minor == (4000 if (r.period_start or START) <= downgrade_day else 1000) for r in bravo)

    # Charlie canceled on day 150: no invoice after that period; the company is read-only since.
    charlie = by_company["charlie"]
    cancel_day = START + timedelta(days=150)
    assert [r.period_start for r in sorted(charlie, key=lambda r: r.period_start or START)] == [
        s for s in starts if s <= cancel_day
    ]
    subscriptions = result["subscriptions"]
    assert subscriptions[cast.companies["charlie"].id].status is SubscriptionStatus.CANCELED  # type: ignore[index]

    # Delta (yearly, never pays): two yearly invoices, past_due then unpaid and read-only.
    delta_rows = sorted(by_company["delta"], key=lambda r: r.period_start or START)
    assert [r.period_start for r in delta_rows] == [START, add_interval(START, BillingInterval.YEAR)]
    assert subscriptions[cast.companies["delta"].id].status is SubscriptionStatus.UNPAID  # type: ignore[index]
    assert result["delta"].read_only_at == START + timedelta(days=28)  # type: ignore[attr-defined]  # due 14 + grace 14

    # Echo never subscribed: its trial ended on day 14 and it is read-only since.
    assert result["trial_echo"].status is TrialStatus.EXPIRED  # type: ignore[attr-defined]
    assert "echo" not in by_company
    assert result["echo_read_only_at"] == START + timedelta(days=14)

    # One invoice-issued mail job per open invoice, enqueued with it; nothing twice.
    jobs = result["jobs"]
    mail_jobs = [invoice_id for task, invoice_id in jobs if task == billing.INVOICE_MAIL_TASK]  # type: ignore[attr-defined]
    assert len(mail_jobs) == len(set(mail_jobs)) == len(invoices)
    assert result["issued"] == len(invoices) - 4  # all but the four first invoices came from the workers

    # Mails: the trial's end once, delta's overdue and final notice once each per invoice, bravo's
    # overdue once per invoice it paid late (every invoice paid 20 days after issue: 14 + 6 overdue).
    mails = Counter((m.to.split("@")[0], m.subject.split(" ")[0]) for m in result["mails"])  # type: ignore[attr-defined]
    assert mails[("echo", "Your")] == 1
    assert mails[("delta", "Final")] == 1
    assert mails[("delta", "Invoice")] == 1  # the second yearly invoice is not due yet on the last day
    assert mails[("bravo", "Invoice")] == len(by_company["bravo"]) - 1  # the last one is not overdue yet
    assert mails[("bravo", "Final")] == 0 and mails[("alpha", "Invoice")] == 0


def test_real_workers_run_an_enqueued_job_once_and_stop_on_sigterm(year_db: Year) -> None:
    """Two `python -m services.worker` processes (procrastinate) on one queue: the invoice mail that
    subscribing enqueued in its transaction goes out exactly once; SIGTERM stops both cleanly."""
    import signal
    import time

    with Session(year_db.engine, expire_on_commit=False) as session:
        sa.event.listen(session, "after_begin", lambda _s, _t, conn: conn.execute(sa.text(RLS_BYPASS)))
        plan = make_plan(session, code="solo", price_minor=1234)
        company = make_company(session, "Solo", slug="solo")
        manager = make_user(session, company, Role.MANAGER, email="solo@example.com")
        invoice = billing.subscribe(session, actor_for(manager, company), plan.id)
        session.commit()
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "services.worker"], cwd=PROJECT_ROOT, env=year_db.env, start_new_session=True
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60  # a generous bound for a loaded machine, not a speed check
        status, started = None, 0
        while time.monotonic() < deadline:
            with year_db.engine.connect() as conn:
                status = conn.scalar(
                    sa.text("SELECT status::text FROM procrastinate_jobs WHERE args->>'invoice_id' = :i"),
                    {"i": str(invoice.id)},
                )
            with year_db.engine.connect() as conn:
                started = conn.scalar(sa.text("SELECT count(*) FROM procrastinate_workers"))
            if status == "succeeded" and started == len(workers):  # both up (their signal handlers too)
                break
            time.sleep(0.2)
        assert status == "succeeded" and started == len(workers)
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in workers]
    assert codes == [0, 0]
    with Session(year_db.engine) as session:
        session.execute(sa.text(RLS_BYPASS))
        admin = make_admin(session)
        mails = [m for m in mailer.read_outbox(actor_for(admin), limit=50) if m.to == "solo@example.com"]
        session.rollback()
    assert [m.subject for m in mails] == [f"Invoice {invoice.number} (12.34 USD)"]
