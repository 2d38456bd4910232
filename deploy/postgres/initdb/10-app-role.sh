#!/usr/bin/env bash
# Runs once, when the official postgres image initialises an empty data volume (docker-compose.yml).
#
# Creates the two roles the running app logs in as. Neither is a superuser nor owns anything; the
# migrations (run as POSTGRES_USER, the owner) grant each the rights it needs on each table.
# - APP_DB_ROLE: everything done for a signed-in user; cannot bypass row-level security.
# - SYSTEM_DB_ROLE: system work with no tenant (sign-in lookup, sign-up, invitation acceptance, the
#   worker); BYPASSRLS, on its own small pool.
# Names and passwords come from .env (docs/configuration.md). An existing volume does not run this
# again: create a missing role by hand with the same statements (docs/migrations.md).
set -euo pipefail

: "${APP_DB_ROLE:=workdash_app}"
: "${APP_DB_PASSWORD:?APP_DB_PASSWORD must be set for the app role}"
: "${SYSTEM_DB_ROLE:=workdash_system}"
: "${SYSTEM_DB_PASSWORD:?SYSTEM_DB_PASSWORD must be set for the system role}"

create_role() {  # name, password, NOBYPASSRLS | BYPASSRLS
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v role="$1" -v password="$2" -v bypass="$3" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE %s',
              :'role', :'password', :'bypass')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')
\gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'role')
\gexec
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'role')
\gexec
SQL
  echo "role $1 ready"
}

create_role "$APP_DB_ROLE" "$APP_DB_PASSWORD" NOBYPASSRLS
create_role "$SYSTEM_DB_ROLE" "$SYSTEM_DB_PASSWORD" BYPASSRLS
