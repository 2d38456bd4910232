"""Billing's periodic work, run by the job worker (services/worker.py)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from models import Trial, TrialStatus
from services.core import clock


def expire_trials(session: Session) -> int:
    """End every active trial whose time is up."""
    result = session.execute(
        sa.update(Trial)
        .where(Trial.status == TrialStatus.ACTIVE, Trial.ends_at <= clock.now())  # type: ignore[arg-type]
        .values(status=TrialStatus.EXPIRED)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
