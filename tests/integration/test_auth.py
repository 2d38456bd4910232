"""Login, throttling, sessions and logout on the real database and the real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from devtools.seed import DEMO_USERS
from models import AuditLog, Company, CompanyStatus, Role, User, UserSession
from services.core import clock, passwords, throttle
from services.core.actor import Actor
from services.core.errors import AuthenticationFailed, NotFound, PermissionDenied, RateLimited, ValidationFailed
from services.identity import auth
from tests.conftest import clock_at

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_throttle")]

MANAGER = next(u for u in DEMO_USERS if u.role is Role.MANAGER)
WORKER = next(u for u in DEMO_USERS if u.role is Role.WORKER and u.company == MANAGER.company)
OTHER_MANAGER = next(u for u in DEMO_USERS if u.role is Role.MANAGER and u.company != MANAGER.company)
ADMIN = next(u for u in DEMO_USERS if u.role is Role.ADMIN)
CLIENT = next(u for u in DEMO_USERS if u.role is Role.CLIENT)
START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """at(seconds): the clock reads START + seconds."""
    return clock_at(monkeypatch, START)


class CountingHasher:
    """Wraps pwdlib's PasswordHash and counts argon2 verifications."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.verifications = 0

    def verify(self, password: str, hash_: str) -> bool:
        self.verifications += 1
        return bool(self.inner.verify(password, hash_))

    def verify_and_update(self, password: str, hash_: str) -> tuple[bool, str | None]:
        self.verifications += 1
        result: tuple[bool, str | None] = self.inner.verify_and_update(password, hash_)
        return result

    def hash(self, password: str) -> str:
        return str(self.inner.hash(password))


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    passwords.dummy_hash()  # computed once, outside the count
    counting = CountingHasher(passwords.hasher())
    monkeypatch.setattr(passwords, "hasher", lambda: counting)
    return counting


def audits(db: Session, action: str) -> list[AuditLog]:
    return list(db.exec(select(AuditLog).where(AuditLog.action == action).order_by(col(AuditLog.id))).all())


def login(db: Session, user: Any = MANAGER, **kwargs: str) -> tuple[str, Actor]:
    return auth.login(db, user.email, user.password, **kwargs)


# ---- login ---------------------------------------------------------------------------------


def test_login_returns_actor_and_stores_only_token_hash(demo: Session) -> None:
    token, actor = login(demo, user_agent="pytest", ip="127.0.0.1")
    assert actor.role is Role.MANAGER and actor.company_name == "Acme Studio"
    assert actor.ip == "127.0.0.1" and actor.user_agent == "pytest"
    stored = demo.exec(select(UserSession).where(UserSession.user_id == actor.user_id)).one()
    assert stored.token_hash == auth.hash_token(token) and token not in stored.token_hash
    assert stored.user_agent == "pytest" and stored.ip == "127.0.0.1"
    assert auth.resolve_session(demo, token) == actor


def test_login_is_audited_with_the_session(demo: Session) -> None:
    token, actor = login(demo, user_agent="pytest", ip="10.0.0.9")
    (entry,) = audits(demo, "login")
    stored = demo.exec(select(UserSession).where(UserSession.token_hash == auth.hash_token(token))).one()
    assert entry.actor_user_id == actor.user_id and entry.company_id == actor.company_id
    assert entry.target_type == "session" and entry.target_id == str(stored.id)
    assert entry.ip == "10.0.0.9" and entry.user_agent == "pytest" and entry.changes == {"method": "password"}


def test_email_is_case_insensitive(demo: Session) -> None:
    _, actor = auth.login(demo, "  " + MANAGER.email.upper(), MANAGER.password)
    assert actor.email == MANAGER.email


def test_admin_has_no_company(demo: Session) -> None:
    _, actor = login(demo, ADMIN)
    assert actor.is_admin and actor.company_id is None and actor.company_name == ""


@pytest.mark.parametrize(
    ("email", "password"),
    [(MANAGER.email, "wrong-password-123"), ("nobody@example.com", MANAGER.password)],
)
def test_unknown_email_and_wrong_password_fail_the_same_way(demo: Session, email: str, password: str) -> None:
    with pytest.raises(AuthenticationFailed) as failure:
        auth.login(demo, email, password)
    assert failure.value.message == "error.bad_credentials"


