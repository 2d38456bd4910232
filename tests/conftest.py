"""Real servers for the whole test run.

If TEST_DATABASE_URL, TEST_REDIS_URL and TEST_S3_ENDPOINT_URL are all set, those servers are used
(docker compose's test_db, CI services). Otherwise the project starts its own PostgreSQL, Redis and
S3 in a temporary folder and removes them afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine, NullPool, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

os.environ["ENV"] = "test"


@dataclass
class TestServers:
    database_url: str  # owner role of the server's default database
    app_database_url: str
    system_database_url: str
    superuser_url: str  # a superuser (creating roles with each flaw in tests/integration/test_db_roles.py)
    redis_url: str
    s3_endpoint_url: str
    s3_access_key: str
    s3_secret_key: str
    s3_bucket: str

    def database(self, name: str, *, app_role: bool = False, system_role: bool = False) -> str:
        base = self.app_database_url if app_role else self.system_database_url if system_role else self.database_url
        return make_url(base).set(database=name).render_as_string(hide_password=False)


def _external_servers() -> TestServers | None:
    keys = ("TEST_DATABASE_URL", "TEST_REDIS_URL", "TEST_S3_ENDPOINT_URL")
    if not all(os.environ.get(k) for k in keys):
        return None
    from services.core.settings import normalize_db_url

    db = normalize_db_url(os.environ["TEST_DATABASE_URL"])
    return TestServers(
        database_url=db,
        app_database_url=normalize_db_url(os.environ.get("TEST_APP_DATABASE_URL") or db),
        system_database_url=normalize_db_url(os.environ.get("TEST_SYSTEM_DATABASE_URL") or db),
        superuser_url=normalize_db_url(os.environ.get("TEST_SUPERUSER_DATABASE_URL") or db),
        redis_url=os.environ["TEST_REDIS_URL"],
        s3_endpoint_url=os.environ["TEST_S3_ENDPOINT_URL"],
        s3_access_key=os.environ.get("TEST_AWS_ACCESS_KEY_ID", "minioadmin"),
        s3_secret_key=os.environ.get("TEST_AWS_SECRET_ACCESS_KEY", "minioadmin"),
        s3_bucket=os.environ.get("TEST_S3_BUCKET", "workdash-test"),
    )


def _socket_url(dsn: str) -> str:
    """A libpq "host=/socket/dir port=… user=… dbname=…" string as a SQLAlchemy URL."""
    parts = psycopg.conninfo.conninfo_to_dict(dsn)
    return f"postgresql+psycopg://{parts['user']}@/{parts['dbname']}?host={parts['host']}&port={parts['port']}"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@pytest.fixture(scope="session")
def servers() -> Iterator[TestServers]:
    external = _external_servers()
    if external is not None:
        yield external
        return
    from devtools.devstack import EmbeddedStack, StackPorts, free_port, free_s3_port

    # A SIGTERM (CI time-out, `timeout`) must still run the teardown below, or the servers outlive the run.
    signal.signal(signal.SIGTERM, _interrupt)
    root = Path(tempfile.mkdtemp(prefix="workdash-test-"))
    stack = EmbeddedStack(
        root, StackPorts(free_port(), free_port(), free_s3_port()), bucket="workdash-test", persistent=False
    )
    try:
        urls = stack.start()
        yield TestServers(
            database_url=urls.database_url,
            app_database_url=urls.app_database_url,
            system_database_url=urls.system_database_url,
            superuser_url=_socket_url(urls.postgres_admin_dsn),
            redis_url=urls.redis_url,
            s3_endpoint_url=urls.s3_endpoint_url,
            s3_access_key=urls.s3_access_key,
            s3_secret_key=urls.s3_secret_key,
            s3_bucket="workdash-test",
        )
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database(servers: TestServers, prefix: str) -> str:
    """A new empty database owned by the owner role; returns its name."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(_libpq(servers.database_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO PUBLIC").format(sql.Identifier(name)))
    return name


