"""Apply and check the Alembic migrations from code (tests, startup checks, CI).

The `alembic` command line and these helpers share migrations/env.py, so both behave the same.
No reflex import here: this runs in tests and in the migration job. One run per process at a
time (Alembic's context is process-global); concurrent processes are serialised by env.py's lock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Enum, MetaData, create_engine, text
from sqlalchemy.pool import NullPool

from services.core.settings import PROJECT_ROOT, normalize_db_url

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
DEFAULT_APP_ROLE = "workdash_app"
DEFAULT_SYSTEM_ROLE = "workdash_system"
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


# The job queue's tables and types (revision 938036124e90) are procrastinate's, not our models'.
QUEUE_PREFIX = "procrastinate_"


def _ours(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (type_ == "table" and name is not None and name.startswith(QUEUE_PREFIX))


def comparison_options() -> dict[str, Any]:
    """Autogenerate options used by env.py and by check_models_match (one definition, no drift)."""
    return {
        "compare_type": True,
        "compare_server_default": True,
        "autogenerate_plugins": ["alembic.autogenerate.*", "alembic.ext.checkconstraint_byname"],
        "include_name": _ours,
    }


def valid_role_name(role: str) -> str:
    """The app and system roles end up inside GRANT statements: accept only plain lower-case identifiers."""
    if not _ROLE_NAME.match(role):
        raise ValueError(f"invalid PostgreSQL role name for the app or system role: {role!r}")
    return role


def alembic_config(
    connection: Connection | None = None, *, app_role: str | None = None, system_role: str | None = None
) -> Config:
    config = Config(str(ALEMBIC_INI))
    # Called from code: keep the caller's logging (pytest, the app) instead of alembic.ini's.
    config.attributes["configure_logging"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    for key, role in (("app_role", app_role), ("system_role", system_role)):
        if role is not None:
            config.attributes[key] = valid_role_name(role)
    return config


@contextmanager
def _connection(database_url: str) -> Iterator[Connection]:
    engine = create_engine(normalize_db_url(database_url), poolclass=NullPool)
    try:
        with engine.begin() as connection:  # all of a run commits or none of it does
            yield connection
    finally:
        engine.dispose()


def _run(database_url: str, action: Callable[[Config], None], app_role: str | None, system_role: str | None) -> None:
    with _connection(database_url) as connection:
        action(alembic_config(connection, app_role=app_role, system_role=system_role))


def upgrade_head(database_url: str, *, app_role: str | None = None, system_role: str | None = None) -> None:
    """Migrate the database to the newest revision (the owner role's URL)."""
    _run(database_url, lambda config: command.upgrade(config, "head"), app_role, system_role)


def downgrade_base(database_url: str, *, app_role: str | None = None, system_role: str | None = None) -> None:
    """Undo every revision: no tables and no enum types are left."""
    _run(database_url, lambda config: command.downgrade(config, "base"), app_role, system_role)


def check_models_match(database_url: str) -> list[Any]:
    """The autogenerate diff between the database and models.metadata; empty means they agree.

    Autogenerate does not look at the labels of PostgreSQL enum types, so those differences are
    appended as ("enum_labels", type_name, labels_in_database, labels_in_models).
    """
    from models import metadata  # imported late: loading every table is only needed here

    with _connection(database_url) as connection:
        context = MigrationContext.configure(connection, opts=comparison_options())
        diff: list[Any] = list(compare_metadata(context, metadata))
        diff += _enum_label_diff(connection, metadata)
        return diff


def _enum_label_diff(connection: Connection, metadata: MetaData) -> list[tuple[str, str, list[str], list[str]]]:
    rows = connection.execute(
        text(
            "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_type t "
            "JOIN pg_enum e ON e.enumtypid = t.oid "
            "WHERE t.typnamespace = to_regnamespace(current_schema()) GROUP BY t.typname"
        )
    )
    in_database = {name: list(labels) for name, labels in rows if not name.startswith(QUEUE_PREFIX)}
    in_models: dict[str, list[str]] = {}
    for table in metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, Enum) and column.type.name:
                in_models[column.type.name] = list(column.type.enums)
    return [
        ("enum_labels", name, in_database.get(name, []), in_models.get(name, []))
        for name in sorted(in_database.keys() | in_models.keys())
        if in_database.get(name) != in_models.get(name)
    ]
