"""Tenant isolation, wall 2: PostgreSQL row-level security, proven as the app role.

The application's own filter (wall 1, `WHERE company_id = ...` in the services) is switched off
here on purpose: every read is a plain `SELECT * FROM <table>` with no WHERE, so only the policies
stand between one company and another. The data is committed for real into a dedicated database
(migrated to head, dropped afterwards), because the `db` fixture's rolled-back transaction is
invisible to other connections.

Wall 2 also has to hold against SQL injected into the app's own connection: `TRICKS` is what an
attacker would try there, and none of it may show a row of another company.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from models import TENANT_TABLES, Company, InvoiceCounter, PendingCharge, Role, User, metadata
from services.core.actor import Actor
from services.core.db import (
    apply_scope,
    current_scope,
    get_engine,
    get_system_engine,
    session_scope,
    system_scope,
    tenant_scope,
)
from services.core.schema import alembic_config, upgrade_head
from services.identity.auth import actor_for
from tests.conftest import create_database, drop_database
from tests.factories import (
    add_member,
    follow,
    label_task,
    make_admin,
    make_audit,
    make_comment,
    make_company,
    make_file,
    make_invitation,
    make_invoice,
    make_label,
    make_line_item,
    make_notification,
    make_password_reset,
    make_payment,
    make_plan,
    make_project,
    make_session,
    make_signup_verification,
    make_sso_provider,
    make_subscription,
    make_task,
    make_trial,
    make_trusted_browser,
    make_two_factor,
    make_user,
    save,
)

if TYPE_CHECKING:
    from models import Plan
    from tests.conftest import TestServers

pytestmark = pytest.mark.integration

RLS_TABLES = ("companies", *TENANT_TABLES, "sessions")
NOT_RLS_TABLES = {"plans", "provider_events"}  # the public catalogue, webhook event ids
NULL_COMPANY_TABLES = {  # admins, operator-wide audit rows, admins' sessions, links and second factors
    "users",
    "audit_logs",
    "sessions",
    "password_resets",
    "two_factor_credentials",
    "recovery_codes",
    "trusted_browsers",
}
POLICIES = {"tenant_isolation", "operator_access", "owner_maintenance"}
RLS_REFUSAL = "new row violates row-level security policy"
# A session belongs to its user's company: the table has no company column of its own.
SESSION_COMPANY = "(SELECT u.company_id FROM users u WHERE u.id = sessions.user_id)"


def company_column(table: str) -> str:
    return {"companies": "id", "sessions": SESSION_COMPANY}.get(table, "company_id")


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
    system_engine: Engine  # the system role (BYPASSRLS): seeding and the counts below
    a: Tenant
    b: Tenant
    admin: User
    totals: dict[str, int]  # table -> all rows, operator's included
    user_companies: dict[uuid.UUID, uuid.UUID | None]  # every user -> company (a session's company)

    @property
    def operator(self) -> Actor:
        return actor_for(self.admin)

    def seen(self, session: Session, table: str) -> list[uuid.UUID | None]:
        """The company of every row the transaction can see: `SELECT *`, no WHERE at all."""
        rows = session.execute(sa.text(f"SELECT * FROM {table}")).mappings().all()
        if table == "sessions":
            return [self.user_companies[row["user_id"]] for row in rows]
        return [row[company_column(table)] for row in rows]


def populate(session: Session, name: str, plan: Plan) -> Tenant:
    """A company with at least one row in every tenant table."""
    company = make_company(session, name)
    manager = make_user(session, company, Role.MANAGER)
    worker = make_user(session, company, Role.WORKER)
    project = make_project(session, company, created_by=manager)
    add_member(session, project, worker)
    task = make_task(session, project, assignee=worker, created_by=manager)
    make_comment(session, task, worker)
    label_task(session, task, make_label(session, project))
    follow(session, task, worker)
    make_notification(session, worker, task, actor_id=manager.id)
    make_file(session, company, task=task, uploaded_by=worker)
    subscription = make_subscription(session, company, plan)
    make_trial(session, company, plan)
    invoice = make_invoice(session, company, plan=plan, subscription=subscription)
    make_line_item(session, invoice)
    make_payment(session, invoice, recorded_by=manager)
    save(session, InvoiceCounter(company_id=company.id, year=2026, last_number=1))
    save(
        session,
        PendingCharge(
            company_id=company.id,
            subscription_id=subscription.id,
            description="Proration",
            amount_minor=1,
            currency="USD",
        ),
    )
    invitation = make_invitation(session, company)  # no sender: its company_id can be changed alone
    make_audit(session, company, actor=manager)
    make_session(session, worker)
    make_session(session, manager)
    make_signup_verification(session, company, manager)
    make_password_reset(session, worker)
    make_two_factor(session, worker)
    make_trusted_browser(session, worker)
    make_sso_provider(session, company)
    return Tenant(company, manager, project.id, invitation.id)


def count_rows(session: Session, table: str, company_id: uuid.UUID | None = None) -> int:
    if company_id is None:
        return int(session.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)
    query = sa.text(f"SELECT count(*) FROM {table} WHERE {company_column(table)} = :c")
    return int(session.scalar(query, {"c": company_id}) or 0)


@pytest.fixture(scope="module")
def rls(test_env: TestServers, migrated_database: str) -> Iterator[RlsDatabase]:
    """(migrated_database: the settings name the system role, which reads each database's scope key.)"""
    name = create_database(test_env, "wd_rls")
    owner_url, app_url = test_env.database(name), test_env.database(name, app_role=True)
    app_role = make_url(app_url).username
    separate_roles = app_role != make_url(owner_url).username
    upgrade_head(owner_url, app_role=app_role if separate_roles else None)
    engine = sa.create_engine(app_url, pool_size=1, max_overflow=0)
    system = sa.create_engine(test_env.database(name, system_role=True), pool_size=1, max_overflow=0)
    try:
        with system_scope(system) as session:  # system work (seeding): the system role bypasses the policies
            plan = make_plan(session)
            a, b = populate(session, "Alpha", plan), populate(session, "Beta", plan)
            admin = make_admin(session)
            make_session(session, admin)  # a session with no company: the operator's
            make_password_reset(session, admin)  # the operator's own reset link (no company)
            make_two_factor(session, admin)  # and second factor
            make_trusted_browser(session, admin)
            make_audit(session, None, actor=admin, action="plan.create")  # operator-wide row
        with system_scope(system) as session:
            for tenant in (a, b):
                tenant.rows = {table: count_rows(session, table, tenant.company.id) for table in RLS_TABLES}
                assert all(tenant.rows.values()), f"a tenant table has no row: {tenant.rows}"
            totals = {table: count_rows(session, table) for table in RLS_TABLES}
            users = {row.id: row.company_id for row in session.execute(sa.text("SELECT id, company_id FROM users"))}
        yield RlsDatabase(owner_url, app_url, separate_roles, engine, system, a, b, admin, totals, users)
    finally:
        engine.dispose()
        system.dispose()
        drop_database(test_env, name)


@pytest.fixture
def separate_roles(rls: RlsDatabase) -> RlsDatabase:
    if not rls.separate_roles:
        pytest.skip("the test servers use one role for owner and app")
    return rls


# ---- the schema --------------------------------------------------------------------------


def test_every_tenant_table_companies_and_sessions_are_forced_under_the_same_policies(rls: RlsDatabase) -> None:
    with system_scope(rls.system_engine) as session:
        flags = dict(
            session.execute(
                sa.text(
                    "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
                    "WHERE relnamespace = to_regnamespace(current_schema()) AND relkind = 'r'"
                )
            ).all()
        )
        policies = session.execute(
            sa.text("SELECT tablename, policyname, cmd, roles, qual, with_check FROM pg_policies")
        ).all()
    assert {table for table, forced in flags.items() if forced} == set(RLS_TABLES)
    # A new table must be either a tenant table or declared company-free here, on purpose.
    assert set(metadata.tables) - set(RLS_TABLES) == NOT_RLS_TABLES
    assert sorted((p.tablename, p.policyname) for p in policies) == sorted(
        (table, policy) for table in RLS_TABLES for policy in POLICIES
    ), "exactly these policies on every table"
    owner = make_url(rls.owner_url).username
    for policy in policies:
        assert policy.cmd == "ALL" and policy.qual == policy.with_check, policy
        assert "rls_bypass" not in policy.qual or policy.policyname == "owner_maintenance", policy
        expected_roles = [owner] if policy.policyname == "owner_maintenance" else ["public"]
        assert list(policy.roles) == expected_roles, policy


# ---- reads -------------------------------------------------------------------------------


@pytest.mark.parametrize("table", RLS_TABLES)
def test_a_tenant_sees_only_its_own_rows_even_without_any_filter(rls: RlsDatabase, table: str) -> None:
    for tenant in (rls.a, rls.b):
        with tenant_scope(tenant.actor, rls.engine) as session:
            seen = rls.seen(session, table)
        assert seen == [tenant.company.id] * tenant.rows[table]


@pytest.mark.parametrize("table", RLS_TABLES)
def test_without_a_scope_no_tenant_row_is_visible(rls: RlsDatabase, table: str) -> None:
    with session_scope(rls.engine) as session:
        assert rls.seen(session, table) == []
    with session_scope(rls.engine) as session:  # set but empty, and a bypass value other than 'on'
        session.execute(
            sa.text("SELECT set_config('app.company_id', '', true), set_config('app.rls_bypass', 'true', true)")
        )
        assert rls.seen(session, table) == []


def test_a_malformed_company_setting_is_an_error_not_a_wider_view(rls: RlsDatabase) -> None:
    with pytest.raises(sa.exc.DataError, match="uuid"), session_scope(rls.engine) as session:
        session.execute(sa.text("SELECT set_config('app.company_id', 'x'' OR true --', true)"))
        session.execute(sa.text("SELECT * FROM projects"))


@pytest.mark.parametrize("table", RLS_TABLES)
def test_system_work_and_the_operator_see_every_row(rls: RlsDatabase, table: str) -> None:
    for scope in (system_scope(rls.system_engine), tenant_scope(rls.operator, rls.engine)):
        with scope as session:
            seen = rls.seen(session, table)
        assert len(seen) == rls.totals[table]
        assert seen.count(rls.a.company.id) == rls.a.rows[table] and seen.count(rls.b.company.id) == rls.b.rows[table]
        if table in NULL_COMPANY_TABLES:
            assert None in seen, "the operator's own rows (company_id NULL)"


def test_force_binds_the_table_owner_too(rls: RlsDatabase) -> None:
    """Data fixes that connect as the owner need system_scope() (the owner's maintenance bypass) like everyone else."""
    owner = sa.create_engine(rls.owner_url, poolclass=sa.NullPool)
    try:
        with session_scope(owner) as session:
            assert [count_rows(session, table) for table in RLS_TABLES] == [0] * len(RLS_TABLES)
        with system_scope(owner) as session:
            assert {table: count_rows(session, table) for table in RLS_TABLES} == rls.totals
    finally:
        owner.dispose()


def test_plans_are_not_under_row_level_security(rls: RlsDatabase) -> None:
    with session_scope(rls.engine) as session:
        assert count_rows(session, "plans") >= 1


# ---- writes ------------------------------------------------------------------------------


def rows_of_b(table: str) -> str:
    return "user_id = ANY(:b_users)" if table == "sessions" else f"{company_column(table)} = :b"


def b_params(rls: RlsDatabase) -> dict[str, Any]:
    b_users = [user for user, company in rls.user_companies.items() if company == rls.b.company.id]
    return {"b": rls.b.company.id, "b_users": b_users}


@pytest.mark.parametrize("table", RLS_TABLES)
def test_a_tenant_cannot_update_or_delete_another_tenants_rows(rls: RlsDatabase, table: str) -> None:
    where, params = rows_of_b(table), b_params(rls)
    session = Session(rls.engine)
    try:
        apply_scope(session, rls.a.actor)
        if table == "audit_logs":  # the app may not UPDATE or DELETE the trail at all (grants)
            for statement in (f"UPDATE {table} SET action = 'x' WHERE {where}", f"DELETE FROM {table} WHERE {where}"):
                with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), session.begin_nested():
                    session.execute(sa.text(statement), params)
        else:
            touched = {"companies": "id", "sessions": "ip"}.get(table, "company_id")
            update = session.execute(sa.text(f"UPDATE {table} SET {touched} = {touched} WHERE {where}"), params)
            delete = session.execute(sa.text(f"DELETE FROM {table} WHERE {where}"), params)
            assert (update.rowcount, delete.rowcount) == (0, 0)  # type: ignore[attr-defined]
        apply_scope(session, rls.operator)  # same transaction, now the operator's: B's rows are all there
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
    # A session for B's manager would be a login into company B.
    "sessions": "INSERT INTO sessions (id, user_id, token_hash, user_agent, ip, absolute_expires_at) "
    "VALUES (gen_random_uuid(), :b_manager, md5(random()::text), '', '', now() + interval '1 hour')",
    "invitations (moved into B)": "UPDATE invitations SET company_id = :b WHERE id = :a_invitation",
    "projects (moved into B)": "UPDATE projects SET company_id = :b WHERE id = :a_project",
}


