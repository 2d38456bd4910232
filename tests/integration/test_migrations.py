"""The Alembic revisions, each run on a brand-new empty database.

What CI relies on: upgrade → downgrade → upgrade works, the models and the migrations agree,
the app role has exactly the privileges it should, and a failed migration is loud.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlmodel import Session

from models import metadata
from services.core.db import apply_scope
from services.core.schema import ALEMBIC_INI, check_models_match, downgrade_base, upgrade_head
from services.core.settings import PROJECT_ROOT
from tests.factories import operator_actor

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.conftest import TestServers

pytestmark = pytest.mark.integration

MODEL_TABLES = set(metadata.tables)
APPEND_ONLY = {"audit_logs"}
SYSTEM_DELETES = {
    "sessions",
    "invitations",  # the worker purges the ones that expired or were revoked a month ago
    "signup_verifications",
    "password_resets",  # a new link replaces the unused one; the worker purges expired ones
    "two_factor_credentials",  # turning two-factor off deletes the key,
    "recovery_codes",  # its codes (and new codes replace the old ones)
    "trusted_browsers",  # and its trusted browsers
    "companies",
}  # purge ended sessions; replace or expire a pending sign-up (its unverified company)


def head_revision() -> str:
    head = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_current_head()
    assert head is not None
    return head


# The job queue's (revision 938036124e90): procrastinate's tables, not our models.
QUEUE_TABLES = {"procrastinate_workers", "procrastinate_jobs", "procrastinate_periodic_defers", "procrastinate_events"}


def inspect_database(url: str) -> tuple[set[str], set[str], list[str]]:
    """(tables, enum types, alembic_version rows) of the public schema."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            enums = set(
                conn.scalars(
                    sa.text(
                        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                        "WHERE n.nspname = 'public' AND t.typtype = 'e'"
                    )
                )
            )
            has_versions = "alembic_version" in tables
            versions = list(conn.scalars(sa.text("SELECT version_num FROM alembic_version"))) if has_versions else []
        return tables, enums, versions
    finally:
        engine.dispose()


@pytest.fixture
def app_role_url(test_env: TestServers, empty_database: str) -> str:
    """The app role's URL for the empty database (skipped where owner and app are one role)."""
    name = make_url(empty_database).database
    assert name
    url = test_env.database(name, app_role=True)
    if make_url(url).username == make_url(empty_database).username:
        pytest.skip("the test servers use one role for owner and app")
    return url


@pytest.fixture
def app_engine(app_role_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(app_role_url, poolclass=sa.NullPool)
    yield engine
    engine.dispose()


def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database: str) -> None:
    upgrade_head(empty_database)
    tables, enums, versions = inspect_database(empty_database)
    assert tables == MODEL_TABLES | QUEUE_TABLES | {"alembic_version"}
    assert enums, "the enum types were not created"
    assert versions == [head_revision()]

    downgrade_base(empty_database)
    tables, enums, versions = inspect_database(empty_database)
    assert tables == {"alembic_version"}, "downgrade left tables behind"
    assert enums == set(), "downgrade left enum types behind"
    assert versions == []

    upgrade_head(empty_database)  # would fail on a leftover type or table
    assert inspect_database(empty_database)[2] == [head_revision()]


def test_two_upgrades_at_once_both_succeed(empty_database: str) -> None:
    """Two app containers starting together: the advisory lock makes the second one wait.

    Separate processes, as in real life (Alembic's `context` is process-global, not thread-safe).
    """
    code = "import sys; from services.core.schema import upgrade_head; upgrade_head(sys.argv[1])"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code, empty_database], cwd=PROJECT_ROOT, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for run in runs:
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr
    assert inspect_database(empty_database)[2] == [head_revision()]


def test_every_model_table_and_enum_exists_after_upgrade(empty_database: str) -> None:
    upgrade_head(empty_database)
    tables, enums, _ = inspect_database(empty_database)
    assert MODEL_TABLES - tables == set()
    model_enums = {
        column.type.name
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, sa.Enum)
    }
    assert {e for e in enums if not e.startswith("procrastinate_")} == model_enums  # the queue has its own


