"""Audit: the append-only log of every change, its filters and its CSV export.

This module is the domain's public surface: other domains and the UI import only these names.
"""

from services.audit.records import (
    AuditAction,
    AuditActorOption,
    AuditEntry,
    AuditFilter,
    AuditPage,
    AuditTarget,
    HistoryEntry,
    actors,
    diff,
    distinct_actions,
    export_csv,
    list_entries,
    record,
    snapshot,
    target_history,
)

__all__ = [
    "AuditAction",
    "AuditActorOption",
    "AuditEntry",
    "AuditFilter",
    "AuditPage",
    "AuditTarget",
    "HistoryEntry",
    "actors",
    "diff",
    "distinct_actions",
    "export_csv",
    "list_entries",
    "record",
    "snapshot",
    "target_history",
]
