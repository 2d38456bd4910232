"""Plan limits: the one check point per limit, called by every entry point that adds usage."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models import User


def check_seat_limit(session: Session, company_id: uuid.UUID) -> int:
    """The one check point for seats, called by `invite`, `accept` and member reactivation.

    Plan seat limits (`Plan.max_seats`) are NOT enforced yet: billing still has to decide what
    counts as a seat (pending invitations? clients?) and what happens over the limit. Until then
    this never refuses and only returns the number of seats in use: the company's active users.
    Enforce the limit here, in one place, when billing lands.
    """
    count = session.exec(
        select(sa.func.count()).select_from(User).where(User.company_id == company_id, col(User.is_active).is_(True))
    ).one()
    return int(count)
