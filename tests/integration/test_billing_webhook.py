"""POST /api/billing/webhook through the real route (Starlette's test client) on the real database:
each refusal has its status and records nothing; a replay changes nothing; processing twice equals
processing once."""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from dashboard.api import api_app
from models import Company, Invoice, Payment, Plan, ProviderEvent, Role
from services import billing
from services.core import clock
from services.identity.auth import actor_for
from tests.conftest import RLS_BYPASS_SQL
from tests.factories import make_company, make_plan, make_user
from tests.smtp_server import use_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.integration

SECRET = "whsec-test-" + uuid.uuid4().hex


@dataclass
class Billed:
    invoice_id: uuid.UUID
    total: int
    company_id: uuid.UUID
    plan_id: uuid.UUID


@pytest.fixture
def billed(owner_engine: Engine, outbox: None) -> Iterator[Billed]:
    with Session(owner_engine, expire_on_commit=False) as setup:
        setup.execute(sa.text(RLS_BYPASS_SQL))
        plan = make_plan(setup, price_minor=2500)
        company = make_company(setup, "Webhook Co")
        manager = make_user(setup, company, Role.MANAGER)
        invoice = billing.subscribe(setup, actor_for(manager, company), plan.id)
        data = Billed(invoice.id, invoice.total_minor, company.id, plan.id)
        setup.commit()
    try:
        with use_settings(PAYMENT_WEBHOOK_SECRET=SECRET):
            yield data
    finally:
        with Session(owner_engine) as cleanup:
            cleanup.execute(sa.text(RLS_BYPASS_SQL))
            cleanup.execute(sa.delete(Company).where(col(Company.id) == data.company_id))
            cleanup.execute(sa.delete(Plan).where(col(Plan.id) == data.plan_id))
            cleanup.execute(sa.delete(ProviderEvent).where(col(ProviderEvent.event_id).like("evt-test-%")))
            cleanup.commit()


@pytest.fixture
def client(migrated_database: str) -> Iterator[TestClient]:
    with TestClient(api_app(), base_url="http://localhost:8000") as test_client:
        yield test_client


def event(invoice_id: object, amount: int, currency: str = "USD", event_id: str | None = None) -> bytes:
    return json.dumps(
        {
            "id": event_id or f"evt-test-{uuid.uuid4().hex}",
            "type": "payment_succeeded",
            "data": {"invoice_id": str(invoice_id), "amount_minor": amount, "currency": currency, "reference": "ch_1"},
        }
    ).encode()


def post(
    client: TestClient, body: bytes, *, secret: str = SECRET, age: timedelta = timedelta(0), header: str | None = None
):
    timestamp = int((clock.now() - age).timestamp())
    signature = header if header is not None else billing.sign(secret, timestamp, body)
    return client.post("/api/billing/webhook", content=body, headers={"Workdash-Signature": signature})


def state(owner_engine: Engine, billed: Billed) -> tuple[str, int, int]:
    with Session(owner_engine) as session:
        session.execute(sa.text(RLS_BYPASS_SQL))
        invoice = session.get(Invoice, billed.invoice_id)
        assert invoice is not None
        paid = session.exec(select(sa.func.count()).select_from(Payment).where(Payment.invoice_id == invoice.id)).one()
        events = session.exec(
            select(sa.func.count()).select_from(ProviderEvent).where(col(ProviderEvent.event_id).like("evt-test-%"))
        ).one()
        return invoice.status.value, int(paid), int(events)


def test_a_signed_event_pays_the_invoice_once_however_often_it_comes(
    client: TestClient, billed: Billed, owner_engine: Engine
) -> None:
    body = event(billed.invoice_id, billed.total)
    first = post(client, body)
    assert (first.status_code, first.json()) == (200, {"status": "processed"})
    assert state(owner_engine, billed) == ("paid", 1, 1)
    again = post(client, body)  # a replay, even freshly signed
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert state(owner_engine, billed) == ("paid", 1, 1)


@pytest.mark.parametrize(
    ("case", "status", "outcome"),
    [
        ("bad signature", 401, "bad signature"),
        ("stale timestamp", 401, "stale timestamp"),
        ("no signature", 400, "malformed signature"),
        ("unknown invoice", 404, "unknown invoice"),
        ("wrong amount", 422, "wrong amount or currency"),
        ("wrong currency", 422, "wrong amount or currency"),
        ("malformed body", 400, "malformed body"),
    ],
)
def test_refusals_have_their_status_and_record_nothing(
    client: TestClient, billed: Billed, owner_engine: Engine, case: str, status: int, outcome: str
) -> None:
    body = event(billed.invoice_id, billed.total)
    kwargs: dict[str, object] = {}
    if case == "bad signature":
        kwargs["secret"] = "not-the-secret"
    elif case == "stale timestamp":
        kwargs["age"] = timedelta(minutes=5, seconds=2)
    elif case == "no signature":
        kwargs["header"] = ""
    elif case == "unknown invoice":
        body = event(uuid.uuid4(), billed.total)
    elif case == "wrong amount":
        body = event(billed.invoice_id, billed.total + 1)
    elif case == "wrong currency":
        body = event(billed.invoice_id, billed.total, currency="EUR")
    elif case == "malformed body":
        body = b"{not json"
    response = post(client, body, **kwargs)  # type: ignore[arg-type]
    assert (response.status_code, response.json()) == (status, {"status": outcome})
    assert state(owner_engine, billed) == ("open", 0, 0)


def test_a_paid_invoice_takes_no_more_and_partial_payments_add_up(
    client: TestClient, billed: Billed, owner_engine: Engine
) -> None:
    assert post(client, event(billed.invoice_id, 1000)).json() == {"status": "processed"}
    assert state(owner_engine, billed) == ("open", 1, 1)
    assert post(client, event(billed.invoice_id, billed.total - 1000)).json() == {"status": "processed"}
    assert state(owner_engine, billed) == ("paid", 2, 2)
    late = post(client, event(billed.invoice_id, 1))
    assert (late.status_code, late.json()) == (409, {"status": "invoice not payable"})
    assert state(owner_engine, billed) == ("paid", 2, 2)


def test_without_a_secret_the_webhook_is_off(client: TestClient, billed: Billed, owner_engine: Engine) -> None:
    with use_settings(PAYMENT_WEBHOOK_SECRET=""):
        response = post(client, event(billed.invoice_id, billed.total))
    assert response.status_code == 503
    assert state(owner_engine, billed) == ("open", 0, 0)


def test_other_event_types_are_ignored(client: TestClient, billed: Billed, owner_engine: Engine) -> None:
    body = json.dumps({"id": f"evt-test-{uuid.uuid4().hex}", "type": "customer_updated", "data": {}}).encode()
    assert post(client, body).json() == {"status": "ignored"}
    assert state(owner_engine, billed) == ("open", 0, 0)


def test_two_deliveries_at_once_pay_once(billed: Billed, owner_engine: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = event(billed.invoice_id, billed.total)
    with (
        TestClient(api_app(), base_url="http://localhost:8000") as one,
        TestClient(api_app(), base_url="http://localhost:8000") as two,
        ThreadPoolExecutor(2) as pool,
    ):
        answers = list(pool.map(lambda c: post(c, body).json()["status"], [one, two]))
    assert sorted(answers) == ["duplicate", "processed"]
    assert state(owner_engine, billed) == ("paid", 1, 1)
