"""The job worker, run as the compose `worker` service: `python -m services.worker`.

It runs each domain's periodic jobs (`<domain>/jobs.py`); the jobs themselves hold no scheduling.

Every minute: renew subscriptions whose period ended (with their invoices), end trials whose time
is up, chase overdue invoices (past_due, unpaid, reminder mails), delete sessions that can no longer be used and sign-ups
whose link expired unopened (with their company).
"""

from __future__ import annotations

import logging
import signal
import threading

from services.billing import run_billing_jobs
from services.core.db import system_scope
from services.core.db_roles import refuse_unsafe_database
from services.core.settings import get_settings
from services.identity import expire_sign_ups, purge_sessions

log = logging.getLogger("workdash.worker")
INTERVAL_S = 60


def run_once() -> dict[str, int]:
    # System work across every company: the system role's pool (BYPASSRLS).
    with system_scope() as session:
        return {
            **run_billing_jobs(session),
            "sessions_purged": purge_sessions(session),
            "signups_expired": expire_sign_ups(session),
        }


def main() -> None:
    logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    refuse_unsafe_database()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("worker started")
    while not stop.is_set():
        try:
            log.info("housekeeping: %s", run_once())
        except Exception:  # a database hiccup must not kill the worker; the next round retries
            log.exception("housekeeping failed")
        stop.wait(INTERVAL_S)
    log.info("worker stopped")


if __name__ == "__main__":
    main()
