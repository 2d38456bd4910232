"""Two-factor sign-in end to end: set it up on the account page (the key read from the page, codes
computed here with pyotp), sign in with a code, with a recovery code, "trust this browser"; and a
company whose Manager requires it: the next sign-in sets it up before any page opens."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import at, goto, submit_and_land
from tests.e2e.test_identity_flow import sign_up_and_confirm, unique

pytestmark = pytest.mark.e2e

PASSWORD = "Plum-Harbor-Lantern-47"  # what sign_up_and_confirm chooses


@pytest.fixture(autouse=True)
def fresh_throttles(test_env: object) -> None:
    from services.core import quota, throttle

    throttle.clear_all()
    quota.clear_all()


class Authenticator:
    """The user's authenticator app: codes of `key`, each of a 30-second step later than the last one
    used (the server never accepts a step twice). A code of the next step is accepted at once (one step
    of drift); beyond that it waits for the clock."""

    def __init__(self, key: str) -> None:
        self.totp = pyotp.TOTP(key)
        self.last_step = -1

    def code(self) -> str:
        now_step = int(time.time()) // self.totp.interval
        step = max(now_step, self.last_step + 1)
        if step > now_step + 1:  # only the step after next is unused: wait until it is the next one
            time.sleep((step - 1) * self.totp.interval - time.time() + 0.5)
        self.last_step = step
        return self.totp.at(step * self.totp.interval)


def sign_out(page: Page) -> None:
    page.click("#logout")
    page.wait_for_url(at("/login"))


def password_step(page: Page, app_url: str, email: str) -> None:
    goto(page, app_url, "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    submit_and_land(page, "#login-submit", "/login/two-factor")


def enrol_on_account_page(page: Page, app_url: str) -> tuple[Authenticator, list[str]]:
    goto(page, app_url, "/account")
    expect(page.locator("#two-factor-off")).to_be_visible()
    page.click("#two-factor-start")
    expect(page.locator("#two-factor-qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    app = Authenticator(page.locator("#two-factor-key").inner_text())
    codes = page.locator("[data-testid=recovery-code]").all_inner_texts()
    assert len(codes) == 10
    page.fill("#code", "000000")
    page.click("#two-factor-confirm")
    expect(page.locator("#page-error")).to_contain_text("That code is not right")
    page.fill("#code", app.code())
    page.click("#two-factor-confirm")
    expect(page.locator("#two-factor-on")).to_be_visible()
    expect(page.locator("#page-notice")).to_have_text("Two-factor sign-in is on.")
    page.click("#codes-saved")
    expect(page.locator("[data-testid=recovery-code]")).to_have_count(0)
    return app, codes


def test_enrol_then_sign_in_with_a_code_a_recovery_code_and_a_trusted_browser(page: Page, app_url: str) -> None:
    email = f"{unique('totp')}@example.com"
    sign_up_and_confirm(page, app_url, unique("Totp Co"), "Tess Totp", email)
    app, codes = enrol_on_account_page(page, app_url)
    sign_out(page)

    # The password alone opens nothing: the second step asks for a code.
    password_step(page, app_url, email)
    page.goto(app_url + "/account")
    page.wait_for_url(at("/login"))
    password_step(page, app_url, email)
    page.fill("#code", "123456")
    submit_and_land(page, "#two-factor-submit", "/login/two-factor", query=True)
    expect(page.locator("#page-error")).to_contain_text("That code is not right")
    page.fill("#code", app.code())
    submit_and_land(page, "#two-factor-submit", "/")
    sign_out(page)

    # A recovery code, once.
    password_step(page, app_url, email)
    page.fill("#code", codes[0])
    submit_and_land(page, "#two-factor-submit", "/")
    goto(page, app_url, "/account")
    expect(page.locator("#codes-left")).to_have_text("9")
    sign_out(page)

    # "Trust this browser": the next sign-in asks no code; revoked, it asks again.
    password_step(page, app_url, email)
    page.fill("#code", app.code())
    page.check("#trust")
    submit_and_land(page, "#two-factor-submit", "/")
    sign_out(page)
    goto(page, app_url, "/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    submit_and_land(page, "#login-submit", "/")
    goto(page, app_url, "/account")
    rows = page.locator("[data-testid=browser-row]")
    expect(rows).to_have_count(1)
    page.locator("[data-testid=browser-row] button").first.click()
    page.locator("[id$='-confirm']").last.click()
    expect(page.locator("#page-notice")).to_have_text("That browser is no longer trusted.")
    sign_out(page)
    password_step(page, app_url, email)


def test_a_manager_requires_it_and_the_next_sign_in_sets_it_up(page: Page, app_url: str) -> None:
    email = f"{unique('boss')}@example.com"
    sign_up_and_confirm(page, app_url, unique("Strict Co"), "Stella Strict", email)
    goto(page, app_url, "/security")
    expect(page.locator("#two-factor-optional-badge")).to_be_visible()
    page.click("#require-two-factor")
    page.click("#require-two-factor-confirm")
    expect(page.locator("#two-factor-required-badge")).to_be_visible()
    expect(page.locator("#members-without")).to_have_text("1")
    sign_out(page)

    password_step(page, app_url, email)
    expect(page.locator("#two-factor-required")).to_be_visible()
    app = Authenticator(page.locator("#two-factor-key").inner_text())
    expect(page.locator("[data-testid=recovery-code]")).to_have_count(10)
    page.fill("#code", app.code())
    submit_and_land(page, "#two-factor-submit", "/")
    goto(page, app_url, "/account")
    expect(page.locator("#two-factor-on")).to_be_visible()
    expect(page.locator("#two-factor-required-note")).to_be_visible()  # it cannot be turned off
    expect(page.locator("#disable-form")).to_have_count(0)
