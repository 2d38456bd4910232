"""job queue: procrastinate's schema (3.10.0), and the roles' rights on it

Revision ID: 938036124e90
Revises: 466f56142e8a
Create Date: 2026-12-02 01:30:00.000000+00:00

The job worker (services/worker.py) runs on procrastinate: jobs live in PostgreSQL, so a job can be
enqueued in the transaction of the change that needs it, and a periodic task is deferred once per
period whatever the number of workers (procrastinate_periodic_defers is unique per task and moment).
The schema is procrastinate's own `schema.sql` of version 3.10.0, copied into
migrations/sql/ so this revision never changes when the library does (its CLI is never run against
the database). A later procrastinate version brings its own migrations (the package's
sql/migrations/): apply them in a new revision, the same way.

Rights: the system role (the worker) uses the queue fully (SELECT, INSERT, UPDATE, DELETE on its
four tables, their sequences). The app role may only enqueue: INSERT into procrastinate_jobs and
procrastinate_events (a trigger records the "deferred" event), SELECT of the new job's id (RETURNING),
and its sequences: it can neither read other jobs' arguments nor change or delete jobs.
The queue's tables hold no company data beyond ids in job arguments and are not under row-level
security (not tenant tables).
"""

import logging
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision: str = "938036124e90"
down_revision: str | Sequence[str] | None = "466f56142e8a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA_SQL = Path(__file__).resolve().parent.parent / "sql" / "procrastinate_3.10.0_schema.sql"
TABLES = ("procrastinate_workers", "procrastinate_jobs", "procrastinate_periodic_defers", "procrastinate_events")
SEQUENCES = (
    "procrastinate_workers_id_seq",
    "procrastinate_jobs_id_seq",
    "procrastinate_periodic_defers_id_seq",
    "procrastinate_events_id_seq",
)
FUNCTIONS = (
    "procrastinate_defer_jobs_v1",
    "procrastinate_defer_periodic_job_v2",
    "procrastinate_fetch_job_v2",
    "procrastinate_finish_job_v1",
    "procrastinate_cancel_job_v1",
    "procrastinate_retry_job_v1",
    "procrastinate_retry_job_v2",
    "procrastinate_notify_queue_job_inserted_v1",
    "procrastinate_notify_queue_abort_job_v1",
    "procrastinate_trigger_function_status_events_insert_v1",
    "procrastinate_trigger_function_status_events_update_v1",
    "procrastinate_trigger_function_scheduled_events_v1",
    "procrastinate_trigger_abort_requested_events_procedure_v1",
    "procrastinate_unlink_periodic_defers_v1",
    "procrastinate_register_worker_v1",
    "procrastinate_unregister_worker_v1",
    "procrastinate_update_heartbeat_v1",
    "procrastinate_prune_stalled_workers_v1",
)
TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type", "procrastinate_job_status")


def role_of(key: str, default: str) -> str:
    # Resolved and validated (plain identifier) by migrations/env.py.
    return str(context.config.attributes.get(key, default))


def if_role_exists(role: str, *statements: str) -> str:
    """One DO block: the same SQL works online and in `--sql` (offline) mode."""
    body = "".join(f"    {statement};\n" for statement in statements)
    return (
        "DO $grants$\nBEGIN\n"
        f"  IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN\n{body}"
        f"  ELSE\n    RAISE NOTICE 'role {role} does not exist: privileges not changed';\n"
        "  END IF;\nEND\n$grants$"
    )


def upgrade() -> None:
    schema = SCHEMA_SQL.read_text(encoding="utf-8")
    if context.is_offline_mode():
        op.execute(schema)
    else:  # straight to psycopg, without parameters: its `%` signs are PL/pgSQL's, not placeholders
        op.get_bind().connection.driver_connection.execute(schema)  # type: ignore[union-attr]
    app, system = role_of("app_role", "workdash_app"), role_of("system_role", "workdash_system")
    if not context.is_offline_mode():
        for role in (app, system):
            exists = op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
            if not exists:
                logging.getLogger("workdash.migrations").warning("Role %s does not exist: queue grants skipped", role)
    op.execute(
        if_role_exists(
            system,
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {", ".join(TABLES)} TO "{system}"',
            f'GRANT USAGE, SELECT ON SEQUENCE {", ".join(SEQUENCES)} TO "{system}"',
        )
    )
    op.execute(
        if_role_exists(
            app,
            f'GRANT INSERT ON TABLE procrastinate_jobs, procrastinate_events TO "{app}"',
            f'GRANT SELECT (id) ON TABLE procrastinate_jobs TO "{app}"',
            f'GRANT USAGE ON SEQUENCE procrastinate_jobs_id_seq, procrastinate_events_id_seq TO "{app}"',
        )
    )


def downgrade() -> None:
    op.execute(f"DROP TABLE {', '.join(reversed(TABLES))} CASCADE")  # their triggers and grants go too
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {function}")  # some went with the tables (CASCADE)
    for type_ in TYPES:
        op.execute(f"DROP TYPE IF EXISTS {type_}")
