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
    actors,
    diff,
    distinct_actions,
    export_csv,
    list_entries,
    record,
    snapshot,
)

__all__ = [
    "AuditAction",
    "AuditActorOption",
    "AuditEntry",
    "AuditFilter",
    "AuditPage",
    "AuditTarget",
    "actors",
    "diff",
    "distinct_actions",
    "export_csv",
    "list_entries",
    "record",
    "snapshot",
]
