"""The work domain's periodic jobs (run by services/worker.py).

`send_notification_mails`: the notification mails waiting in the notifications table's outbox
(services/work/notifications.py).

`clean_up_files`: compares the bucket's `companies/` objects with the `files` rows. An object with
no row (an upload whose row failed after S3 took the bytes, a delete whose object removal failed) is
an orphan: removed once older than ORPHAN_AGE, so an upload between its object and its row is never
touched. A row with no object is only reported (its bytes are gone; a person must decide). Multipart
uploads left incomplete (an upload whose abort failed with S3 down) are aborted after ORPHAN_AGE too.
System work: the system role's session (every company's rows).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from models import StoredFile
from services.core import clock, storage
from services.work.notifications import send_notification_mails

log = logging.getLogger(__name__)

__all__ = ["FileCleanup", "clean_up_files", "send_notification_mails"]

PREFIX = "companies/"
ORPHAN_AGE = timedelta(days=1)


@dataclass(frozen=True)
class FileCleanup:
    orphan_objects: int  # objects without a row (removed or still young)
    orphans_removed: int
    rows_without_object: tuple[str, ...]  # file ids
    multipart_aborted: int


def clean_up_files(session: Session) -> FileCleanup:
    cutoff = clock.now() - ORPHAN_AGE
    known = {key: str(file_id) for key, file_id in session.exec(select(StoredFile.storage_key, StoredFile.id)).all()}
    seen: set[str] = set()
    orphans: list[storage.StoredObject] = []
    for item in storage.list_objects(PREFIX):
        if item.key in known:
            seen.add(item.key)
        else:
            orphans.append(item)
    old = [item.key for item in orphans if item.last_modified < cutoff]
    storage.delete_objects(old)
    # Rows committed after the listing began are not missing: look only at rows older than the cutoff's start.
    listed_rows = session.exec(
        select(StoredFile.storage_key, StoredFile.id).where(
            col(StoredFile.created_at) < clock.now() - timedelta(minutes=5)
        )
    ).all()
    missing = tuple(sorted(str(file_id) for key, file_id in listed_rows if key not in seen))
    if missing:
        log.warning("files without an object in S3: %s", ", ".join(missing))
    aborted = storage.abort_stale_multipart_uploads(PREFIX, cutoff)
    return FileCleanup(
        orphan_objects=len(orphans), orphans_removed=len(old), rows_without_object=missing, multipart_aborted=aborted
    )
