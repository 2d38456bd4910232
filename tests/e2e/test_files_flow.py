"""Issue 9 in the browser: a worker uploads three files on the project's Files page and sees a
progress bar for each, one refused with its reason; previews an image and a PDF in the page;
downloads a file. A user of another company gets nothing from the file's id, its object key or an
expired link."""

from __future__ import annotations

import struct
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import Engine, create_engine, text

from services.core.db import system_scope
from tests import conftest
from tests.e2e.conftest import goto, login_as
from tests.e2e.ws import login_cookie
from tests.security.world import PASSWORD, World, build_world

pytestmark = pytest.mark.e2e


def _png() -> bytes:
    """A real 2x2 red PNG (the browser must be able to draw the thumbnail)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 2000


@pytest.fixture(scope="module")
def owner(e2e_database: tuple[str, str]) -> Iterator[Engine]:
    engine = create_engine(e2e_database[0])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def world(owner: Engine) -> World:
    with system_scope(owner) as session:
        built = build_world(session)
        session.expunge_all()
    return built


def _drawn(page: Page, image: Locator) -> None:
    """The image was loaded and decoded (a blocked or broken one has no natural width)."""
    for _ in range(100):
        if image.evaluate("(img) => img.complete && img.naturalWidth") == 2:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{image} was not drawn")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_upload_preview_download_and_nothing_for_another_company(
    page: Page, browser: Browser, app_url: str, world: World, owner: Engine, test_env: conftest.TestServers
) -> None:
    worker, project = world.own.worker_in, world.own.project
    login_as(page, app_url, worker.email, PASSWORD)
    goto(page, app_url, f"/projects/{project.id}/files")
    expect(page.locator("[data-testid=file-row]")).to_have_count(1)  # the world's own file

    page.set_input_files(
        "#files-input",
        files=[
            {"name": "photo.png", "mimeType": "image/png", "buffer": _png()},
            {"name": "brief.pdf", "mimeType": "application/pdf", "buffer": PDF},
            {"name": "cat.png", "mimeType": "image/png", "buffer": EXE},
        ],
    )
    rows = page.locator("[data-testid=upload-row]")
    expect(rows).to_have_count(3)
    expect(rows.locator("progress")).to_have_count(3)
    expect(rows.filter(has_text="photo.png")).to_have_attribute("data-state", "done")
    expect(rows.filter(has_text="brief.pdf")).to_have_attribute("data-state", "done")
    refused = rows.filter(has_text="cat.png")
    expect(refused).to_have_attribute("data-state", "refused")
    expect(refused).to_contain_text("not allowed")
    expect(page.locator("[data-testid=file-row]")).to_have_count(3)

    with owner.connect() as conn:
        conn.execute(text("SET app.rls_bypass = 'on'"))
        ids = dict(
            conn.execute(
                text("SELECT display_name, id::text FROM files WHERE project_id = :p"), {"p": project.id}
            ).all()
        )
        key = conn.execute(text("SELECT storage_key FROM files WHERE id = :i"), {"i": ids["brief.pdf"]}).scalar_one()
    image_id, pdf_id = ids["photo.png"], ids["brief.pdf"]

    # A presigned link as the worker's browser gets it now; it will be stale by the end.
    early = page.request.get(f"{app_url}/api/files/{pdf_id}/download", max_redirects=0)
    assert early.status == 303
    stale_link = early.headers["location"]

    # The thumbnail is drawn (from S3, inside the page's Content-Security-Policy).
    thumb = page.locator("[data-testid=file-row][data-name='photo.png'] img")
    expect(thumb).to_be_visible()
    _drawn(page, thumb)

    page.click(f"#preview-{image_id}")
    preview = page.locator("#preview-image")
    expect(preview).to_be_visible()
    _drawn(page, preview)
    page.click("#preview-close")
    expect(preview).to_have_count(0)

    page.click(f"#preview-{pdf_id}")
    frame = page.locator("#preview-pdf")
    expect(frame).to_be_visible()
    assert frame.get_attribute("src") == f"/api/files/{pdf_id}/preview"
    inline = page.request.get(f"{app_url}/api/files/{pdf_id}/preview")
    assert inline.ok and inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith("inline;") and inline.body() == PDF
    page.click("#preview-close")

    with page.expect_download() as download:
        page.click(f"#download-{pdf_id}")
    assert download.value.suggested_filename == "brief.pdf"

    # Another company: the id, the object key and the (expired) link give nothing.
    stranger = world.other.manager
    cookie = login_cookie(app_url, stranger.email, PASSWORD)
    for what in ("download", "preview"):
        answer = httpx.get(f"{app_url}/api/files/{pdf_id}/{what}", cookies={"wd_session": cookie}, timeout=30)
        assert answer.status_code == 404 and "location" not in answer.headers
    assert _status(f"{test_env.s3_endpoint_url.rstrip('/')}/{test_env.s3_bucket}/{key}") == 403
    context = browser.new_context()
    try:
        other = context.new_page()
        login_as(other, app_url, stranger.email, PASSWORD)
        goto(other, app_url, f"/projects/{project.id}/files")
        expect(other.locator("[data-testid=file-row]")).to_have_count(0)
        signed = parse_qs(urlsplit(stale_link).query)
        signed_at = time.mktime(time.strptime(signed["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")) - time.timezone
        time.sleep(max(0.0, signed_at + 62 - time.time()))  # the link's 60 s are over
        assert other.request.get(stale_link).status == 403
    finally:
        context.close()
