"""Sign-up (verification first) and password change on the real database, the real Redis and the
real dev outbox (MAIL_BACKEND=outbox, read back with services.core.mailer.read_outbox)."""

from __future__ import annotations

import json
import re
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from devtools.seed import DEMO_USERS
from models import (
    AuditLog,
    Company,
    CompanyStatus,
    Plan,
    Role,
    SignupVerification,
    Trial,
    TrialStatus,
    User,
    UserSession,
)
from services.core import mailer, throttle
from services.core.actor import Actor
from services.core.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from services.core.passwords import verify_password
from services.core.redis_client import get_redis
from services.core.settings import get_settings
from services.identity import accounts, auth, signup
from tests.conftest import clock_at
from tests.factories import make_plan
from tests.smtp_server import use_settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_throttle", "outbox")]

MANAGER = next(u for u in DEMO_USERS if u.role is Role.MANAGER)
PASSWORD = "violet-harbour-engine-42"
NEW_PASSWORD = "amber-canyon-lantern-77"
START = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
NORA = "nora@northwind.example.com"
LINK = re.compile(r"(https?://\S+)/verify/([A-Za-z0-9_-]+)")
OPERATOR = Actor(user_id=uuid.uuid4(), company_id=None, role=Role.ADMIN, full_name="Operator", email="op@example.com")


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    return clock_at(monkeypatch, START)


def mails_to(address: str) -> list[mailer.OutboxMessage]:
    return [m for m in mailer.read_outbox(OPERATOR, limit=mailer.OUTBOX_SIZE) if m.to == address]


def link_token(address: str) -> str:
    """The token of the newest sign-up link mailed to `address`."""
    message = mails_to(address)[0]
    match = LINK.search(message.body)
    assert match, message.body
    assert match.group(1) == get_settings().public_url.rstrip("/")
    return match.group(2)


def start_sign_up(db: Session, **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "company_name": "Northwind Traders",
        "full_name": "Nora North",
        "email": "Nora@Northwind.example.com",
        "password": PASSWORD,
        "ip": "",
    }
    fields.update(overrides)
    signup.sign_up(db, **fields)


def sign_up(db: Session, **overrides: Any) -> tuple[str, Actor]:
    """Sign up and open the mailed link with the same password: (session token, Actor)."""
    start_sign_up(db, **overrides)
    address = str(overrides.get("email", NORA)).strip().lower()
    password = overrides.get("password", PASSWORD)
    return signup.verify_sign_up(db, link_token(address), password=password, ip=overrides.get("ip", ""))


def count(db: Session, model: type[Any]) -> int:
    return int(db.exec(select(func.count()).select_from(model)).one())


def counts(db: Session) -> tuple[int, ...]:
    return tuple(count(db, model) for model in (Company, User, SignupVerification, Trial, UserSession, AuditLog))


def audit_actions(db: Session) -> list[str]:
    return list(db.exec(select(AuditLog.action).order_by(col(AuditLog.id))).all())


# ---- sign-up: nothing usable before the link is opened --------------------------------------


def test_sign_up_creates_an_unusable_company_and_mails_a_link(demo: Session, at: Callable[[float], None]) -> None:
    assert (
        signup.sign_up(  # type: ignore[func-returns-value]
            demo,
            company_name="  Northwind   Traders ",
            full_name=" Nora  North ",
            email="Nora@Northwind.example.com",
            password=PASSWORD,
            ip="192.0.2.5",
        )
        is None
    )

    company = demo.exec(select(Company).where(Company.name == "Northwind Traders")).one()
    assert company.slug == "northwind-traders"
    user = demo.exec(select(User).where(User.email == NORA)).one()
    assert (user.full_name, user.role, user.company_id, user.is_active) == (
        "Nora North",
        Role.MANAGER,
        company.id,
        False,
    )
    assert user.password_hash.startswith("$argon2id$") and verify_password(PASSWORD, user.password_hash)[0]
    assert user.last_login_at is None
    # No trial, no session and no audit entry until the address is proven.
    assert demo.exec(select(Trial).where(Trial.company_id == company.id)).first() is None
    assert demo.exec(select(UserSession).where(UserSession.user_id == user.id)).first() is None
    assert demo.exec(select(AuditLog).where(AuditLog.company_id == company.id)).first() is None
    with pytest.raises(AuthenticationFailed):
        auth.login(demo, NORA, PASSWORD)

    (message,) = mails_to(NORA)
    assert message.subject == signup.VERIFY_SUBJECT
    for typed in ("Northwind", "Nora North"):  # nothing the signer typed reaches the mail
        assert typed not in message.subject and typed not in message.body
    token = link_token(NORA)
    assert len(token) >= 43
    verification = demo.exec(select(SignupVerification).where(SignupVerification.company_id == company.id)).one()
    assert verification.user_id == user.id and verification.token_hash == auth.hash_token(token)
    assert verification.expires_at == START + signup.SIGNUP_TTL
    assert token not in json.dumps(verification.model_dump(mode="json"))
    assert signup.describe_sign_up(demo, token) == signup.SignupPreview(company_name="Northwind Traders", email=NORA)


