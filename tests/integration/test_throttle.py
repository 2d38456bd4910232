"""Login throttling on the real Redis, with the clock moved by monkeypatching services.core.clock.now."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from services.core import redis_client, throttle
from services.core.errors import RateLimited, ServiceUnavailable
from services.core.settings import get_settings
from tests.conftest import clock_at

if TYPE_CHECKING:
    from tests.conftest import TestServers

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_throttle")]

EMAIL = "someone@example.com"
IP = "203.0.113.7"
START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """at(seconds): set the clock to START + seconds."""
    return clock_at(monkeypatch, START)


def fail(email: str = EMAIL, ip: str = IP) -> None:
    """One login attempt that turns out wrong (counted by begin, nothing to settle)."""
    throttle.begin_login(email, ip)


def refused(email: str = EMAIL, ip: str = IP) -> int:
    with pytest.raises(RateLimited) as limited:
        throttle.begin_login(email, ip)
    assert limited.value.message == "error.too_many_attempts"
    return limited.value.retry_after


def test_five_free_failures_then_delays_that_double(at: Callable[[float], None]) -> None:
    for _ in range(5):
        fail()
    assert throttle.failures(throttle.LOGIN_ACCOUNT, EMAIL) == 5
    assert refused() == 1
    t = 0.0
    for expected in (1, 2, 4, 8, 16, 32):
        at(t + expected - 0.5)
        assert refused() >= 1  # half a second early: still refused (rounded up to a whole second)
        t += expected
        at(t)
        fail()  # exactly when the delay is over: allowed, and it fails again
    assert throttle.failures(throttle.LOGIN_ACCOUNT, EMAIL) == 11
    assert throttle.wait_seconds(throttle.LOGIN_ACCOUNT, EMAIL) == 64


def test_refused_attempts_do_not_count_and_the_delay_never_grows_without_failures(
    at: Callable[[float], None],
) -> None:
    for _ in range(5):
        fail()
    at(1)
    fail()
    # 6 failures, the last at t=1: the next attempt waits until t=3. Hammering meanwhile changes nothing.
    for tick in range(20):
        at(1 + tick / 10)
        assert 1 <= refused() <= 2
    assert throttle.failures(throttle.LOGIN_ACCOUNT, EMAIL) == 6
    assert throttle.wait_seconds(throttle.LOGIN_ACCOUNT, EMAIL) == 1  # at t=2.9
    at(3)
    claim = throttle.begin_login(EMAIL, IP)  # allowed at exactly t=3
    throttle.login_succeeded(claim, EMAIL, IP)  # ... and with the right password it goes through


def test_the_cap_is_fifteen_minutes(at: Callable[[float], None]) -> None:
    t = 0.0
    for n in range(40):
        at(t)
        fail()
        t += throttle.LOGIN_ACCOUNT.delay_seconds(n + 1)
    assert throttle.wait_seconds(throttle.LOGIN_ACCOUNT, EMAIL) == 15 * 60
    assert refused() == 15 * 60


def test_success_clears_the_account_but_not_the_ip(at: Callable[[float], None]) -> None:
    for _ in range(4):
        fail()
    ip_before = throttle.failures(throttle.LOGIN_IP, IP)
    claim = throttle.begin_login(EMAIL, IP)
    throttle.login_succeeded(claim, EMAIL, IP)
    assert throttle.failures(throttle.LOGIN_ACCOUNT, EMAIL) == 0
    assert throttle.failures(throttle.LOGIN_IP, IP) == ip_before == 4  # the success itself is not counted


def test_no_permanent_lockout_counters_expire(at: Callable[[float], None]) -> None:
    t = 0.0
    for n in range(12):
        at(t)
        fail()
        t += throttle.LOGIN_ACCOUNT.delay_seconds(n + 1)
    locked_for = throttle.wait_seconds(throttle.LOGIN_ACCOUNT, EMAIL)
    assert locked_for == 128
    # Nobody tries: the lock ends by itself after the delay ...
    at(t)
    assert throttle.wait_seconds(throttle.LOGIN_ACCOUNT, EMAIL) == 0
    # ... and the failures are forgotten a window later: five free attempts again.
    at(t + 15 * 60)
    assert throttle.failures(throttle.LOGIN_ACCOUNT, EMAIL) == 0
    for _ in range(5):
        fail()
    assert refused() == 1


def test_failures_spread_over_more_than_the_window_are_forgotten(at: Callable[[float], None]) -> None:
    for n in range(10):
        at(n * 16 * 60)  # one failure every 16 minutes: never more than one counted
        fail()
        assert throttle.failures(throttle.LOGIN_ACCOUNT, EMAIL) == 1


def test_the_ip_limit_spans_accounts(at: Callable[[float], None]) -> None:
    for n in range(20):
        fail(email=f"victim{n}@example.com")  # credential stuffing: one guess per account
    assert refused(email="victim99@example.com") == 1
    claim = throttle.begin_login(EMAIL, "198.51.100.1")  # another IP is not affected
    throttle.login_succeeded(claim, EMAIL, "198.51.100.1")


def test_accounts_are_independent_and_emails_never_appear_in_redis(at: Callable[[float], None]) -> None:
    for _ in range(5):
        fail(ip="")  # no IP (a CLI, a test): only the account counts
    assert refused(ip="") == 1
    throttle.login_succeeded(throttle.begin_login("other@example.com", ""), "other@example.com", "")
    keys = list(redis_client.get_redis().scan_iter(match=throttle.KEY_PREFIX + "*"))
    assert keys
    for key in keys:
        assert "example.com" not in key and "someone" not in key and IP not in key
        stored = redis_client.get_redis().hgetall(key)
        assert set(stored) == {"count", "last"}
        assert 0 < redis_client.get_redis().pttl(key) <= (15 * 60 + 1 + 60) * 1000  # garbage collected by Redis too


def test_refund_takes_back_an_attempt_that_was_not_a_failure(at: Callable[[float], None]) -> None:
    for _ in range(3):
        fail()
    claim = throttle.begin_login(EMAIL, IP)
    assert throttle.failures(throttle.LOGIN_ACCOUNT, EMAIL) == 4
    throttle.refund_all(claim)  # e.g. the database failed while checking the password
    assert throttle.failures(throttle.LOGIN_ACCOUNT, EMAIL) == 3
    assert throttle.failures(throttle.LOGIN_IP, IP) == 3


def test_parallel_attempts_cannot_race_past_the_delay(at: Callable[[float], None]) -> None:
    for _ in range(5):
        fail()
    at(1)  # the delay of 1 s is over: exactly one of many simultaneous attempts may go
    allowed: list[int] = []
    barrier = threading.Barrier(16)

    def attempt() -> None:
        barrier.wait()
        try:
            throttle.begin_login(EMAIL, IP)
            allowed.append(1)
        except RateLimited:
            pass

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 1
    assert throttle.failures(throttle.LOGIN_ACCOUNT, EMAIL) == 6


def test_signup_limit_counts_every_attempt(at: Callable[[float], None]) -> None:
    for _ in range(10):
        throttle.begin((throttle.SIGNUP_IP, IP))
    with pytest.raises(RateLimited) as limited:
        throttle.begin((throttle.SIGNUP_IP, IP))
    assert limited.value.retry_after == 1
    at(60 * 60 + 1 + 1)  # an hour after the wait: forgotten
    throttle.begin((throttle.SIGNUP_IP, IP))


def test_redis_down_is_a_clear_service_error(monkeypatch: pytest.MonkeyPatch, test_env: TestServers) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    try:
        with pytest.raises(ServiceUnavailable):
            throttle.begin_login(EMAIL, IP)
        monkeypatch.delenv("REDIS_URL")
        get_settings.cache_clear()
        if get_settings().redis_url is None:  # no .env.test value behind the variable
            with pytest.raises(ServiceUnavailable) as missing:
                redis_client.get_redis()
            assert "REDIS_URL" in missing.value.message
    finally:
        monkeypatch.setenv("REDIS_URL", test_env.redis_url)
        get_settings.cache_clear()
