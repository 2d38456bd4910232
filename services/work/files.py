"""Files on S3: task attachments and project files. The bucket holds the bytes, `files` who may see them.

Who: FILE_VIEW lists, previews and downloads (a manager: the company's; a worker: their projects');
FILE_UPLOAD adds; FILE_EDIT renames, deletes and shows to clients, and only the uploader or a
manager may (`FileNotYours`). Every write goes through `project_for_work` (an archived project is
read-only) and is audited (file_created / file_updated / file_deleted).

An upload (dashboard/api/files.py streams the body) is three steps, the object before the row:
1. `begin_upload`: the gate, the task in the project, the declared size against the cap and the
   quota (a fast refusal only), and the object key `companies/{company_id}/{project_id}/{uuid}`.
2. the bytes go to S3 (services.core.storage.ObjectWriter), counted against UPLOAD_MAX_BYTES as they
   are read, their type taken from the first bytes (`detect_content_type`) against an allow-list;
   no row exists yet, so an S3 failure leaves nothing behind but a message.
3. `finish_upload`: in one transaction, the gate again, `services.billing.check_storage_limit`
   (it takes the company's storage lock, `pg_advisory_xact_lock`, held to the end of the transaction,
   so of two uploads racing past the limit at most one wins, and sums `files`) against the plan's
   limit, or STORAGE_QUOTA_BYTES for a company without a plan, then the row and its audit entry. When that
   transaction fails, the caller removes the object (`storage.delete_objects`).

Deleting a row never deletes its object inside the transaction: `remove_objects_after_commit`
queues the keys on the Session and they go once it commits (dropped on rollback), so a rolled-back
delete never loses bytes. A task, project or company deleted by another service must call
`remove_files_after_commit` BEFORE its delete (the cascade removes the rows). An object whose delete
fails, and one whose row never came, is an orphan: `services.work.jobs.clean_up_files` removes those
older than a day and reports rows without an object.

Downloads and previews are presigned GET URLs valid 60 s (services.core.storage.presigned_get),
issued after the check; previews only for images and PDFs, served with their detected type (no HTML
or SVG is ever accepted, so nothing stored can run script).
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import puremagic
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, col, select

from models import FileKind, Project, ProjectStatus, Role, StoredFile, Task, User
from services import audit, billing
from services.core import storage
from services.core.access import access_by_id, company_id_of
from services.core.actor import Actor
from services.core.errors import LimitReached, NotFound, PermissionDenied, ValidationFailed
from services.core.policy import Action, authorize
from services.core.settings import get_settings
from services.work.projects import project_for_work

log = logging.getLogger(__name__)

HEAD_BYTES = 8192  # what type detection reads of the start of a file
MAX_NAME_LENGTH = 255

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PREVIEW_TYPES = IMAGE_TYPES | {"application/pdf"}
# Containers whose magic is a zip or an OLE2 compound file: the extension picks the exact type.
ZIP_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "zip": "application/zip",
}
OLE_TYPES = {"doc": "application/msword", "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint"}
TEXT_TYPES = {"csv": "text/csv", "tsv": "text/tab-separated-values", "md": "text/markdown"}
ALLOWED_TYPES = frozenset(
    {*PREVIEW_TYPES, *ZIP_TYPES.values(), *OLE_TYPES.values(), *TEXT_TYPES.values(), "text/plain"}
)
# Markup a browser would render (and run) if it were ever served inline: never accepted, whatever the name.
MARKUP_TYPES = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml", "application/xml", "text/xml"})


class FileTooLarge(ValidationFailed):
    message_key = "error.file_too_large"


class FileTypeRefused(ValidationFailed):
    message_key = "error.file_type_refused"


class FileNameInvalid(ValidationFailed):
    message_key = "error.file_name_invalid"


class StorageFull(LimitReached):
    """The company's files would pass its storage limit (the default one: billing raises its own
    LimitReached, with the same message, for a plan's)."""

    message_key = "error.limit_storage"


class FileNotYours(PermissionDenied):
    message_key = "error.file_not_yours"


class NoPreview(ValidationFailed):
    message_key = "error.file_no_preview"


