"""Sign-up and password change on the real database and the real Redis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, func, select

from devtools.seed import DEMO_USERS
from models import AuditLog, Company, Plan, Role, Trial, TrialStatus, User, UserSession
from services.core import throttle
from services.core.actor import Actor
from services.core.errors import Conflict, PermissionDenied, RateLimited, ServiceUnavailable, ValidationFailed
from services.core.passwords import verify_password
from services.identity import accounts, auth
from tests.conftest import clock_at
from tests.factories import make_plan

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_throttle")]

MANAGER = next(u for u in DEMO_USERS if u.role is Role.MANAGER)
PASSWORD = "violet-harbour-engine-42"
NEW_PASSWORD = "amber-canyon-lantern-77"
START = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    return clock_at(monkeypatch, START)


def sign_up(db: Session, **overrides: Any) -> tuple[str, Actor]:
    fields: dict[str, Any] = {
        "company_name": "Northwind Traders",
        "full_name": "Nora North",
        "email": "Nora@Northwind.example.com",
        "password": PASSWORD,
        "ip": "",
        "user_agent": "pytest",
    }
    fields.update(overrides)
    return accounts.sign_up(db, **fields)


def count(db: Session, model: type[Any]) -> int:
    return int(db.exec(select(func.count()).select_from(model)).one())


def audit_actions(db: Session) -> list[str]:
    return list(db.exec(select(AuditLog.action).order_by(col(AuditLog.id))).all())


# ---- sign-up -------------------------------------------------------------------------------


def test_sign_up_creates_company_manager_trial_and_session(demo: Session, at: Callable[[float], None]) -> None:
    token, actor = sign_up(demo, company_name="  Northwind   Traders ", full_name=" Nora  North ", ip="192.0.2.5")

    company = demo.get(Company, actor.company_id)
    assert company is not None and company.name == "Northwind Traders" and company.slug == "northwind-traders"
    user = demo.get(User, actor.user_id)
    assert user is not None
    assert (user.email, user.full_name, user.role, user.company_id) == (
        "nora@northwind.example.com",
        "Nora North",
        Role.MANAGER,
        company.id,
    )
    assert user.password_hash.startswith("$argon2id$") and verify_password(PASSWORD, user.password_hash)[0]
    assert user.last_login_at == START

    trial = demo.exec(select(Trial).where(Trial.company_id == company.id)).one()
    plan = demo.get(Plan, trial.plan_id)
    assert plan is not None and plan.code == "team"  # preferred over the cheaper "starter"
    assert trial.status is TrialStatus.ACTIVE and trial.started_at == START
    assert trial.ends_at == START + timedelta(days=plan.trial_days)

    assert actor.role is Role.MANAGER and actor.company_name == "Northwind Traders" and actor.ip == "192.0.2.5"
    assert auth.resolve_session(demo, token) == actor
    stored = demo.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
    assert stored.token_hash == auth.hash_token(token) and stored.ip == "192.0.2.5" and stored.user_agent == "pytest"

    assert audit_actions(demo) == ["company_created", "signup", "login"]
    entries = demo.exec(select(AuditLog)).all()
    assert all(e.company_id == company.id and e.actor_user_id == user.id for e in entries)
    assert PASSWORD not in str([e.changes for e in entries])
    signup = next(e for e in entries if e.action == "signup")
    assert signup.changes["trial_plan"] == "team" and signup.changes["email"] == user.email
    assert next(e for e in entries if e.action == "login").changes == {"method": "signup"}


def test_the_new_manager_can_log_in_with_the_password(demo: Session) -> None:
    sign_up(demo)
    _, actor = auth.login(demo, "nora@northwind.example.com", PASSWORD)
    assert actor.role is Role.MANAGER and actor.company_name == "Northwind Traders"


def test_without_a_team_plan_the_cheapest_active_plan_is_tried(db: Session, at: Callable[[float], None]) -> None:
    make_plan(db, code="retired-cheap", price_minor=100, is_active=False)
    make_plan(db, code="pro", price_minor=9000)
    basic = make_plan(db, code="basic", price_minor=1500, trial_days=30)
    _, actor = sign_up(db)
    trial = db.exec(select(Trial).where(Trial.company_id == actor.company_id)).one()
    assert trial.plan_id == basic.id and trial.ends_at == START + timedelta(days=30)


def test_no_plan_means_no_sign_up(db: Session) -> None:
    with pytest.raises(ServiceUnavailable) as failure:
        sign_up(db)
    assert failure.value.message == "error.no_plans"
    make_plan(db, code="old", is_active=False)
    with pytest.raises(ServiceUnavailable):
        sign_up(db)
    assert count(db, Company) == 0 and count(db, User) == 0


def test_slug_collisions_get_a_number(demo: Session) -> None:
    slugs = []
    for index, name in enumerate(["Acme", "ACME!", "acme", "Admin", "Рога и Копыта", "東京"]):
        _, actor = sign_up(demo, company_name=name, email=f"owner{index}@example.com")
        company = demo.get(Company, actor.company_id)
        assert company is not None
        slugs.append(company.slug)
    # the demo data already has "acme"; "admin" is reserved
    assert slugs == ["acme-2", "acme-3", "acme-4", "admin-2", "roga-i-kopyta", "company"]


def test_a_slug_taken_at_the_last_moment_gets_a_random_suffix(demo: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "_free_slug", lambda _session, _base: "acme")  # as if a parallel sign-up won
    _, actor = sign_up(demo, company_name="Acme")
    company = demo.get(Company, actor.company_id)
    assert company is not None and company.slug.startswith("acme-") and len(company.slug) == len("acme-") + 6


def test_email_already_registered_is_a_neutral_conflict(demo: Session) -> None:
    companies, users = count(demo, Company), count(demo, User)
    with pytest.raises(Conflict) as failure:
        sign_up(demo, email="  " + MANAGER.email.upper())
    assert failure.value.message == "error.email_taken"
    assert (count(demo, Company), count(demo, User)) == (companies, users)


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"company_name": "A"}, "error.company_name_too_short"),
        ({"company_name": "   "}, "error.company_name_too_short"),
        ({"company_name": "x" * 201}, "error.company_name_too_long"),
        ({"company_name": "Evil\u202eCorp"}, "error.company_name_invalid"),
        ({"full_name": "  "}, "error.full_name_required"),
        ({"full_name": "n" * 201}, "error.full_name_too_long"),
        ({"email": ""}, "error.email_required"),
        ({"email": "not-an-email"}, "error.invalid_email"),
        ({"email": "nora@localhost"}, "error.invalid_email"),
        ({"password": "short-pw"}, "error.password_too_short"),
        ({"password": "password1234"}, "error.password_too_common"),
        ({"password": "x" * 1025}, "error.password_too_long"),
        ({"password": "nora.northwind", "email": "nora.northwind@example.com"}, "error.password_matches_email"),
        ({"password": "Nora Northwind", "full_name": "Nora Northwind"}, "error.password_matches_name"),
        ({"company_name": None}, "error.company_name_too_short"),
        ({"email": None}, "error.email_required"),
    ],
)
def test_sign_up_validation(demo: Session, overrides: dict[str, Any], key: str) -> None:
    companies, users = count(demo, Company), count(demo, User)
    with pytest.raises(ValidationFailed) as failure:
        sign_up(demo, **overrides)
    assert failure.value.message == key
    assert (count(demo, Company), count(demo, User)) == (companies, users)


def test_sign_ups_from_one_address_are_throttled(demo: Session, at: Callable[[float], None]) -> None:
    for _ in range(10):
        with pytest.raises(ValidationFailed):
            sign_up(demo, password="short", ip="198.51.100.77")
    with pytest.raises(RateLimited) as limited:
        sign_up(demo, ip="198.51.100.77")
    assert limited.value.retry_after == 1
    sign_up(demo, ip="198.51.100.78")  # another address is not affected
    at(1)
    sign_up(demo, ip="198.51.100.77", email="second@example.com")  # after the delay


# ---- password change -----------------------------------------------------------------------


@pytest.fixture
def nora(demo: Session) -> tuple[str, Actor, str]:
    """Nora signed up (current session) and has a second session on another device."""
    current, actor = sign_up(demo)
    user = demo.get(User, actor.user_id)
    assert user is not None
    other = auth.open_session(demo, user, ip="10.0.0.2", user_agent="phone")
    return current, actor, other


def test_change_password_ends_the_other_sessions_only(demo: Session, nora: tuple[str, Actor, str]) -> None:
    current, actor, other = nora
    _, colleague_actor = sign_up(demo, email="colleague@example.com", company_name="Other Co")
    colleague = demo.exec(select(UserSession).where(UserSession.user_id == colleague_actor.user_id)).one()

    accounts.change_password(demo, actor, current_password=PASSWORD, new_password=NEW_PASSWORD, current_token=current)

    assert auth.resolve_session(demo, current) is not None
    assert auth.resolve_session(demo, other) is None
    demo.refresh(colleague)
    assert colleague.revoked_at is None
    with pytest.raises(Exception, match="bad_credentials"):
        auth.login(demo, actor.email, PASSWORD)
    auth.login(demo, actor.email, NEW_PASSWORD)

    changed = demo.exec(select(AuditLog).where(AuditLog.action == "password_changed")).one()
    assert changed.actor_user_id == actor.user_id and changed.target_id == str(actor.user_id)
    assert changed.changes == {"other_sessions_ended": 1}
    revoked = demo.exec(select(AuditLog).where(AuditLog.action == "session_revoked")).one()
    assert revoked.changes == {"reason": "password_changed", "sessions": 1}
    everything = str([(e.changes, e.target_id, e.actor_email) for e in demo.exec(select(AuditLog)).all()])
    assert PASSWORD not in everything and NEW_PASSWORD not in everything


def test_change_password_without_a_known_current_session_ends_them_all(
    demo: Session, nora: tuple[str, Actor, str]
) -> None:
    current, actor, other = nora
    accounts.change_password(demo, actor, current_password=PASSWORD, new_password=NEW_PASSWORD, current_token=None)
    assert auth.resolve_session(demo, current) is None and auth.resolve_session(demo, other) is None


@pytest.mark.parametrize(
    ("current_password", "new_password", "key"),
    [
        ("wrong-password-123", NEW_PASSWORD, "error.current_password_wrong"),
        ("", NEW_PASSWORD, "error.current_password_required"),
        (PASSWORD, "password1234", "error.password_too_common"),
        (PASSWORD, "short", "error.password_too_short"),
        (PASSWORD, "nora@northwind.example.com", "error.password_matches_email"),
        (PASSWORD, PASSWORD, "error.password_unchanged"),
    ],
)
def test_change_password_refusals(
    demo: Session, nora: tuple[str, Actor, str], current_password: str, new_password: str, key: str
) -> None:
    current, actor, other = nora
    with pytest.raises(ValidationFailed) as failure:
        accounts.change_password(
            demo, actor, current_password=current_password, new_password=new_password, current_token=current
        )
    assert failure.value.message == key
    assert auth.resolve_session(demo, other) is not None
    user = demo.get(User, actor.user_id)
    assert user is not None and verify_password(PASSWORD, user.password_hash)[0]


def test_guessing_the_current_password_is_throttled_like_login(
    demo: Session, nora: tuple[str, Actor, str], at: Callable[[float], None]
) -> None:
    current, actor, _ = nora
    for _ in range(4):
        throttle.begin_login(actor.email, "")  # earlier failed logins count too
    with pytest.raises(ValidationFailed):
        accounts.change_password(
            demo, actor, current_password="wrong-password-123", new_password=NEW_PASSWORD, current_token=current
        )
    with pytest.raises(RateLimited):
        accounts.change_password(
            demo, actor, current_password=PASSWORD, new_password=NEW_PASSWORD, current_token=current
        )
    at(1)
    accounts.change_password(demo, actor, current_password=PASSWORD, new_password=NEW_PASSWORD, current_token=current)
    assert throttle.failures(throttle.LOGIN_ACCOUNT, actor.email) == 0


def test_a_deactivated_user_cannot_change_the_password(demo: Session, nora: tuple[str, Actor, str]) -> None:
    current, actor, _ = nora
    user = demo.get(User, actor.user_id)
    assert user is not None
    user.is_active = False
    demo.add(user)
    demo.flush()
    with pytest.raises(PermissionDenied):
        accounts.change_password(
            demo, actor, current_password=PASSWORD, new_password=NEW_PASSWORD, current_token=current
        )