def test_unknown_email_wrong_password_and_inactive_user_cost_one_argon2_check_each(
    demo: Session, hasher: CountingHasher
) -> None:
    """Same work whether the account exists or not (no timing oracle): one argon2 verification each,
    against a dummy hash made with the same parameters for unknown emails."""
    counts = []
    for email, password in [
        ("nobody@example.com", "whatever-password-1"),
        (MANAGER.email, "whatever-password-1"),
    ]:
        before = hasher.verifications
        with pytest.raises(AuthenticationFailed):
            auth.login(demo, email, password)
        counts.append(hasher.verifications - before)
    worker = demo.exec(select(User).where(User.email == WORKER.email)).one()
    worker.is_active = False
    demo.add(worker)
    demo.flush()
    before = hasher.verifications
    with pytest.raises(AuthenticationFailed) as failure:
        login(demo, WORKER)
    assert failure.value.message == "error.bad_credentials"
    counts.append(hasher.verifications - before)
    assert counts == [1, 1, 1]
    manager_hash = demo.exec(select(User.password_hash).where(User.email == MANAGER.email)).one()
    assert passwords.dummy_hash().split("$")[:4] == manager_hash.split("$")[:4]  # argon2id, same m/t/p


def test_empty_input_is_a_validation_error(demo: Session) -> None:
    with pytest.raises(ValidationFailed):
        auth.login(demo, "", "")


def test_huge_password_is_refused_without_hashing(demo: Session, hasher: CountingHasher) -> None:
    with pytest.raises(AuthenticationFailed):
        auth.login(demo, MANAGER.email, "x" * 100_000)
    assert hasher.verifications == 0


def test_inactive_user_and_deactivated_company_cannot_log_in(demo: Session) -> None:
    token, actor = login(demo)
    company = demo.get(Company, actor.company_id)
    assert company is not None
    company.status = CompanyStatus.DEACTIVATED
    demo.add(company)
    demo.flush()
    assert auth.resolve_session(demo, token) is None
    with pytest.raises(AuthenticationFailed):
        login(demo)
    company.status = CompanyStatus.ACTIVE
    user = demo.get(User, actor.user_id)
    assert user is not None
    user.is_active = False
    demo.add(user)
    demo.flush()
    with pytest.raises(AuthenticationFailed):
        login(demo)


def test_failed_logins_are_audited_and_survive_the_callers_rollback(demo: Session) -> None:
    manager = demo.exec(select(User).where(User.email == MANAGER.email)).one()
    with pytest.raises(AuthenticationFailed):
        auth.login(demo, MANAGER.email.upper(), "wrong-password-123", ip="192.0.2.1", user_agent="curl")
    long_email = "x" * 400 + "@example.com"
    with pytest.raises(AuthenticationFailed):
        auth.login(demo, long_email, "wrong-password-123", ip="192.0.2.1")
    with pytest.raises(AuthenticationFailed):
        auth.login(demo, "nobody@example.com", "wrong-password-123", ip="192.0.2.1")
    demo.rollback()  # what the caller's session_scope does when login raises

    wrong, oversized, unknown = audits(demo, "login_failed")
    assert wrong.actor_user_id is None and wrong.actor_email == MANAGER.email
    assert wrong.company_id == manager.company_id and wrong.target_id == str(manager.id)
    assert wrong.changes == {"reason": "wrong_password"} and wrong.ip == "192.0.2.1" and wrong.user_agent == "curl"
    assert len(oversized.actor_email) <= 320 and oversized.company_id is None
    assert oversized.changes == {"reason": "oversized_input"}
    assert unknown.actor_email == "nobody@example.com" and unknown.company_id is None
    assert unknown.changes == {"reason": "unknown_email"}
    assert "wrong-password-123" not in str([e.changes for e in (wrong, oversized, unknown)])


def test_idle_and_absolute_expiry(demo: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start)
    token, _ = login(demo)

    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=29))
    assert auth.resolve_session(demo, token) is not None  # also refreshes last_seen
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(minutes=29 + 30))
    assert auth.resolve_session(demo, token) is None  # idle for 30 minutes

    token, _ = login(demo)
    moment = start + timedelta(minutes=59)
    while moment < start + timedelta(hours=12, minutes=30):
        monkeypatch.setattr(clock, "now", lambda m=moment: m)
        alive = auth.resolve_session(demo, token) is not None
        assert alive == (moment < start + timedelta(minutes=59) + timedelta(hours=12))
        moment += timedelta(minutes=20)


@pytest.mark.parametrize("token", [None, "", "not-a-session", "x" * 5000])
def test_garbage_tokens_resolve_to_nobody(demo: Session, token: str | None) -> None:
    assert auth.resolve_session(demo, token) is None


def test_resolve_session_carries_the_requests_address(demo: Session) -> None:
    token, _ = login(demo, ip="10.1.1.1", user_agent="first")
    actor = auth.resolve_session(demo, token, ip="10.2.2.2", user_agent="second" * 200)
    assert actor is not None and actor.ip == "10.2.2.2" and actor.user_agent == ("second" * 200)[:512]