@dataclass(frozen=True)
class FileInfo:
    id: uuid.UUID
    project_id: uuid.UUID | None
    task_id: uuid.UUID | None
    kind: FileKind
    name: str
    content_type: str
    size_bytes: int
    uploaded_by: str  # the uploader's name ("" once they are deleted)
    created_at: datetime
    visible_to_client: bool
    can_edit: bool  # the actor may rename, delete, show it to clients

    @property
    def previewable(self) -> bool:
        return self.content_type in PREVIEW_TYPES

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGE_TYPES


@dataclass(frozen=True)
class UploadTarget:
    company_id: uuid.UUID
    project_id: uuid.UUID
    task_id: uuid.UUID | None
    kind: FileKind
    key: str


@dataclass(frozen=True)
class StorageUsage:
    used_bytes: int
    limit_bytes: int


# ---- rules on names, types and sizes ----------------------------------------------------------------


def sanitize_name(raw: str) -> str:
    """A display name: no path parts, no control, format (bidi overrides, zero-width) or separator
    characters but the plain space, NFC-normalised, at most 255 characters (the extension kept)."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if c in "\t\n\r\v\f" or unicodedata.category(c) in ("Zs", "Zl", "Zp") else c
        for c in name
        if c in "\t\n\r\v\f" or unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs", "Cn")
    )
    name = " ".join(name.split()).strip(" .")
    if not name:
        raise FileNameInvalid()
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and 0 < len(ext) <= 16 else ""
        name = (stem if ext else name)[: MAX_NAME_LENGTH - len(ext) - 1 if ext else MAX_NAME_LENGTH].rstrip(" .")
        name = f"{name}.{ext}" if ext else name
    return name


def check_size(size_bytes: int) -> None:
    """FileTooLarge past UPLOAD_MAX_BYTES (the upload route asks as the bytes arrive)."""
    if size_bytes > get_settings().upload_max_bytes:
        raise FileTooLarge()


def _extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def detect_content_type(head: bytes, name: str) -> str:
    """The type of a file from its first bytes (HEAD_BYTES, or all of a smaller file), against the
    allow-list; FileTypeRefused otherwise. The name only chooses between types the bytes allow
    (a zip as .docx or .zip, text as .csv or .txt), never makes a type."""
    if not head:
        raise FileTypeRefused()
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    types = [str(m.mime_type) for m in matches if m.mime_type]
    if any(t in MARKUP_TYPES for t in types):
        raise FileTypeRefused()
    ext = _extension(name)
    if head.startswith(b"PK\x03\x04"):
        return ZIP_TYPES.get(ext, "application/zip")
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        if ext in OLE_TYPES:
            return OLE_TYPES[ext]
        raise FileTypeRefused()
    for found in types:
        if found in PREVIEW_TYPES:
            return found
    if _is_plain_text(head):
        return TEXT_TYPES.get(ext, "text/plain")
    raise FileTypeRefused()


def _is_plain_text(head: bytes) -> bool:
    """UTF-8 text (a character cut at the end of the head allowed) with no NUL and no markup."""
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3 or len(head) < HEAD_BYTES:
            return False
        text = head[: exc.start].decode("utf-8")
    start = text.lstrip("\ufeff \t\r\n").lower()
    # A page without a doctype still renders as HTML if sniffed: refuse what starts like markup.
    return not start.startswith("<")


# ---- uploads --------------------------------------------------------------------------------------


def begin_upload(
    session: Session,
    actor: Actor,
    project_id: uuid.UUID,
    task_id: uuid.UUID | None,
    declared_size: int | None,
) -> UploadTarget:
    """May the actor upload here, and is there room? (A fast answer before any byte is read; the
    authoritative checks are made again by `finish_upload`.)"""
    project = project_for_work(session, actor, Action.FILE_UPLOAD, project_id)
    if task_id is not None:
        task = access_by_id(session, actor, Action.FILE_UPLOAD, Task, task_id)
        if task.project_id != project.id:
            raise NotFound()
    if declared_size is not None:
        check_size(declared_size)
        if _used_bytes(session, project.company_id) + declared_size > storage_limit(session, project.company_id):
            raise StorageFull()
    key = f"companies/{project.company_id}/{project.id}/{uuid.uuid4()}"
    kind = FileKind.TASK_ATTACHMENT if task_id is not None else FileKind.COMPANY_FILE
    return UploadTarget(company_id=project.company_id, project_id=project.id, task_id=task_id, kind=kind, key=key)


def finish_upload(
    session: Session,
    actor: Actor,
    target: UploadTarget,
    *,
    name: str,
    content_type: str,
    size_bytes: int,
    sha256: str,
) -> FileInfo:
    """The row of an object already in S3, if the project still takes work and the company has room."""
    project = project_for_work(session, actor, Action.FILE_UPLOAD, target.project_id)
    if target.task_id is not None:
        task = access_by_id(session, actor, Action.FILE_UPLOAD, Task, target.task_id)
        if task.project_id != project.id:
            raise NotFound()
    if content_type not in ALLOWED_TYPES:
        raise FileTypeRefused()
    check_size(size_bytes)
    display_name = sanitize_name(name)
    _count_storage(session, project.company_id, size_bytes)
    row = StoredFile(
        company_id=project.company_id,
        kind=target.kind,
        project_id=project.id,
        task_id=target.task_id,
        storage_key=target.key,
        original_name=display_name,
        display_name=display_name,
        content_type=content_type,
        size_bytes=size_bytes,
        sha256=sha256,
        uploaded_by_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=audit.AuditAction.FILE_CREATED,
        company_id=project.company_id,
        target_type=audit.AuditTarget.FILE,
        target_id=row.id,
        changes={
            "name": display_name,
            "size_bytes": size_bytes,
            "content_type": content_type,
            "task_id": target.task_id,
        },
    )
    return _info(row, actor, actor.full_name)


def storage_limit(session: Session, company_id: uuid.UUID) -> int:
    """The company's storage limit: its plan's (services.billing), STORAGE_QUOTA_BYTES without a plan."""
    plan = billing.plan_of(session, company_id)
    return billing.Limits.of(plan).storage_bytes if plan is not None else get_settings().storage_quota_bytes


def _count_storage(session: Session, company_id: uuid.UUID, adding_bytes: int) -> None:
    """Room for `adding_bytes` more, counted under the company's storage lock, which the caller's
    transaction then holds until it ends: billing's check (the plan's limit, LimitReached; it takes the
    lock), and without a plan the default limit."""
    used = billing.check_storage_limit(session, company_id, adding_bytes)
    if billing.plan_of(session, company_id) is None and used + adding_bytes > get_settings().storage_quota_bytes:
        raise StorageFull()


def _used_bytes(session: Session, company_id: uuid.UUID) -> int:
    return billing.usage_of(session, company_id).storage_bytes


def storage_usage(session: Session, actor: Actor) -> StorageUsage:
    authorize(actor, Action.STORAGE_VIEW)
    company_id = company_id_of(actor)
    return StorageUsage(used_bytes=_used_bytes(session, company_id), limit_bytes=storage_limit(session, company_id))


# ---- reading --------------------------------------------------------------------------------------


def list_files(
    session: Session, actor: Actor, project_id: uuid.UUID, task_id: uuid.UUID | None = None
) -> list[FileInfo]:
    """A project's own files (task_id None) or one task's attachments, newest first."""
    project = access_by_id(session, actor, Action.FILE_VIEW, Project, project_id)
    query = select(StoredFile, User.full_name).join(
        User,
        sa.and_(col(User.id) == StoredFile.uploaded_by_id, col(User.company_id) == StoredFile.company_id),
        isouter=True,
    )
    query = query.where(col(StoredFile.company_id) == project.company_id, col(StoredFile.project_id) == project.id)
    if task_id is None:
        query = query.where(col(StoredFile.kind) == FileKind.COMPANY_FILE)
    else:
        task = access_by_id(session, actor, Action.FILE_VIEW, Task, task_id)
        if task.project_id != project.id:
            raise NotFound()
        query = query.where(col(StoredFile.task_id) == task.id)
    rows = session.exec(query.order_by(col(StoredFile.created_at).desc(), col(StoredFile.id))).all()
    editable = project.status is not ProjectStatus.ARCHIVED
    return [_info(row, actor, uploader or "", editable=editable) for row, uploader in rows]


def file_link(session: Session, actor: Actor, file_id: uuid.UUID, *, preview: bool) -> str:
    """A presigned URL (60 s): inline for a preview (images and PDFs only), else as an attachment."""
    row = access_by_id(session, actor, Action.FILE_VIEW, StoredFile, file_id)
    if preview and row.content_type not in PREVIEW_TYPES:
        raise NoPreview()
    return storage.presigned_get(
        row.storage_key, filename=row.display_name, content_type=row.content_type, inline=preview
    )


# ---- changes ------------------------------------------------------------------------------------


def rename_file(session: Session, actor: Actor, file_id: uuid.UUID, name: str) -> FileInfo:
    row = _editable(session, actor, file_id)
    new_name = sanitize_name(name)
    if new_name != row.display_name:
        old, row.display_name = row.display_name, new_name
        session.add(row)
        _record(session, actor, audit.AuditAction.FILE_UPDATED, row, {"name": [old, new_name]})
    return _info(row, actor, "")


def set_file_visible(session: Session, actor: Actor, file_id: uuid.UUID, visible: bool) -> FileInfo:
    row = _editable(session, actor, file_id)
    if row.visible_to_client != visible:
        row.visible_to_client = visible
        session.add(row)
        _record(session, actor, audit.AuditAction.FILE_UPDATED, row, {"visible_to_client": [not visible, visible]})
    return _info(row, actor, "")


def delete_file(session: Session, actor: Actor, file_id: uuid.UUID) -> None:
    """The row now, the object once the caller's transaction commits."""
    row = _editable(session, actor, file_id)
    _record(
        session, actor, audit.AuditAction.FILE_DELETED, row, {"name": row.display_name, "size_bytes": row.size_bytes}
    )
    session.delete(row)
    session.flush()
    remove_objects_after_commit(session, [row.storage_key])