def test_opening_the_link_signs_the_manager_in_and_starts_the_trial(demo: Session, at: Callable[[float], None]) -> None:
    start_sign_up(demo, ip="192.0.2.5")
    token = link_token(NORA)
    at(3600)  # the link is opened an hour later: the trial starts then
    session_token, actor = signup.verify_sign_up(demo, token, password=PASSWORD, ip="192.0.2.6", user_agent="pytest")
    verified_at = START + timedelta(hours=1)

    company = demo.get(Company, actor.company_id)
    assert company is not None and company.name == "Northwind Traders" and company.slug == "northwind-traders"
    user = demo.get(User, actor.user_id)
    assert user is not None
    assert (user.email, user.full_name, user.role, user.company_id, user.is_active) == (
        NORA,
        "Nora North",
        Role.MANAGER,
        company.id,
        True,
    )
    assert user.last_login_at == verified_at

    trial = demo.exec(select(Trial).where(Trial.company_id == company.id)).one()
    plan = demo.get(Plan, trial.plan_id)
    assert plan is not None and plan.code == "team"  # preferred over the cheaper "starter"
    assert trial.status is TrialStatus.ACTIVE and trial.started_at == verified_at
    assert trial.ends_at == verified_at + timedelta(days=plan.trial_days)

    assert actor.role is Role.MANAGER and actor.company_name == "Northwind Traders" and actor.ip == "192.0.2.6"
    assert auth.resolve_session(demo, session_token) == actor
    stored = demo.exec(select(UserSession).where(UserSession.user_id == user.id)).one()
    assert stored.token_hash == auth.hash_token(session_token) and stored.ip == "192.0.2.6"
    assert stored.user_agent == "pytest"
    assert demo.exec(select(SignupVerification).where(SignupVerification.company_id == company.id)).first() is None

    assert audit_actions(demo) == ["company_created", "signup", "login"]
    entries = demo.exec(select(AuditLog)).all()
    assert all(e.company_id == company.id and e.actor_user_id == user.id for e in entries)
    assert PASSWORD not in str([e.changes for e in entries]) and token not in str([e.changes for e in entries])
    created = next(e for e in entries if e.action == "signup")
    assert created.changes["trial_plan"] == "team" and created.changes["email"] == user.email
    assert next(e for e in entries if e.action == "login").changes == {"method": "signup"}


def test_the_new_manager_can_log_in_with_the_password(demo: Session) -> None:
    sign_up(demo)
    _, actor = auth.login(demo, NORA, PASSWORD)
    assert actor.role is Role.MANAGER and actor.company_name == "Northwind Traders"


def test_a_link_works_once(demo: Session) -> None:
    start_sign_up(demo)
    token = link_token(NORA)
    signup.verify_sign_up(demo, token, password=PASSWORD)
    for attempt in (
        lambda: signup.verify_sign_up(demo, token, password=PASSWORD),
        lambda: signup.describe_sign_up(demo, token),
    ):
        with pytest.raises(NotFound, match=r"^error\.signup_link_invalid$"):
            attempt()


def test_a_link_expires(demo: Session, at: Callable[[float], None]) -> None:
    start_sign_up(demo)
    token = link_token(NORA)
    at(signup.SIGNUP_TTL.total_seconds() - 60)
    assert signup.describe_sign_up(demo, token).email == NORA
    at(signup.SIGNUP_TTL.total_seconds())
    with pytest.raises(NotFound, match=r"^error\.signup_link_invalid$"):
        signup.describe_sign_up(demo, token)
    with pytest.raises(NotFound, match=r"^error\.signup_link_invalid$"):
        signup.verify_sign_up(demo, token, password=PASSWORD)