# ---- throttling through login ----------------------------------------------------------------


def test_after_five_failures_even_the_right_password_waits(
    demo: Session, at: Callable[[float], None], hasher: CountingHasher
) -> None:
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            auth.login(demo, MANAGER.email, "wrong-password-123", ip="192.0.2.10")
    before = hasher.verifications
    with pytest.raises(RateLimited) as limited:
        login(demo, ip="192.0.2.10")
    assert limited.value.retry_after == 1 and limited.value.message == "error.too_many_attempts"
    assert hasher.verifications == before  # refused before any password check
    at(0.5)
    with pytest.raises(RateLimited):
        login(demo, ip="192.0.2.11")  # from another address too: the account is what waits
    at(1)
    login(demo, ip="192.0.2.10")  # the delay has passed: the right password works ...
    assert throttle.failures(throttle.LOGIN_ACCOUNT, MANAGER.email) == 0  # ... and clears the account
    assert throttle.failures(throttle.LOGIN_IP, "192.0.2.10") == 5  # but not the address


def test_a_wrong_password_after_the_delay_doubles_it(demo: Session, at: Callable[[float], None]) -> None:
    for _ in range(5):
        throttle.begin_login(MANAGER.email, "")  # five earlier failures (cheap: no argon2)
    at(1)
    with pytest.raises(AuthenticationFailed):
        auth.login(demo, MANAGER.email, "wrong-password-123")
    at(2.5)
    with pytest.raises(RateLimited) as limited:
        login(demo)
    assert limited.value.retry_after == 1  # 2 s after the failure at t=1
    at(3)
    login(demo)


def test_no_permanent_lockout(demo: Session, at: Callable[[float], None]) -> None:
    for _ in range(5):
        throttle.begin_login(MANAGER.email, "")
    for _ in range(50):  # hammering during the delay is refused and changes nothing
        with pytest.raises(RateLimited):
            throttle.begin_login(MANAGER.email, "")
    t = 0.0
    for n in range(5, 30):  # a long attack, each guess as soon as it is allowed
        t += throttle.LOGIN_ACCOUNT.delay_seconds(n)
        at(t)
        throttle.begin_login(MANAGER.email, "")
    assert throttle.wait_seconds(throttle.LOGIN_ACCOUNT, MANAGER.email) == 15 * 60  # capped
    at(t + 15 * 60)
    login(demo)  # the owner gets in once the (capped) delay is over


def test_uknown_accounts_are_throttled_like_real_ones(demo: Session, at: Callable[[float], None]) -> None:
    for _ in range(5):
        throttle.begin_login("nobody@example.com", "")
    with pytest.raises(RateLimited):
        auth.login(demo, "Nobody@Example.com", "whatever-password-1")


def test_the_address_limit_stops_credential_stuffing(demo: Session) -> None:
    for n in range(20):
        throttle.begin_login(f"victim{n}@example.com", "198.51.100.20")
    with pytest.raises(RateLimited):
        login(demo, ip="198.51.100.20")
    login(demo, ip="198.51.100.21")


