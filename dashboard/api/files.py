"""Files over HTTP: the streamed upload, and downloads/previews as short-lived S3 links.

POST /api/files/upload?project=<id>[&task=<id>]  (body: the file's bytes; `X-File-Name`: its name,
percent-encoded UTF-8; `Content-Length` optional and only used for an early refusal)
  `route_requires(Action.FILE_UPLOAD)`. The body is read as it arrives (`request.stream()`), never
  whole: its first bytes give the type (services.work.detect_content_type), every slice is counted
  against UPLOAD_MAX_BYTES (a body that lies about its length is cut off where it passes the cap,
  whatever the header said), and the bytes go straight to S3 (services.core.storage.ObjectWriter:
  one PUT, or a multipart upload past 5 MiB). Nothing touches the app's disk. Then the row
  (services.work.finish_upload: quota in the same transaction); if that fails, the object is removed.
  Answers: 201 {"id", "name"}; 4xx {"error": <translation key>, "message": <text in the page's
  language>}: 413 too large, 415 type refused, 409 storage limit, archived project or read-only company, 404 no such
  project/task (or another company's), 503 S3 unavailable; 403 without the action (the guard).

GET /api/files/<id>/download and /api/files/<id>/preview
  `route_requires(Action.FILE_VIEW)`; a 303 to a presigned S3 URL valid 60 s (attachment, or inline
  for an image or PDF preview) issued after the check. Another company's id, a malformed one and one
  that names nothing are the same 404. The app's own links never expire; the S3 link does.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from dashboard.api.guard import request_language, route_requires
from dashboard.i18n import error_key, text
from dashboard.state.args import uuid_arg
from dashboard.state.base import off_loop
from services.core import storage
from services.core.actor import Actor
from services.core.db import tenant_scope
from services.core.errors import (
    CompanyReadOnly,
    Conflict,
    LimitReached,
    NotFound,
    PermissionDenied,
    ServiceError,
    ServiceUnavailable,
)
from services.core.policy import Action
from services.work import (
    HEAD_BYTES,
    FileInfo,
    FileNameInvalid,
    FileTooLarge,
    FileTypeRefused,
    UploadTarget,
    begin_upload,
    check_size,
    detect_content_type,
    file_link,
    finish_upload,
    sanitize_name,
)

log = logging.getLogger(__name__)

UPLOAD_PATH = "/api/files/upload"
FLUSH_BYTES = 1024 * 1024  # hand the writer 1 MiB at a time: few thread hops, little memory
MAX_NAME_HEADER = 4096

_STATUS: tuple[tuple[type[ServiceError], int], ...] = (
    (FileTooLarge, 413),
    (FileTypeRefused, 415),
    (NotFound, 404),
    (PermissionDenied, 403),
    (LimitReached, 409),
    (CompanyReadOnly, 409),
    (Conflict, 409),
    (ServiceUnavailable, 503),
)


def _no_store(headers: dict[str, str] | None = None) -> dict[str, str]:
    return {"Cache-Control": "no-store", **(headers or {})}


def _refusal(exc: ServiceError, language: str) -> Response:
    key = error_key(exc.message)
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    return JSONResponse({"error": key, "message": text(key, language)}, status_code=status, headers=_no_store())


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length", "")
    return int(value) if value.isdigit() and len(value) < 20 else None


def _in_scope(fn: Callable[..., Any], actor: Actor, *args: Any, **kwargs: Any) -> Any:
    with tenant_scope(actor) as session:
        return fn(session, actor, *args, **kwargs)


async def _stream_to_s3(request: Request, target: UploadTarget, name: str) -> storage.ObjectWriter:
    """The body, counted and typed as it arrives, into one S3 object; the writer is closed (or aborted
    on any failure, the client going away included)."""
    head = bytearray()
    pending: list[bytes] = []  # slices not yet handed to the writer (no copy of the body is made)
    waiting = 0
    writer: storage.ObjectWriter | None = None
    total = 0
    try:
        async for received in request.stream():
            total += len(received)
            check_size(total)
            chunk = received
            if writer is None:
                head += received
                if len(head) < HEAD_BYTES:
                    continue
                writer = storage.ObjectWriter(target.key, detect_content_type(bytes(head[:HEAD_BYTES]), name))
                chunk, head = bytes(head), bytearray()
            pending.append(chunk)
            waiting += len(chunk)
            if waiting >= FLUSH_BYTES:
                await storage.run_io(writer.write, *pending)
                pending, waiting = [], 0
        if writer is None:  # the whole file was smaller than the head
            writer = storage.ObjectWriter(target.key, detect_content_type(bytes(head), name))
            pending = [bytes(head)]
        if pending:
            await storage.run_io(writer.write, *pending)
        await storage.run_io(writer.close)
        return writer
    except BaseException:
        if writer is not None:
            await storage.run_io(writer.abort)
        raise


@route_requires(Action.FILE_UPLOAD)
async def upload_route(request: Request, actor: Actor) -> Response:
    language = request_language(request)
    try:
        project_id = uuid_arg(request.query_params.get("project", ""))
        task_param = request.query_params.get("task", "")
        task_id = uuid_arg(task_param) if task_param else None
        raw_name = request.headers.get("x-file-name", "")
        name = sanitize_name(unquote(raw_name[:MAX_NAME_HEADER], errors="strict"))
        target: UploadTarget = await off_loop(
            _in_scope, begin_upload, actor, project_id, task_id, _declared_length(request)
        )
        writer = await _stream_to_s3(request, target, name)
    except ServiceError as exc:
        return _refusal(exc, language)
    except UnicodeDecodeError:
        return _refusal(FileNameInvalid(), language)
    except ClientDisconnect:
        return PlainTextResponse("Client went away", status_code=400, headers=_no_store())
    try:
        info: FileInfo = await off_loop(
            lambda: _in_scope(
                finish_upload,
                actor,
                target,
                name=name,
                content_type=writer.content_type,
                size_bytes=writer.size,
                sha256=writer.sha256,
            )
        )
    except BaseException as exc:
        # Object first, then row: no row, so the object must go too (else the clean-up job takes it).
        try:
            await storage.run_io(storage.delete_objects, [target.key])
        except ServiceError:
            log.warning("could not remove the object of a failed upload: %s", target.key)
        if isinstance(exc, ServiceError):
            return _refusal(exc, language)
        raise
    return JSONResponse({"id": str(info.id), "name": info.name}, status_code=201, headers=_no_store())


async def _link(request: Request, actor: Actor, *, preview: bool) -> Response:
    try:
        file_id: uuid.UUID = uuid_arg(request.path_params.get("file_id", ""))
        url: str = await off_loop(lambda: _in_scope(file_link, actor, file_id, preview=preview))
    except ServiceError as exc:
        return _refusal(exc, request_language(request))
    return RedirectResponse(url, status_code=303, headers=_no_store())


@route_requires(Action.FILE_VIEW)
async def download_route(request: Request, actor: Actor) -> Response:
    return await _link(request, actor, preview=False)


@route_requires(Action.FILE_VIEW)
async def preview_route(request: Request, actor: Actor) -> Response:
    return await _link(request, actor, preview=True)


def file_url(file_id: str, *, preview: bool) -> str:
    return f"/api/files/{file_id}/{'preview' if preview else 'download'}"


routes = [
    Route(UPLOAD_PATH, upload_route, methods=["POST"]),
    Route("/api/files/{file_id}/download", download_route, methods=["GET"]),
    Route("/api/files/{file_id}/preview", preview_route, methods=["GET"]),
]