def test_autogenerate_finds_no_difference_between_models_and_migrations(empty_database: str) -> None:
    upgrade_head(empty_database)
    assert check_models_match(empty_database) == []


def test_the_models_check_notices_a_drift(empty_database: str) -> None:
    """Guard for the guard: a schema that differs from the models must be reported."""
    upgrade_head(empty_database)
    engine = sa.create_engine(empty_database, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_tasks_board"))
        conn.execute(sa.text("ALTER TABLE plans DROP CONSTRAINT ck_plans_price_not_negative"))
        conn.execute(sa.text("ALTER TYPE task_status ADD VALUE 'blocked'"))
    engine.dispose()
    kinds = {entry[0] for entry in check_models_match(empty_database)}
    assert {"add_index", "add_constraint", "enum_labels"} <= kinds


def test_the_app_role_may_only_append_to_the_audit_log(
    empty_database: str, app_role_url: str, app_engine: sa.Engine, migrated_database: str
) -> None:
    """(migrated_database: the settings name the system role, which reads the scope key.)"""
    upgrade_head(empty_database, app_role=make_url(app_role_url).username)
    with Session(app_engine) as conn:
        apply_scope(conn, operator_actor())  # an operator-wide row: the operator's scope
        conn.execute(
            sa.text(
                "INSERT INTO audit_logs (actor_email, actor_role, action, target_type, target_id, ip, user_agent) VALUES ('', '', 'test', '', '', '', '')"
            )
        )
        assert conn.scalar(sa.text("SELECT count(*) FROM audit_logs")) == 1
        for statement in ("UPDATE audit_logs SET action = 'forged'", "DELETE FROM audit_logs", "TRUNCATE audit_logs"):
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), conn.begin_nested():
                conn.execute(sa.text(statement))
        conn.commit()
    owner = sa.create_engine(empty_database, poolclass=sa.NullPool)
    with owner.connect() as conn:
        conn.execute(sa.text("SELECT set_config('app.rls_bypass', 'on', true)"))
        assert conn.scalar(sa.text("SELECT action FROM audit_logs")) == "test"
    owner.dispose()


