"""Tenant isolation, wall 2: PostgreSQL row-level security, proven as the app role.

The application's own filter (wall 1, `WHERE company_id = ...` in the services) is switched off
here on purpose: every read is a plain `SELECT * FROM <table>` with no WHERE, so only the policies
stand between one company and another. The data is committed for real into a dedicated database
(migrated to head, dropped afterwards), because the `db` fixture's rolled-back transaction is
invisible to other connections.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from models import TENANT_TABLES, Company, Role, User, metadata
from services.core.actor import Actor
from services.core.db import apply_scope, current_scope, get_engine, session_scope, system_scope, tenant_scope
from services.core.schema import alembic_config, upgrade_head
from services.identity.auth import actor_for
from tests.conftest import create_database, drop_database
from tests.factories import (
    add_member,
    make_admin,
    make_audit,
    make_comment,
    make_company,
    make_file,
    make_invitation,
    make_invoice,
    make_line_item,
    make_payment,
    make_plan,
    make_project,
    make_session,
    make_signup_verification,
    make_subscription,
    make_task,
    make_trial,
    make_user,
)

if TYPE_CHECKING:
    from models import Plan
    from tests.conftest import TestServers

pytestmark = pytest.mark.integration

RLS_TABLES = ("companies", *TENANT_TABLES)
NOT_RLS_TABLES = {"sessions", "plans"}  # no company (sessions) / the public catalogue (plans)
NULL_COMPANY_TABLES = {"users", "audit_logs"}  # admins and operator-wide audit rows
RLS_REFUSAL = "new row violates row-level security policy"


def company_column(table: str) -> str:
    return "id" if table == "companies" else "company_id"


@dataclass
class Tenant:
    company: Company
    manager: User
    project_id: uuid.UUID
    invitation_id: uuid.UUID
    rows: dict[str, int] = field(default_factory=dict)  # table -> how many rows of this company

    @property
    def actor(self) -> Actor:
        return actor_for(self.manager)


@dataclass
class RlsDatabase:
    owner_url: str
    app_url: str
    separate_roles: bool
    engine: Engine  # the app role, ONE pooled connection: consecutive transactions share it
    a: Tenant
    b: Tenant
    admin: User
    totals: dict[str, int]  # table -> all rows, operator's included


def populate(session: Session, name: str, plan: Plan) -> Tenant:
    """A company with at least one row in every tenant table."""
    company = make_company(session, name)
    manager = make_user(session, company, Role.MANAGER)
    worker = make_user(session, company, Role.WORKER)
    project = make_project(session, company, created_by=manager)
    add_member(session, project, worker)
    task = make_task(session, project, assignee=worker, created_by=manager)
    make_comment(session, task, worker)
    make_file(session, company, task=task, uploaded_by=worker)
    subscription = make_subscription(session, company, plan)
    make_trial(session, company, plan)
    invoice = make_invoice(session, company, plan=plan, subscription=subscription)
    make_line_item(session, invoice)
    make_payment(session, invoice, recorded_by=manager)
    invitation = make_invitation(session, company)  # no sender: its company_id can be changed alone
    make_audit(session, company, actor=manager)
    make_session(session, worker)
    make_signup_verification(session, company, manager)
    return Tenant(company, manager, project.id, invitation.id)


def count_rows(session: Session, table: str, company_id: uuid.UUID | None = None) -> int:
    if company_id is None:
        return int(session.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)
    query = sa.text(f"SELECT count(*) FROM {table} WHERE {company_column(table)} = :c")
    return int(session.scalar(query, {"c": company_id}) or 0)


def companies_of_all_rows(session: Session, table: str) -> list[uuid.UUID | None]:
    """The company of every row the transaction can see: `SELECT *`, no WHERE at all."""
    rows = session.execute(sa.text(f"SELECT * FROM {table}")).mappings().all()
    return [row[company_column(table)] for row in rows]


@pytest.fixture(scope="module")
def rls(test_env: TestServers) -> Iterator[RlsDatabase]:
    name = create_database(test_env, "wd_rls")
    owner_url, app_url = test_env.database(name), test_env.database(name, app_role=True)
    app_role = make_url(app_url).username
    separate_roles = app_role != make_url(owner_url).username
    upgrade_head(owner_url, app_role=app_role if separate_roles else None)
    engine = sa.create_engine(app_url, pool_size=1, max_overflow=0)
    try:
        with system_scope(engine) as session:  # system work (seeding): the bypass, as the app role
            plan = make_plan(session)
            a, b = populate(session, "Alpha", plan), populate(session, "Beta", plan)
            admin = make_admin(session)
            make_audit(session, None, actor=admin, action="plan.create")  # operator-wide row
        with system_scope(engine) as session:
            for tenant in (a, b):
                tenant.rows = {table: count_rows(session, table, tenant.company.id) for table in RLS_TABLES}
                assert all(tenant.rows.values()), f"a tenant table has no row: {tenant.rows}"
            totals = {table: count_rows(session, table) for table in RLS_TABLES}
        yield RlsDatabase(owner_url, app_url, separate_roles, engine, a, b, admin, totals)
    finally:
        engine.dispose()
        drop_database(test_env, name)


@pytest.fixture
def separate_roles(rls: RlsDatabase) -> RlsDatabase:
    if not rls.separate_roles:
        pytest.skip("the test servers use one role for owner and app")
    return rls


# ---- the schema --------------------------------------------------------------------------


def test_every_tenant_table_and_companies_is_forced_under_one_policy(rls: RlsDatabase) -> None:
    with system_scope(rls.engine) as session:
        flags = dict(
            session.execute(
                sa.text(
                    "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
                    "WHERE relnamespace = to_regnamespace(current_schema()) AND relkind = 'r'"
                )
            ).all()
        )
        policies = session.execute(
            sa.text("SELECT tablename, policyname, cmd, qual, with_check FROM pg_policies")
        ).all()
    assert {table for table, forced in flags.items() if forced} == set(RLS_TABLES)
    # A new table must be either a tenant table or declared company-free here, on purpose.
    assert set(metadata.tables) - set(RLS_TABLES) == NOT_RLS_TABLES
    assert sorted(p.tablename for p in policies) == sorted(RLS_TABLES), "exactly one policy per table"
    for policy in policies:
        assert policy.cmd == "ALL" and policy.qual == policy.with_check, policy


# ---- reads -------------------------------------------------------------------------------


@pytest.mark.parametrize("table", RLS_TABLES)
def test_a_tenant_sees_only_its_own_rows_even_without_any_filter(rls: RlsDatabase, table: str) -> None:
    for tenant in (rls.a, rls.b):
        with tenant_scope(tenant.actor, rls.engine) as session:
            seen = companies_of_all_rows(session, table)
        assert seen == [tenant.company.id] * tenant.rows[table]


@pytest.mark.parametrize("table", RLS_TABLES)
def test_without_a_scope_no_tenant_row_is_visible(rls: RlsDatabase, table: str) -> None:
    with session_scope(rls.engine) as session:
        assert companies_of_all_rows(session, table) == []
    with session_scope(rls.engine) as session:  # set but empty, and a bypass value other than 'on'
        session.execute(
            sa.text("SELECT set_config('app.company_id', '', true), set_config('app.rls_bypass', 'true', true)")
        )
        assert companies_of_all_rows(session, table) == []


def test_a_malformed_company_setting_is_an_error_not_a_wider_view(rls: RlsDatabase) -> None:
    with pytest.raises(sa.exc.DataError, match="uuid"), session_scope(rls.engine) as session:
        session.execute(sa.text("SELECT set_config('app.company_id', 'x'' OR true --', true)"))
        session.execute(sa.text("SELECT * FROM projects"))


@pytest.mark.parametrize("table", RLS_TABLES)
def test_the_bypass_and_the_operator_see_every_row(rls: RlsDatabase, table: str) -> None:
    for scope in (system_scope(rls.engine), tenant_scope(actor_for(rls.admin), rls.engine)):
        with scope as session:
            seen = companies_of_all_rows(session, table)
        assert len(seen) == rls.totals[table]
        assert seen.count(rls.a.company.id) == rls.a.rows[table] and seen.count(rls.b.company.id) == rls.b.rows[table]
        if table in NULL_COMPANY_TABLES:
            assert None in seen, "the operator's own rows (company_id NULL)"


def test_force_binds_the_table_owner_too(rls: RlsDatabase) -> None:
    """Seeding and data fixes that connect as the owner need system_scope() like everyone else."""
    owner = sa.create_engine(rls.owner_url, poolclass=sa.NullPool)
    try:
        with session_scope(owner) as session:
            assert [count_rows(session, table) for table in RLS_TABLES] == [0] * len(RLS_TABLES)
        with system_scope(owner) as session:
            assert {table: count_rows(session, table) for table in RLS_TABLES} == rls.totals
    finally:
        owner.dispose()


def test_plans_and_sessions_are_not_under_row_level_security(rls: RlsDatabase) -> None:
    with session_scope(rls.engine) as session:
        assert count_rows(session, "plans") >= 1
        assert count_rows(session, "sessions") == 2


# ---- writes ------------------------------------------------------------------------------


@pytest.mark.parametrize("table", RLS_TABLES)
def test_a_tenant_cannot_update_or_delete_another_tenants_rows(rls: RlsDatabase, table: str) -> None:
    column = company_column(table)
    session = Session(rls.engine)
    try:
        apply_scope(session, rls.a.actor)
        if table == "audit_logs":  # the app may not UPDATE or DELETE the trail at all (grants)
            for statement in (
                f"UPDATE {table} SET action = 'x' WHERE {column} = :b",
                f"DELETE FROM {table} WHERE {column} = :b",
            ):
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), session.begin_nested():
                    session.execute(sa.text(statement), {"b": rls.b.company.id})
        else:
            update = session.execute(
                sa.text(f"UPDATE {table} SET {column} = {column} WHERE {column} = :b"), {"b": rls.b.company.id}
            )
            delete = session.execute(sa.text(f"DELETE FROM {table} WHERE {column} = :b"), {"b": rls.b.company.id})
            assert (update.rowcount, delete.rowcount) == (0, 0)  # type: ignore[attr-defined]
        apply_scope(session, None, bypass=True)  # same transaction, now seeing everything
        assert count_rows(session, table, rls.b.company.id) == rls.b.rows[table]
    finally:
        session.rollback()
        session.close()


INSERTS_INTO_B: dict[str, str] = {
    "companies": "INSERT INTO companies (id, name, slug, status) VALUES (gen_random_uuid(), 'Mine', 'mine-' || gen_random_uuid(), 'active')",
    "users": "INSERT INTO users (id, company_id, email, full_name, password_hash, role, is_active, locale) "
    "VALUES (gen_random_uuid(), :b, 'spy-' || gen_random_uuid() || '@example.com', 'Spy', 'x', 'manager', true, 'en')",
    "projects": "INSERT INTO projects (id, company_id, name, status) VALUES (gen_random_uuid(), :b, 'Planted', 'active')",
    # The composite foreign key is satisfied (B's own project): only the policy refuses it.
    "tasks": "INSERT INTO tasks (id, company_id, project_id, title, status, priority, position, approval_status) "
    "VALUES (gen_random_uuid(), :b, :b_project, 'Planted', 'todo', 'low', 0, 'none')",
    "audit_logs": "INSERT INTO audit_logs (company_id, actor_email, actor_role, action, target_type, target_id, ip, user_agent) "
    "VALUES (:b, '', '', 'forged', '', '', '', '')",
    "audit_logs (operator-wide)": "INSERT INTO audit_logs (company_id, actor_email, actor_role, action, target_type, target_id, ip, user_agent) "
    "VALUES (NULL, '', '', 'forged', '', '', '', '')",
    "invitations (moved into B)": "UPDATE invitations SET company_id = :b WHERE id = :a_invitation",
    "projects (moved into B)": "UPDATE projects SET company_id = :b WHERE id = :a_project",
}


@pytest.mark.parametrize("case", INSERTS_INTO_B)
def test_a_tenant_cannot_write_a_row_into_another_tenant(rls: RlsDatabase, case: str) -> None:
    params: dict[str, Any] = {
        "b": rls.b.company.id,
        "b_project": rls.b.project_id,
        "a_invitation": rls.a.invitation_id,
        "a_project": rls.a.project_id,
    }
    with pytest.raises(sa.exc.ProgrammingError, match=RLS_REFUSAL), tenant_scope(rls.a.actor, rls.engine) as session:
        session.execute(sa.text(INSERTS_INTO_B[case]), params)


def test_a_tenant_can_still_write_its_own_rows(rls: RlsDatabase) -> None:
    session = Session(rls.engine)
    try:
        apply_scope(session, rls.a.actor)
        created = session.execute(
            sa.text(
                "INSERT INTO projects (id, company_id, name, status) VALUES (gen_random_uuid(), :a, 'Own', 'active')"
            ),
            {"a": rls.a.company.id},
        )
        updated = session.execute(
            sa.text("UPDATE invitations SET email = email WHERE id = :i"), {"i": rls.a.invitation_id}
        )
        assert (created.rowcount, updated.rowcount) == (1, 1)  # type: ignore[attr-defined]
    finally:
        session.rollback()
        session.close()


def test_deleting_a_company_still_cascades_through_rows_of_every_table(rls: RlsDatabase) -> None:
    """Foreign-key actions run as the table owner and ignore the policies (the app may not even DELETE audit rows)."""
    with system_scope(rls.engine) as session:
        doomed = populate(session, "Gamma", make_plan(session))
    with tenant_scope(doomed.actor, rls.engine) as session:
        deleted = session.execute(sa.text("DELETE FROM companies WHERE id = :c"), {"c": doomed.company.id})
        assert deleted.rowcount == 1  # type: ignore[attr-defined]
    with system_scope(rls.engine) as session:
        assert {table: count_rows(session, table, doomed.company.id) for table in RLS_TABLES} == dict.fromkeys(
            RLS_TABLES, 0
        )
        assert {table: count_rows(session, table, rls.a.company.id) for table in RLS_TABLES} == rls.a.rows
        assert {table: count_rows(session, table, rls.b.company.id) for table in RLS_TABLES} == rls.b.rows


# ---- the scope's lifetime ----------------------------------------------------------------


def settings_and_pid(session: Session) -> tuple[Any, ...]:
    return tuple(
        session.execute(
            sa.text(
                "SELECT pg_backend_pid(), current_setting('app.company_id', true), current_setting('app.rls_bypass', true)"
            )
        ).one()
    )


def test_the_scope_never_leaks_into_the_next_transaction_on_a_pooled_connection(rls: RlsDatabase) -> None:
    with tenant_scope(rls.a.actor, rls.engine) as session:
        pid, company, _ = settings_and_pid(session)
        assert company == str(rls.a.company.id)
        assert count_rows(session, "projects") == rls.a.rows["projects"]
    with session_scope(rls.engine) as session:
        assert settings_and_pid(session)[0] == pid, "not the same pooled connection: the test proves nothing"
        assert settings_and_pid(session)[1:] in {("", ""), ("", "off"), (None, None)}
        assert count_rows(session, "projects") == 0
    with system_scope(rls.engine) as session:
        assert count_rows(session, "projects") == rls.totals["projects"]
    with session_scope(rls.engine) as session:
        assert settings_and_pid(session)[0] == pid
        assert settings_and_pid(session)[2] != "on"
        assert count_rows(session, "projects") == 0
    with pytest.raises(RuntimeError), tenant_scope(rls.b.actor, rls.engine) as session:
        raise RuntimeError("a failed unit of work is rolled back, its scope with it")
    with session_scope(rls.engine) as session:
        assert settings_and_pid(session)[0] == pid
        assert count_rows(session, "projects") == 0


def test_the_scope_survives_a_commit_inside_the_unit_of_work(rls: RlsDatabase) -> None:
    with tenant_scope(rls.b.actor, rls.engine) as session:
        session.commit()  # ends the transaction that had the settings; the next one gets them again
        assert count_rows(session, "projects") == rls.b.rows["projects"]
        assert count_rows(session, "projects", rls.a.company.id) == 0
        scope = current_scope(session)
        assert scope is not None and scope.company_id == str(rls.b.company.id) and not scope.bypass


def test_the_app_uses_the_app_role_engine(test_env: TestServers, migrated_database: str) -> None:
    app_role = make_url(test_env.database(migrated_database, app_role=True)).username
    assert get_engine().url.username == app_role
    with system_scope() as session:
        assert session.scalar(sa.text("SELECT current_user")) == app_role


# ---- no way out for the app role ---------------------------------------------------------


def test_the_app_role_cannot_turn_row_security_off(rls: RlsDatabase) -> None:
    """`row_security = off` never bypasses a policy for a role without BYPASSRLS: the query errors instead."""
    refused = pytest.raises(sa.exc.ProgrammingError, match="would be affected by row-level security policy")
    with refused, tenant_scope(rls.a.actor, rls.engine) as session:
        session.execute(sa.text("SET LOCAL row_security = off"))  # allowed to set ...
        session.execute(sa.text("SELECT * FROM projects"))  # ... but then no policy-bound query runs
    with session_scope(rls.engine) as session:
        role = session.execute(
            sa.text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        assert tuple(role) == (False, False)


OWNER_ONLY = [
    "ALTER TABLE projects DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE projects NO FORCE ROW LEVEL SECURITY",
    "DROP POLICY tenant_isolation ON projects",
    "ALTER POLICY tenant_isolation ON projects USING (true)",
    "CREATE POLICY open_door ON projects USING (true)",
    "ALTER TABLE projects OWNER TO CURRENT_USER",
]


@pytest.mark.parametrize("statement", OWNER_ONLY)
def test_the_app_role_cannot_change_the_policies(separate_roles: RlsDatabase, statement: str) -> None:
    with pytest.raises(sa.exc.ProgrammingError, match="must be owner"), session_scope(separate_roles.engine) as session:
        session.execute(sa.text(statement))


def test_the_app_role_cannot_become_the_owner(separate_roles: RlsDatabase) -> None:
    owner = make_url(separate_roles.owner_url).username
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        session_scope(separate_roles.engine) as session,
    ):
        session.execute(sa.text(f'SET LOCAL ROLE "{owner}"'))


# ---- the revision ------------------------------------------------------------------------


def rls_state(url: str) -> tuple[int, int, bool]:
    """(tables with row-level security, policies, whether ix_sessions_user_id exists)."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            tables = conn.scalar(sa.text("SELECT count(*) FROM pg_class WHERE relrowsecurity OR relforcerowsecurity"))
            policies = conn.scalar(sa.text("SELECT count(*) FROM pg_policies"))
            index = conn.scalar(sa.text("SELECT to_regclass('ix_sessions_user_id') IS NOT NULL"))
        return int(tables or 0), int(policies or 0), bool(index)
    finally:
        engine.dispose()


def test_the_revision_downgrades_cleanly_and_upgrades_again(empty_database: str) -> None:
    upgrade_head(empty_database)
    assert rls_state(empty_database) == (len(RLS_TABLES), len(RLS_TABLES), True)
    engine = sa.create_engine(empty_database, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:  # to the revision before 02a1a0a74e58 (later ones go too)
            command.downgrade(alembic_config(connection), "5f0c169fa8df")
    finally:
        engine.dispose()
    assert rls_state(empty_database) == (0, 0, False)
    upgrade_head(empty_database)
    assert rls_state(empty_database) == (len(RLS_TABLES), len(RLS_TABLES), True)
