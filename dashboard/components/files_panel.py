"""The files panel: a drop zone with a file picker (several files at once, a progress bar, cancel and
the refusal reason per file), the list (type icon or thumbnail, name, size, uploader, date), the
in-page preview of images and PDFs, download, rename, delete, the visible-to-client switch, and for
managers the company's storage against its limit.

One panel for both places: the project's Files page (`FilesState.load_project` on load) and the task
drawer (mount `files_panel()` and call `FilesState.show_task(project_id, task_id)` when it opens).

Uploads are the browser's work (files_uploader.js, emitted into the build by FilesUploaderPlugin and
started by a hook of `_UploaderHook`; see files_uploader.py): each file goes to POST /api/files/upload on its own request,
then the script clicks the hidden `#files-refresh` button so the list reloads.
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.utils.imports import ImportDict
from reflex.vars import ObjectVar

from dashboard.components.files_uploader import UPLOADER_IMPORT
from dashboard.components.forms import confirm_button
from dashboard.features.files.state import FileRow, FilesState
from dashboard.i18n import t
from dashboard.state.ui import UIState

UPLOAD_URL = "/api/files/upload"


class _UploaderHook(rx.Fragment):
    """Renders nothing; its hook installs the uploader's listeners once per page load."""

    def add_imports(self) -> ImportDict:
        return {
            "react": [rx.ImportVar(tag="useEffect")],
            UPLOADER_IMPORT: [rx.ImportVar(tag="installUploader", install=False)],
        }

    def add_hooks(self) -> list[str | rx.Var[Any]]:
        return ["useEffect(() => { installUploader(); }, []);"]


def _drop_zone() -> rx.Component:
    return rx.el.div(
        _UploaderHook.create(),
        rx.hstack(
            rx.icon("upload"),
            rx.text(t("files.drop_here")),
            rx.el.label(
                t("files.choose"),
                rx.el.input(type="file", multiple=True, id="files-input", style={"display": "none"}),
                html_for="files-input",
                id="files-choose",
                style={"cursor": "pointer", "textDecoration": "underline"},
            ),
            align="center",
            spacing="3",
        ),
        rx.el.ul(data_files_progress="", id="files-progress", style={"listStyle": "none", "padding": 0}),
        rx.el.button(id="files-refresh", type="button", on_click=FilesState.refresh, style={"display": "none"}),
        data_files_drop="",
        data_url=UPLOAD_URL,
        data_project=FilesState.project_id,
        data_task=FilesState.task_id,
        data_lang=UIState.lang,
        data_max_bytes=FilesState.max_bytes.to(str),
        data_t_cancel=t("files.cancel"),
        data_t_done=t("files.done"),
        data_t_failed=t("files.failed"),
        data_t_cancelled=t("files.cancelled"),
        data_t_too_large=t("error.file_too_large"),
        id="files-drop",
        style={
            "border": f"2px dashed {rx.color('gray', 7)}",
            "borderRadius": "8px",
            "padding": "1em",
            "width": "100%",
        },
    )


def _icon(row: ObjectVar[FileRow]) -> rx.Component:
    return rx.cond(
        row.is_image,
        rx.image(src=row.preview_url, alt="", width="48px", height="48px", object_fit="cover", data_testid="thumb"),
        rx.match(
            row.icon,
            ("file_text", rx.icon("file_text")),
            ("file_spreadsheet", rx.icon("file_spreadsheet")),
            ("file_archive", rx.icon("file_archive")),
            rx.icon("file"),
        ),
    )


def _rename(row: ObjectVar[FileRow]) -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(rx.button(t("files.rename"), size="1", variant="soft", id="rename-" + row.id.to(str))),
        rx.popover.content(
            rx.form(
                rx.hstack(
                    rx.el.input(type="hidden", name="file_id", value=row.id),
                    rx.input(name="name", default_value=row.name, id="rename-name-" + row.id.to(str), max_length=255),
                    rx.popover.close(rx.button(t("common.save"), type="submit", id="rename-save-" + row.id.to(str))),
                ),
                on_submit=FilesState.rename,
            )
        ),
    )


def _file_row(row: ObjectVar[FileRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(_icon(row)),
        rx.table.row_header_cell(
            rx.cond(
                row.previewable,
                # A button, not a link: a link to "#" would be a navigation (and reload the page's state).
                rx.button(
                    row.name,
                    on_click=FilesState.open_preview(row.id),
                    variant="ghost",
                    type="button",
                    id="preview-" + row.id.to(str),
                ),
                rx.text(row.name),
            )
        ),
        rx.table.cell(row.size),
        rx.table.cell(row.uploader),
        rx.table.cell(row.created),
        rx.table.cell(
            rx.switch(
                checked=row.visible,
                disabled=~row.can_edit,
                on_change=lambda visible: FilesState.set_visible(row.id, visible),
                id="visible-" + row.id.to(str),
                aria_label=t("files.visible"),
            )
        ),
        rx.table.cell(
            rx.hstack(
                # A document navigation (not the app's router): the route answers with a 60 s S3 link.
                rx.link(
                    t("files.download"),
                    href=row.download_url,
                    reload_document=True,
                    id="download-" + row.id.to(str),
                    size="2",
                ),
                rx.cond(
                    row.can_edit,
                    rx.hstack(
                        _rename(row),
                        confirm_button(
                            "files.delete",
                            "files.delete_question",
                            FilesState.delete(row.id),
                            button_id="delete-" + row.id.to(str),
                        ),
                    ),
                ),
                spacing="2",
            )
        ),
        data_testid="file-row",
        data_name=row.name,
    )


def _preview() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(FilesState.preview_name),
            rx.cond(
                FilesState.preview_is_image,
                rx.image(src=FilesState.preview_url, alt=FilesState.preview_name, max_width="100%", id="preview-image"),
                rx.el.iframe(
                    src=FilesState.preview_url,
                    title=FilesState.preview_name,
                    width="100%",
                    height="600px",
                    id="preview-pdf",
                ),
            ),
            rx.hstack(
                rx.button(t("files.close"), on_click=FilesState.close_preview, id="preview-close", variant="soft"),
                justify="end",
                margin_top="1em",
            ),
            max_width="900px",
        ),
        open=FilesState.preview_url != "",
    )


def _usage() -> rx.Component:
    return rx.cond(
        FilesState.show_usage,
        rx.vstack(
            rx.hstack(
                rx.icon("hard_drive"),
                rx.text(t("files.storage")),
                rx.text(FilesState.used, id="storage-used"),
                rx.text("/"),
                rx.text(FilesState.limit, id="storage-limit"),
                spacing="2",
                align="center",
            ),
            rx.progress(value=FilesState.used_percent, max=100, width="240px"),
            spacing="1",
        ),
    )


def files_panel() -> rx.Component:
    return rx.vstack(
        _usage(),
        _drop_zone(),
        rx.cond(
            FilesState.files.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(t(key) if key else "")
                            for key in (
                                "",
                                "files.name",
                                "files.size",
                                "files.uploader",
                                "files.date",
                                "files.visible",
                                "",
                            )
                        ]
                    )
                ),
                rx.table.body(rx.foreach(FilesState.files, _file_row)),
                width="100%",
            ),
            rx.cond(FilesState.loaded, rx.text(t("files.empty"), id="files-empty")),
        ),
        _preview(),
        width="100%",
        spacing="4",
    )