def test_the_app_role_has_exactly_its_privileges_on_every_table(empty_database: str, app_role_url: str) -> None:
    role = make_url(app_role_url).username
    upgrade_head(empty_database, app_role=role)
    engine = sa.create_engine(empty_database, poolclass=sa.NullPool)
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
    with engine.connect() as conn:

        def granted(table: str) -> set[str]:
            return {
                p
                for p in privileges
                if conn.scalar(sa.text("SELECT has_table_privilege(:r, :t, :p)"), {"r": role, "t": table, "p": p})
            }

        for table in MODEL_TABLES - APPEND_ONLY:
            assert granted(table) == {"SELECT", "INSERT", "UPDATE", "DELETE"}, table
        for table in APPEND_ONLY:
            assert granted(table) == {"SELECT", "INSERT"}, table
        assert granted("alembic_version") == {"SELECT"}
        owners = set(conn.scalars(sa.text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")))
    engine.dispose()
    assert role not in owners, "the app role must not own the tables (row-level security needs that)"


@pytest.fixture
def system_role(test_env: TestServers, empty_database: str) -> str:
    """The system role's name (skipped where owner and system are one role)."""
    name = make_url(empty_database).database
    assert name
    role = make_url(test_env.database(name, system_role=True)).username
    if role == make_url(empty_database).username:
        pytest.skip("the test servers use one role for owner and system work")
    assert role
    return role


def test_the_system_role_has_exactly_its_privileges(empty_database: str, app_role_url: str, system_role: str) -> None:
    """Narrow: no DELETE but on sessions, pending sign-ups and reset links, append-only audit trail, no TRUNCATE, owns nothing; only it
    (and the owner) can read the key that signs the tenant scopes."""
    app_role = make_url(app_role_url).username
    upgrade_head(empty_database, app_role=app_role, system_role=system_role)
    engine = sa.create_engine(empty_database, poolclass=sa.NullPool)
    privileges = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    with engine.connect() as conn:

        def granted(role: str | None, table: str) -> set[str]:
            query = sa.text("SELECT has_table_privilege(:r, :t, :p)")
            return {p for p in privileges if conn.scalar(query, {"r": role, "t": table, "p": p})}

        for table in MODEL_TABLES - APPEND_ONLY - SYSTEM_DELETES:
            assert granted(system_role, table) == {"SELECT", "INSERT", "UPDATE"}, table
        for table in SYSTEM_DELETES:
            assert granted(system_role, table) == {"SELECT", "INSERT", "UPDATE", "DELETE"}, table
        for table in APPEND_ONLY:
            assert granted(system_role, table) == {"SELECT", "INSERT"}, table
        assert granted(system_role, "workdash_rls.scope_key") == {"SELECT"}
        assert granted(app_role, "workdash_rls.scope_key") == set()
        owners = set(conn.scalars(sa.text("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class")))
        may_create_temp_tables = conn.scalar(
            sa.text("SELECT has_database_privilege(:r, current_database(), 'TEMPORARY')"), {"r": app_role}
        )
    engine.dispose()
    assert system_role not in owners and app_role not in owners
    assert not may_create_temp_tables, "a temporary table would hide a real one from the next user of the connection"


def test_a_missing_system_role_skips_its_grants(empty_database: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="workdash.migrations"):
        upgrade_head(empty_database, system_role="no_such_system_role")
    assert "no_such_system_role does not exist" in caplog.text
    assert inspect_database(empty_database)[2] == [head_revision()]
    downgrade_base(empty_database, system_role="no_such_system_role")


def test_a_missing_app_role_skips_the_grants(empty_database: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="workdash.migrations"):
        upgrade_head(empty_database, app_role="no_such_role")
    assert "no_such_role does not exist" in caplog.text
    assert inspect_database(empty_database)[2] == [head_revision()]
    downgrade_base(empty_database, app_role="no_such_role")  # the revoke is skipped the same way


def test_a_failed_migration_is_logged_critically_and_leaves_nothing_behind(
    empty_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = sa.create_engine(empty_database, poolclass=sa.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE tasks (id int)"))  # collides with the first revision

    with caplog.at_level(logging.CRITICAL, logger="workdash.migrations"), pytest.raises(sa.exc.ProgrammingError):
        upgrade_head(empty_database)

    failure = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert failure and "failed" in failure[0].getMessage()
    password = make_url(empty_database).password
    assert password and password not in caplog.text
    tables, enums, _ = inspect_database(empty_database)
    assert tables == {"tasks"} and enums == set(), "a failed upgrade must roll back completely"
    engine.dispose()


def test_the_alembic_command_line_takes_the_url_from_the_settings(empty_database: str) -> None:
    """What `docker compose run --rm app alembic upgrade head` does: no URL in alembic.ini."""
    env = {**os.environ, "DATABASE_URL": empty_database, "ENV": "test"}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    password = make_url(empty_database).password
    assert password and password not in result.stderr
    assert "Migrating postgresql+psycopg://" in result.stderr and ":***@" in result.stderr
    assert inspect_database(empty_database)[2] == [head_revision()]


def test_offline_mode_prints_the_sql_without_a_server() -> None:
    buffer = io.StringIO()
    config = Config(str(ALEMBIC_INI), output_buffer=buffer)
    config.attributes["configure_logging"] = False
    config.set_main_option("sqlalchemy.url", "postgresql+psycopg://")  # dialect only, nothing to connect to
    command.upgrade(config, "head", sql=True)
    sql = buffer.getvalue()
    for table in MODEL_TABLES:
        assert f"CREATE TABLE {table} " in sql, table
    assert "CREATE TYPE user_role AS ENUM" in sql
    assert "ON DELETE SET NULL (assignee_id)" in sql
    assert "GRANT SELECT, INSERT ON TABLE audit_logs" in sql
    assert "CREATE POLICY operator_access ON sessions" in sql
    assert "app.rls_bypass" not in sql.split("CREATE POLICY tenant_isolation ON sessions")[1].split(";")[0]