def test_a_database_error_during_login_is_not_counted(demo: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> tuple[bool, str | None]:
        raise RuntimeError("database went away")

    monkeypatch.setattr(auth, "verify_password", broken)
    with pytest.raises(RuntimeError):
        login(demo, ip="192.0.2.30")
    assert throttle.failures(throttle.LOGIN_ACCOUNT, MANAGER.email) == 0
    assert throttle.failures(throttle.LOGIN_IP, "192.0.2.30") == 0


# ---- sessions --------------------------------------------------------------------------------


def opened(db: Session, user: Any = MANAGER, *, ip: str = "", user_agent: str = "") -> tuple[str, Actor]:
    """A session opened without a password check (argon2 is slow on purpose; these tests are about sessions)."""
    row = db.exec(select(User).where(User.email == user.email)).one()
    token = auth.open_session(db, row, ip=ip, user_agent=user_agent)
    actor = auth.resolve_session(db, token, ip=ip, user_agent=user_agent)
    assert actor is not None
    return token, actor


def test_list_sessions_shows_only_own_active_ones_and_marks_the_current(
    demo: Session, at: Callable[[float], None]
) -> None:
    phone, _ = opened(demo, ip="10.0.0.1", user_agent="phone")
    at(120)
    laptop, actor = opened(demo, ip="10.0.0.2", user_agent="laptop")
    opened(demo, WORKER)  # someone else's
    ended, _ = opened(demo)
    auth.logout(demo, ended)

    sessions = auth.list_sessions(demo, actor, current_token=laptop)
    assert [(s.user_agent, s.ip, s.current) for s in sessions] == [
        ("laptop", "10.0.0.2", True),
        ("phone", "10.0.0.1", False),
    ]
    assert not any(hasattr(s, "token_hash") for s in sessions)
    assert [s.current for s in auth.list_sessions(demo, actor)] == [False, False]
    assert [s.current for s in auth.list_sessions(demo, actor, current_token=phone)] == [False, True]

    at(120 + 31 * 60)  # both idle for more than 30 minutes
    assert auth.list_sessions(demo, actor) == []


@pytest.mark.parametrize("who", [ADMIN, CLIENT])
def test_every_role_manages_its_own_sessions(demo: Session, who: Any) -> None:
    token, actor = opened(demo, who)
    (only,) = auth.list_sessions(demo, actor, current_token=token)
    auth.revoke_session(demo, actor, only.id)
    assert auth.resolve_session(demo, token) is None


def test_revoke_one_own_session(demo: Session) -> None:
    phone, actor = opened(demo, user_agent="phone")
    laptop, _ = opened(demo, user_agent="laptop")
    phone_id = next(s.id for s in auth.list_sessions(demo, actor) if s.user_agent == "phone")
    auth.revoke_session(demo, actor, phone_id)
    assert auth.resolve_session(demo, phone) is None
    assert auth.resolve_session(demo, laptop) is not None
    (entry,) = audits(demo, "session_revoked")
    assert entry.actor_user_id == actor.user_id and entry.target_id == str(phone_id)
    with pytest.raises(NotFound):
        auth.revoke_session(demo, actor, phone_id)  # already ended


def test_another_users_session_looks_missing(demo: Session) -> None:
    _, manager = opened(demo)
    worker_token, worker = opened(demo, WORKER)
    (worker_session,) = auth.list_sessions(demo, worker)
    for target in (worker_session.id, uuid.uuid4()):
        with pytest.raises(NotFound) as failure:
            auth.revoke_session(demo, manager, target)
        assert failure.value.message == "error.not_found"
    assert auth.resolve_session(demo, worker_token) is not None


def test_session_actions_need_an_actor(demo: Session) -> None:
    with pytest.raises(PermissionDenied):
        auth.list_sessions(demo, None)  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        auth.logout_all(demo, None)  # type: ignore[arg-type]


def test_logout_revokes_and_is_audited(demo: Session) -> None:
    token, actor = opened(demo)
    auth.logout(demo, token, ip="10.9.9.9")
    assert auth.resolve_session(demo, token) is None
    auth.logout(demo, token)  # twice is harmless
    auth.logout(demo, None)
    auth.logout(demo, "x" * 5000)
    (entry,) = audits(demo, "logout")
    assert entry.actor_user_id == actor.user_id and entry.ip == "10.9.9.9"


def test_logout_everywhere(demo: Session) -> None:
    tokens = [opened(demo)[0] for _ in range(3)]
    worker_token, _ = opened(demo, WORKER)
    _, actor = opened(demo)
    assert auth.logout_all(demo, actor) == 4
    assert all(auth.resolve_session(demo, t) is None for t in tokens)
    assert auth.resolve_session(demo, worker_token) is not None
    (entry,) = audits(demo, "logout_all")
    assert entry.changes == {"sessions": 4} and entry.actor_user_id == actor.user_id
    assert auth.logout_all(demo, actor) == 0


def test_revoke_user_sessions_for_other_services(demo: Session) -> None:
    keep, actor = opened(demo)
    gone, _ = opened(demo)
    keep_id = auth.session_id_for_token(demo, keep, actor.user_id)
    assert auth.session_id_for_token(demo, keep, uuid.uuid4()) is None
    assert auth.revoke_user_sessions(demo, actor.user_id, reason="role_changed", keep_session_id=keep_id) == 1
    assert auth.resolve_session(demo, gone) is None and auth.resolve_session(demo, keep) is not None
    assert auth.revoke_user_sessions(demo, actor.user_id, reason="deactivated") == 1
    assert auth.resolve_session(demo, keep) is None
    assert auth.revoke_user_sessions(demo, actor.user_id, reason="deactivated") == 0
    entries = audits(demo, "session_revoked")
    assert [e.changes for e in entries] == [
        {"reason": "role_changed", "sessions": 1},
        {"reason": "deactivated", "sessions": 1},
    ]
    assert all(e.company_id == actor.company_id and e.target_id == str(actor.user_id) for e in entries)


def test_revoked_sessions_stay_dead_even_if_the_idle_timeout_grows(demo: Session, at: Callable[[float], None]) -> None:
    token, actor = opened(demo)
    at(45 * 60)  # idle: already unusable, but still revoked so it cannot come back
    assert auth.revoke_user_sessions(demo, actor.user_id, reason="deactivated") == 1
    stored = demo.exec(select(UserSession).where(UserSession.token_hash == auth.hash_token(token))).one()
    assert stored.revoked_at is not None


def test_revoke_company_sessions(demo: Session) -> None:
    acme = [opened(demo, user)[0] for user in (MANAGER, WORKER, CLIENT)]
    globex, globex_actor = opened(demo, OTHER_MANAGER)
    _, manager = opened(demo)
    assert manager.company_id is not None
    assert auth.revoke_company_sessions(demo, manager.company_id) == 4
    assert all(auth.resolve_session(demo, t) is None for t in acme)
    assert auth.resolve_session(demo, globex) is not None
    (entry,) = audits(demo, "session_revoked")
    assert entry.company_id == manager.company_id and entry.target_type == "company"
    assert entry.changes == {"reason": "company_deactivated", "sessions": 4}
    assert globex_actor.company_id != manager.company_id


def test_open_session_refuses_inactive_users(demo: Session) -> None:
    worker = demo.exec(select(User).where(User.email == WORKER.email)).one()
    worker.is_active = False
    with pytest.raises(AuthenticationFailed):
        auth.open_session(demo, worker, ip="", user_agent="")


# ---- known browsers (OWASP device cookies) and the browser's previous session ---------------------


def _strangers_fail(demo: Session, times: int = 5) -> None:
    for _ in range(times):
        with pytest.raises(AuthenticationFailed):
            auth.login(demo, MANAGER.email, "wrong-password-123", ip="198.51.100.66")


def test_strangers_failures_do_not_delay_a_browser_that_signed_in_before(
    demo: Session, at: Callable[[float], None]
) -> None:
    # The clock stands still (`at`): on a loaded machine five argon2 checks can outlast the delay.
    device = auth.device_cookie_for(MANAGER.email)
    _strangers_fail(demo)
    with pytest.raises(RateLimited):
        login(demo, ip="192.0.2.40")  # an unknown browser still waits ...
    token, actor = login(demo, ip="192.0.2.40", device_cookie=device)  # ... the owner's own browser does not
    assert token and actor.email == MANAGER.email
    assert throttle.failures(throttle.LOGIN_ACCOUNT, MANAGER.email) == 5  # the strangers' delay stays


def test_a_known_browsers_own_failures_count_on_its_own_key(demo: Session, at: Callable[[float], None]) -> None:
    device = auth.device_cookie_for(MANAGER.email)
    for _ in range(5):
        with pytest.raises(AuthenticationFailed):
            auth.login(demo, MANAGER.email, "wrong-password-123", ip="192.0.2.41", device_cookie=device)
    with pytest.raises(RateLimited):
        login(demo, ip="192.0.2.41", device_cookie=device)
    assert throttle.failures(throttle.LOGIN_ACCOUNT, MANAGER.email) == 0
    login(demo, ip="192.0.2.42")  # the device's failures delay neither the account nor other browsers


@pytest.mark.parametrize("which", ["another-account", "forged", "expired", "garbage"])
def test_a_device_cookie_that_is_not_this_accounts_counts_for_nothing(
    demo: Session, at: Callable[[float], None], which: str
) -> None:
    device = {
        "another-account": auth.device_cookie_for(WORKER.email),
        "forged": auth.device_cookie_for(MANAGER.email)[:-4] + "AAAA",
        "expired": auth.device_cookie_for(MANAGER.email),
        "garbage": "x" * 5000,
    }[which]
    if which == "expired":
        at(auth.DEVICE_COOKIE_DAYS * 86400 + 1)
    _strangers_fail(demo)
    with pytest.raises(RateLimited):
        login(demo, ip="192.0.2.43", device_cookie=device)


def test_signing_in_ends_the_browsers_previous_session(demo: Session) -> None:
    first, _ = login(demo, ip="192.0.2.50")
    second, actor = login(demo, OTHER_MANAGER, ip="192.0.2.50", previous_token=first)
    assert auth.resolve_session(demo, first) is None
    assert auth.resolve_session(demo, second) is not None
    revoked = demo.exec(select(UserSession).where(col(UserSession.token_hash) == auth.hash_token(first))).one()
    assert revoked.revoked_at is not None
    assert actor.email == OTHER_MANAGER.email
