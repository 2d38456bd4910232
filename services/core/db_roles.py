"""Production refuses to start with database roles that would make row-level security decorative.

`refuse_unsafe_database()` runs before anything is served: in the launcher (scripts/serve.py), the web
app (dashboard/dashboard.py) and the worker (services/worker.py). Outside production it does nothing
and connects nowhere (development and the tests may run with one role).

The app's runtime role (APP_DATABASE_URL) must not, directly or through a role it belongs to:
- be a superuser (no policy applies to one), nor have BYPASSRLS;
- own a table (an owner can switch row-level security off, and rewrite the audit log);
- read the scope key (it could sign any company's scope, services/core/db.py);
- create temporary tables (one named like a real table stands in front of it for the next tenant
  served by the same pooled connection).
The system role (SYSTEM_DATABASE_URL) must have BYPASSRLS (or sign-in and the worker see no rows), and
must be neither a superuser nor the owner of a table. A URL left unset falls back to the owner's,
which owns the tables: refused, and the message says so. Every problem is listed, each under the
name of its setting; no password is ever part of the message.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from services.core.db import app_database_url, system_database_url
from services.core.settings import Settings, get_settings

# What the connected role can do, counting every role it belongs to (pg_has_role ... 'MEMBER': a
# member may SET ROLE to it). Superusers belong to every role, so they also "own" every table.
_ROLE_FACTS = text(
    """
    SELECT current_user AS name,
           bool_or(m.rolsuper) AS superuser,
           bool_or(m.rolbypassrls) AS bypassrls,
           (SELECT count(*) FROM pg_class c
             WHERE c.relkind IN ('r', 'p')
               AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
               AND pg_has_role(current_user, c.relowner, 'MEMBER')) AS owned_tables,
           has_database_privilege(current_user, current_database(), 'TEMPORARY') AS temporary,
           coalesce(has_table_privilege(current_user, to_regclass('workdash_rls.scope_key'), 'SELECT'), false)
             AS reads_scope_key
      FROM pg_roles m
     WHERE pg_has_role(current_user, m.oid, 'MEMBER')
    """
)


class UnsafeDatabaseRole(RuntimeError):
    """The configured roles would let row-level security be bypassed: the message lists why, per setting."""


@dataclass(frozen=True)
class RoleFacts:
    name: str
    superuser: bool
    bypassrls: bool
    owned_tables: int
    temporary: bool
    reads_scope_key: bool


def role_facts(url: str) -> RoleFacts:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            row = connection.execute(_ROLE_FACTS).mappings().one()
    finally:
        engine.dispose()
    return RoleFacts(**row)


def app_role_problems(role: RoleFacts) -> list[str]:
    problems = []
    if role.superuser:
        problems.append(f'role "{role.name}" is a superuser (or may become one): no policy applies to it')
    if role.bypassrls:
        problems.append(f'role "{role.name}" has BYPASSRLS (or may become a role that has it)')
    if role.owned_tables:
        problems.append(f'role "{role.name}" owns {role.owned_tables} tables (or may become their owner)')
    if role.reads_scope_key:
        problems.append(f'role "{role.name}" may read the scope key (workdash_rls.scope_key): it could sign any scope')
    if role.temporary:
        problems.append(f'role "{role.name}" may create temporary tables: REVOKE TEMPORARY ON DATABASE ... FROM PUBLIC')
    return problems


def system_role_problems(role: RoleFacts) -> list[str]:
    problems = []
    if role.superuser:
        problems.append(f'role "{role.name}" is a superuser (or may become one): give it BYPASSRLS instead')
    elif not role.bypassrls:
        problems.append(f'role "{role.name}" lacks BYPASSRLS: sign-in, sign-up and the worker would see no rows')
    if role.owned_tables:
        problems.append(f'role "{role.name}" owns {role.owned_tables} tables (or may become their owner)')
    return problems


def check_database_roles(
    app_url: str,
    system_url: str,
    *,
    app_setting: str = "APP_DATABASE_URL",
    system_setting: str = "SYSTEM_DATABASE_URL",
) -> None:
    """Raise UnsafeDatabaseRole listing every problem of the two roles (each under its setting's name)."""
    problems: list[str] = []
    for setting, url, judge in (
        (app_setting, app_url, app_role_problems),
        (system_setting, system_url, system_role_problems),
    ):
        try:
            problems += [f"{setting}: {problem}" for problem in judge(role_facts(url))]
        except OperationalError as exc:  # the driver's message names the user, never the password
            problems.append(f"{setting}: cannot connect ({str(exc.orig).strip()})")
    if problems:
        listed = "\n".join(f"- {problem}" for problem in problems)
        raise UnsafeDatabaseRole(
            "Refusing to start: the database roles would let row-level security be bypassed "
            f"(docs/configuration.md, 'Database roles'):\n{listed}"
        )


def refuse_unsafe_database(settings: Settings | None = None) -> None:
    """In production, check_database_roles() on the configured roles; elsewhere nothing."""
    settings = settings or get_settings()
    if settings.env != "production":
        return
    unset = " (not set: the owner's credentials are used)"
    check_database_roles(
        app_database_url(settings),
        system_database_url(settings),
        app_setting="APP_DATABASE_URL" + ("" if settings.app_database_url else unset),
        system_setting="SYSTEM_DATABASE_URL" + ("" if settings.system_database_url else unset),
    )
