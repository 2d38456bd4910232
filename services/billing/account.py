"""A company's billing standing: its trial, and the moment it becomes read-only.

`companies.read_only_at` is the one fact the policy reads (services.core.policy.refuse_if_read_only,
through `Actor.read_only_at`); only this module writes it:
- a trial starts: its end (a company that never subscribes turns read-only by itself, no job needed);
- a subscription starts, resumes or is paid up: None (writable);
- a cancellation is scheduled: the period's end;
- a subscription goes unpaid: now.
Every change drops the company's sessions from the session caches after the commit
(services.identity.refresh_company_sessions), so the next call of any of its users sees it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import Session

from models import Company, Plan, Trial, TrialStatus
from services import identity
from services.core import clock


def start_trial(session: Session, company_id: uuid.UUID, plan: Plan) -> Trial:
    """The company's one trial (a unique constraint refuses a second), starting now, on `plan`."""
    now = clock.now()
    trial = Trial(
        company_id=company_id,
        plan_id=plan.id,
        status=TrialStatus.ACTIVE,
        started_at=now,
        ends_at=now + timedelta(days=plan.trial_days),
    )
    session.add(trial)
    session.flush()
    set_read_only_at(session, company_id, trial.ends_at)
    return trial


def set_read_only_at(session: Session, company_id: uuid.UUID, moment: datetime | None) -> None:
    company = session.get(Company, company_id, with_for_update=True)
    if company is None or company.read_only_at == moment:
        return
    company.read_only_at = moment
    session.add(company)
    session.flush()
    identity.refresh_company_sessions(session, company_id)