def test_the_link_needs_the_password_chosen_at_sign_up(demo: Session, at: Callable[[float], None]) -> None:
    """Whoever opens a link someone else triggered cannot activate that person's account."""
    start_sign_up(demo)
    token = link_token(NORA)
    for wrong, key in (("", "error.signup_password_required"), ("not-the-password", "error.signup_password_wrong")):
        with pytest.raises(ValidationFailed) as failure:
            signup.verify_sign_up(demo, token, password=wrong)
        assert failure.value.message == key
    user = demo.exec(select(User).where(User.email == NORA)).one()
    assert not user.is_active
    for _ in range(4):  # guesses count like failed logins of the account
        with pytest.raises(ValidationFailed):
            signup.verify_sign_up(demo, token, password="another-wrong-guess")
    with pytest.raises(RateLimited):
        signup.verify_sign_up(demo, token, password=PASSWORD)
    at(1)
    signup.verify_sign_up(demo, token, password=PASSWORD)
    assert throttle.failures(throttle.LOGIN_ACCOUNT, NORA) == 0


@pytest.mark.parametrize("token", [None, "", "nope", "x" * 5000, "../../etc/passwd"])
def test_garbage_links_are_invalid(demo: Session, token: str | None) -> None:
    with pytest.raises(NotFound, match=r"^error\.signup_link_invalid$"):
        signup.describe_sign_up(demo, token)
    with pytest.raises(NotFound, match=r"^error\.signup_link_invalid$"):
        signup.verify_sign_up(demo, token, password=PASSWORD)


def test_a_link_of_a_company_the_operator_deactivated_is_dead(demo: Session) -> None:
    start_sign_up(demo)
    company = demo.exec(select(Company).where(Company.name == "Northwind Traders")).one()
    company.status = CompanyStatus.DEACTIVATED
    demo.add(company)
    demo.flush()
    with pytest.raises(NotFound, match=r"^error\.signup_link_invalid$"):
        signup.verify_sign_up(demo, link_token(NORA), password=PASSWORD)


# ---- sign-up: a known address learns nothing, an unverified one can be taken over ----------


def test_a_known_address_gets_the_same_answer_and_a_warning_mail(demo: Session) -> None:
    before = counts(demo)
    assert (
        signup.sign_up(  # type: ignore[func-returns-value]
            demo,
            company_name="Account Security",
            full_name="Mallory",
            email="  " + MANAGER.email.upper(),
            password=PASSWORD,
        )
        is None
    )
    assert counts(demo) == before  # nothing written
    (message,) = mails_to(MANAGER.email)
    assert message.subject == signup.KNOWN_ADDRESS_SUBJECT
    assert "/verify/" not in message.body and "/login" in message.body
    for typed in ("Account Security", "Mallory"):
        assert typed not in message.subject and typed not in message.body
    _, actor = auth.login(demo, MANAGER.email, MANAGER.password)  # the account is untouched
    assert actor.company_name != "Account Security"


