"""Browser tests against the real app: `reflex run --env prod` on a free port, real PostgreSQL,
Redis and S3 (tests/conftest.py), Debian's Chromium (no `playwright install`).

The app runs in its own process group, which is killed after the session. Its output goes to
reports/e2e-app.log (or a temp file) so a failing start can be read.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from devtools.devstack import stop_process_group
from tests.conftest import TestServers, create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = float(os.environ.get("E2E_START_TIMEOUT", "240"))
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")

# The suite shares 2 CPUs with the app (2 workers), PostgreSQL, Redis and S3: allow slow moments.
expect.set_options(timeout=15_000)


def _frontend_env() -> dict[str, str]:
    """The variables scripts/frontend.sh exports (bun on PATH, project-local caches)."""
    subprocess.run(["bash", str(ROOT / "scripts" / "frontend.sh"), "install"], check=True, cwd=ROOT)
    out = subprocess.run(
        ["bash", "-c", 'eval "$(bash scripts/frontend.sh env)" && env -0'],
        check=True,
        cwd=ROOT,
        capture_output=True,
    ).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def _free_port() -> int:
    from devtools.devstack import free_port

    return free_port()


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}; see {log_path}:\n{_tail(log_path)}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as response:
                if response.status == 200:
                    # /ping answers as soon as the backend is up; the pages come from the same process.
                    with urllib.request.urlopen(url + "/login", timeout=5) as page:
                        if page.status == 200:
                            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"the app did not answer /ping within {START_TIMEOUT_S:.0f}s; see {log_path}:\n{_tail(log_path)}"
    )


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@pytest.fixture(scope="session")
def e2e_database(test_env: TestServers) -> Iterator[tuple[str, str]]:
    """A migrated database with the demo data: (owner url, app-role url)."""
    from devtools.seed import load_demo_data
    from services.core.db import system_scope
    from services.core.schema import upgrade_head

    name = create_database(test_env, "wd_e2e")
    owner_url = test_env.database(name)
    app_db_url = test_env.database(name, app_role=True)
    app_role = make_url(app_db_url).username
    upgrade_head(owner_url, app_role=app_role if app_role != make_url(owner_url).username else None)
    engine = create_engine(owner_url)
    try:
        with system_scope(engine) as session:  # seeding is system work: every row (services.core.db)
            load_demo_data(session)
    finally:
        engine.dispose()
    yield owner_url, app_db_url
    drop_database(test_env, name)


@pytest.fixture(scope="session")
def app_url(test_env: TestServers, e2e_database: tuple[str, str]) -> Iterator[str]:
    owner_url, app_db_url = e2e_database
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **_frontend_env(),
        "ENV": "test",
        "DATABASE_URL": owner_url,
        "APP_DATABASE_URL": app_db_url,
        "SYSTEM_DATABASE_URL": test_env.database(make_url(owner_url).database or "", system_role=True),
        "REDIS_URL": test_env.redis_url,
        "REFLEX_REDIS_URL": test_env.redis_url,
        "S3_ENDPOINT_URL": test_env.s3_endpoint_url,
        "S3_BUCKET": test_env.s3_bucket,
        "AWS_ACCESS_KEY_ID": test_env.s3_access_key,
        "AWS_SECRET_ACCESS_KEY": test_env.s3_secret_key,
        "PUBLIC_URL": base,
        "APP_HOST": "127.0.0.1",
        "APP_PORT": str(port),
        "GRANIAN_WORKERS": os.environ.get("E2E_APP_WORKERS", "2"),
        # Invitation mails go to the dev outbox (Redis), which the admin reads on /outbox.
        "MAIL_BACKEND": "outbox",
        "PYTHONUNBUFFERED": "1",
    }
    reports = ROOT / "reports"
    log_dir = reports if reports.is_dir() else Path(tempfile.gettempdir())
    log_path = log_dir / "e2e-app.log"
    command = [
        sys.executable,
        "-m",
        "reflex",
        "run",
        "--env",
        "prod",
        "--backend-host",
        "127.0.0.1",
        "--backend-port",
        str(port),
    ]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        started = time.monotonic()
        _wait_ready(base, proc, log_path)
        print(f"\n[e2e] app ready at {base} after {time.monotonic() - started:.1f}s (log: {log_path})")
        yield base
    finally:
        stop_process_group(proc)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    # Chromium writes ~/.config/chromium and ~/.cache/dconf: keep them in pytest's temp dir.
    home = tmp_path_factory.mktemp("chromium-home")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "env": {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
        },
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def base_url(app_url: str) -> str:
    """pytest-base-url's fixture: relative `page.goto("/login")` works."""
    return app_url


def at(path: str, *, query: bool = False) -> re.Pattern[str]:
    """A URL pattern for `path` (with or without the trailing slash the router may add)."""
    tail = r"\?.+" if query else r"(\?.*)?"
    return re.compile(rf"^https?://[^/]+{re.escape(path.rstrip('/'))}/?{tail}$")


def wait_hydrated(page: Page) -> None:
    """Reflex pre-renders pages; a click before React hydrates is lost. Wait for the marker."""
    expect(page.locator("#hydrated")).to_be_attached(timeout=30_000)


def goto(page: Page, app_url: str, path: str) -> None:
    page.goto(app_url + path)
    wait_hydrated(page)


def login_as(page: Page, app_url: str, email: str, password: str) -> None:
    goto(page, app_url, "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(at("/"))
    wait_hydrated(page)


def nav_ids(page: Page) -> list[str]:
    nav = page.locator("#sidebar [data-testid=nav-item]")
    expect(nav.first).to_be_visible()
    return [nav.nth(i).get_attribute("id") or "" for i in range(nav.count())]


def submit_and_land(page: Page, button: str, path: str, *, query: bool = False) -> None:
    """Click a form's submit button (a plain HTTP form), wait for the redirect target and its hydration."""
    page.click(button)
    page.wait_for_url(at(path, query=query))
    wait_hydrated(page)
