"""Parsing of handler and route arguments: they come from the browser and may be anything.

This is the one place input becomes typed values (UUID, Role, bool, date, …); services take those
values and parse nothing. Each helper returns a clean value or raises a ServiceError with a
translation key, which the handler wrapper (dashboard/state/base.py) shows as a message and the
HTTP routes turn into a status: never a 500 or a stack trace.

Ids: a malformed id is NotFound, the very error the services raise for a missing row or another
company's (services.core.access), so no entry point tells the three apart. Handlers parse their
ids after their other arguments, and services look rows up before they validate free text (names,
emails): a malformed id then fails at the point where a well-formed one that names nothing would.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import date
from enum import Enum
from typing import Any, TypeVar

from models import TaskPriority, TaskStatus
from services.audit import AuditFilter
from services.core.errors import NotFound, ValidationFailed
from services.work import MAX_DESCRIPTION, MAX_SEARCH, MAX_TITLE, DueFilter, TaskFields, TaskFilter

MAX_FORM_FIELDS = 1200  # a membership form has one checkbox per member
MAX_FIELD_LENGTH = 2048
MAX_ID_LENGTH = 64
UNASSIGNED = "none"  # the assignee filter's value for "nobody"
FILTER_FIELDS = ("user_id", "action", "date_from", "date_to", "company_id")  # the audit filters, by name

E = TypeVar("E", bound=Enum)


def uuid_arg(value: Any) -> uuid.UUID:
    """A UUID given as text (the only form ids take in the browser); anything else names no row: NotFound."""
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        raise NotFound()
    try:
        return uuid.UUID(value.strip())
    except ValueError as exc:
        raise NotFound() from exc


def text_arg(value: Any, max_length: int, *, strip: bool = True) -> str:
    if not isinstance(value, str) or len(value) > max_length:
        raise ValidationFailed("error.invalid_input")
    return value.strip() if strip else value


def bool_arg(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed("error.invalid_input")
    return value


def enum_arg(value: Any, choices: Collection[E]) -> E:
    """One of `choices` (enum members), given by its value as text."""
    for choice in choices:
        if isinstance(value, str) and value == choice.value:
            return choice
    raise ValidationFailed("error.invalid_input")


def int_arg(value: Any, low: int, high: int) -> int:
    """A whole number within [low, high]: typed into a form (text), or sent as a number (a card's version)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = text_arg(value, 20)
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValidationFailed("error.invalid_number")
    return int(text)


def money_arg(value: Any) -> int:
    """An amount typed in major units ("12", "12.5", "12.34") as minor units (1234); positive."""
    text = text_arg(value, 20).replace(",", ".")
    whole, _, cents = text.partition(".")
    if not whole.isdigit() or len(whole) > 12 or (cents and (not cents.isdigit() or len(cents) > 2)):
        raise ValidationFailed("error.invalid_amount")
    amount = int(whole) * 100 + int(cents.ljust(2, "0") or 0)
    if amount <= 0:
        raise ValidationFailed("error.invalid_amount")
    return amount


def date_arg(value: Any) -> date | None:
    """An optional calendar day as an <input type="date"> sends it (YYYY-MM-DD); "" is none."""
    text = text_arg(value, 32)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed("error.invalid_date") from exc


def form_arg(value: Any, max_field: int = MAX_FIELD_LENGTH) -> dict[str, str]:
    """Submitted form data: a bounded mapping of text fields.

    Reflex adds the value of every field with an id; a field that is not on the page (say a filter
    shown to the operator only) comes as null: read as "". `max_field` bounds each value (a task's
    description is longer than any other field).
    """
    if not isinstance(value, Mapping) or len(value) > MAX_FORM_FIELDS:
        raise ValidationFailed("error.invalid_input")
    fields: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str | bool | None) or len(key) > 128:
            raise ValidationFailed("error.invalid_input")
        text = item if isinstance(item, str) else ("on" if item else "")
        if len(text) > max_field:
            raise ValidationFailed("error.invalid_input")
        fields[key] = text
    return fields


def prefixed_ids(fields: Mapping[str, str], prefix: str) -> list[uuid.UUID]:
    """The ids of the ticked checkboxes named `<prefix><uuid>` (one name per box: form data keeps one value a name)."""
    return [uuid_arg(key[len(prefix) :]) for key, value in fields.items() if key.startswith(prefix) and value]


def audit_filter_arg(fields: Mapping[str, str]) -> AuditFilter:
    """The audit filter named by the filter form (or the export's query string); every field optional."""
    user_id, company_id = fields.get("user_id", ""), fields.get("company_id", "")
    return AuditFilter(
        user_id=uuid_arg(user_id) if user_id else None,
        action=text_arg(fields.get("action", ""), 60) or None,
        date_from=date_arg(fields.get("date_from", "")),
        date_to=date_arg(fields.get("date_to", "")),
        company_id=uuid_arg(company_id) if company_id else None,
    )


def task_filter_arg(fields: Mapping[str, str]) -> TaskFilter:
    """The board's filter form: assignee ("" anyone, "none" unassigned, else an id), label, priority,
    due ("", overdue, week, none) and a search text; every field optional."""
    assignee = fields.get("assignee", "")
    label = fields.get("label", "")
    priority = fields.get("priority", "")
    return TaskFilter(
        assignee_id=uuid_arg(assignee) if assignee not in ("", UNASSIGNED) else None,
        unassigned=assignee == UNASSIGNED,
        label_id=uuid_arg(label) if label else None,
        priority=enum_arg(priority, list(TaskPriority)) if priority else None,
        due=enum_arg(fields.get("due", ""), list(DueFilter)),
        search=text_arg(fields.get("search", ""), MAX_SEARCH),
    )


def task_fields_arg(fields: Mapping[str, str], label_prefix: str) -> TaskFields:
    """A task's form: title, description, status, priority, assignee ("" nobody), due date, the ticked
    label boxes (`<label_prefix><id>`) and the client-sharing box."""
    assignee = fields.get("assignee", "")
    return TaskFields(
        title=text_arg(fields.get("title", ""), MAX_TITLE * 4),
        description=text_arg(fields.get("description", ""), MAX_DESCRIPTION, strip=False),
        status=enum_arg(fields.get("status", TaskStatus.TODO.value), list(TaskStatus)),
        priority=enum_arg(fields.get("priority", TaskPriority.MEDIUM.value), list(TaskPriority)),
        assignee_id=uuid_arg(assignee) if assignee else None,
        due_date=date_arg(fields.get("due_date", "")),
        label_ids=tuple(prefixed_ids(fields, label_prefix)),
        shared_with_client=bool(fields.get("shared_with_client", "")),
    )
