"""Login, sessions and logout on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from models import Company, CompanyStatus, Role, User, UserSession
from services import auth, clock
from services.errors import AuthenticationFailed, ValidationFailed
from services.seed import DEMO_USERS, load_demo_data

pytestmark = pytest.mark.integration

MANAGER = next(u for u in DEMO_USERS if u.role is Role.MANAGER)
ADMIN = next(u for u in DEMO_USERS if u.role is Role.ADMIN)


@pytest.fixture
def demo(db: Session) -> Session:
    load_demo_data(db)
    return db


def test_login_returns_actor_and_stores_only_token_hash(demo: Session) -> None:
    token, actor = auth.login(demo, MANAGER.email, MANAGER.password, user_agent="pytest", ip="127.0.0.1")
    assert actor.role is Role.MANAGER and actor.company_name == "Acme Studio"
    stored = demo.exec(select(UserSession).where(UserSession.user_id == actor.user_id)).one()
    assert stored.token_hash == auth.hash_token(token) and token not in stored.token_hash
    assert stored.user_agent == "pytest" and stored.ip == "127.0.0.1"
    assert auth.resolve_session(demo, token) == actor


def test_email_is_case_insensitive(demo: Session) -> None:
    _, actor = auth.login(demo, "  " + MANAGER.email.upper(), MANAGER.password)
    assert actor.email == MANAGER.email


def test_admin_has_no_company(demo: Session) -> None:
    _, actor = auth.login(demo, ADMIN.email, ADMIN.password)
    assert actor.is_admin and actor.company_id is None and actor.company_name == ""


@pytest.mark.parametrize(
    ("email", "password"),
    [(MANAGER.email, "wrong-password-123"), ("nobody@example.com", MANAGER.password)],
)
def test_unknown_email_and_wrong_password_fail_the_same_way(demo: Session, email: str, password: str) -> None:
    with pytest.raises(AuthenticationFailed) as failure:
        auth.login(demo, email, password)
    assert failure.value.message == "error.bad_credentials"


def test_empty_input_is_a_validation_error(demo: Session) -> None:
    with pytest.raises(ValidationFailed):
        auth.login(demo, "", "")


def test_huge_password_is_refused_without_hashing(demo: Session) -> None:
    with pytest.raises(AuthenticationFailed):
        auth.login(demo, MANAGER.email, "x" * 100_000)


def test_inactive_user_and_deactivated_company_cannot_log_in(demo: Session) -> None:
    token, actor = auth.login(demo, MANAGER.email, MANAGER.password)
    company = demo.get(Company, actor.company_id)
    assert company is not None
    company.status = CompanyStatus.DEACTIVATED
    demo.add(company)
    demo.flush()
    assert auth.resolve_session(demo, token) is None
    with pytest.raises(AuthenticationFailed):
        auth.login(demo, MANAGER.email, MANAGER.password)
    company.status = CompanyStatus.ACTIVE
    user = demo.get(User, actor.user_id)
    assert user is not None
    user.is_active = False
    demo.add(user)
    demo.flush()
    with pytest.raises(AuthenticationFailed):
        auth.login(demo, MANAGER.email, MANAGER.password)


def test_idle_and_absolute_expiry(demo: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    token, _ = auth.login(demo, MANAGER.email, MANAGER.password)

    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=29))
    assert auth.resolve_session(demo, token) is not None  # also refreshes last_seen
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=29 + 30))
    assert auth.resolve_session(demo, token) is None  # idle for 30 minutes

    token, _ = auth.login(demo, MANAGER.email, MANAGER.password)
    moment = start + timedelta(minutes=59)
    while moment < start + timedelta(hours=12, minutes=30):
        monkeypatch.setattr(clock, "now", lambda m=moment: m)
        alive = auth.resolve_session(demo, token) is not None
        assert alive == (moment < start + timedelta(minutes=59) + timedelta(hours=12))
        moment += timedelta(minutes=20)


def test_logout_revokes(demo: Session) -> None:
    token, _ = auth.login(demo, MANAGER.email, MANAGER.password)
    auth.logout(demo, token)
    assert auth.resolve_session(demo, token) is None
    auth.logout(demo, token)  # twice is harmless
    auth.logout(demo, None)


@pytest.mark.parametrize("token", [None, "", "not-a-session", "x" * 5000])
def test_garbage_tokens_resolve_to_nobody(demo: Session, token: str | None) -> None:
    assert auth.resolve_session(demo, token) is None
