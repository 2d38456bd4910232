"""Password reset ("forgot password?", services/identity/recovery.py) on the real database, Redis and dev
outbox, and its two HTTP routes (dashboard/api/auth.py) through Starlette's test client."""

from __future__ import annotations

import json
import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select
from starlette.exceptions import StarletteDeprecationWarning

from dashboard.api import api_app
from devtools.seed import DEMO_USERS
from models import AuditLog, CompanyStatus, PasswordReset, Role, User
from services.core import mailer, throttle
from services.core.actor import Actor
from services.core.errors import AuthenticationFailed, NotFound, RateLimited, ValidationFailed
from services.core.passwords import hash_password
from services.core.redis_client import get_redis
from services.identity import auth, jobs, recovery
from tests.conftest import RLS_BYPASS_SQL, clock_at
from tests.factories import make_company, make_plan, make_user

with warnings.catch_warnings():  # Starlette would like `httpx2` (not installed); httpx does the same job here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_throttle", "outbox")]

WORKER = next(u for u in DEMO_USERS if u.role is Role.WORKER)
NEW_PASSWORD = "copper-lagoon-whistle-58"
START = datetime(2030, 5, 1, 8, 0, tzinfo=UTC)
LINK = re.compile(r"(https?://\S+)(/reset/([A-Za-z0-9_-]+))")
OPERATOR = Actor(user_id=uuid.uuid4(), company_id=None, role=Role.ADMIN, full_name="Operator", email="op@example.com")


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    return clock_at(monkeypatch, START)


def mails_to(address: str) -> list[mailer.OutboxMessage]:
    return [m for m in mailer.read_outbox(OPERATOR, limit=mailer.OUTBOX_SIZE) if m.to == address]


def reset_token(address: str) -> str:
    message = mails_to(address)[0]
    assert message.subject == recovery.RESET_SUBJECT
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(3)


def request_reset(db: Session, email: str, **kwargs: str) -> None:
    """As the route does: the request, then (after the answer) its mail, if there is one."""
    mail = recovery.request_password_reset(db, email, **kwargs)
    if mail is not None:
        recovery.send_reset_mail(mail)


def user_of(db: Session, email: str) -> User:
    return db.exec(select(User).where(User.email == email)).one()


def resets(db: Session) -> int:
    return int(db.exec(select(func.count()).select_from(PasswordReset)).one())


# ---- the request: one answer, the same work -------------------------------------------------


def test_a_known_address_gets_a_link_stored_hashed(demo: Session, at: Callable[[float], None]) -> None:
    mail = recovery.request_password_reset(demo, f"  {WORKER.email.upper()} ", ip="192.0.2.9")
    assert mail is not None and mail.email == WORKER.email and mail.token not in repr(mail)
    assert mails_to(WORKER.email) == []  # nothing is sent before the answer has gone
    recovery.send_reset_mail(mail)
    token = reset_token(WORKER.email)
    assert token == mail.token
    row = demo.exec(select(PasswordReset)).one()
    user = user_of(demo, WORKER.email)
    assert (row.user_id, row.company_id, row.used_at) == (user.id, user.company_id, None)
    assert row.token_hash == auth.hash_token(token) and token not in row.token_hash
    assert row.expires_at == START + recovery.RESET_TTL
    entry = demo.exec(select(AuditLog).where(AuditLog.action == "password_reset_requested")).one()
    assert (entry.target_id, entry.ip, entry.company_id) == (str(user.id), "192.0.2.9", user.company_id)
    assert recovery.describe_password_reset(demo, token).email == WORKER.email


