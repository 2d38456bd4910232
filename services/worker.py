"""Background housekeeping, run as the compose `worker` service: `python -m services.worker`.

Every minute: end trials whose time is up and delete sessions that can no longer be used.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session

from models import Trial, TrialStatus, UserSession
from services import clock
from services.db import system_scope
from services.settings import get_settings

log = logging.getLogger("workdash.worker")
INTERVAL_S = 60
# Keep ended sessions a while so "your sessions" and incident reviews can still see them.
SESSION_RETENTION = timedelta(days=30)


def expire_trials(session: Session) -> int:
    result = session.execute(
        sa.update(Trial)
        .where(Trial.status == TrialStatus.ACTIVE, Trial.ends_at <= clock.now())  # type: ignore[arg-type]
        .values(status=TrialStatus.EXPIRED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_sessions(session: Session) -> int:
    cutoff = clock.now() - SESSION_RETENTION
    result = session.execute(
        sa.delete(UserSession).where(
            sa.or_(UserSession.absolute_expires_at < cutoff, UserSession.revoked_at < cutoff)  # type: ignore[arg-type,operator]
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def run_once() -> dict[str, int]:
    # System work across every company: the app role's engine with the row-level-security bypass.
    with system_scope() as session:
        return {"trials_expired": expire_trials(session), "sessions_purged": purge_sessions(session)}


def main() -> None:
    logging.basicConfig(level=get_settings().log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
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
