"""Password reset end to end: "Forgot password?" on the sign-in page, the link read from the dev outbox
(Redis, where the app's mail goes), a new password, every session of the account ended."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import at, goto, login_as, submit_and_land
from tests.e2e.test_identity_flow import mailed_link, sign_up_and_confirm, unique

pytestmark = pytest.mark.e2e

NewContext = Callable[..., BrowserContext]
RESET_LINK = re.compile(r"https?://\S+?(/reset/[A-Za-z0-9_-]+)")
OLD_PASSWORD = "Plum-Harbor-Lantern-47"  # what sign_up_and_confirm chooses
NEW_PASSWORD = "Quartz-Meadow-Kettle-62"


@pytest.fixture(autouse=True)
def fresh_throttles(test_env: object) -> None:
    """Sign-ups and reset requests count per IP: earlier runs against long-lived test servers must not throttle this one."""
    from services.core import quota, throttle

    throttle.clear_all()
    quota.clear_all()


def ask_for_a_link(page: Page, app_url: str, email: str) -> None:
    goto(page, app_url, "/login")
    page.click("#forgot-link")
    page.wait_for_url(at("/reset"))
    page.fill("#email", email)
    submit_and_land(page, "#reset-request-submit", "/reset", query=True)
    assert urlsplit(page.url).query == "sent=1", page.url  # the same answer whatever the address
    expect(page.locator("#page-notice")).to_have_text("Check your mail.")


def test_forgot_password_by_mail_ends_every_session(page: Page, app_url: str, new_context: NewContext) -> None:
    email = f"{unique('reset')}@example.com"
    sign_up_and_confirm(page, app_url, unique("Reset Co"), "Rita Reset", email)  # this browser stays signed in

    stranger = new_context().new_page()
    ask_for_a_link(stranger, app_url, "nobody-" + email)  # an unknown address: the same page, no mail
    ask_for_a_link(stranger, app_url, email)
    link = mailed_link(email, RESET_LINK)

    goto(stranger, app_url, link)
    expect(stranger.locator("#reset-email")).to_have_text(email)
    stranger.fill("#password", NEW_PASSWORD)
    stranger.fill("#repeat_password", "Something-Else-Entirely-9")
    submit_and_land(stranger, "#reset-submit", link, query=True)
    expect(stranger.locator("#page-error")).to_have_text("The new passwords do not match.")
    stranger.fill("#password", NEW_PASSWORD)
    stranger.fill("#repeat_password", NEW_PASSWORD)
    submit_and_land(stranger, "#reset-submit", "/login", query=True)
    expect(stranger.locator("#page-notice")).to_contain_text("Your password was changed")

    # The first browser's session ended with the reset: its next page load is the sign-in page.
    page.goto(app_url + "/account")
    page.wait_for_url(at("/login"))

    # Single use: the link is dead now.
    goto(stranger, app_url, link)
    expect(stranger.locator("#page-error")).to_contain_text("This link is invalid, expired or already used.")
    expect(stranger.locator("#reset-submit")).to_have_count(0)

    login_as(stranger, app_url, email, NEW_PASSWORD)
