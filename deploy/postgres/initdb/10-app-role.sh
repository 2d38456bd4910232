#!/usr/bin/env bash
# Runs once, when the official postgres image initialises an empty data volume (docker-compose.yml).
#
# Creates the role the running app logs in as. It is not a superuser, owns nothing and cannot
# bypass row-level security; the migrations (run as POSTGRES_USER, the owner) grant it the rights
# it needs on each table. APP_DB_ROLE and APP_DB_PASSWORD come from .env (docs/configuration.md).
set -euo pipefail

: "${APP_DB_ROLE:=workdash_app}"
: "${APP_DB_PASSWORD:?APP_DB_PASSWORD must be set for the app role}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_role="$APP_DB_ROLE" -v app_password="$APP_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS',
              :'app_role', :'app_password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role')
\gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'app_role')
\gexec
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'app_role')
\gexec
SQL
echo "app role ${APP_DB_ROLE} ready"
