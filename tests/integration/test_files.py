"""Issue 9: files on S3, through the real upload route, the services and the real S3 server.

The rows are committed for real (the route opens its own transactions), the objects are real
objects in the test bucket; both are removed after each test (the company and its prefix).
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import botocore.auth
import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from dashboard.api import api_app
from dashboard.api import files as files_route
from models import AuditLog, Company, Role, StoredFile
from services.core import clock, storage
from services.core.actor import Actor
from services.core.db import system_scope, tenant_scope
from services.core.errors import NotFound
from services.core.settings import get_settings
from services.identity import actor_for, open_session, session_cookie_name
from services.work import (
    FileNotYours,
    StorageFull,
    begin_upload,
    clean_up_files,
    delete_file,
    finish_upload,
    list_files,
    remove_files_after_commit,
    rename_file,
    set_file_visible,
    storage_usage,
)
from tests.factories import add_member, make_company, make_project, make_task, make_user
from tests.run_async import run_async
from tests.smtp_server import use_settings

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n" + b"x" * 200
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 500


@dataclass
class Place:
    company_id: uuid.UUID
    other_company_id: uuid.UUID
    project_id: uuid.UUID
    task_id: uuid.UUID
    manager: Actor
    worker: Actor  # on the project
    colleague: Actor  # another worker on the project
    stranger: Actor  # a manager of another company
    cookies: dict[str, str]  # role name -> session token

    def prefix(self) -> str:
        return f"companies/{self.company_id}/"


@pytest.fixture
def place(owner_engine: Engine, migrated_database: str) -> Iterator[Place]:
    with system_scope() as session:
        company, other = make_company(session, "Files Ltd"), make_company(session, "Elsewhere Inc")
        manager = make_user(session, company, Role.MANAGER)
        worker = make_user(session, company, Role.WORKER, full_name="Wendy Worker")
        colleague = make_user(session, company, Role.WORKER)
        stranger = make_user(session, other, Role.MANAGER)
        project = make_project(session, company)
        add_member(session, project, worker)
        add_member(session, project, colleague)
        task = make_task(session, project)
        tokens = {
            name: open_session(session, user, ip="192.0.2.1", user_agent="pytest")
            for name, user in (("manager", manager), ("worker", worker), ("stranger", stranger))
        }
        result = Place(
            company_id=company.id,
            other_company_id=other.id,
            project_id=project.id,
            task_id=task.id,
            manager=actor_for(manager, company),
            worker=actor_for(worker, company),
            colleague=actor_for(colleague, company),
            stranger=actor_for(stranger, other),
            cookies=tokens,
        )
    try:
        yield result
    finally:
        with system_scope(owner_engine) as session:
            for company_id in (result.company_id, result.other_company_id):
                company = session.get(Company, company_id)
                if company is not None:  # a test may have deleted it
                    session.delete(company)
        storage.delete_objects(o.key for o in storage.list_objects(result.prefix()))
        storage.abort_stale_multipart_uploads(result.prefix(), clock.now() + timedelta(days=1))


# ---- helpers ------------------------------------------------------------------------------------


def _upload(
    place: Place,
    body: bytes | AsyncIterator[bytes],
    name: str,
    *,
    who: str = "worker",
    task: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    query = f"project={place.project_id}" + (f"&task={place.task_id}" if task else "")

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=api_app(), client=("192.0.2.1", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
            return await client.post(
                f"{files_route.UPLOAD_PATH}?{query}",
                content=body,
                headers={
                    "cookie": f"{session_cookie_name()}={place.cookies[who]}",
                    "origin": "http://localhost:8000",
                    "x-file-name": quote(name),
                    "x-language": "en",
                    **(headers or {}),
                },
            )

    return run_async(go())


def _get(place: Place, path: str, who: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=api_app(), client=("192.0.2.1", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8000") as client:
            return await client.get(path, headers={"cookie": f"{session_cookie_name()}={place.cookies[who]}"})

    return run_async(go())


def _rows(place: Place) -> list[StoredFile]:
    with system_scope() as session:
        return list(session.exec(select(StoredFile).where(col(StoredFile.company_id) == place.company_id)).all())


def _objects(place: Place) -> list[storage.StoredObject]:
    return list(storage.list_objects(place.prefix()))


def _fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


# ---- uploads ------------------------------------------------------------------------------------


def test_an_upload_streams_to_s3_and_becomes_a_row(place: Place) -> None:
    answer = _upload(place, PNG, "../../etc/scre\u202eenshot.png")
    assert answer.status_code == 201, answer.text
    (row,) = _rows(place)
    assert row.display_name == "screenshot.png"  # no path part, no bidi override
    assert row.content_type == "image/png" and row.size_bytes == len(PNG)
    assert row.storage_key.startswith(f"companies/{place.company_id}/{place.project_id}/")
    assert row.visible_to_client is False
    assert storage.object_size(row.storage_key) == len(PNG)
    with tenant_scope(place.worker) as session:
        (info,) = list_files(session, place.worker, place.project_id)
    assert info.name == "screenshot.png" and info.uploaded_by == "Wendy Worker" and info.can_edit


def test_a_large_upload_goes_as_multipart(place: Place) -> None:
    body = PDF + b"\x01" * (storage.PART_BYTES * 2 + 12345)
    with use_settings(UPLOAD_MAX_BYTES=str(30 * 1024 * 1024)):
        answer = _upload(place, body, "big.pdf")
    assert answer.status_code == 201, answer.text
    (row,) = _rows(place)
    assert storage.object_size(row.storage_key) == len(body) == row.size_bytes
    assert row.sha256 == hashlib.sha256(body).hexdigest()


def test_a_task_attachment_belongs_to_its_task(place: Place) -> None:
    assert _upload(place, b"plain notes\n", "notes.txt", task=True).status_code == 201
    with tenant_scope(place.worker) as session:
        assert [f.name for f in list_files(session, place.worker, place.project_id, place.task_id)] == ["notes.txt"]
        assert list_files(session, place.worker, place.project_id) == []


def test_the_size_cap_holds_whatever_the_length_header_says(place: Place) -> None:
    async def lying_body() -> AsyncIterator[bytes]:
        yield PNG
        for _ in range(40):
            yield b"\x00" * 1024

    with use_settings(UPLOAD_MAX_BYTES="20000"):
        # A declared length over the cap is refused before a byte is read.
        assert _upload(place, PNG, "a.png", headers={"content-length": "20001"}).status_code == 413
        answer = _upload(place, lying_body(), "b.png", headers={"content-length": "100"})
    assert answer.status_code == 413
    assert answer.json() == {"error": "error.file_too_large", "message": answer.json()["message"]}
    assert "too large" in answer.json()["message"]
    assert _rows(place) == [] and _objects(place) == []


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (EXE, "holiday.png"),
        (b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>", "photo.jpg"),
        (b"<div onmouseover=alert(1)>hi</div>", "photo.jpg"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.png"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "notes.txt"),
    ],
    ids=["exe-as-png", "html-as-jpg", "bare-html", "svg-with-script", "xml-svg-as-png", "elf-as-txt"],
)
def test_the_type_comes_from_the_bytes(place: Place, body: bytes, name: str) -> None:
    answer = _upload(place, body, name)
    assert answer.status_code == 415, answer.text
    assert answer.json()["error"] == "error.file_type_refused"
    assert _rows(place) == [] and _objects(place) == []


def test_the_quota_refuses_and_leaves_nothing(place: Place) -> None:
    with use_settings(STORAGE_QUOTA_BYTES=str(len(PDF) + 10)):
        assert _upload(place, PDF, "first.pdf").status_code == 201
        answer = _upload(place, PDF, "second.pdf")
        assert answer.status_code == 409 and answer.json()["error"] == "error.limit_storage"
        with tenant_scope(place.manager) as session:
            usage = storage_usage(session, place.manager)
    assert usage.used_bytes == len(PDF) and usage.limit_bytes == len(PDF) + 10
    assert len(_rows(place)) == 1 and len(_objects(place)) == 1


def test_of_two_uploads_racing_past_the_quota_at_most_one_wins(place: Place) -> None:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def race(actor: Actor) -> None:
        with tenant_scope(actor) as session:
            target = begin_upload(session, actor, place.project_id, None, 600)
        barrier.wait()
        try:
            with tenant_scope(actor) as session:
                finish_upload(
                    session, actor, target, name="r.txt", content_type="text/plain", size_bytes=600, sha256="0" * 64
                )
            outcomes.append("won")
        except StorageFull:
            outcomes.append("full")

    with use_settings(STORAGE_QUOTA_BYTES="1000"):
        threads = [threading.Thread(target=race, args=(a,)) for a in (place.worker, place.colleague)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes) == ["full", "won"]
    assert sum(r.size_bytes for r in _rows(place)) == 600


class _CuttingProxy:
    """A TCP proxy to the S3 server that drops every connection once `limit` bytes went upstream:
    the S3 server gone in the middle of an upload."""

    def __init__(self, upstream: tuple[str, int], limit: int) -> None:
        self.upstream, self.limit, self.sent = upstream, limit, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(65536):
                if counted:
                    with self._lock:
                        self.sent += len(data)
                        cut = self.sent > self.limit
                    if cut:
                        break
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.server.close()


def test_s3_gone_mid_upload_leaves_no_row_and_no_orphan(place: Place, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = httpx.URL(get_settings().s3_endpoint_url or "")
    proxy = _CuttingProxy((endpoint.host, endpoint.port or 80), limit=storage.PART_BYTES + 1024 * 1024)
    body = PDF + b"\x02" * (storage.PART_BYTES * 3)
    try:
        with use_settings(S3_ENDPOINT_URL=f"http://127.0.0.1:{proxy.port}", UPLOAD_MAX_BYTES=str(64 * 1024 * 1024)):
            answer = _upload(place, body, "doomed.pdf")
    finally:
        proxy.close()
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "error.storage_unavailable"
    assert _rows(place) == []
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=2))
    with system_scope() as session:
        clean_up_files(session)
    assert _objects(place) == []
    uploads = storage.client().list_multipart_uploads(Bucket=storage.bucket(), Prefix=place.prefix())
    assert uploads.get("Uploads", []) == []


def test_a_failed_row_insert_removes_the_object(place: Place, monkeypatch: pytest.MonkeyPatch) -> None:
    real = files_route.finish_upload

    def failing(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise OperationalError("INSERT INTO files", {}, Exception("connection lost"))

    monkeypatch.setattr(files_route, "finish_upload", failing)
    answer = _upload(place, PDF, "lost.pdf")
    assert answer.status_code == 500
    assert _rows(place) == [] and _objects(place) == []


# ---- links --------------------------------------------------------------------------------------


def test_downloads_and_previews_are_presigned_links_that_expire(place: Place, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _upload(place, PDF, 'Отчёт "Q3".pdf').status_code == 201
    (row,) = _rows(place)
    download = _get(place, f"/api/files/{row.id}/download", "worker")
    assert download.status_code == 303
    status, headers, content = _fetch(download.headers["location"])
    assert status == 200 and content == PDF
    assert headers["Content-Disposition"].startswith('attachment; filename="')
    assert "filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20%22Q3%22.pdf" in headers["Content-Disposition"]
    preview = _get(place, f"/api/files/{row.id}/preview", "manager")
    status, headers, _ = _fetch(preview.headers["location"])
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith("inline;")
    assert "X-Amz-Expires=60" in preview.headers["location"]
    # A link signed 61 s ago (the same as one copied to another browser a minute ago) is dead.
    signed_at = botocore.auth.get_current_datetime() - timedelta(seconds=61)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at)
    old = _get(place, f"/api/files/{row.id}/download", "worker").headers["location"]
    assert _fetch(old)[0] == 403


def test_another_company_gets_nothing(place: Place) -> None:
    assert _upload(place, PNG, "secret.png").status_code == 201
    (row,) = _rows(place)
    for path in (f"/api/files/{row.id}/download", f"/api/files/{row.id}/preview", "/api/files/not-an-id/download"):
        answer = _get(place, path, "stranger")
        assert answer.status_code == 404 and "location" not in answer.headers
    # The object key itself, unsigned, on the S3 server: the bucket is private.
    endpoint = (get_settings().s3_endpoint_url or "").rstrip("/")
    assert _fetch(f"{endpoint}/{storage.bucket()}/{row.storage_key}")[0] == 403
    # Uploading into their project.
    stranger_upload = _upload(place, PNG, "x.png", who="stranger")
    assert stranger_upload.status_code == 404
    with tenant_scope(place.stranger) as session, pytest.raises(NotFound):
        rename_file(session, place.stranger, row.id, "mine.png")


def test_no_preview_for_what_is_not_an_image_or_a_pdf(place: Place) -> None:
    assert _upload(place, b"a,b\n1,2\n", "table.csv").status_code == 201
    (row,) = _rows(place)
    assert row.content_type == "text/csv"
    assert _get(place, f"/api/files/{row.id}/preview", "worker").status_code == 400
    assert _get(place, f"/api/files/{row.id}/download", "worker").status_code == 303


# ---- changes ------------------------------------------------------------------------------------


def test_rename_visibility_and_delete_by_uploader_or_manager_audited(place: Place) -> None:
    assert _upload(place, PNG, "a.png").status_code == 201
    (row,) = _rows(place)
    with tenant_scope(place.colleague) as session, pytest.raises(FileNotYours):
        rename_file(session, place.colleague, row.id, "b.png")
    with tenant_scope(place.worker) as session:
        assert rename_file(session, place.worker, row.id, "  plan\u200b.png ").name == "plan.png"
    with tenant_scope(place.manager) as session:
        assert set_file_visible(session, place.manager, row.id, True).visible_to_client
    with tenant_scope(place.colleague) as session, pytest.raises(FileNotYours):
        delete_file(session, place.colleague, row.id)
    with tenant_scope(place.worker) as session:
        delete_file(session, place.worker, row.id)
        assert storage.object_size(row.storage_key) == len(PNG)  # not before the commit
    assert storage.object_size(row.storage_key) is None and _rows(place) == []
    with system_scope() as session:
        actions = session.exec(
            select(AuditLog.action).where(
                col(AuditLog.company_id) == place.company_id, col(AuditLog.target_type) == "file"
            )
        ).all()
    assert sorted(actions) == ["file_created", "file_deleted", "file_updated", "file_updated"]


def test_a_rolled_back_delete_keeps_the_object(place: Place) -> None:
    assert _upload(place, PNG, "keep.png").status_code == 201
    (row,) = _rows(place)
    with pytest.raises(RuntimeError), tenant_scope(place.worker) as session:
        delete_file(session, place.worker, row.id)
        raise RuntimeError("something after the delete failed")
    assert storage.object_size(row.storage_key) == len(PNG) and len(_rows(place)) == 1


@pytest.mark.parametrize("what", ["task", "project", "company"])
def test_deleting_a_task_project_or_company_removes_its_objects(place: Place, what: str, owner_engine: Engine) -> None:
    assert _upload(place, PNG, "on-task.png", task=True).status_code == 201
    assert _upload(place, PDF, "on-project.pdf").status_code == 201
    rows = {r.display_name: r for r in _rows(place)}
    from models import Project, Task

    with system_scope(owner_engine) as session:
        if what == "task":
            remove_files_after_commit(session, place.company_id, task_id=place.task_id)
            session.delete(session.get(Task, place.task_id))
        elif what == "project":
            remove_files_after_commit(session, place.company_id, project_id=place.project_id)
            session.delete(session.get(Project, place.project_id))
        else:
            remove_files_after_commit(session, place.company_id)
            session.delete(session.get(Company, place.company_id))
    assert storage.object_size(rows["on-task.png"].storage_key) is None
    project_object = storage.object_size(rows["on-project.pdf"].storage_key)
    assert project_object == (len(PDF) if what == "task" else None)


# ---- clean-up -----------------------------------------------------------------------------------


def test_clean_up_removes_old_orphans_and_reports_rows_without_objects(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _upload(place, PNG, "kept.png").status_code == 201
    assert _upload(place, PDF, "lost.pdf").status_code == 201
    rows = {r.display_name: r for r in _rows(place)}
    storage.delete_objects([rows["lost.pdf"].storage_key])  # its bytes vanished
    orphan = f"{place.prefix()}{place.project_id}/{uuid.uuid4()}"
    storage.put_object(orphan, b"left behind", "text/plain")
    with system_scope() as session:
        young = clean_up_files(session)
    assert storage.object_size(orphan) is not None  # less than a day old: maybe an upload under way
    assert young.orphan_objects >= 1
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=1, minutes=1))
    with system_scope() as session:
        report = clean_up_files(session)
    assert storage.object_size(orphan) is None
    assert storage.object_size(rows["kept.png"].storage_key) == len(PNG)
    assert str(rows["lost.pdf"].id) in report.rows_without_object
    assert str(rows["kept.png"].id) not in report.rows_without_object


def test_an_archived_project_takes_no_uploads(place: Place, owner_engine: Engine) -> None:
    from models import Project, ProjectStatus

    with system_scope(owner_engine) as session:
        project = session.get(Project, place.project_id)
        assert project is not None
        project.status = ProjectStatus.ARCHIVED
        session.add(project)
    answer = _upload(place, PNG, "late.png")
    assert answer.status_code == 409 and answer.json()["error"] == "error.project_archived"
    assert _objects(place) == []