@pytest.mark.parametrize("case", INSERTS_INTO_B)
def test_a_tenant_cannot_write_a_row_into_another_tenant(rls: RlsDatabase, case: str) -> None:
    params: dict[str, Any] = {
        "b": rls.b.company.id,
        "b_project": rls.b.project_id,
        "b_manager": rls.b.manager.id,
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
                "INSERT INTO projects (id, company_id, name, key, status) "
                "VALUES (gen_random_uuid(), :a, 'Own', 'OWN', 'active')"
            ),
            {"a": rls.a.company.id},
        )
        updated = session.execute(
            sa.text("UPDATE invitations SET email = email WHERE id = :i"), {"i": rls.a.invitation_id}
        )
        revoked = session.execute(
            sa.text("UPDATE sessions SET revoked_at = now() WHERE user_id = :m"), {"m": rls.a.manager.id}
        )
        assert (created.rowcount, updated.rowcount, revoked.rowcount) == (1, 1, 1)  # type: ignore[attr-defined]
    finally:
        session.rollback()
        session.close()


def test_deleting_a_company_still_cascades_through_rows_of_every_table(rls: RlsDatabase) -> None:
    """Foreign-key actions run as the table owner and ignore the policies (the app may not even DELETE audit rows)."""
    with system_scope(rls.system_engine) as session:
        doomed = populate(session, "Gamma", make_plan(session))
    with tenant_scope(doomed.actor, rls.engine) as session:
        deleted = session.execute(sa.text("DELETE FROM companies WHERE id = :c"), {"c": doomed.company.id})
        assert deleted.rowcount == 1  # type: ignore[attr-defined]
    with system_scope(rls.system_engine) as session:
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
                "SELECT pg_backend_pid(), current_setting('app.company_id', true), "
                "current_setting('app.operator', true), current_setting('app.scope_proof', true)"
            )
        ).one()
    )


