"""Billing end to end: a manager on a trial sees the days left, subscribes, downloads the first
invoice's PDF; the operator records the payment on the billing console; the manager sees it paid."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from devtools.seed import DEMO_USERS
from models import Role
from tests.e2e.conftest import goto, login_as

pytestmark = pytest.mark.e2e

ADMIN = next(u for u in DEMO_USERS if u.role is Role.ADMIN)
GLOBEX_MANAGER = next(u for u in DEMO_USERS if u.email == "manager@globex.example.com")


def test_trial_subscribe_download_pay(page: Page, app_url: str, new_context: Callable[..., BrowserContext]) -> None:
    login_as(page, app_url, GLOBEX_MANAGER.email, GLOBEX_MANAGER.password)
    expect(page.locator("#banner-days")).to_have_text("14")  # the banner, on every page
    goto(page, app_url, "/billing")
    expect(page.locator("#trial-days-left")).to_have_text("14")
    expect(page.locator("#billing-state")).to_have_text("Trial")
    expect(page.locator("#meter-seats")).to_have_text("3 / 100")

    page.click("#choose-team")
    expect(page.locator("#billing-state")).to_have_text("Active")
    expect(page.locator("#trial-callout")).to_have_count(0)
    row = page.locator("[data-testid=invoice-row]").first
    expect(row.locator("[data-testid=invoice-status]")).to_have_text("Open")
    number = row.locator("th").inner_text()
    assert number.startswith("GLOBEX-")

    with page.expect_download() as download_info:
        row.locator("[data-testid=invoice-pdf]").click()
    download = download_info.value
    assert download.suggested_filename == f"{number}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")

    admin = new_context().new_page()
    login_as(admin, app_url, ADMIN.email, ADMIN.password)
    goto(admin, app_url, "/billing/admin")
    admin_row = admin.locator("[data-testid=admin-invoice-row]", has_text=number)
    expect(admin_row.locator("[data-testid=admin-invoice-status]")).to_have_text("Open")
    admin_row.locator("[data-testid=pay-open]").click()
    admin.fill("#pay-amount", "29.00")
    admin.click("#pay-submit")
    expect(admin.locator("#page-notice")).to_have_text("Payment recorded.")
    expect(admin_row.locator("[data-testid=admin-invoice-status]")).to_have_text("Paid")

    goto(page, app_url, "/billing")
    expect(page.locator("[data-testid=invoice-row]").first.locator("[data-testid=invoice-status]")).to_have_text("Paid")
    expect(page.locator("#banner-days")).to_have_count(0)  # subscribed: no end in sight
