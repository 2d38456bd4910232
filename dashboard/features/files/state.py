"""The files panel's state: one project's files (the /projects/<id>/files page) or one task's
attachments (the task drawer calls `show_task`). Uploads do not go through here: the panel's script
posts each file to /api/files/upload (dashboard/api/files.py) and clicks the hidden refresh button
when one is done. Downloads and previews are links to /api/files/<id>/(download|preview), which
check the caller again and redirect to a 60 s S3 link.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import reflex as rx

from dashboard.state.args import bool_arg, form_arg, text_arg, uuid_arg
from dashboard.state.base import AuthState, requires
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.errors import NotFound
from services.core.policy import Action, scope_for
from services.core.settings import get_settings
from services.work import (
    FileInfo,
    delete_file,
    list_files,
    rename_file,
    set_file_visible,
    storage_usage,
)

PROJECT_PARAM = "project_id"  # the dynamic segment of /projects/[project_id]/files
MAX_NAME_INPUT = 1024


@dataclasses.dataclass
class FileRow:
    id: str
    name: str
    size: str
    icon: str
    uploader: str
    created: str
    is_image: bool
    previewable: bool
    visible: bool
    can_edit: bool
    download_url: str
    preview_url: str


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _icon(info: FileInfo) -> str:
    kind = info.content_type
    if info.is_image:
        return "image"
    if kind == "application/pdf" or kind.startswith("text/"):
        return "file_text"
    if "spreadsheet" in kind or "excel" in kind or kind == "text/csv":
        return "file_spreadsheet"
    if kind == "application/zip":
        return "file_archive"
    return "file"


def _row(info: FileInfo) -> FileRow:
    base = f"/api/files/{info.id}"
    return FileRow(
        id=str(info.id),
        name=info.name,
        size=human_size(info.size_bytes),
        icon=_icon(info),
        uploader=info.uploaded_by,
        created=info.created_at.strftime("%Y-%m-%d %H:%M"),
        is_image=info.is_image,
        previewable=info.previewable,
        visible=info.visible_to_client,
        can_edit=info.can_edit,
        download_url=f"{base}/download",
        preview_url=f"{base}/preview" if info.previewable else "",
    )


class FilesState(AuthState):
    # Where the panel uploads to (read by the panel's script from data attributes).
    project_id: str = ""
    task_id: str = ""
    files: rx.Field[list[FileRow]] = rx.field(default_factory=list)
    loaded: bool = False
    max_bytes: rx.Field[int] = rx.field(0)
    # The company's storage (managers only; shown when show_usage).
    show_usage: bool = False
    used: str = ""
    limit: str = ""
    used_percent: int = 0
    # The in-page preview.
    preview_url: str = ""
    preview_name: str = ""
    preview_is_image: bool = False

    def _fill(self, actor: Actor, project_id: uuid.UUID, task_id: uuid.UUID | None) -> None:
        with tenant_scope(actor) as session:
            infos = list_files(session, actor, project_id, task_id)
            usage = storage_usage(session, actor) if scope_for(actor, Action.STORAGE_VIEW) else None
        self._update(
            project_id=str(project_id),
            task_id=str(task_id) if task_id else "",
            max_bytes=get_settings().upload_max_bytes,
            loaded=True,
            show_usage=usage is not None,
        )
        self.files = [_row(info) for info in infos]
        if usage is not None:
            self._update(
                used=human_size(usage.used_bytes),
                limit=human_size(usage.limit_bytes),
                used_percent=min(100, round(100 * usage.used_bytes / usage.limit_bytes)) if usage.limit_bytes else 100,
            )

    def _ids(self) -> tuple[uuid.UUID, uuid.UUID | None]:
        if not self.project_id:
            raise NotFound()
        return uuid_arg(self.project_id), uuid_arg(self.task_id) if self.task_id else None

    @requires(Action.FILE_VIEW)
    def load_project(self, actor: Actor) -> None:
        """On load of /projects/<id>/files: the project's own files."""
        self._update(loaded=False, preview_url="")
        self.files = []
        self._fill(actor, uuid_arg(self._route_param(PROJECT_PARAM)), None)

    @requires(Action.FILE_VIEW, quiet=True)
    def show_task(self, actor: Actor, project_id: str, task_id: str) -> None:
        """For the task drawer: the task's attachments (uploads then go to the task)."""
        task = uuid_arg(task_id)
        self._fill(actor, uuid_arg(project_id), task)

    @requires(Action.FILE_VIEW)
    def refresh(self, actor: Actor) -> None:
        self._fill(actor, *self._ids())

    @requires(Action.FILE_EDIT)
    def rename(self, actor: Actor, form_data: dict[str, Any]) -> None:
        fields = form_arg(form_data)
        name = text_arg(fields.get("name", ""), MAX_NAME_INPUT)
        file_id = uuid_arg(fields.get("file_id", ""))
        with tenant_scope(actor) as session:
            rename_file(session, actor, file_id, name)
        self._fill(actor, *self._ids())
        self.notice_key = "files.renamed"

    @requires(Action.FILE_EDIT)
    def set_visible(self, actor: Actor, file_id: str, visible: bool) -> None:
        visible = bool_arg(visible)
        target = uuid_arg(file_id)
        with tenant_scope(actor) as session:
            set_file_visible(session, actor, target, visible)
        self._fill(actor, *self._ids())
        self.notice_key = "files.shown_to_client" if visible else "files.hidden_from_client"

    @requires(Action.FILE_EDIT)
    def delete(self, actor: Actor, file_id: str) -> None:
        target = uuid_arg(file_id)
        with tenant_scope(actor) as session:
            delete_file(session, actor, target)
        self._fill(actor, *self._ids())
        self.notice_key = "files.deleted"

    @requires(Action.FILE_VIEW)
    def open_preview(self, actor: Actor, file_id: str) -> None:
        """Shows one of the listed files in the page (the preview route checks the caller again)."""
        row = next((r for r in self.files if r.id == file_id and r.previewable), None)
        if row is None:
            raise NotFound()
        self._update(preview_url=row.preview_url, preview_name=row.name, preview_is_image=row.is_image)

    @requires(Action.FILE_VIEW)
    def close_preview(self, actor: Actor) -> None:
        self._update(preview_url="", preview_name="")