UNSCOPED = {("", "", ""), ("", "off", ""), (None, None, None)}


def test_the_scope_never_leaks_into_the_next_transaction_on_a_pooled_connection(rls: RlsDatabase) -> None:
    with tenant_scope(rls.a.actor, rls.engine) as session:
        pid, company, _, proof = settings_and_pid(session)
        assert company == str(rls.a.company.id) and proof
        assert count_rows(session, "projects") == rls.a.rows["projects"]
    with session_scope(rls.engine) as session:
        assert settings_and_pid(session)[0] == pid, "not the same pooled connection: the test proves nothing"
        assert settings_and_pid(session)[1:] in UNSCOPED
        assert count_rows(session, "projects") == 0
    with tenant_scope(rls.operator, rls.engine) as session:
        assert count_rows(session, "projects") == rls.totals["projects"]
    with session_scope(rls.engine) as session:
        assert settings_and_pid(session)[0] == pid
        assert settings_and_pid(session)[1:] in UNSCOPED
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
        assert scope is not None and scope.company_id == str(rls.b.company.id) and not scope.operator


def test_the_app_uses_the_app_role_engine_and_system_work_the_system_role(
    test_env: TestServers, migrated_database: str
) -> None:
    app_role = make_url(test_env.database(migrated_database, app_role=True)).username
    system_role = make_url(test_env.database(migrated_database, system_role=True)).username
    assert get_engine().url.username == app_role
    assert get_system_engine().url.username == system_role
    with system_scope() as session:
        assert session.scalar(sa.text("SELECT current_user")) == system_role


