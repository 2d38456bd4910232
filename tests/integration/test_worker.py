"""Background housekeeping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from devtools.seed import DEMO_USERS, load_demo_data
from models import Company, Invitation, Role, SignupVerification, Trial, TrialStatus, User, UserSession
from services import worker
from services.billing.jobs import expire_trials
from services.core import clock
from services.identity import auth
from services.identity.jobs import SESSION_RETENTION, expire_sign_ups, purge_sessions
from services.people import INVITATION_RETENTION, purge_invitations
from tests.factories import make_company, make_invitation, make_signup_verification, make_user

pytestmark = pytest.mark.integration


def test_trials_expire_when_their_time_is_up(db: Session, monkeypatch: pytest.MonkeyPatch, outbox: None) -> None:
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


def test_sign_ups_whose_link_expired_unopened_are_deleted_with_their_company(db: Session) -> None:
    now = clock.now()
    stale_company, fresh_company = make_company(db, "Stale"), make_company(db, "Fresh")
    stale_manager = make_user(db, stale_company, Role.MANAGER, is_active=False)
    fresh_manager = make_user(db, fresh_company, Role.MANAGER, is_active=False)
    make_signup_verification(db, stale_company, stale_manager, expires_at=now - timedelta(seconds=1))
    fresh = make_signup_verification(db, fresh_company, fresh_manager, expires_at=now + timedelta(hours=1))
    verified = make_company(db, "Verified")  # no pending sign-up: never touched
    make_user(db, verified, Role.MANAGER)

    assert expire_sign_ups(db) == 1
    db.expunge_all()
    assert db.get(Company, stale_company.id) is None and db.get(User, stale_manager.id) is None
    assert db.get(SignupVerification, fresh.id) is not None and db.get(Company, verified.id) is not None
    assert expire_sign_ups(db) == 0


def test_invitations_that_can_no_longer_be_used_go_a_month_later(db: Session) -> None:
    now = clock.now()
    company = make_company(db, "Inviting")
    month = INVITATION_RETENTION + timedelta(minutes=1)
    expired_long_ago = make_invitation(db, company, expires_at=now - month)
    revoked_long_ago = make_invitation(db, company, expires_at=now + timedelta(days=1), revoked_at=now - month)
    expired_lately = make_invitation(db, company, expires_at=now - timedelta(days=1))  # still shown on the team page
    pending = make_invitation(db, company, expires_at=now + timedelta(days=1))
    accepted = make_invitation(db, company, expires_at=now - month, accepted_at=now - month)  # who invited whom

    assert purge_invitations(db) == 2
    db.expunge_all()
    assert db.get(Invitation, expired_long_ago.id) is None and db.get(Invitation, revoked_long_ago.id) is None
    assert all(db.get(Invitation, row.id) is not None for row in (expired_lately, pending, accepted))
    assert purge_invitations(db) == 0


def test_the_worker_runs_every_job(migrated_database: str) -> None:
    assert set(worker.run_once()) == {
        "invoices_issued",
        "trials_expired",
        "overdue_changes",
        "sessions_purged",
        "signups_expired",
        "password_resets_purged",
        "invitations_purged",
        "notification_mails",
    }


def test_the_files_cleanup_task_reports_what_it_did(migrated_database: str) -> None:
    assert set(worker.clean_up_storage()) == {
        "file_orphans_found",
        "file_orphans_removed",
        "files_without_object",
        "multipart_uploads_aborted",
    }