def drop_database(servers: TestServers, name: str) -> None:
    with psycopg.connect(_libpq(servers.database_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def test_env(servers: TestServers) -> Iterator[TestServers]:
    """Point the application's settings at the test servers."""
    from services.core.settings import get_settings

    os.environ.update(
        {
            "REDIS_URL": servers.redis_url,
            "S3_ENDPOINT_URL": servers.s3_endpoint_url,
            "S3_BUCKET": servers.s3_bucket,
            "AWS_ACCESS_KEY_ID": servers.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": servers.s3_secret_key,
        }
    )
    get_settings.cache_clear()
    yield servers


@pytest.fixture(scope="session")
def migrated_database(test_env: TestServers) -> Iterator[str]:
    """Name of a database migrated to head, shared by the session's integration tests."""
    from services.core.schema import upgrade_head

    name = create_database(test_env, "wd_test")
    upgrade_head(test_env.database(name))
    os.environ["DATABASE_URL"] = test_env.database(name)
    os.environ["APP_DATABASE_URL"] = test_env.database(name, app_role=True)
    os.environ["SYSTEM_DATABASE_URL"] = test_env.database(name, system_role=True)
    from services.core.settings import get_settings

    get_settings.cache_clear()
    yield name
    drop_database(test_env, name)


@pytest.fixture(scope="session")
def owner_engine(test_env: TestServers, migrated_database: str) -> Iterator[Engine]:
    engine = create_engine(test_env.database(migrated_database))
    yield engine
    engine.dispose()


RLS_BYPASS_SQL = "SELECT set_config('app.rls_bypass', 'on', true)"


@contextmanager
def rolled_back_session(engine: Engine, *, rls_bypass: bool) -> Iterator[Session]:
    """A session inside a transaction that is rolled back at the end (commits become savepoints).

    rls_bypass: row-level security off for the transaction, for the table owner only (the
    owner_maintenance policy; transaction-local, so the rollback also clears it from a pooled
    connection). Other roles get the operator's scope instead: apply_scope(session, operator_actor()).
    """
    connection = engine.connect()
    outer = connection.begin()
    if rls_bypass:
        connection.execute(text(RLS_BYPASS_SQL))
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@contextmanager
def committed_session(engine: Engine) -> Iterator[Session]:
    """A session whose rows are committed for real when the block ends, so other connections (the
    app's own transactions) see them; row-level security bypassed. Remove them with delete_committed."""
    with Session(engine, expire_on_commit=False) as session:
        session.execute(text(RLS_BYPASS_SQL))
        yield session
        session.commit()


def delete_committed(engine: Engine, *, companies: list[uuid.UUID], users: list[uuid.UUID]) -> None:
    """Remove what a test committed: the companies (every row of theirs goes with them) and `users`
    (those of no company, such as an operator)."""
    from sqlmodel import col, delete

    from models import Company, User

    with Session(engine) as session:
        session.execute(text(RLS_BYPASS_SQL))
        session.execute(delete(Company).where(col(Company.id).in_(companies)))
        session.execute(delete(User).where(col(User.id).in_(users)))
        session.commit()


@pytest.fixture
def db(owner_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test (commits become savepoints).

    The tables are under FORCE ROW LEVEL SECURITY, which binds their owner too: the transaction
    runs with the bypass on (transaction-local, so the rollback also clears it from the pooled
    connection). Row-level security itself is tested in tests/integration/test_rls.py.
    """
    with rolled_back_session(owner_engine, rls_bypass=True) as session:
        yield session


@pytest.fixture
def app_engine(test_env: TestServers, migrated_database: str) -> Iterator[Engine]:
    """An engine connected as the app role (not the owner of the tables), without a pool.

    Skips the test when the test servers use one role for owner and app.
    """
    url = test_env.database(migrated_database, app_role=True)
    if make_url(url).username == make_url(test_env.database(migrated_database)).username:
        pytest.skip("the test servers use one role for owner and app")
    engine = create_engine(url, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_database(test_env: TestServers) -> Iterator[str]:
    """URL of a brand-new empty database, dropped afterwards."""
    name = create_database(test_env, "wd_empty")
    yield test_env.database(name)
    drop_database(test_env, name)


@pytest.fixture
def demo(db: Session) -> Session:
    """The `db` session with the demo data loaded."""
    from devtools.seed import load_demo_data

    load_demo_data(db)
    return db


@pytest.fixture
def clean_throttle(test_env: TestServers) -> Iterator[None]:
    """The throttle's and the quotas' Redis counters emptied before and after the test."""
    from services.core import quota, throttle

    throttle.clear_all()
    quota.clear_all()
    yield
    throttle.clear_all()
    quota.clear_all()


@pytest.fixture
def outbox(migrated_database: str) -> Iterator[None]:
    """Mail goes to the dev outbox in Redis (MAIL_BACKEND=outbox), emptied before and after the test."""
    from services.core import mailer
    from services.core.redis_client import get_redis
    from tests.smtp_server import use_settings

    get_redis().delete(mailer.OUTBOX_KEY)
    with use_settings(MAIL_BACKEND="outbox"):
        yield
    get_redis().delete(mailer.OUTBOX_KEY)


def clock_at(monkeypatch: pytest.MonkeyPatch, start: datetime) -> Callable[[float], None]:
    """Set services.core.clock.now to `start`; the returned move(seconds) sets it to start + seconds."""
    from services.core import clock

    def move(seconds: float) -> None:
        moment = start + timedelta(seconds=seconds)
        monkeypatch.setattr(clock, "now", lambda: moment)

    move(0)
    return move
