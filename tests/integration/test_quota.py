"""Rolling quotas on the real Redis (services.core.quota), the clock moved through services.core.clock.now."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from services.core import quota
from services.core.errors import RateLimited, ServiceUnavailable
from services.core.redis_client import get_redis
from services.core.settings import get_settings
from tests.conftest import clock_at

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean_throttle")]

START = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
THREE_AN_HOUR = quota.Quota("test-three-an-hour", limit=3, window=timedelta(hours=1))
TEN_A_DAY = quota.Quota("test-ten-a-day", limit=10, window=timedelta(days=1))


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    return clock_at(monkeypatch, START)


def spend(*checks: tuple[quota.Quota, str]) -> None:
    with quota.spend(*checks):
        pass


def refused(*checks: tuple[quota.Quota, str]) -> int:
    with pytest.raises(RateLimited) as limited:
        spend(*checks)
    return limited.value.retry_after


def test_the_limit_holds_in_any_rolling_window_and_says_when_a_slot_frees(at: Callable[[float], None]) -> None:
    for second in (0, 600, 1200):
        at(second)
        spend((THREE_AN_HOUR, "alice"))
    at(1800)
    assert refused((THREE_AN_HOUR, "alice")) == 1800  # the first one leaves the window at 3600
    assert quota.used(THREE_AN_HOUR, "alice") == 3  # a refusal is not counted
    spend((THREE_AN_HOUR, "bob"))  # another subject has its own count
    at(3599)
    assert refused((THREE_AN_HOUR, "alice")) == 1
    at(3600)
    spend((THREE_AN_HOUR, "alice"))
    assert refused((THREE_AN_HOUR, "alice")) == 600  # now the one of 600 must leave first


def test_all_quotas_pass_or_none_is_counted(at: Callable[[float], None]) -> None:
    for _ in range(3):
        spend((THREE_AN_HOUR, "alice"), (TEN_A_DAY, "acme"))
    assert refused((TEN_A_DAY, "acme"), (THREE_AN_HOUR, "alice")) == 3600
    assert quota.used(TEN_A_DAY, "acme") == 3  # the day quota had room, yet nothing was counted
    spend((TEN_A_DAY, "acme"), (THREE_AN_HOUR, "bob"))
    assert quota.used(TEN_A_DAY, "acme") == 4


def test_the_longest_wait_of_several_full_quotas_is_reported(at: Callable[[float], None]) -> None:
    one_a_minute = quota.Quota("test-one-a-minute", limit=1, window=timedelta(minutes=1))
    one_a_day = quota.Quota("test-one-a-day", limit=1, window=timedelta(days=1))
    spend((one_a_minute, "x"), (one_a_day, "x"))
    at(30)
    assert refused((one_a_minute, "x"), (one_a_day, "x")) == 86_400 - 30


def test_an_action_that_fails_is_given_back(at: Callable[[float], None]) -> None:
    spend((THREE_AN_HOUR, "alice"))
    with pytest.raises(ValueError, match="mail failed"), quota.spend((THREE_AN_HOUR, "alice"), (TEN_A_DAY, "acme")):
        raise ValueError("mail failed")
    assert quota.used(THREE_AN_HOUR, "alice") == 1
    assert quota.used(TEN_A_DAY, "acme") == 0


def test_same_moment_actions_count_separately(at: Callable[[float], None]) -> None:
    for _ in range(3):
        spend((THREE_AN_HOUR, "alice"))  # the clock does not move: three members with one score
    assert refused((THREE_AN_HOUR, "alice")) == 3600


def test_keys_hold_no_subject_in_clear(at: Callable[[float], None]) -> None:
    spend((THREE_AN_HOUR, "someone@example.com"))
    keys = list(get_redis().scan_iter(match=quota.KEY_PREFIX + "*"))
    assert keys and not any("someone" in key for key in keys)
    assert all(0 < get_redis().pttl(key) <= 3600 * 1000 + quota.GC_SLACK_MS for key in keys)
    assert quota.clear_all() == len(keys)
    assert quota.used(THREE_AN_HOUR, "someone@example.com") == 0


def test_redis_down_is_a_clear_service_error(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = get_settings().model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    monkeypatch.setattr("services.core.redis_client.get_settings", lambda: broken)
    with pytest.raises(ServiceUnavailable, match=r"^error\.unavailable$"):
        spend((THREE_AN_HOUR, "alice"))