def _editable(session: Session, actor: Actor, file_id: uuid.UUID) -> StoredFile:
    row = access_by_id(session, actor, Action.FILE_EDIT, StoredFile, file_id, for_update=True)
    if row.project_id is None:
        raise NotFound()
    project_for_work(session, actor, Action.FILE_EDIT, row.project_id)
    if actor.role is not Role.MANAGER and row.uploaded_by_id != actor.user_id:
        raise FileNotYours()
    return row


def _record(
    session: Session, actor: Actor, action: audit.AuditAction, row: StoredFile, changes: dict[str, Any]
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        company_id=row.company_id,
        target_type=audit.AuditTarget.FILE,
        target_id=row.id,
        changes=changes,
    )


def _info(row: StoredFile, actor: Actor, uploader: str, *, editable: bool = True) -> FileInfo:
    return FileInfo(
        id=row.id,
        project_id=row.project_id,
        task_id=row.task_id,
        kind=row.kind,
        name=row.display_name,
        content_type=row.content_type,
        size_bytes=row.size_bytes,
        uploaded_by=uploader,
        created_at=row.created_at,
        visible_to_client=row.visible_to_client,
        can_edit=editable and (actor.role is Role.MANAGER or row.uploaded_by_id == actor.user_id),
    )


# ---- objects of deleted rows --------------------------------------------------------------------