def test_the_system_role_bypasses_the_policies_and_owns_nothing(rls: RlsDatabase) -> None:
    with system_scope(rls.system_engine) as session:
        role = session.execute(
            sa.text(
                "SELECT rolsuper, rolbypassrls, (SELECT count(*) FROM pg_class WHERE relowner = r.oid) "
                "FROM pg_roles r WHERE rolname = current_user"
            )
        ).one()
    assert tuple(role) == (False, True, 0)


def test_the_system_pool_is_its_own_and_small(test_env: TestServers, migrated_database: str) -> None:
    system, app = get_system_engine(), get_engine()
    assert system is not app and system.pool is not app.pool
    assert system.pool.size() < app.pool.size()  # type: ignore[attr-defined]


# ---- no way out for the app role ---------------------------------------------------------


# What SQL injected into a tenant's transaction would try, statement by statement. `{owner}` is the
# table owner's name; :b is company B's id; :b_proof and :operator_proof are valid proofs, but made
# for another connection (as if read from another backend's query).
SET_B = "SELECT set_config('app.company_id', :b, false)"
TRICKS: dict[str, list[str]] = {
    "the old bypass setting": ["SELECT set_config('app.rls_bypass', 'on', false)"],
    "the old bypass, SET LOCAL": ["SET LOCAL app.rls_bypass = 'on'"],
    "B's id for the session": [SET_B],
    "B's id for the transaction": ["SELECT set_config('app.company_id', :b, true)"],
    "the operator flag": ["SELECT set_config('app.operator', 'on', false)"],
    "the operator flag, no company": [
        "SELECT set_config('app.company_id', '', false), set_config('app.operator', 'on', false)"
    ],
    "B's id with a proof leaked from another connection": [
        SET_B,
        "SELECT set_config('app.scope_proof', :b_proof, false)",
    ],
    "the operator with a proof leaked from another connection": [
        "SELECT set_config('app.company_id', '', false), set_config('app.operator', 'on', false)",
        "SELECT set_config('app.scope_proof', :operator_proof, false)",
    ],
    "SET ROLE to the owner": ['SET ROLE "{owner}"', SET_B],
    "SET ROLE to the system role": ["SET ROLE workdash_system", SET_B],
    "RESET ROLE": ["RESET ROLE", "RESET SESSION AUTHORIZATION", SET_B],
    "SET SESSION AUTHORIZATION": ['SET SESSION AUTHORIZATION "{owner}"', SET_B],
    "row_security off": ["SET row_security = off", SET_B],
    "read the scope key": ["SELECT key FROM workdash_rls.scope_key"],
    "write a scope key of our own": ["UPDATE workdash_rls.scope_key SET key = key"],
    "a temporary table in front of a real one": [
        "CREATE TEMP TABLE projects AS SELECT * FROM public.projects",
        "CREATE TEMP TABLE users (id uuid, company_id uuid)",
    ],
    "a function or schema of our own": [
        "CREATE FUNCTION public.sha256(bytea) RETURNS bytea LANGUAGE sql AS 'SELECT $1'",
        "CREATE SCHEMA workdash_rls_evil",
    ],
    "turn the policies off": [
        "ALTER TABLE projects DISABLE ROW LEVEL SECURITY",
        "ALTER FUNCTION workdash_rls.verified_scope() SECURITY INVOKER",
        "CREATE OR REPLACE FUNCTION workdash_rls.company() RETURNS uuid LANGUAGE sql AS 'SELECT NULL::uuid'",
    ],
    "reset every setting, then B": ["RESET ALL", "DISCARD ALL", SET_B],
}


