"""The job worker, built on procrastinate (PostgreSQL-backed jobs): `python -m services.worker`.

Run as the compose `worker` service and by `make run`; several may run at once. It connects as the
system role (system work: no tenant), handles SIGINT/SIGTERM by finishing the running jobs and
stopping (procrastinate's own signal handling). The queue's schema comes from our migrations
(revision 938036124e90), never from procrastinate's CLI.

Tasks:
- `housekeeping`, periodic every minute: procrastinate defers it once per minute whatever the
  number of workers (procrastinate_periodic_defers is unique per task and minute), `lock` keeps two
  runs from overlapping, and each job is itself safe to run twice (see each domain's jobs.py):
  renew subscriptions and issue their invoices, end trials, chase overdue invoices (billing), delete
  dead sessions, expired sign-ups and reset links (identity), invitations that expired or were
  revoked a month ago (people), send the notification mails waiting in
  the notifications table's outbox (work). Each domain's work is its own transaction.
- `files_cleanup`, periodic every hour (minute 0), same locks: compare the S3 bucket with the
  `files` rows (services.work.clean_up_files: objects without a row removed once a day old, rows
  without an object reported in the log). Apart from `housekeeping`: listing the bucket is slow.
- `billing.invoice_issued_mail`: enqueued by services.billing in the transaction that issues the
  invoice (services.core.jobqueue), so the mail goes if and only if the invoice exists.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import procrastinate
from sqlalchemy.engine import make_url
from sqlmodel import Session

from services import billing
from services.core.db import system_database_url, system_scope
from services.core.db_roles import refuse_unsafe_database
from services.core.settings import get_settings
from services.identity import expire_sign_ups, purge_password_resets, purge_sessions
from services.people import purge_invitations
from services.work import clean_up_files, send_notification_mails

log = logging.getLogger("workdash.worker")

app = procrastinate.App(connector=procrastinate.PsycopgConnector())  # the real one: main()

JOBS: tuple[tuple[str, Callable[[Session], object]], ...] = (
    ("billing", billing.run_billing_jobs),
    ("sessions_purged", purge_sessions),
    ("signups_expired", expire_sign_ups),
    ("password_resets_purged", purge_password_resets),
    ("invitations_purged", purge_invitations),
    ("notification_mails", send_notification_mails),
)


def run_once() -> dict[str, int]:
    """Every periodic job once, each in its own system-scope transaction; what each did."""
    done: dict[str, int] = {}
    for name, job in JOBS:
        with system_scope() as session:
            result = job(session)
        if isinstance(result, dict):
            done.update(result)
        else:
            done[name] = int(result)  # type: ignore[call-overload]
    return done


@app.periodic(cron="* * * * *", periodic_id="housekeeping")
@app.task(name="housekeeping", lock="housekeeping", queueing_lock="housekeeping", pass_context=False)
def housekeeping(timestamp: int) -> None:
    log.info("housekeeping at %s: %s", timestamp, run_once())


def clean_up_storage() -> dict[str, int]:
    """The S3 clean-up once (what the `files_cleanup` task runs); what it found and did."""
    with system_scope() as session:
        cleanup = clean_up_files(session)
    return {
        "file_orphans_found": cleanup.orphan_objects,
        "file_orphans_removed": cleanup.orphans_removed,
        "files_without_object": len(cleanup.rows_without_object),
        "multipart_uploads_aborted": cleanup.multipart_aborted,
    }


@app.periodic(cron="0 * * * *", periodic_id="files_cleanup")
@app.task(name="files_cleanup", lock="files_cleanup", queueing_lock="files_cleanup", pass_context=False)
def files_cleanup(timestamp: int) -> None:
    log.info("files clean-up at %s: %s", timestamp, clean_up_storage())


@app.task(name=billing.INVOICE_MAIL_TASK, pass_context=False)
def invoice_issued_mail(invoice_id: str) -> None:
    with system_scope() as session:
        billing.send_invoice_mail(session, uuid.UUID(invoice_id))


def queue_conninfo() -> str:
    """The system role's URL as libpq wants it (procrastinate connects through psycopg directly)."""
    url = make_url(system_database_url()).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def main() -> None:
    logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    refuse_unsafe_database()
    connector = procrastinate.PsycopgConnector(conninfo=queue_conninfo(), min_size=1, max_size=4)
    with app.replace_connector(connector):
        log.info("worker started")
        app.run_worker(install_signal_handlers=True)
    log.info("worker stopped")


if __name__ == "__main__":
    main()