_PENDING_KEY = "workdash.s3_keys_to_delete"


def remove_objects_after_commit(session: Session, keys: Iterable[str]) -> None:
    """Delete these objects once the session's transaction commits (never if it rolls back)."""
    pending: list[str] = session.info.setdefault(_PENDING_KEY, [])
    pending.extend(keys)


def remove_files_after_commit(
    session: Session,
    company_id: uuid.UUID,
    *,
    project_id: uuid.UUID | None = None,
    task_id: uuid.UUID | None = None,
) -> int:
    """Call BEFORE deleting a task, a project or a company (in the same transaction): the objects of
    every file the cascade will remove go once the transaction commits. Returns how many."""
    query = select(StoredFile.storage_key).where(col(StoredFile.company_id) == company_id)
    if task_id is not None:
        query = query.where(col(StoredFile.task_id) == task_id)
    elif project_id is not None:
        query = query.where(col(StoredFile.project_id) == project_id)
    keys = list(session.exec(query).all())
    remove_objects_after_commit(session, keys)
    return len(keys)


@event.listens_for(Session, "after_commit")
def _delete_pending_objects(session: Session) -> None:
    keys = session.info.pop(_PENDING_KEY, None)
    if not keys:
        return
    try:
        storage.delete_objects(keys)
    except storage.StorageUnavailable:  # the rows are gone: the clean-up job removes the orphans later
        log.warning("could not delete %d objects of deleted files; the clean-up job will", len(keys))


@event.listens_for(Session, "after_rollback")
def _forget_pending_objects(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
