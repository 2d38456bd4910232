"""the second wall against injected SQL: a system role, signed tenant scopes, row-level security on sessions

Revision ID: 2e342e4406e4
Revises: 02a1a0a74e58
Create Date: 2026-12-01 09:00:00.000000+00:00

Before this revision the policies showed every row to a transaction that set `app.rls_bypass = 'on'`,
and another company's rows to one that set `app.company_id` to it; the app role may set both, so SQL
injected into the app's connection went through wall 2. Now:

- System work (sign-in lookup, session resolution, sign-up, invitation acceptance, the worker,
  seeding) runs as its own role, default `workdash_system` (`alembic -x system_role=NAME`,
  SYSTEM_DB_ROLE=NAME, or upgrade_head(system_role=NAME)). That role has BYPASSRLS (created outside
  the migrations, like the app role), owns nothing, and is granted here only: SELECT, INSERT, UPDATE
  on every table but audit_logs (SELECT, INSERT: append-only), DELETE on sessions alone (the worker's
  purge), USAGE on the sequences, SELECT on the scope key. A missing role skips its grants with a
  warning, as for the app role.
- A tenant scope is signed. services.core.db sets `app.company_id` (or `app.operator = 'on'` for the
  operator) and `app.scope_proof` = HMAC-SHA256("<company>|<operator>|<backend pid>") under the key in
  `workdash_rls.scope_key`: 64 random bytes made here, readable only by the owner and the system
  role. `workdash_rls.verified_scope()` (SECURITY DEFINER) returns the company or 'operator' only if
  the proof checks, so the app role can neither make a proof for another company nor use one made for
  another connection. A malformed company id is still an error, never a wider view.
- Every table under row-level security (companies, models.TENANT_TABLES, and now sessions) gets three
  policies, FOR ALL, the same expression in USING and WITH CHECK:
  tenant_isolation: the row's company is the verified company (a session: its user's company);
  operator_access: a verified operator scope sees and writes every row;
  owner_maintenance, TO the role running this migration (the table owner): `app.rls_bypass = 'on'`,
  for data fixes and for seeding with the owner's URL. The owner can switch row-level security off
  anyway, so this gives it nothing new and gives no other role anything.
- TEMPORARY on the database is revoked from PUBLIC (when the migrating role owns the database; a
  warning otherwise): a temporary table named `projects`, made by injected SQL, would stand in front
  of the real one for the next tenant served by the same pooled connection.
Downgrade restores the previous policies (bypass setting honoured, sessions without row-level
security), drops the workdash_rls schema, revokes the system role's grants and gives TEMPORARY back
to PUBLIC (PostgreSQL's default).
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision: str = "2e342e4406e4"
down_revision: str | Sequence[str] | None = "02a1a0a74e58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("workdash.migrations")

# Copied on purpose: a revision must not change when models/ change.
TENANT_TABLES = (
    "users",
    "invitations",
    "projects",
    "project_members",
    "tasks",
    "task_comments",
    "files",
    "subscriptions",
    "trials",
    "invoices",
    "invoice_line_items",
    "payments",
    "audit_logs",
)
RLS_TABLES = ("companies", *TENANT_TABLES, "sessions")
ALL_TABLES = (*RLS_TABLES, "plans")
APPEND_ONLY_TABLES = ("audit_logs",)
SYSTEM_DELETES = ("sessions",)
SCHEMA = "workdash_rls"
VERIFIED = f"(SELECT {SCHEMA}.company())"
OPERATOR = f"(SELECT {SCHEMA}.is_operator())"
BYPASS = "current_setting('app.rls_bypass', true) = 'on'"  # honoured for the owner only, from now on
OLD_COMPANY = "NULLIF(current_setting('app.company_id', true), '')::uuid"  # the previous revision's, for the downgrade

MAKE_KEY = f"""
DO $key$
DECLARE
  -- 64 bytes from four v4 UUIDs: 488 bits from pg_strong_random(), no extension needed.
  k bytea := decode(replace(gen_random_uuid()::text || gen_random_uuid()::text
                         || gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');
  inner_pad bytea := k;
  outer_pad bytea := k;
BEGIN
  -- HMAC's padded keys, kept so that checking a proof costs two sha256() and nothing else.
  FOR n IN 0..63 LOOP
    inner_pad := set_byte(inner_pad, n, get_byte(k, n) # 54);
    outer_pad := set_byte(outer_pad, n, get_byte(k, n) # 92);
  END LOOP;
  INSERT INTO {SCHEMA}.scope_key (key, inner_pad, outer_pad) VALUES (k, inner_pad, outer_pad);
END
$key$"""

VERIFIED_SCOPE = f"""
CREATE FUNCTION {SCHEMA}.verified_scope() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  company text := coalesce(current_setting('app.company_id', true), '');
  operator text := coalesce(current_setting('app.operator', true), '');
  proof text := coalesce(current_setting('app.scope_proof', true), '');
  k record;
  expected text;
BEGIN
  IF company <> '' THEN
    PERFORM company::uuid;  -- a malformed company id is an error, never a wider view
  END IF;
  IF (company = '' AND operator <> 'on') OR proof = '' THEN
    RETURN NULL;
  END IF;
  SELECT s.inner_pad, s.outer_pad INTO k FROM {SCHEMA}.scope_key s;
  expected := encode(sha256(k.outer_pad || sha256(k.inner_pad
              || convert_to(company || '|' || operator || '|' || pg_backend_pid(), 'UTF8'))), 'hex');
  -- Compare digests, not the strings: the time taken says nothing about how much of a guess was right.
  IF sha256(convert_to(proof, 'UTF8')) <> sha256(convert_to(expected, 'UTF8')) THEN
    RETURN NULL;
  END IF;
  RETURN CASE WHEN operator = 'on' THEN 'operator' ELSE company END;
END
$fn$"""

# Each asks for the proof only when its own setting is there: a tenant's query checks one proof per
# table, not two (the check is most of what the policies cost, some 20 µs).
FUNCTIONS = (
    VERIFIED_SCOPE,
    f"CREATE FUNCTION {SCHEMA}.company() RETURNS uuid LANGUAGE sql STABLE AS $fn$ "
    "SELECT CASE WHEN coalesce(current_setting('app.company_id', true), '') = '' THEN NULL "
    f"ELSE NULLIF({SCHEMA}.verified_scope(), 'operator')::uuid END $fn$",
    f"CREATE FUNCTION {SCHEMA}.is_operator() RETURNS boolean LANGUAGE sql STABLE AS $fn$ "
    "SELECT CASE WHEN current_setting('app.operator', true) = 'on' "
    f"THEN coalesce({SCHEMA}.verified_scope() = 'operator', false) ELSE false END $fn$",
)


def tenant_expression(table: str) -> str:
    if table == "sessions":  # no company column: the user's company
        return f"(user_id IN (SELECT u.id FROM users u WHERE u.company_id = {VERIFIED}))"
    column = "id" if table == "companies" else "company_id"
    return f"({column} = {VERIFIED})"


def create_policy(table: str, name: str, expression: str, role: str = "PUBLIC") -> None:
    op.execute(
        f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR ALL TO {role} USING {expression} WITH CHECK {expression}"
    )


def role_of(key: str, default: str) -> str:
    # Resolved and validated (plain identifier) by migrations/env.py.
    return str(context.config.attributes.get(key, default))


def if_role_exists(role: str, statements: list[str]) -> str:
    """One DO block: the same SQL works online and in `--sql` (offline) mode."""
    body = "\n".join(f"    {statement};" for statement in statements)
    return (
        "DO $grants$\nBEGIN\n"
        f"  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN\n{body}\n"
        f"  ELSE\n    RAISE NOTICE 'role {role} does not exist: privileges not changed';\n"
        "  END IF;\nEND\n$grants$"
    )


def if_database_owner(statement: str, *, warning: str) -> str:
    """Run `statement` (with %I for the database) only when the migrating role owns the database."""
    return (
        "DO $db$\nBEGIN\n"
        "  IF EXISTS (SELECT FROM pg_database WHERE datname = current_database()\n"
        "             AND pg_has_role(current_user, datdba, 'MEMBER')) THEN\n"
        f"    EXECUTE format('{statement}', current_database());\n"
        f"  ELSE\n    RAISE WARNING '{warning}';\n"
        "  END IF;\nEND\n$db$"
    )


def upgrade() -> None:
    system = role_of("system_role", "workdash_system")
    if not context.is_offline_mode():
        check_system_role(system)

    op.execute(f"CREATE SCHEMA {SCHEMA}")
    op.execute(f"REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC")
    op.execute(f"GRANT USAGE ON SCHEMA {SCHEMA} TO PUBLIC")  # the policies call its functions as the querying role
    op.execute(
        f"CREATE TABLE {SCHEMA}.scope_key ("
        "singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), "
        "key bytea NOT NULL CHECK (length(key) = 64), inner_pad bytea NOT NULL, outer_pad bytea NOT NULL)"
    )
    op.execute(f"REVOKE ALL ON TABLE {SCHEMA}.scope_key FROM PUBLIC")
    op.execute(MAKE_KEY)
    for function in FUNCTIONS:
        op.execute(function)

    op.execute("ALTER TABLE sessions ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE sessions FORCE ROW LEVEL SECURITY")
    for table in RLS_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        create_policy(table, "tenant_isolation", tenant_expression(table))
        create_policy(table, "operator_access", f"({OPERATOR})")
        create_policy(table, "owner_maintenance", f"({BYPASS})", role="CURRENT_USER")

    read_write = ", ".join(t for t in ALL_TABLES if t not in APPEND_ONLY_TABLES)
    op.execute(
        if_role_exists(
            system,
            [
                f'GRANT SELECT, INSERT, UPDATE ON TABLE {read_write} TO "{system}"',
                f'GRANT DELETE ON TABLE {", ".join(SYSTEM_DELETES)} TO "{system}"',
                f'GRANT SELECT, INSERT ON TABLE {", ".join(APPEND_ONLY_TABLES)} TO "{system}"',
                f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{system}"',
                f'GRANT SELECT ON TABLE {SCHEMA}.scope_key TO "{system}"',
            ],
        )
    )
    op.execute(
        if_database_owner(
            "REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC",
            warning="not the database owner: revoke TEMPORARY on this database from PUBLIC yourself",
        )
    )


def check_system_role(role: str) -> None:
    """Say loudly what would make system work fail (no role, no BYPASSRLS) or too powerful (superuser)."""
    row = (
        op.get_bind()
        .execute(sa.text("SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role})
        .first()
    )
    if row is None:
        log.warning("Role %s does not exist: system grants skipped", role)
    elif not row[0]:
        log.warning("System role %s lacks BYPASSRLS: system work (sign-in, sign-up, the worker) sees no rows", role)
    elif row[1]:
        log.warning("System role %s is a superuser: production refuses to start with it", role)


def downgrade() -> None:
    system = role_of("system_role", "workdash_system")
    op.execute(
        if_role_exists(
            system,
            [
                f'REVOKE ALL ON TABLE {", ".join(ALL_TABLES)} FROM "{system}"',
                f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM "{system}"',
                f'REVOKE ALL ON TABLE {SCHEMA}.scope_key FROM "{system}"',
            ],
        )
    )
    for table in reversed(RLS_TABLES):
        for name in ("owner_maintenance", "operator_access", "tenant_isolation"):
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        if table == "sessions":
            op.execute("ALTER TABLE sessions NO FORCE ROW LEVEL SECURITY")
            op.execute("ALTER TABLE sessions DISABLE ROW LEVEL SECURITY")
        else:
            column = "id" if table == "companies" else "company_id"
            create_policy(table, "tenant_isolation", f"({BYPASS} OR {column} = {OLD_COMPANY})")
    op.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    op.execute(
        if_database_owner(
            "GRANT TEMPORARY ON DATABASE %I TO PUBLIC",
            warning="not the database owner: TEMPORARY on this database left as it is",
        )
    )