def scope_key(rls: RlsDatabase) -> bytes:
    """The database's scope key, read as its owner: what an attacker would need and cannot read."""
    owner = sa.create_engine(rls.owner_url, poolclass=sa.NullPool)
    try:
        with owner.connect() as conn:
            return bytes(conn.scalar(sa.text("SELECT key FROM workdash_rls.scope_key")))
    finally:
        owner.dispose()


def trick_params(rls: RlsDatabase) -> dict[str, str]:
    key, b, elsewhere = scope_key(rls), str(rls.b.company.id), 1_000_000  # no backend has that pid

    def proof(company: str, operator: str) -> str:
        return hmac.new(key, f"{company}|{operator}|{elsewhere}".encode(), hashlib.sha256).hexdigest()

    return {"b": b, "b_proof": proof(b, "off"), "operator_proof": proof("", "on")}


def rows_seen(rls: RlsDatabase, session: Session, tenant: Tenant) -> dict[str, int]:
    """How many of `tenant`'s rows `SELECT *` shows, per table. A query refused outright shows none."""
    seen = {}
    for table in RLS_TABLES:
        try:
            with session.begin_nested():
                seen[table] = rls.seen(session, table).count(tenant.company.id)
        except sa.exc.ProgrammingError as refused:  # row_security = off: the query errors instead
            assert "row-level security" in str(refused), refused
            seen[table] = 0
    return seen


