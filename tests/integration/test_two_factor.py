"""Two-factor sign-in (services/identity/totp.py, two_factor.py and the second step of auth.login) on
the real database and Redis, with codes computed here from the key the enrolment showed."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.exceptions import StarletteDeprecationWarning

from dashboard.api import api_app
from devtools.seed import DEMO_USERS
from models import AuditLog, Company, RecoveryCode, Role, TrustedBrowser, TwoFactorCredential, User
from services.core import crypto, throttle
from services.core.actor import Actor
from services.core.errors import AuthenticationFailed, Conflict, NotFound, RateLimited, ValidationFailed
from services.core.passwords import hash_password
from services.core.settings import get_settings
from services.identity import auth, totp, two_factor
from services.identity.auth import SecondFactorRequired
from tests.conftest import RLS_BYPASS_SQL, clock_at
from tests.factories import make_company, make_user

with warnings.catch_warnings():  # Starlette would like `httpx2` (not installed); httpx does the same job here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_throttle")]

WORKER = next(u for u in DEMO_USERS if u.role is Role.WORKER)
MANAGER = next(u for u in DEMO_USERS if u.role is Role.MANAGER)
START = datetime(2030, 6, 1, 8, 0, 10, tzinfo=UTC)  # 10 s into a 30-second step
STEP = totp.STEP_SECONDS
ROUTE_PASSWORD = "second-step-route-pass-31"


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    return clock_at(monkeypatch, START)


def sign_in(db: Session, email: str, password: str, **kw: object) -> tuple[str, Actor]:
    return auth.login(db, email, password, **kw)  # type: ignore[arg-type]


def second_step(db: Session, email: str, password: str, **kw: object) -> SecondFactorRequired:
    with pytest.raises(SecondFactorRequired) as raised:
        auth.login(db, email, password, **kw)  # type: ignore[arg-type]
    return raised.value


def enrolled(db: Session, at: Callable[[float], None]) -> tuple[Actor, totp.Enrolment]:
    """The demo worker with two-factor on (its key and recovery codes)."""
    _, actor = sign_in(db, WORKER.email, WORKER.password)
    enrolment = two_factor.start_two_factor(db, actor)
    two_factor.confirm_two_factor(db, actor, totp.current_code(enrolment.secret))
    at(STEP)  # the next step: the confirming code is used up
    return actor, enrolment


def sessions_of(db: Session, user_id: object) -> int:
    return len(auth.list_sessions(db, auth_actor(db, user_id)))


def auth_actor(db: Session, user_id: object) -> Actor:
    user = db.get(User, user_id)
    assert user is not None
    return auth.actor_for(user)


# ---- enrolment on the account page ---------------------------------------------------------


def test_enrolment_shows_a_server_rendered_qr_and_codes_and_stores_the_key_encrypted(
    demo: Session, at: Callable[[float], None]
) -> None:
    _, actor = sign_in(demo, WORKER.email, WORKER.password)
    enrolment = two_factor.start_two_factor(demo, actor)

    assert re.fullmatch(r"[A-Z2-7]{32}", enrolment.secret)
    assert enrolment.uri.startswith("otpauth://totp/Workdash:") and f"secret={enrolment.secret}" in enrolment.uri
    assert enrolment.qr_data_uri.startswith("data:image/svg+xml")
    assert len(set(enrolment.recovery_codes)) == totp.RECOVERY_CODES
    assert all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code) for code in enrolment.recovery_codes)
    row = demo.exec(select(TwoFactorCredential).where(TwoFactorCredential.user_id == actor.user_id)).one()
    assert enrolment.secret not in row.secret_encrypted and crypto.decrypt(row.secret_encrypted) == enrolment.secret
    stored = demo.exec(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == actor.user_id)).all()
    assert len(stored) == 10 and not set(stored) & {c.replace("-", "") for c in enrolment.recovery_codes}

    # Not on until confirmed: sign-in asks nothing.
    assert not two_factor.two_factor_status(demo, actor).enabled
    sign_in(demo, WORKER.email, WORKER.password)
    with pytest.raises(ValidationFailed, match=r"error\.two_factor_code_wrong"):
        two_factor.confirm_two_factor(demo, actor, "000000")
    two_factor.confirm_two_factor(demo, actor, totp.current_code(enrolment.secret))
    status = two_factor.two_factor_status(demo, actor)
    assert (status.enabled, status.required, status.recovery_codes_left) == (True, False, 10)
    assert demo.exec(select(AuditLog).where(AuditLog.action == "two_factor_enabled")).one().changes == {"at": "account"}
    with pytest.raises(Conflict):
        two_factor.start_two_factor(demo, actor)


def test_a_stored_key_under_another_encryption_key_is_unreadable_not_a_wrong_code(
    demo: Session, at: Callable[[float], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    _actor, enrolment = enrolled(demo, at)
    other = get_settings().model_copy(update={"secret_key": get_settings().secret_key.__class__("another-key-x" * 3)})
    monkeypatch.setattr(crypto, "get_settings", lambda: other)
    pending = second_step(demo, WORKER.email, WORKER.password)
    with pytest.raises(Exception, match=r"error\.secret_unreadable"):
        auth.complete_sign_in(demo, pending.pending_token, totp.current_code(enrolment.secret))


# ---- the second step -----------------------------------------------------------------------


def test_a_right_password_opens_no_session_until_a_code(demo: Session, at: Callable[[float], None]) -> None:
    actor, enrolment = enrolled(demo, at)
    before = sessions_of(demo, actor.user_id)
    pending = second_step(demo, WORKER.email, WORKER.password, ip="192.0.2.4")
    assert pending.step is totp.SecondStep.CODE and sessions_of(demo, actor.user_id) == before

    with pytest.raises(AuthenticationFailed, match=r"error\.two_factor_code_wrong"):
        auth.complete_sign_in(demo, pending.pending_token, "123456", ip="192.0.2.4")
    failed = demo.exec(select(AuditLog).where(AuditLog.action == "login_failed")).all()
    assert [f.changes for f in failed] == [{"reason": "wrong_code"}]

    done = auth.complete_sign_in(demo, pending.pending_token, totp.current_code(enrolment.secret), ip="192.0.2.4")
    assert done.actor.user_id == actor.user_id and done.trusted_token is None
    assert auth.resolve_session(demo, done.token) is not None
    login = demo.exec(select(AuditLog).where(AuditLog.action == "login").order_by(AuditLog.id.desc())).first()  # type: ignore[union-attr]
    assert login is not None and login.changes == {"method": "password+totp"}
    # The pending sign-in is used up.
    with pytest.raises(AuthenticationFailed, match=r"error\.sign_in_expired"):
        auth.complete_sign_in(demo, pending.pending_token, totp.current_code(enrolment.secret))


def test_the_same_code_is_never_accepted_twice(demo: Session, at: Callable[[float], None]) -> None:
    _, enrolment = enrolled(demo, at)
    code = totp.current_code(enrolment.secret)
    auth.complete_sign_in(demo, second_step(demo, WORKER.email, WORKER.password).pending_token, code)
    replay = second_step(demo, WORKER.email, WORKER.password)
    with pytest.raises(AuthenticationFailed, match=r"error\.two_factor_code_wrong"):
        auth.complete_sign_in(demo, replay.pending_token, code)
    # Nor a code of an earlier step, still inside the drift window.
    at(2 * STEP)
    with pytest.raises(AuthenticationFailed):
        auth.complete_sign_in(demo, replay.pending_token, code)
    auth.complete_sign_in(demo, replay.pending_token, totp.current_code(enrolment.secret))


def test_codes_of_the_neighbouring_steps_are_accepted(demo: Session, at: Callable[[float], None]) -> None:
    _, enrolment = enrolled(demo, at)
    at(5 * STEP)
    one_step_behind = totp.current_code(enrolment.secret, START + timedelta(seconds=4 * STEP))
    auth.complete_sign_in(demo, second_step(demo, WORKER.email, WORKER.password).pending_token, one_step_behind)
    at(9 * STEP)
    two_steps_behind = totp.current_code(enrolment.secret, START + timedelta(seconds=7 * STEP))
    stale = second_step(demo, WORKER.email, WORKER.password)
    with pytest.raises(AuthenticationFailed):
        auth.complete_sign_in(demo, stale.pending_token, two_steps_behind)
    one_step_ahead = totp.current_code(enrolment.secret, START + timedelta(seconds=10 * STEP))
    auth.complete_sign_in(demo, stale.pending_token, one_step_ahead)


def test_a_recovery_code_works_once(demo: Session, at: Callable[[float], None]) -> None:
    actor, enrolment = enrolled(demo, at)
    code = enrolment.recovery_codes[3]
    first = second_step(demo, WORKER.email, WORKER.password)
    done = auth.complete_sign_in(demo, first.pending_token, f"  {code.upper().replace('-', ' ')} ")
    assert done.actor.user_id == actor.user_id
    assert two_factor.two_factor_status(demo, actor).recovery_codes_left == 9
    again = second_step(demo, WORKER.email, WORKER.password)
    with pytest.raises(AuthenticationFailed, match=r"error\.two_factor_code_wrong"):
        auth.complete_sign_in(demo, again.pending_token, code)


def test_wrong_codes_are_throttled_per_account(demo: Session, at: Callable[[float], None]) -> None:
    _, enrolment = enrolled(demo, at)
    pending = second_step(demo, WORKER.email, WORKER.password)
    for _ in range(throttle.TWO_FACTOR_ACCOUNT.free_attempts):
        with pytest.raises(AuthenticationFailed):
            auth.complete_sign_in(demo, pending.pending_token, "000000", ip="198.51.100.1")
    with pytest.raises(RateLimited):  # even the right code waits, from any address
        auth.complete_sign_in(demo, pending.pending_token, totp.current_code(enrolment.secret), ip="198.51.100.2")
    at(STEP + 2)
    auth.complete_sign_in(demo, pending.pending_token, totp.current_code(enrolment.secret), ip="198.51.100.2")


def test_an_unknown_or_expired_pending_sign_in_must_start_over(demo: Session, at: Callable[[float], None]) -> None:
    for token in (None, "", "x" * 43, "y" * 500):
        with pytest.raises(AuthenticationFailed, match=r"error\.sign_in_expired"):
            auth.complete_sign_in(demo, token, "123456")


def test_a_member_deactivated_between_the_steps_gets_no_session(demo: Session, at: Callable[[float], None]) -> None:
    actor, enrolment = enrolled(demo, at)
    pending = second_step(demo, WORKER.email, WORKER.password)
    user = demo.get(User, actor.user_id)
    assert user is not None
    user.is_active = False
    demo.flush()
    with pytest.raises(AuthenticationFailed):
        auth.complete_sign_in(demo, pending.pending_token, totp.current_code(enrolment.secret))


# ---- trusted browsers ----------------------------------------------------------------------


def test_a_trusted_browser_skips_the_code_until_revoked(demo: Session, at: Callable[[float], None]) -> None:
    actor, enrolment = enrolled(demo, at)
    pending = second_step(demo, WORKER.email, WORKER.password)
    done = auth.complete_sign_in(
        demo, pending.pending_token, totp.current_code(enrolment.secret), trust_browser=True, user_agent="Firefox"
    )
    assert done.trusted_token
    sign_in(demo, WORKER.email, WORKER.password, trusted_cookie=done.trusted_token)  # no second step
    second_step(demo, WORKER.email, WORKER.password, trusted_cookie="forged-" + done.trusted_token)
    # Another account's trusted cookie is no trust for this one.
    _, manager = sign_in(demo, MANAGER.email, MANAGER.password)
    assert not totp.is_trusted(demo, manager.user_id, done.trusted_token)

    (browser,) = two_factor.two_factor_status(demo, actor).trusted_browsers
    assert browser.user_agent == "Firefox"
    with pytest.raises(NotFound):  # not the manager's to revoke
        two_factor.revoke_trusted_browser(demo, manager, browser.id)
    two_factor.revoke_trusted_browser(demo, actor, browser.id)
    assert two_factor.two_factor_status(demo, actor).trusted_browsers == ()
    second_step(demo, WORKER.email, WORKER.password, trusted_cookie=done.trusted_token)
    assert demo.exec(select(AuditLog).where(AuditLog.action == "trusted_browser_revoked")).one()


def test_trust_ends_after_30_days(demo: Session, at: Callable[[float], None]) -> None:
    _, enrolment = enrolled(demo, at)
    pending = second_step(demo, WORKER.email, WORKER.password)
    done = auth.complete_sign_in(demo, pending.pending_token, totp.current_code(enrolment.secret), trust_browser=True)
    at(totp.TRUST_DAYS * 86400 - 60)
    sign_in(demo, WORKER.email, WORKER.password, trusted_cookie=done.trusted_token)
    at(totp.TRUST_DAYS * 86400 + 60)
    second_step(demo, WORKER.email, WORKER.password, trusted_cookie=done.trusted_token)


# ---- turning it off, new recovery codes ----------------------------------------------------


def test_turning_it_off_needs_password_and_code_and_ends_other_sessions(
    demo: Session, at: Callable[[float], None]
) -> None:
    actor, enrolment = enrolled(demo, at)
    current = auth.complete_sign_in(
        demo, second_step(demo, WORKER.email, WORKER.password).pending_token, totp.current_code(enrolment.secret)
    )
    at(2 * STEP)
    other = auth.complete_sign_in(
        demo,
        second_step(demo, WORKER.email, WORKER.password).pending_token,
        totp.current_code(enrolment.secret),
        trust_browser=True,
    )
    at(3 * STEP)
    code = totp.current_code(enrolment.secret)
    with pytest.raises(ValidationFailed, match=r"error\.current_password_wrong"):
        two_factor.disable_two_factor(demo, actor, password="wrong-password-1", code=code, current_token=current.token)
    with pytest.raises(ValidationFailed, match=r"error\.two_factor_code_wrong"):
        two_factor.disable_two_factor(demo, actor, password=WORKER.password, code="111111", current_token=current.token)
    two_factor.disable_two_factor(demo, actor, password=WORKER.password, code=code, current_token=current.token)

    assert auth.resolve_session(demo, current.token) is not None and auth.resolve_session(demo, other.token) is None
    assert not two_factor.two_factor_status(demo, actor).enabled
    for model in (TwoFactorCredential, RecoveryCode, TrustedBrowser):
        assert demo.exec(select(model).where(model.user_id == actor.user_id)).first() is None  # type: ignore[attr-defined]
    sign_in(demo, WORKER.email, WORKER.password)  # no second step any more
    entry = demo.exec(select(AuditLog).where(AuditLog.action == "two_factor_disabled")).one()
    assert entry.changes == {"other_sessions_ended": 2}  # enrolled()'s own and `other`


def test_a_recovery_code_can_turn_it_off_too(demo: Session, at: Callable[[float], None]) -> None:
    actor, enrolment = enrolled(demo, at)
    two_factor.disable_two_factor(
        demo, actor, password=WORKER.password, code=enrolment.recovery_codes[0], current_token=None
    )
    assert not two_factor.two_factor_status(demo, actor).enabled


def test_new_recovery_codes_replace_the_old_ones(demo: Session, at: Callable[[float], None]) -> None:
    actor, enrolment = enrolled(demo, at)
    with pytest.raises(ValidationFailed):  # a recovery code is not "a current code" here
        two_factor.regenerate_recovery_codes(
            demo, actor, password=WORKER.password, code=enrolment.recovery_codes[0], current_token=None
        )
    codes = two_factor.regenerate_recovery_codes(
        demo, actor, password=WORKER.password, code=totp.current_code(enrolment.secret), current_token=None
    )
    assert len(codes) == 10 and not set(codes) & set(enrolment.recovery_codes)
    at(2 * STEP)
    old = second_step(demo, WORKER.email, WORKER.password)
    with pytest.raises(AuthenticationFailed):
        auth.complete_sign_in(demo, old.pending_token, enrolment.recovery_codes[1])
    auth.complete_sign_in(demo, old.pending_token, codes[1])
    assert demo.exec(select(AuditLog).where(AuditLog.action == "recovery_codes_regenerated")).one()


# ---- required: the company's rule and the operator -----------------------------------------


def test_a_company_that_requires_it_sends_members_to_enrolment(demo: Session, at: Callable[[float], None]) -> None:
    _, manager = sign_in(demo, MANAGER.email, MANAGER.password)
    assert two_factor.company_security(demo, manager).require_two_factor is False
    two_factor.set_two_factor_required(demo, manager, True)
    security = two_factor.company_security(demo, manager)
    assert security.require_two_factor and security.members_without_two_factor >= 2
    assert demo.exec(select(AuditLog).where(AuditLog.action == "company_security_changed")).one().changes == {
        "require_two_factor": True
    }

    pending = second_step(demo, WORKER.email, WORKER.password)
    assert pending.step is totp.SecondStep.ENROL
    enrolment = two_factor.start_sign_in_enrolment(demo, pending.pending_token)
    shown_again = two_factor.start_sign_in_enrolment(demo, pending.pending_token)  # the page loaded again
    assert shown_again.secret == enrolment.secret and shown_again.recovery_codes != enrolment.recovery_codes
    with pytest.raises(AuthenticationFailed):
        auth.complete_sign_in(demo, pending.pending_token, "000000")
    done = auth.complete_sign_in(demo, pending.pending_token, totp.current_code(enrolment.secret))
    assert (
        two_factor.two_factor_status(demo, done.actor).enabled
        and two_factor.two_factor_status(demo, done.actor).required
    )
    # Required: it cannot be turned off.
    at(STEP)
    with pytest.raises(Conflict, match=r"error\.two_factor_required"):
        two_factor.disable_two_factor(
            demo, done.actor, password=WORKER.password, code=totp.current_code(enrolment.secret), current_token=None
        )
    # The only recovery codes that work are the last ones shown.
    at(2 * STEP)
    with pytest.raises(AuthenticationFailed):
        auth.complete_sign_in(
            demo, second_step(demo, WORKER.email, WORKER.password).pending_token, enrolment.recovery_codes[0]
        )


def test_an_enrolment_page_needs_a_pending_enrolment(demo: Session, at: Callable[[float], None]) -> None:
    _, _enrolment = enrolled(demo, at)
    code_step = second_step(demo, WORKER.email, WORKER.password)
    for token in (None, "nope", code_step.pending_token):
        with pytest.raises(AuthenticationFailed, match=r"error\.sign_in_expired"):
            two_factor.start_sign_in_enrolment(demo, token)


@pytest.mark.parametrize(("env", "required"), [("local", False), ("test", False), ("ci", True)])
def test_the_operator_always_needs_it_outside_local_and_test(
    demo: Session, monkeypatch: pytest.MonkeyPatch, env: str, required: bool
) -> None:
    settings = get_settings().model_copy(update={"env": env})
    monkeypatch.setattr(totp, "get_settings", lambda: settings)
    admin = next(u for u in DEMO_USERS if u.role is Role.ADMIN)
    if required:
        assert second_step(demo, admin.email, admin.password).step is totp.SecondStep.ENROL
    else:
        sign_in(demo, admin.email, admin.password)


def test_a_company_rule_is_the_companys_own(demo: Session) -> None:
    _, manager = sign_in(demo, MANAGER.email, MANAGER.password)
    two_factor.set_two_factor_required(demo, manager, True)
    others = demo.exec(select(Company).where(Company.id != manager.company_id)).all()
    assert others and not any(c.require_two_factor for c in others)


# ---- the routes --------------------------------------------------------------------------


@pytest.fixture
def committed_totp_user(owner_engine: Engine) -> Iterator[tuple[str, str]]:
    """A worker with a confirmed key, committed for real (the routes open their own transactions):
    (email, key)."""
    secret = pyotp.random_base32()
    with Session(owner_engine, expire_on_commit=False) as setup:
        setup.execute(sa.text(RLS_BYPASS_SQL))
        company = make_company(setup, "Second Step Co")
        worker = make_user(setup, company, Role.WORKER, password_hash=hash_password(ROUTE_PASSWORD))
        setup.add(
            TwoFactorCredential(
                company_id=company.id,
                user_id=worker.id,
                secret_encrypted=crypto.encrypt(secret),
                confirmed_at=datetime.now(UTC),
            )
        )
        company_id, email = company.id, worker.email
        setup.commit()
    try:
        yield email, secret
    finally:
        with Session(owner_engine) as cleanup:
            cleanup.execute(sa.text(RLS_BYPASS_SQL))
            cleanup.execute(sa.delete(Company).where(col(Company.id) == company_id))
            cleanup.commit()


@pytest.fixture
def client(migrated_database: str) -> Iterator[TestClient]:
    with TestClient(api_app(), base_url="http://localhost:8000", follow_redirects=False) as test_client:
        yield test_client


def test_the_routes_take_a_password_then_a_code(client: TestClient, committed_totp_user: tuple[str, str]) -> None:
    email, secret = committed_totp_user
    first = client.post("/api/auth/login", data={"email": email, "password": ROUTE_PASSWORD})
    assert first.status_code == 303 and first.headers["location"] == "/login/two-factor"
    cookies = first.headers.get_list("set-cookie")
    assert any(c.startswith(f"{auth.PENDING_COOKIE}=") and "HttpOnly" in c and "Max-Age=600" in c for c in cookies)
    assert not any(c.startswith(f"{auth.SESSION_COOKIE}=") for c in cookies)  # no session yet

    wrong = client.post("/api/auth/two-factor", data={"code": "000000"})
    assert wrong.headers["location"] == "/login/two-factor?error=error.two_factor_code_wrong"
    done = client.post("/api/auth/two-factor", data={"code": pyotp.TOTP(secret).now(), "trust": "on"})
    assert done.status_code == 303 and done.headers["location"] == "/"
    cookies = done.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith(f"{auth.SESSION_COOKIE}="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    assert any(
        c.startswith(f'{auth.PENDING_COOKIE}=""') or "Max-Age=0" in c for c in cookies if auth.PENDING_COOKIE in c
    )
    assert any(c.startswith(f"{auth.TRUSTED_COOKIE}=") and "Max-Age=2592000" in c for c in cookies)
    assert auth.resolve_actor(client.cookies.get(auth.SESSION_COOKIE)) is not None

    # The trusted browser's next sign-in needs no code.
    again = client.post("/api/auth/login", data={"email": email, "password": ROUTE_PASSWORD})
    assert again.headers["location"] == "/"


def test_a_second_step_without_a_pending_sign_in_starts_over(client: TestClient) -> None:
    response = client.post("/api/auth/two-factor", data={"code": "123456"})
    assert response.headers["location"] == "/login/two-factor?error=error.sign_in_expired"
    assert auth.SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_a_cross_site_second_step_is_refused(client: TestClient, committed_totp_user: tuple[str, str]) -> None:
    email, secret = committed_totp_user
    client.post("/api/auth/login", data={"email": email, "password": ROUTE_PASSWORD})
    response = client.post(
        "/api/auth/two-factor", data={"code": pyotp.TOTP(secret).now()}, headers={"Origin": "https://evil.example"}
    )
    assert response.headers["location"] == "/login/two-factor?error=error.cross_site"
    assert auth.SESSION_COOKIE not in response.headers.get("set-cookie", "")
