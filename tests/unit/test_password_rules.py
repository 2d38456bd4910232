"""Password rules, name and email normalisation, slugs, throttle delays: pure functions, no servers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.core import throttle
from services.core.errors import ValidationFailed
from services.core.passwords import MIN_PASSWORD_LENGTH
from services.identity import accounts

GOOD = "violet-harbour-engine-42"


def refusal(password: str, **kwargs: str) -> str:
    with pytest.raises(ValidationFailed) as failure:
        accounts.validate_password(password, **kwargs)
    return failure.value.message


def test_a_long_uncommon_password_is_accepted() -> None:
    accounts.validate_password(GOOD, email="maria@acme.example.com", name="Maria Manager")
    accounts.validate_password("x" * 3 + "Tq9!vLm2#pR", email="")  # exactly 14, no pattern
    accounts.validate_password("пароль-для-работы-2024")  # any script counts characters, not bytes


@pytest.mark.parametrize(
    ("password", "key"),
    [
        ("", "error.password_too_short"),
        ("a" * (MIN_PASSWORD_LENGTH - 5) + "Zq9!", "error.password_too_short"),  # 11 characters
        ("Zq9!vLm2#pR" + "x" * 1014, "error.password_too_long"),  # 1025
        ("password1234", "error.password_too_common"),
        ("Password1234", "error.password_too_common"),  # compared lower-case
        ("QWERTYUIOP123", "error.password_too_common"),
        ("qwerty123456", "error.password_too_common"),
        ("1q2w3e4r5t6y", "error.password_too_common"),
        ("iloveyou1234", "error.password_too_common"),
        ("123456789012", "error.password_too_common"),
        ("aaaaaaaaaaaa", "error.password_too_common"),  # one character repeated
        ("abcabcabcabcabc", "error.password_too_common"),  # a short unit repeated
        ("bcdefghijklmno", "error.password_too_common"),  # a straight run
        ("!!dragon2024!!", "error.password_too_common"),  # a common word padded with digits/symbols
        ("Sunshine-2025!", "error.password_too_common"),
        ("йцукенгшщзхъ", "error.password_too_common"),  # Russian keyboard walk
    ],
)
def test_refusals(password: str, key: str) -> None:
    assert refusal(password) == key


def test_exact_boundaries() -> None:
    accounts.validate_password("Tq9!vLm2#pRz")  # 12
    assert refusal("Tq9!vLm2#pR") == "error.password_too_short"  # 11
    accounts.validate_password("Tq9!vLm2#pRz" + "k" * (1024 - 12))  # 1024
    assert refusal("Tq9!vLm2#pRz" + "k" * (1025 - 12)) == "error.password_too_long"


def test_password_equal_to_email_or_local_part_or_name() -> None:
    email = "maria.longname@acme.example.com"
    assert refusal("Maria.Longname@Acme.example.com", email=email) == "error.password_matches_email"
    assert refusal("maria.longname", email=email) == "error.password_matches_email"
    assert refusal("Maria Manager-Smith", name="  Maria   Manager-Smith ") == "error.password_matches_name"
    assert refusal("mariamanager-smith", name="Maria Manager-Smith") == "error.password_matches_name"
    accounts.validate_password("maria.longname-violet-harbour", email=email)  # containing it is fine


def test_the_common_list_is_loaded_and_mostly_long() -> None:
    common = accounts.common_passwords()
    assert 300 <= len(common) <= 5000
    assert {"password1234", "qwertyuiop123", "passwordpassword"} <= common
    assert all(entry == entry.lower() and not entry.startswith("#") for entry in common)
    assert sum(len(entry) >= MIN_PASSWORD_LENGTH for entry in common) >= 200


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Acme Studio", "acme-studio"),
        ("  ACME   studio!!  ", "acme-studio"),
        ("Café Crème & Co.", "cafe-creme-co"),
        ("Рога и Копыта", "roga-i-kopyta"),
        ("Щука и Ёж", "shchuka-i-ezh"),
        ("東京", "company"),
        ("---", "company"),
        ("x" * 300, "x" * accounts.MAX_SLUG_BASE_LENGTH),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert accounts.slugify(name) == slug


def test_company_and_person_names_are_trimmed_and_checked() -> None:
    assert accounts.normalize_company_name("  Acme \t Studio \n") == "Acme Studio"
    assert accounts.normalize_person_name(" Maria  Manager ") == "Maria Manager"
    for bad, key in [
        ("A", "error.company_name_too_short"),
        ("   ", "error.company_name_too_short"),
        ("x" * 201, "error.company_name_too_long"),
        ("--", "error.company_name_invalid"),
        ("Acme\x00Evil", "error.company_name_invalid"),
        ("Acme\u202eoiduts", "error.company_name_invalid"),
    ]:
        with pytest.raises(ValidationFailed) as failure:
            accounts.normalize_company_name(bad)
        assert failure.value.message == key, bad
    assert accounts.normalize_company_name("x" * 200) == "x" * 200
    for bad, key in [
        ("", "error.full_name_required"),
        ("x" * 201, "error.full_name_too_long"),
        ("a\x07b", "error.full_name_invalid"),
    ]:
        with pytest.raises(ValidationFailed) as failure:
            accounts.normalize_person_name(bad)
        assert failure.value.message == key


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("  Maria@Acme.Example.COM ", "maria@acme.example.com"), ("o'brien+tag@example.org", "o'brien+tag@example.org")],
)
def test_email_is_normalised(raw: str, stored: str) -> None:
    assert accounts.normalize_signup_email(raw) == stored


@pytest.mark.parametrize(
    "raw", ["", "plain", "a@b", "two@@example.com", "spaces in@example.com", "x" * 310 + "@example.com", "ü@例え.jp"]
)
def test_bad_emails_are_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed):
        accounts.normalize_signup_email(raw)


def test_throttle_delays_grow_from_the_threshold_and_stop_at_the_cap() -> None:
    limit = throttle.LOGIN_ACCOUNT
    assert [limit.delay_seconds(n) for n in range(7)] == [0, 0, 0, 0, 0, 1, 2]
    assert limit.delay_seconds(14) == 512
    assert limit.delay_seconds(15) == limit.delay_seconds(10_000) == 15 * 60
    assert throttle.LOGIN_IP.delay_seconds(19) == 0 and throttle.LOGIN_IP.delay_seconds(20) == 1
    assert throttle.LOGIN_ACCOUNT.window == throttle.LOGIN_IP.window == timedelta(minutes=15)