@pytest.mark.parametrize("trick", TRICKS)
def test_no_sql_the_app_role_runs_shows_another_companys_rows(separate_roles: RlsDatabase, trick: str) -> None:
    """In company A's scope, after the trick (in this transaction and the next ones on the same pooled
    connection, where whatever it set for the session is still there): zero rows of company B."""
    rls = separate_roles
    nothing, params = dict.fromkeys(RLS_TABLES, 0), trick_params(rls)
    owner = make_url(rls.owner_url).username
    engine = sa.create_engine(rls.app_url, pool_size=1, max_overflow=0)  # its own: the trick may poison it
    try:
        with tenant_scope(rls.a.actor, engine) as session:
            for statement in TRICKS[trick]:
                try:
                    with session.begin_nested():
                        session.execute(sa.text(statement.format(owner=owner)), params)
                except sa.exc.DBAPIError as refused:  # refused is fine; what matters is what can be seen after
                    assert isinstance(refused.orig, Exception)
            assert rows_seen(rls, session, rls.b) == nothing
        with tenant_scope(rls.a.actor, engine) as session:
            assert rows_seen(rls, session, rls.b) == nothing
            # Not vacuous: A still sees exactly its own rows (with row_security off no query runs at all).
            assert rows_seen(rls, session, rls.a) == (nothing if trick == "row_security off" else rls.a.rows)
        with session_scope(engine) as session:
            assert rows_seen(rls, session, rls.b) == nothing
    finally:
        engine.dispose()


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
    "ALTER FUNCTION workdash_rls.verified_scope() SECURITY INVOKER",
]


@pytest.mark.parametrize("statement", OWNER_ONLY)
def test_the_app_role_cannot_change_the_policies(separate_roles: RlsDatabase, statement: str) -> None:
    with pytest.raises(sa.exc.ProgrammingError, match="must be owner"), session_scope(separate_roles.engine) as session:
        session.execute(sa.text(statement))


@pytest.mark.parametrize("role", ["owner", "workdash_system"])
def test_the_app_role_cannot_become_the_owner_nor_the_system_role(separate_roles: RlsDatabase, role: str) -> None:
    name = make_url(separate_roles.owner_url).username if role == "owner" else role
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        session_scope(separate_roles.engine) as session,
    ):
        session.execute(sa.text(f'SET LOCAL ROLE "{name}"'))


# ---- the revisions -----------------------------------------------------------------------


def rls_state(url: str) -> tuple[int, int, bool, bool]:
    """(tables with row-level security, policies, whether ix_sessions_user_id exists, whether the app
    role's bypass setting is honoured)."""
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            tables = conn.scalar(sa.text("SELECT count(*) FROM pg_class WHERE relrowsecurity OR relforcerowsecurity"))
            policies = conn.scalar(sa.text("SELECT count(*) FROM pg_policies"))
            index = conn.scalar(sa.text("SELECT to_regclass('ix_sessions_user_id') IS NOT NULL"))
            honoured = conn.scalar(
                sa.text("SELECT count(*) FROM pg_policies WHERE qual LIKE '%rls_bypass%' AND roles = '{public}'")
            )
        return int(tables or 0), int(policies or 0), bool(index), bool(honoured)
    finally:
        engine.dispose()


def downgrade_to(url: str, revision: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def test_the_revisions_downgrade_cleanly_and_upgrade_again(empty_database: str) -> None:
    at_head = (len(RLS_TABLES), len(RLS_TABLES) * len(POLICIES), True, False)
    upgrade_head(empty_database)
    assert rls_state(empty_database) == at_head
    identity_tables = 5  # password_resets, two_factor_credentials, recovery_codes, trusted_browsers, sso_providers
    downgrade_to(empty_database, "938036124e90")  # the reset links', two-factor and SSO tables go, with their policies
    before_identity = len(RLS_TABLES) - identity_tables
    assert rls_state(empty_database) == (before_identity, before_identity * len(POLICIES), True, False)
    downgrade_to(empty_database, "b4f2b4b3cebb")  # billing's invoice counters and pending charges go
    after_boards = before_identity - 2
    assert rls_state(empty_database) == (after_boards, after_boards * len(POLICIES), True, False)
    board_tables = 4  # labels, task_labels, task_followers, notifications
    downgrade_to(empty_database, "c95fb22ff052")  # the boards' tables go, with their policies
    before_boards = after_boards - board_tables
    assert rls_state(empty_database) == (before_boards, before_boards * len(POLICIES), True, False)
    downgrade_to(empty_database, "2e342e4406e4")  # the pending sign-ups' table goes, with its policies
    assert rls_state(empty_database) == (before_boards - 1, (before_boards - 1) * len(POLICIES), True, False)
    downgrade_to(
        empty_database, "02a1a0a74e58"
    )  # the second wall: back to one policy per table that honours the bypass
    assert rls_state(empty_database) == (before_boards - 2, before_boards - 2, True, True)
    downgrade_to(empty_database, "5f0c169fa8df")  # row-level security itself
    assert rls_state(empty_database) == (0, 0, False, False)
    upgrade_head(empty_database)
    assert rls_state(empty_database) == at_head
