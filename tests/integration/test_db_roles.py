"""Production refuses to start with database roles that would make row-level security decorative.

Each flaw gets a real role on the real server (created by a superuser, dropped afterwards), and
the check is asked about it: the app's runtime role (APP_DATABASE_URL) must not be a superuser,
have BYPASSRLS, own a table, or get any of that through a role it belongs to, nor read the key
that signs tenant scopes or create temporary tables; the system role (SYSTEM_DATABASE_URL) must
bypass row-level security without being a superuser or owning tables. The launcher, the web app
and the worker all run the check before they serve anything.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from services.core.db_roles import UnsafeDatabaseRole, check_database_roles, refuse_unsafe_database
from services.core.settings import PROJECT_ROOT, Settings
from tests.conftest import create_database, drop_database

if TYPE_CHECKING:
    from tests.conftest import TestServers

pytestmark = pytest.mark.integration


@dataclass
class Roles:
    """URLs of one migrated database, as each kind of role."""

    owner: str
    app: str
    system: str
    superuser: str
    made: dict[str, str]  # flaw -> URL of a role made with that flaw


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# Each flaw: what a superuser does to a fresh login role ({role}, {db}, {owner}) to give it that flaw.
FLAWS: dict[str, list[str]] = {
    "member of a BYPASSRLS role": ["GRANT workdash_system TO {role}"],
    "member of the table owner": ["GRANT {owner} TO {role}"],
    "member of a superuser": ["GRANT {superuser} TO {role}"],
    "may create temporary tables": ["GRANT TEMPORARY ON DATABASE {db} TO {role}"],
    "may read the scope key": ["GRANT SELECT ON workdash_rls.scope_key TO {role}"],
}


@pytest.fixture(scope="module")
def roles(test_env: TestServers) -> Iterator[Roles]:
    name = create_database(test_env, "wd_roles")
    owner_url = test_env.database(name)
    owner = make_url(owner_url).username
    if owner in (make_url(test_env.app_database_url).username, make_url(test_env.system_database_url).username):
        drop_database(test_env, name)
        pytest.skip("the test servers use one role for owner, app and system work")
    from services.core.schema import upgrade_head

    upgrade_head(owner_url)
    superuser = make_url(test_env.superuser_url).set(database=name).render_as_string(hide_password=False)
    made: dict[str, str] = {}
    with psycopg.connect(libpq(superuser), autocommit=True) as admin:
        assert admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone() == (True,), (
            "tests/integration/test_db_roles.py needs a superuser (TEST_SUPERUSER_DATABASE_URL)"
        )
        names = {
            "owner": owner,
            "superuser": admin.execute("SELECT current_user").fetchone()[0],  # type: ignore[index]
            "db": name,
        }
        for flaw, statements in FLAWS.items():
            role, password = f"wd_flaw_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
            for statement in statements:
                admin.execute(statement.format(role=role, **names))
            made[flaw] = make_url(owner_url).set(username=role, password=password).render_as_string(False)
    try:
        yield Roles(
            owner_url,
            test_env.database(name, app_role=True),
            test_env.database(name, system_role=True),
            superuser,
            made,
        )
    finally:
        drop_database(test_env, name)
        with psycopg.connect(libpq(test_env.superuser_url), autocommit=True) as admin:
            for url in made.values():
                admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(make_url(url).username or "")))


def test_the_intended_roles_pass(roles: Roles) -> None:
    check_database_roles(roles.app, roles.system)  # no exception


@pytest.mark.parametrize(
    ("app", "named"),
    [
        ("superuser", "superuser"),
        ("system", "BYPASSRLS"),
        ("owner", "owns"),
        ("member of a BYPASSRLS role", "BYPASSRLS"),
        ("member of the table owner", "owns"),
        ("member of a superuser", "superuser"),
        ("may create temporary tables", "temporary"),
        ("may read the scope key", "scope key"),
    ],
)
def test_an_unsafe_runtime_role_is_refused_and_the_setting_named(roles: Roles, app: str, named: str) -> None:
    url = getattr(roles, app) if app in ("superuser", "system", "owner") else roles.made[app]
    with pytest.raises(UnsafeDatabaseRole, match=rf"APP_DATABASE_URL.*{named}") as refused:
        check_database_roles(url, roles.system)
    assert "SYSTEM_DATABASE_URL" not in str(refused.value)
    password = make_url(url).password
    assert not password or password not in str(refused.value), "never a password in the message"


@pytest.mark.parametrize(
    ("system", "named"),
    [
        ("superuser", "superuser"),
        ("owner", "owns"),
        ("app", "BYPASSRLS"),  # a system role the policies bind sees nothing: sign-in would always fail
        ("member of the table owner", "owns"),
    ],
)
def test_an_unsafe_system_role_is_refused_and_the_setting_named(roles: Roles, system: str, named: str) -> None:
    url = getattr(roles, system) if system in ("superuser", "app", "owner") else roles.made[system]
    with pytest.raises(UnsafeDatabaseRole, match=rf"SYSTEM_DATABASE_URL.*{named}"):
        check_database_roles(roles.app, url)


def production(roles: Roles, **overrides: str) -> dict[str, str]:
    """A production environment that passes every settings check, pointed at the test servers."""
    env = {
        "ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": roles.owner,
        "APP_DATABASE_URL": roles.app,
        "SYSTEM_DATABASE_URL": roles.system,
        "REDIS_URL": os.environ["REDIS_URL"],
        "S3_ENDPOINT_URL": os.environ["S3_ENDPOINT_URL"],
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(24),  # S3 is never reached: the check comes first
        "PUBLIC_URL": "https://work.example.com",
        "MAIL_BACKEND": "smtp",
    }
    return env | overrides


def settings_of(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


def test_production_refuses_the_owner_when_the_urls_are_left_unset(
    roles: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without APP_DATABASE_URL / SYSTEM_DATABASE_URL the owner's credentials are used: refused, both named."""
    env = production(roles)
    del env["APP_DATABASE_URL"], env["SYSTEM_DATABASE_URL"]
    with pytest.raises(UnsafeDatabaseRole, match=r"APP_DATABASE_URL.*not set") as refused:
        refuse_unsafe_database(settings_of(monkeypatch, env))
    assert "SYSTEM_DATABASE_URL" in str(refused.value)


def test_production_accepts_the_intended_roles(roles: Roles, monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_unsafe_database(settings_of(monkeypatch, production(roles)))


def test_the_check_only_runs_in_production(roles: Roles, monkeypatch: pytest.MonkeyPatch) -> None:
    """Development may run with one role (and the tests do): nothing is checked, nothing connects."""
    env = production(roles, ENV="test", APP_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    refuse_unsafe_database(settings_of(monkeypatch, env))


ENTRY_POINTS = {
    "the launcher": [sys.executable, "scripts/serve.py", "run"],
    "the web app": [sys.executable, "-c", "import dashboard.dashboard"],
    "the worker": [sys.executable, "-m", "services.worker"],
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_every_entry_point_refuses_to_start_with_an_unsafe_role(roles: Roles, entry: str) -> None:
    env = {k: v for k, v in os.environ.items() if k.upper() not in {n.upper() for n in Settings.model_fields}}
    env |= production(roles, APP_DATABASE_URL=roles.owner)  # the classic mistake: the app as the owner
    result = subprocess.run(
        ENTRY_POINTS[entry], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode != 0
    assert "APP_DATABASE_URL" in result.stderr and "owns" in result.stderr, result.stderr[-2000:]
    assert "Work dashboard is starting" not in result.stdout, "the launcher got as far as serving"