@pytest.mark.parametrize("address", ["nobody@example.com", "pending-signup"])
def test_unknown_and_unusable_addresses_get_the_same_answer_after_the_same_work(
    demo: Session, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    if address == "pending-signup":  # an inactive account (a sign-up never confirmed, a deactivated member)
        user_of(demo, WORKER.email).is_active = False
        address = WORKER.email
    hashed: list[str] = []
    real_hash = auth.hash_token
    monkeypatch.setattr(auth, "hash_token", lambda token: hashed.append(token) or real_hash(token))
    assert recovery.request_password_reset(demo, address) is None
    assert len(hashed) == 1  # a token was made and hashed, as for a known address
    assert resets(demo) == 0 and mails_to(address) == []


def test_a_deactivated_company_gets_no_link(demo: Session) -> None:
    user = user_of(demo, WORKER.email)
    demo.exec(select(User).where(User.id == user.id)).one()
    from models import Company

    company = demo.get(Company, user.company_id)
    assert company is not None
    company.status = CompanyStatus.DEACTIVATED
    demo.flush()
    request_reset(demo, WORKER.email)
    assert resets(demo) == 0 and mails_to(WORKER.email) == []


@pytest.mark.parametrize("email", ["", "   ", "not-an-address", "a" * 400 + "@example.com"])
def test_malformed_addresses_are_refused(demo: Session, email: str) -> None:
    with pytest.raises(ValidationFailed):
        request_reset(demo, email)


def test_requests_are_throttled_per_ip_and_per_address(demo: Session, at: Callable[[float], None]) -> None:
    for i in range(throttle.RESET_REQUEST_IP.free_attempts):
        request_reset(demo, f"probe{i}@example.com", ip="198.51.100.3")
    with pytest.raises(RateLimited):
        request_reset(demo, WORKER.email, ip="198.51.100.3")
    assert mails_to(WORKER.email) == []
    # Per address, known or not, whatever the IP: the quota of mails (3 an hour by default).
    for address in (WORKER.email, "stranger@example.com"):
        for i in range(3):
            request_reset(demo, address, ip=f"203.0.113.{i}")
        with pytest.raises(RateLimited):
            request_reset(demo, address, ip="203.0.113.200")
    assert len(mails_to(WORKER.email)) == 3
    at(3601)
    request_reset(demo, WORKER.email, ip="203.0.113.201")
    assert len(mails_to(WORKER.email)) == 4


def test_a_new_link_replaces_the_unused_old_one(demo: Session) -> None:
    request_reset(demo, WORKER.email)
    first = reset_token(WORKER.email)
    request_reset(demo, WORKER.email)
    second = reset_token(WORKER.email)
    assert first != second and resets(demo) == 1
    with pytest.raises(NotFound, match=r"error\.reset_link_invalid"):
        recovery.describe_password_reset(demo, first)


# ---- the link: single use, 30 minutes, ends every session ----------------------------------


def test_the_new_password_ends_every_session_and_is_audited(demo: Session) -> None:
    first, _ = auth.login(demo, WORKER.email, WORKER.password, ip="10.0.0.1")
    second, _ = auth.login(demo, WORKER.email, WORKER.password, ip="10.0.0.2")
    request_reset(demo, WORKER.email)
    token = reset_token(WORKER.email)

    ended = recovery.reset_password(demo, token, new_password=NEW_PASSWORD, ip="10.0.0.3", user_agent="laptop")

    assert ended == 2
    assert auth.resolve_session(demo, first) is None and auth.resolve_session(demo, second) is None
    with pytest.raises(AuthenticationFailed):
        auth.login(demo, WORKER.email, WORKER.password)
    _, actor = auth.login(demo, WORKER.email, NEW_PASSWORD)
    assert actor.email == WORKER.email
    entry = demo.exec(select(AuditLog).where(AuditLog.action == "password_reset")).one()
    assert (entry.actor_email, entry.ip, entry.user_agent, entry.changes) == (
        WORKER.email,
        "10.0.0.3",
        "laptop",
        {"sessions_ended": 2},
    )
    assert NEW_PASSWORD not in json.dumps(entry.changes)
    revoked = demo.exec(select(AuditLog).where(AuditLog.action == "session_revoked")).one()
    assert revoked.changes == {"reason": "password_reset", "sessions": 2}
    # Single use.
    with pytest.raises(NotFound, match=r"error\.reset_link_invalid"):
        recovery.reset_password(demo, token, new_password="another-fine-password-93")
    with pytest.raises(NotFound):
        recovery.describe_password_reset(demo, token)


def test_a_link_expires_after_30_minutes(demo: Session, at: Callable[[float], None]) -> None:
    request_reset(demo, WORKER.email)
    token = reset_token(WORKER.email)
    at(29 * 60)
    assert recovery.describe_password_reset(demo, token).email == WORKER.email
    at(30 * 60)
    with pytest.raises(NotFound, match=r"error\.reset_link_invalid"):
        recovery.reset_password(demo, token, new_password=NEW_PASSWORD)


def test_the_password_rules_apply_and_the_link_survives_a_refusal(demo: Session) -> None:
    request_reset(demo, WORKER.email)
    token = reset_token(WORKER.email)
    for weak, key in (("short", "error.password_too_short"), ("password1234", "error.password_too_common")):
        with pytest.raises(ValidationFailed, match=key):
            recovery.reset_password(demo, token, new_password=weak)
    with pytest.raises(ValidationFailed, match=r"error\.password_matches_email"):
        recovery.reset_password(demo, token, new_password=WORKER.email)
    recovery.reset_password(demo, token, new_password=NEW_PASSWORD)


def test_a_member_deactivated_after_the_request_cannot_use_the_link(demo: Session) -> None:
    request_reset(demo, WORKER.email)
    token = reset_token(WORKER.email)
    user_of(demo, WORKER.email).is_active = False
    demo.flush()
    with pytest.raises(NotFound):
        recovery.reset_password(demo, token, new_password=NEW_PASSWORD)


@pytest.mark.parametrize("token", [None, "", "x" * 43, "y" * 500])
def test_garbage_links_are_invalid_and_count_on_the_ip(demo: Session, token: str | None) -> None:
    with pytest.raises(NotFound, match=r"error\.reset_link_invalid"):
        recovery.reset_password(demo, token, new_password=NEW_PASSWORD, ip="198.51.100.8")
    assert throttle.failures(throttle.RESET_LINK_IP, "198.51.100.8") == 1


def test_guessing_links_is_throttled_per_ip(demo: Session, at: Callable[[float], None]) -> None:
    for _ in range(throttle.RESET_LINK_IP.free_attempts):
        with pytest.raises(NotFound):
            recovery.reset_password(demo, "z" * 43, new_password=NEW_PASSWORD, ip="198.51.100.9")
    with pytest.raises(RateLimited):
        recovery.reset_password(demo, "z" * 43, new_password=NEW_PASSWORD, ip="198.51.100.9")


def test_a_reset_forgets_the_accounts_sign_in_throttle(demo: Session, at: Callable[[float], None]) -> None:
    """The clock stands still (`at`): five argon2 checks on a loaded machine can outlast the first delay."""
    for _ in range(throttle.LOGIN_ACCOUNT.free_attempts):
        with pytest.raises(AuthenticationFailed):
            auth.login(demo, WORKER.email, "wrong-password-000")
    with pytest.raises(RateLimited):
        auth.login(demo, WORKER.email, WORKER.password)
    request_reset(demo, WORKER.email)
    recovery.reset_password(demo, reset_token(WORKER.email), new_password=NEW_PASSWORD)
    auth.login(demo, WORKER.email, NEW_PASSWORD)


def test_the_worker_purges_links_a_day_after_they_expire(demo: Session, at: Callable[[float], None]) -> None:
    request_reset(demo, WORKER.email)
    at(24 * 3600)
    assert jobs.purge_password_resets(demo) == 0
    at(24 * 3600 + 31 * 60)
    assert jobs.purge_password_resets(demo) == 1 and resets(demo) == 0


# ---- the routes --------------------------------------------------------------------------


@pytest.fixture
def committed(owner_engine: Engine) -> Iterator[str]:
    """A company with a worker, committed for real (the routes open their own transactions): the email."""
    with Session(owner_engine, expire_on_commit=False) as setup:
        setup.execute(sa.text(RLS_BYPASS_SQL))
        plan = make_plan(setup)
        company = make_company(setup, "Reset Routes Co")
        worker = make_user(setup, company, Role.WORKER, password_hash=hash_password("old-orchid-pass-11"))
        ids, email = (plan.id, company.id), worker.email
        setup.commit()
    try:
        yield email
    finally:
        from models import Company, Plan

        with Session(owner_engine) as cleanup:
            cleanup.execute(sa.text(RLS_BYPASS_SQL))
            cleanup.execute(sa.delete(Company).where(col(Company.id) == ids[1]))
            cleanup.execute(sa.delete(Plan).where(col(Plan.id) == ids[0]))
            cleanup.commit()


@pytest.fixture
def client(migrated_database: str) -> Iterator[TestClient]:
    with TestClient(api_app(), base_url="http://localhost:8000", follow_redirects=False) as test_client:
        yield test_client


def test_the_request_route_answers_the_same_for_known_and_unknown(client: TestClient, committed: str) -> None:
    def attempt(email: str) -> tuple[int, str, str]:
        response = client.post("/api/auth/reset-request", data={"email": email})
        return response.status_code, response.headers["location"], response.headers.get("set-cookie", "")

    assert attempt(committed) == attempt("nobody.here@example.com") == (303, "/reset?sent=1", "")
    assert len(mails_to(committed)) == 1 and mails_to("nobody.here@example.com") == []


def test_a_mail_that_fails_after_the_answer_changes_nothing_the_asker_sees(
    client: TestClient, committed: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object) -> None:
        raise ConnectionError("SMTP is down")

    monkeypatch.setattr(mailer, "send_mail", broken)
    response = client.post("/api/auth/reset-request", data={"email": committed})
    assert (response.status_code, response.headers["location"]) == (303, "/reset?sent=1")
    assert "password reset mail to a member could not be sent" in caplog.text
    assert mails_to(committed) == []


def test_the_reset_route_sets_the_password_and_ends_the_sessions(client: TestClient, committed: str) -> None:
    signed_in = client.post("/api/auth/login", data={"email": committed, "password": "old-orchid-pass-11"})
    assert signed_in.headers["location"] == "/"
    old_cookie = client.cookies.get(auth.SESSION_COOKIE)
    assert old_cookie and auth.resolve_actor(old_cookie) is not None
    client.post("/api/auth/reset-request", data={"email": committed})
    token = reset_token(committed)
    page = f"/reset/{token}"

    mismatch = client.post(
        "/api/auth/reset-password", data={"token": token, "password": NEW_PASSWORD, "repeat_password": "other"}
    )
    assert mismatch.headers["location"] == f"{page}?error=error.password_mismatch"
    weak = client.post(
        "/api/auth/reset-password", data={"token": token, "password": "password1234", "repeat_password": "password1234"}
    )
    assert weak.headers["location"] == f"{page}?error=error.password_too_common"

    done = client.post(
        "/api/auth/reset-password", data={"token": token, "password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}
    )
    assert done.status_code == 303 and done.headers["location"] == "/login?reset=1"
    assert auth.SESSION_COOKIE not in done.headers.get("set-cookie", "")  # no sign-in here
    assert auth.resolve_actor(old_cookie) is None  # the session and the process's cache entry are gone
    again = client.post(
        "/api/auth/reset-password", data={"token": token, "password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}
    )
    assert again.headers["location"] == f"{page}?error=error.reset_link_invalid"
    assert (
        client.post("/api/auth/login", data={"email": committed, "password": NEW_PASSWORD}).headers["location"] == "/"
    )


def test_cross_site_reset_forms_are_refused(client: TestClient, committed: str) -> None:
    evil = {"Origin": "https://evil.example"}
    response = client.post("/api/auth/reset-request", data={"email": committed}, headers=evil)
    assert response.headers["location"] == "/reset?error=error.cross_site"
    assert mails_to(committed) == []
    response = client.post(
        "/api/auth/reset-password",
        data={"token": "t" * 43, "password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD},
        headers=evil,
    )
    assert response.headers["location"] == f"/reset/{'t' * 43}?error=error.cross_site"
    assert get_redis() is not None
