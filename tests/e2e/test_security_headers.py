"""Security headers on the running app: every kind of response carries them, and every page of the
registry loads under the Content-Security-Policy, as each role that may open it, without a single
violation (the browser reports each blocked script, style, connection or frame)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from dashboard.registry import PAGES, PageSpec, available
from devtools.seed import DEMO_USERS
from models import Role
from services.core.policy import RULES
from tests.e2e.conftest import at, goto, login_as, wait_hydrated

pytestmark = pytest.mark.e2e

# Runs in every document before its own scripts (Playwright injects it over CDP: the policy does
# not apply to it). Each violation the page reports is kept for the test to read.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI} ${e.sample || ""}`.trim());
});
"""
HEADERS = ("content-security-policy", "referrer-policy", "x-content-type-options")
USERS = {role: next(u for u in DEMO_USERS if u.role is role) for role in Role}
ANONYMOUS = None
PARAM_VALUES = {"invite": "not-a-real-invitation-token"}


def openers(page: PageSpec) -> list[Role | None]:
    """Who may open the page: anyone signed out for a public page, else every role of its action."""
    return [ANONYMOUS] if page.action is None else [r for r in Role if r in RULES[page.action]]


CASES = [(role, page) for page in PAGES if available(page) for role in openers(page)]


class Watch:
    """A browser context (signed in as `role`, or not) whose console and violation events are collected."""

    def __init__(self, browser: Browser, app_url: str, role: Role | None) -> None:
        self.app_url = app_url
        self.context = browser.new_context(base_url=app_url)
        self.context.add_init_script(RECORD_VIOLATIONS)
        self.page = self.context.new_page()
        self.console: list[str] = []
        self.page.on("console", self._console)
        if role is not None:
            login_as(self.page, app_url, USERS[role].email, USERS[role].password)

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.console.append(text)

    def violations(self) -> list[str]:
        return [*self.page.evaluate("window.__cspViolations || []"), *self.console]

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def watches(browser: Browser, app_url: str) -> Iterator[dict[Role | None, Watch]]:
    opened: dict[Role | None, Watch] = {}
    try:
        for role in {role for role, _page in CASES}:
            opened[role] = Watch(browser, app_url, role)
        yield opened
    finally:
        for watch in opened.values():
            watch.close()


def path_of(spec: PageSpec, watch: Watch) -> str:
    """The route with its parameter filled in: a real company for the detail page, a bogus invitation."""
    if spec.name == "company":
        goto(watch.page, watch.app_url, "/companies")
        link = watch.page.locator("[data-testid=company-link]").first
        expect(link).to_be_visible()
        return str(link.get_attribute("href"))
    return re.sub(r"\[[^/]+\]", PARAM_VALUES.get(spec.name, "x"), spec.route)


@pytest.mark.parametrize(("role", "spec"), CASES, ids=[f"{p.name}-{r.value if r else 'anonymous'}" for r, p in CASES])
def test_page_loads_without_a_csp_violation(
    watches: dict[Role | None, Watch], role: Role | None, spec: PageSpec
) -> None:
    watch = watches[role]
    path = path_of(spec, watch)
    watch.console.clear()
    response = watch.page.goto(watch.app_url + path)
    assert response is not None and response.ok
    assert "content-security-policy" in response.headers
    watch.page.wait_for_url(at(path.split("?")[0]))  # opened, not redirected away
    wait_hydrated(watch.page)
    if role is not None:
        expect(watch.page.locator("#header-user")).to_have_text(USERS[role].full_name)  # on-load events answered
    assert watch.violations() == []


def test_the_policy_is_enforced_and_violations_are_seen(browser: Browser, app_url: str) -> None:
    """Guards the test above: an injected inline script is blocked, and the watch reports it."""
    watch = Watch(browser, app_url, ANONYMOUS)
    try:
        goto(watch.page, app_url, "/login")
        watch.page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
            " document.head.appendChild(s); }"
        )
        watch.page.wait_for_function("window.__cspViolations.length > 0")
        assert watch.page.evaluate("window.__ran") is None
        assert any("script-src" in v for v in watch.violations())
    finally:
        watch.close()


def test_every_kind_of_response_carries_the_headers(app_url: str, page: Page) -> None:
    goto(page, app_url, "/login")
    script = page.locator("link[rel=modulepreload]").first.get_attribute("href")
    assert script and script.endswith(".js")
    with httpx.Client(base_url=app_url, timeout=30, follow_redirects=False) as http:
        responses = {
            "page": http.get("/login"),
            "static file": http.get(script),
            "missing page": http.get("/no-such-page"),
            "ping": http.get("/ping"),
            "api route": http.get("/api/audit/export.csv"),
            "form post": http.post("/api/auth/logout"),
            "cors preflight": http.options(
                "/api/auth/login",
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            ),
        }
    for kind, response in responses.items():
        missing = [name for name in HEADERS if name not in response.headers]
        assert not missing, f"{kind} ({response.status_code}) lacks {missing}"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], kind
        assert response.headers["referrer-policy"] == "no-referrer", kind
        assert response.headers["x-content-type-options"] == "nosniff", kind
