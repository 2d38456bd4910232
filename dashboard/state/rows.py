"""Plain rows for the browser: only strings, numbers and lists, never a table model, hash or token.

Service results (dataclasses with UUIDs and datetimes) are turned into these before they reach a
public var; times are shown in UTC.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from services.audit import AuditEntry

MAX_CHANGES_TEXT = 400


def when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


@dataclasses.dataclass
class AuditRow:
    id: str
    time: str
    company: str
    actor: str
    role: str
    action: str
    target: str
    ip: str
    changes: str
    by_operator: bool = False  # shown as "Operator" (audit.operator), with no email or IP


def audit_row(entry: AuditEntry) -> AuditRow:
    changes = json.dumps(entry.changes, ensure_ascii=False, sort_keys=True, default=str) if entry.changes else ""
    if len(changes) > MAX_CHANGES_TEXT:
        changes = changes[: MAX_CHANGES_TEXT - 1] + "…"
    return AuditRow(
        id=str(entry.id),
        time=when(entry.created_at),
        company=entry.company_name,
        actor=entry.actor_email,
        role="" if entry.by_operator else entry.actor_role,
        action=entry.action,
        target=f"{entry.target_type} {entry.target_id}".strip(),
        ip=entry.ip,
        changes=changes,
        by_operator=entry.by_operator,
    )
