"""The sign-up, verification and invitation forms' HTTP routes (dashboard/api/auth.py) through Starlette's
test client, on the real database, Redis and dev outbox.

What the redirects carry matters: URLs end up in proxy logs and browser history, so an error goes back
with the error key and a random id only; the entered fields wait in Redis for a minute.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.exceptions import StarletteDeprecationWarning

from dashboard.api import api_app, form_echo
from models import Company, Plan, Role, User
from services.core import mailer
from services.core.passwords import hash_password
from services.core.redis_client import get_redis
from services.identity.auth import SESSION_COOKIE
from tests.conftest import RLS_BYPASS_SQL
from tests.factories import make_company, make_plan, make_user

with warnings.catch_warnings():  # Starlette would like `httpx2` (not installed); httpx does the same job here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_throttle")]

PASSWORD = "Orchid-Falcon-Meadow-31"
LINK = re.compile(r"https?://\S+?(/verify/([A-Za-z0-9_-]+))")


@dataclass
class Committed:
    plan_id: object
    company_id: object
    manager_email: str


@pytest.fixture
def committed(owner_engine: Engine) -> Iterator[Committed]:
    """A plan and a company with a manager, committed for real (the routes open their own transactions)."""
    with Session(owner_engine, expire_on_commit=False) as setup:
        setup.execute(sa.text(RLS_BYPASS_SQL))
        plan = make_plan(setup)
        company = make_company(setup, "Routes Known Co")
        manager = make_user(setup, company, Role.MANAGER, password_hash=hash_password(PASSWORD))
        data = Committed(plan.id, company.id, manager.email)
        setup.commit()
    try:
        yield data
    finally:
        with Session(owner_engine) as cleanup:
            cleanup.execute(sa.text(RLS_BYPASS_SQL))
            # The company above and every company the tests signed up (their trials use the plan).
            signed_up = select(User.company_id).where(col(User.email).like("%@routes.example.com"))
            cleanup.execute(sa.delete(Company).where(col(Company.id).in_(signed_up.scalar_subquery())))
            cleanup.execute(sa.delete(Company).where(col(Company.id) == data.company_id))
            cleanup.execute(sa.delete(Plan).where(col(Plan.id) == data.plan_id))
            cleanup.commit()


@pytest.fixture
def client(migrated_database: str) -> Iterator[TestClient]:
    with TestClient(api_app(), base_url="http://localhost:8000", follow_redirects=False) as test_client:
        yield test_client


def query_of(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


def assert_clean(location: str, *typed: str) -> None:
    """Nothing the person typed is in the URL, in any encoding."""
    for text in typed:
        for variant in {text, quote(text, safe=""), quote_plus(text)}:
            assert variant.lower() not in location.lower(), (variant, location)


def mail_link(address: str) -> str:
    """The /verify/<token> path of the newest mail to `address` in the dev outbox."""
    messages = [json.loads(item) for item in get_redis().lrange(mailer.OUTBOX_KEY, 0, -1)]
    bodies = [message["body"] for message in messages if message["to"] == address]
    assert bodies, f"no mail to {address}"
    found = LINK.search(bodies[0])
    assert found, bodies[0]
    return found.group(1)


# ---- item 9: no email or name in a redirect ------------------------------------------------


def test_a_failed_sign_up_keeps_the_fields_server_side_not_in_the_url(client: TestClient, outbox: None) -> None:
    fields = {
        "company_name": "Weak Passwords Ltd",
        "full_name": "Wanda Weakling",
        "email": "wanda.weakling@routes.example.com",
    }
    response = client.post("/api/auth/signup", data=fields | {"password": "password1234"})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/signup?")
    assert_clean(location, *fields.values(), "password1234")
    query = query_of(location)
    assert set(query) == {"error", form_echo.FORM_PARAM}
    assert query["error"] == ["error.password_too_common"]
    (form_id,) = query[form_echo.FORM_PARAM]
    assert form_echo.recall(form_id) == fields  # what the page's load reads back (never the password)
    assert 0 < get_redis().pttl(form_echo.key_for(form_id)) <= form_echo.ECHO_SECONDS * 1000
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_a_failed_acceptance_keeps_the_name_server_side_not_in_the_url(client: TestClient) -> None:
    token = "x" * 43
    response = client.post(
        "/api/auth/accept-invite", data={"token": token, "full_name": "Ivan Invitee", "password": PASSWORD}
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"/invite/{token}?")
    assert_clean(location, "Ivan Invitee")
    query = query_of(location)
    assert query["error"] == ["error.invite_invalid"]
    assert form_echo.recall(query[form_echo.FORM_PARAM][0]) == {"full_name": "Ivan Invitee"}


def test_a_throttled_form_still_says_when_to_try_again(client: TestClient, outbox: None) -> None:
    fields = {"company_name": "Busy Co", "full_name": "Bo Busy", "email": "bo@routes.example.com", "password": "short"}
    for _ in range(10):  # sign-ups per IP address: 10 free an hour
        client.post("/api/auth/signup", data=fields)
    location = client.post("/api/auth/signup", data=fields).headers["location"]
    assert_clean(location, "Busy Co", "Bo Busy", "bo@routes.example.com")
    query = query_of(location)
    assert query["error"] == ["error.too_many_attempts"] and int(query["retry"][0]) >= 1


@pytest.mark.parametrize("form_id", ["", "nope", "../../x", "a" * 500, "0" * 43])
def test_unknown_or_malformed_form_ids_recall_nothing(migrated_database: str, form_id: str) -> None:
    assert form_echo.recall(form_id) == {}


def test_a_recalled_form_expires_after_a_minute(migrated_database: str) -> None:
    form_id = form_echo.keep({"email": "someone@example.com"})
    assert form_id is not None and form_echo.recall(form_id) == {"email": "someone@example.com"}
    get_redis().delete(form_echo.key_for(form_id))  # what Redis does after ECHO_SECONDS
    assert form_echo.recall(form_id) == {}
    assert form_echo.keep({"email": ""}) is None  # nothing entered: nothing kept, no id in the URL


# ---- item 6: the same answer for a known and a new address, then the link ------------------


def test_known_and_new_addresses_get_the_same_answer(client: TestClient, committed: Committed, outbox: None) -> None:
    def attempt(email: str) -> tuple[int, str, str]:
        response = client.post(
            "/api/auth/signup",
            data={"company_name": "Probe Co", "full_name": "Pat Probe", "email": email, "password": PASSWORD},
        )
        return response.status_code, response.headers["location"], response.headers.get("set-cookie", "")

    known = attempt(committed.manager_email)
    new = attempt("pat.probe@routes.example.com")
    assert known == new == (303, "/signup?sent=1", "")


def test_the_mailed_link_and_the_password_sign_the_manager_in(
    client: TestClient, committed: Committed, outbox: None
) -> None:
    email = "olga.owner@routes.example.com"
    client.post(
        "/api/auth/signup",
        data={"company_name": "Verified Co", "full_name": "Olga Owner", "email": email, "password": PASSWORD},
    )
    link = mail_link(email)
    token = link.rsplit("/", 1)[1]

    wrong = client.post("/api/auth/verify-signup", data={"token": token, "password": "not-the-password-1"})
    assert wrong.status_code == 303 and SESSION_COOKIE not in wrong.headers.get("set-cookie", "")
    assert wrong.headers["location"] == f"{link}?error=error.signup_password_wrong"

    right = client.post("/api/auth/verify-signup", data={"token": token, "password": PASSWORD})
    assert right.status_code == 303 and right.headers["location"] == "/"
    assert f"{SESSION_COOKIE}=" in right.headers["set-cookie"] and "HttpOnly" in right.headers["set-cookie"]

    again = client.post("/api/auth/verify-signup", data={"token": token, "password": PASSWORD})
    assert again.headers["location"] == f"{link}?error=error.signup_link_invalid"


def test_cross_site_verification_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/auth/verify-signup",
        data={"token": "x" * 43, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 303 and "error=error.cross_site" in response.headers["location"]
    assert response.headers["location"].startswith("/verify/")
