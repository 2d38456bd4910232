"""Alembic environment: where to connect and what the models look like.

The URL comes from, in order:
1. `config.attributes["connection"]`: an open connection handed over by services.core.schema (tests);
2. `alembic -x url=postgresql+psycopg://...`;
3. `sqlalchemy.url` set on the Config (empty in alembic.ini on purpose);
4. services.core.settings: DATABASE_URL, or POSTGRES_USER/PASSWORD/HOST/PORT/DB, of the current ENV.
Migrations run as the OWNER role; the app connects as a role that does not own the tables.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel.sql.sqltypes import AutoString

from models import metadata
from services.core.schema import DEFAULT_APP_ROLE, DEFAULT_SYSTEM_ROLE, comparison_options, valid_role_name
from services.core.settings import get_settings, normalize_db_url

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

log = logging.getLogger("workdash.migrations")
log.setLevel(logging.DEBUG if os.getenv("DEBUG") else logging.INFO)

target_metadata = metadata
MIGRATION_LOCK_KEY = 7_262_001  # any fixed number: the advisory lock that serialises migration runs
x_args = context.get_x_argument(as_dictionary=True)

# The roles the running app logs in as (tenant work, system work); revisions grant them their rights.
for _key, _variable, _default in (
    ("app_role", "APP_DB_ROLE", DEFAULT_APP_ROLE),
    ("system_role", "SYSTEM_DB_ROLE", DEFAULT_SYSTEM_ROLE),
):
    config.attributes[_key] = valid_role_name(
        x_args.get(_key) or config.attributes.get(_key) or os.environ.get(_variable) or _default
    )


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write SQLModel's AutoString as plain sa.String, so revisions never import sqlmodel."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False  # everything else: alembic's default rendering


def database_url() -> str | None:
    url = x_args.get("url") or config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url
    return normalize_db_url(url) if url else None


def describe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def run_migrations_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it (needs no server)."""
    url = database_url() or "postgresql+psycopg://"  # only the dialect matters offline
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_item=render_item,
        **comparison_options(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_with_connection(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, render_item=render_item, **comparison_options()
    )
    with context.begin_transaction():
        # Two app containers starting at once: the second waits, then finds the schema at head.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        target = connection.engine.url.render_as_string(hide_password=True)
        log.info("Migrating %s (roles %s, %s)", target, config.attributes["app_role"], config.attributes["system_role"])
        run_logged(target, lambda: run_with_connection(connection))
        return

    url = database_url()
    if not url:
        raise RuntimeError(
            "No database configured for migrations: set DATABASE_URL (or POSTGRES_USER, POSTGRES_PASSWORD, "
            "POSTGRES_HOST, POSTGRES_DB), pass `-x url=postgresql+psycopg://owner:pw@host/db`, "
            "or run `make migrate`, which starts the project's own PostgreSQL when none is configured."
        )
    target = describe(url)
    log.info("Migrating %s (roles %s, %s)", target, config.attributes["app_role"], config.attributes["system_role"])
    engine = create_engine(url, poolclass=NullPool, echo=os.getenv("DEBUG") == "1")

    def run() -> None:
        with engine.begin() as conn:  # one transaction, committed here (the lock above lives until then)
            run_with_connection(conn)

    try:
        run_logged(target, run)
    finally:
        engine.dispose()


def run_logged(target: str, run: Callable[[], None]) -> None:
    """A failed migration is logged loudly (CI and deploy logs) and still raised: the caller must fail."""
    try:
        run()
    except Exception as exc:
        log.critical("Migration against %s failed: %s", target, exc)
        raise


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
