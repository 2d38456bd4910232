"""Single sign-on end to end: a Manager configures the company's provider (a local OpenID Connect
provider started by this test, tests/oidc_provider.py: never the internet), then signs in through the
company's sign-in page; an address the company does not know is refused with a clear message."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import at, goto, wait_hydrated
from tests.e2e.test_identity_flow import sign_up_and_confirm, unique
from tests.oidc_provider import LocalOidcProvider

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def fresh_throttles(test_env: object) -> None:
    from services.core import quota, throttle

    throttle.clear_all()
    quota.clear_all()


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalOidcProvider]:
    provider = LocalOidcProvider().start()
    yield provider
    provider.stop()


def test_a_manager_sets_up_sso_and_signs_in_through_it(page: Page, app_url: str, idp: LocalOidcProvider) -> None:
    email = f"{unique('sso')}@example.com"
    sign_up_and_confirm(page, app_url, unique("Sso Co"), "Sam Sso", email)
    goto(page, app_url, "/security")
    expect(page.locator("#sso-callback")).to_have_text(f"{app_url}/api/auth/sso/callback")
    page.fill("#sso_name", "Local IdP")
    page.fill("#sso_issuer", idp.issuer)
    page.fill("#sso_client_id", idp.client_id)
    page.fill("#sso_client_secret", idp.client_secret)
    page.click("#sso-save")
    expect(page.locator("#page-notice")).to_have_text("Single sign-on saved.")
    sign_in_url = page.locator("#sso-sign-in-url").inner_text()
    assert urlsplit(sign_in_url).path.startswith("/login/sso/")
    page.click("#logout")
    page.wait_for_url(at("/login"))

    # Someone the company does not know: refused, with the reason.
    idp.user = {"email": "stranger@elsewhere.example.com", "email_verified": True}
    goto(page, app_url, urlsplit(sign_in_url).path)
    expect(page.locator("#sso-start")).to_contain_text("Local IdP")
    page.click("#sso-start")
    page.wait_for_url(at("/login", query=True))
    wait_hydrated(page)
    expect(page.locator("#page-error")).to_contain_text("not a member of the company")

    # The manager, as the provider vouches: signed in.
    idp.user = {"email": email, "email_verified": True, "name": "Sam Sso"}
    goto(page, app_url, urlsplit(sign_in_url).path)
    page.click("#sso-start")
    page.wait_for_url(at("/"))
    wait_hydrated(page)
    expect(page.locator("#header-user")).to_have_text("Sam Sso")