def test_both_answers_cost_one_password_hash_and_one_mail(demo: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[str] = []
    real_hash = signup.hash_password
    monkeypatch.setattr(signup, "hash_password", lambda password: hashed.append(password) or real_hash(password))
    start_sign_up(demo, email=MANAGER.email)
    start_sign_up(demo, email="new.owner@example.com")
    assert hashed == [PASSWORD, PASSWORD]
    assert len(mails_to(MANAGER.email)) == len(mails_to("new.owner@example.com")) == 1


def test_both_answers_take_about_as_long(demo: Session) -> None:
    def timed(email: str) -> float:
        started = time.perf_counter()
        start_sign_up(demo, email=email)
        return time.perf_counter() - started

    known, new = [], []
    for i in range(3):  # interleaved, so a busy moment of the machine hits both
        known.append(timed(MANAGER.email))
        new.append(timed(f"timing{i}@example.com"))
    k, n = statistics.median(known), statistics.median(new)
    assert abs(k - n) < 0.5 * max(k, n), (known, new)


def test_an_unverified_sign_up_is_replaced_by_a_new_one(demo: Session) -> None:
    """A squatter cannot hold an address: its owner signs up again and the squatter's sign-up is gone."""
    start_sign_up(demo, company_name="Squatter Inc", email="ceo@victim.example.com", password="squatter-pass-9876")
    squatter_link = link_token("ceo@victim.example.com")
    squatter_id = demo.exec(select(Company.id).where(Company.name == "Squatter Inc")).one()
    start_sign_up(demo, company_name="Victim Corp", email="CEO@Victim.example.com", full_name="Vera Victim")

    with pytest.raises(NotFound):
        signup.describe_sign_up(demo, squatter_link)
    demo.expunge_all()
    assert demo.get(Company, squatter_id) is None
    assert len(demo.exec(select(User).where(User.email == "ceo@victim.example.com")).all()) == 1
    _, actor = signup.verify_sign_up(demo, link_token("ceo@victim.example.com"), password=PASSWORD)
    assert (actor.company_name, actor.full_name) == ("Victim Corp", "Vera Victim")
    # Verified, the address is known: a further sign-up only warns it.
    start_sign_up(demo, company_name="Squatter Again", email="ceo@victim.example.com")
    assert mails_to("ceo@victim.example.com")[0].subject == signup.KNOWN_ADDRESS_SUBJECT
    assert demo.exec(select(Company).where(Company.name == "Squatter Again")).first() is None


def test_sign_up_mail_to_one_address_is_limited_the_same_whether_known_or_not(
    demo: Session, at: Callable[[float], None]
) -> None:
    with use_settings(SIGNUP_MAILS_PER_ADDRESS_PER_HOUR="2"):
        waits = []
        for address in (MANAGER.email, "fresh@example.com"):
            for minute in (0, 10):
                at(minute * 60)
                start_sign_up(demo, email=address)
            at(20 * 60)
            with pytest.raises(RateLimited) as limited:
                start_sign_up(demo, email=address)
            waits.append(limited.value.retry_after)
        assert waits == [40 * 60, 40 * 60]
        assert len(mails_to(MANAGER.email)) == len(mails_to("fresh@example.com")) == 2
        at(60 * 60)
        start_sign_up(demo, email="fresh@example.com")


def test_without_a_team_plan_the_cheapest_active_plan_is_tried(db: Session, at: Callable[[float], None]) -> None:
    make_plan(db, code="retired-cheap", price_minor=100, is_active=False)
    make_plan(db, code="pro", price_minor=9000)
    basic = make_plan(db, code="basic", price_minor=1500, trial_days=30)
    _, actor = sign_up(db)
    trial = db.exec(select(Trial).where(Trial.company_id == actor.company_id)).one()
    assert trial.plan_id == basic.id and trial.ends_at == START + timedelta(days=30)


def test_no_plan_means_no_sign_up(db: Session) -> None:
    with pytest.raises(ServiceUnavailable) as failure:
        start_sign_up(db)
    assert failure.value.message == "error.no_plans"
    make_plan(db, code="old", is_active=False)
    with pytest.raises(ServiceUnavailable):
        start_sign_up(db)
    assert count(db, Company) == 0 and count(db, User) == 0
    assert mails_to(NORA) == []


def test_plans_retired_before_the_link_is_opened_stop_the_verification(db: Session) -> None:
    plan = make_plan(db, code="only")
    start_sign_up(db)
    db.execute(sa.update(Plan).where(col(Plan.id) == plan.id).values(is_active=False))
    with pytest.raises(ServiceUnavailable, match=r"^error\.no_plans$"):
        signup.verify_sign_up(db, link_token(NORA), password=PASSWORD)


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
        start_sign_up(demo, **overrides)
    assert failure.value.message == key
    assert (count(demo, Company), count(demo, User)) == (companies, users)
    assert get_redis().llen(mailer.OUTBOX_KEY) == 0


def test_sign_ups_from_one_address_are_throttled(demo: Session, at: Callable[[float], None]) -> None:
    for _ in range(10):
        with pytest.raises(ValidationFailed):
            start_sign_up(demo, password="short", ip="198.51.100.77")
    with pytest.raises(RateLimited) as limited:
        start_sign_up(demo, ip="198.51.100.77")
    assert limited.value.retry_after == 1
    start_sign_up(demo, ip="198.51.100.78")  # another address is not affected
    at(1)
    start_sign_up(demo, ip="198.51.100.77", email="second@example.com")  # after the delay
    assert len(mails_to(NORA)) == len(mails_to("second@example.com")) == 1


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
