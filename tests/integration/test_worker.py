"""Background housekeeping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from devtools.seed import DEMO_USERS, load_demo_data
from models import Trial, TrialStatus, UserSession
from services.billing.jobs import expire_trials
from services.core import clock
from services.identity import auth
from services.identity.jobs import SESSION_RETENTION, purge_sessions

pytestmark = pytest.mark.integration


def test_trials_expire_when_their_time_is_up(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    load_demo_data(db)
    trial = db.exec(select(Trial)).one()
    assert expire_trials(db) == 0
    later = trial.ends_at + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert expire_trials(db) == 1
    db.refresh(trial)
    assert trial.status is TrialStatus.EXPIRED


def test_only_long_dead_sessions_are_purged(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    load_demo_data(db)
    user = DEMO_USERS[1]
    old_token, _ = auth.login(db, user.email, user.password)
    auth.logout(db, old_token)
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + SESSION_RETENTION + timedelta(minutes=1))
    fresh_token, _ = auth.login(db, user.email, user.password)
    assert purge_sessions(db) == 1
    remaining = db.exec(select(UserSession.token_hash)).all()
    assert remaining == [auth.hash_token(fresh_token)]
