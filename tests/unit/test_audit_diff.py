"""The audit log's pure helpers: diff, snapshot, JSON-safe changes, secret stripping, CSV cell guard.

No servers needed.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum

import pytest

from models import Company, Role, Task, TaskPriority, TaskStatus
from services.audit.records import (
    COLUMN_SIZES,
    MAX_CHANGE_TEXT,
    AuditAction,
    csv_safe,
    diff,
    is_secret_key,
    jsonable,
    sanitize_changes,
    snapshot,
)


def test_diff_keeps_only_changed_fields_with_from_and_to() -> None:
    before = {"title": "Old", "status": TaskStatus.TODO, "priority": TaskPriority.LOW, "points": 3}
    after = {"title": "New", "status": TaskStatus.DONE, "priority": TaskPriority.LOW, "points": 3}
    assert diff(before, after) == {
        "title": {"from": "Old", "to": "New"},
        "status": {"from": "todo", "to": "done"},
    }


def test_diff_of_equal_mappings_is_empty() -> None:
    same = {"a": 1, "b": [1, 2], "c": {"x": None}}
    assert diff(same, dict(same)) == {}
    assert diff({}, {}) == {}


def test_diff_counts_a_missing_field_as_none() -> None:
    assert diff({"a": 1}, {"b": 2}) == {"a": {"from": 1, "to": None}, "b": {"from": None, "to": 2}}
    assert diff({"a": None}, {}) == {}


def test_diff_compares_values_as_stored() -> None:
    ident = uuid.uuid4()
    day = date(2026, 3, 1)
    assert (
        diff(
            {"id": ident, "due": day, "role": Role.MANAGER}, {"id": str(ident), "due": "2026-03-01", "role": "manager"}
        )
        == {}
    )
    # but a number is not its text, and 1 is not True
    assert diff({"n": 1}, {"n": "1"}) == {"n": {"from": 1, "to": "1"}}
    assert diff({"flag": 1}, {"flag": True}) == {"flag": {"from": 1, "to": True}}


def test_diff_output_is_json_ready() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    changes = diff({"due": None, "amount": Decimal("1.50")}, {"due": at, "amount": Decimal("2.00")})
    assert changes == {
        "due": {"from": None, "to": "2026-01-02T03:04:05+00:00"},
        "amount": {"from": "1.50", "to": "2.00"},
    }
    json.dumps(changes)


def test_diff_never_reports_secret_fields() -> None:
    before = {"password_hash": "old-hash", "token_hash": "a", "email": "a@example.com"}
    after = {"password_hash": "new-hash", "token_hash": "b", "email": "b@example.com"}
    assert diff(before, after) == {"email": {"from": "a@example.com", "to": "b@example.com"}}


def test_snapshot_takes_the_named_fields_as_plain_values() -> None:
    company_id = uuid.uuid4()
    task = Task(project_id=uuid.uuid4(), company_id=company_id, title="Ship", status=TaskStatus.REVIEW)
    taken = snapshot(task, ["title", "status", "company_id", "due_date"])
    assert taken == {"title": "Ship", "status": "review", "company_id": str(company_id), "due_date": None}
    task.title = "Shipped"
    task.status = TaskStatus.DONE
    assert diff(taken, snapshot(task, ["title", "status", "company_id", "due_date"])) == {
        "title": {"from": "Ship", "to": "Shipped"},
        "status": {"from": "review", "to": "done"},
    }


def test_snapshot_refuses_an_unknown_field() -> None:
    with pytest.raises(AttributeError):
        snapshot(Company(name="Acme", slug="acme"), ["name", "no_such_field"])


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "password_hash",
        "new_password",
        "token",
        "token_hash",
        "secret",
        "client_secret",
        "API_KEY",
        "csrfToken",
        "session_cookie",
        "Authorization",
    ],
)
def test_secret_keys_are_recognised(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["email", "role", "title", "expires_at", "storage_key", "sha256", "ip"])
def test_ordinary_keys_are_not_secret(key: str) -> None:
    assert not is_secret_key(key)


def test_sanitize_drops_secrets_at_every_level() -> None:
    changes = {
        "email": "a@example.com",
        "password": "hunter2",
        "password_hash": "$argon2id$...",
        "user": {"id": 1, "token_hash": "abc", "nested": [{"secret": "x", "keep": "y"}]},
    }
    cleaned = sanitize_changes(changes)
    assert cleaned == {"email": "a@example.com", "user": {"id": 1, "nested": [{"keep": "y"}]}}
    assert "hunter2" not in json.dumps(cleaned) and "argon2" not in json.dumps(cleaned)


class Colour(Enum):
    RED = 1


def test_jsonable_handles_the_usual_python_values() -> None:
    ident = uuid.uuid4()
    value = {
        "uuid": ident,
        "when": datetime(2026, 5, 6, 7, 8, tzinfo=UTC),
        "day": date(2026, 5, 6),
        "role": Role.CLIENT,
        "colour": Colour.RED,
        "money": Decimal("10.10"),
        "ids": (ident,),
        "tags": {"b", "a"},
        "blob": b"\x00\x01\x02",
        "nan": float("nan"),
        "wait": timedelta(minutes=2),
        Role.ADMIN: "enum key",
        3: "int key",
        "other": object.__new__(object),
    }
    out = jsonable(value)
    json.dumps(out, allow_nan=False)
    assert out["uuid"] == str(ident)
    assert out["when"] == "2026-05-06T07:08:00+00:00"
    assert out["day"] == "2026-05-06"
    assert out["role"] == "client"
    assert out["colour"] == 1
    assert out["money"] == "10.10"
    assert out["ids"] == [str(ident)]
    assert out["tags"] == ["a", "b"]
    assert out["blob"] == "<3 bytes>"
    assert out["nan"] == "nan"
    assert out["wait"] == 120.0
    assert out["admin"] == "enum key"
    assert out["3"] == "int key"
    assert isinstance(out["other"], str)


def test_jsonable_cuts_long_text_and_removes_nul() -> None:
    assert jsonable("a\x00b") == "ab"
    long = jsonable("x" * (MAX_CHANGE_TEXT + 50))
    assert len(long) == MAX_CHANGE_TEXT and long.endswith("…")


def test_jsonable_survives_a_cycle() -> None:
    loop: dict[str, object] = {}
    loop["self"] = loop
    json.dumps(jsonable(loop))


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://evil")'])
def test_csv_safe_neutralises_formulas(cell: str) -> None:
    assert csv_safe(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["", "plain", "a=b", "manager", '{"a": 1}', "2026-01-01T00:00:00+00:00"])
def test_csv_safe_leaves_ordinary_cells_alone(cell: str) -> None:
    assert csv_safe(cell) == cell


def test_action_names_fit_the_column_and_are_unique() -> None:
    values = [a.value for a in AuditAction]
    assert len(values) == len(set(values))
    assert all(0 < len(v) <= COLUMN_SIZES["action"] for v in values)
    for required in ("login", "login_failed", "logout", "logout_all", "session_revoked", "password_changed", "signup"):
        assert required in values
    for thing in ("task", "project", "file", "approval", "payment", "invoice"):
        for verb in ("created", "updated", "deleted"):
            assert f"{thing}_{verb}" in values
