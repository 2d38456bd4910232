"""Issue 9: what a file's bytes may be and what its name may say (services.work.files), no servers."""

from __future__ import annotations

import io
import zipfile

import pytest

from services.core.storage import content_disposition
from services.work import FileNameInvalid, FileTypeRefused, detect_content_type, sanitize_name


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "shot.PNG", "image/png"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "shot.pdf", "image/png"),  # the bytes decide, not the name
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32, "a.jpg", "image/jpeg"),
        (b"GIF89a" + b"\x00" * 32, "a.gif", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 32, "a.webp", "image/webp"),
        (b"%PDF-1.7\n" + b"x" * 32, "doc", "application/pdf"),
        (
            _zip("[Content_Types].xml", "word/document.xml"),
            "cv.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (_zip("[Content_Types].xml", "word/document.xml"), "cv.zip", "application/zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.xls", "application/vnd.ms-excel"),
        (b"name,amount\nTea,3\n", "sums.csv", "text/csv"),
        ("Привет, мир\n".encode(), "note", "text/plain"),
    ],
)
def test_allowed_types(head: bytes, name: str, expected: str) -> None:
    assert detect_content_type(head, name) == expected


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "holiday.png"),
        (b"<html><body><script>alert(1)</script>", "photo.jpg"),
        (b"\n  <DIV onclick=alert(1)>x</div>", "notes.txt"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "setup.msi"),
        (b"", "empty.txt"),
        (b"\xff\xfe\x00\x00binary", "data.txt"),
    ],
)
def test_refused_types(head: bytes, name: str) -> None:
    with pytest.raises(FileTypeRefused):
        detect_content_type(head, name)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\plan.xlsx", "plan.xlsx"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # a right-to-left override hides the real extension
        ("tab\there\nnew\x00line.txt", "tab here newline.txt"),
        ("  spaced   out  .txt  ", "spaced out .txt"),
        ("zero\u200bwidth.png", "zerowidth.png"),
        ("Cafe\u0301.txt", "Café.txt"),
    ],
)
def test_names_are_sanitised(raw: str, clean: str) -> None:
    assert sanitize_name(raw) == clean


def test_a_long_name_keeps_its_extension() -> None:
    name = sanitize_name("a" * 400 + ".pdf")
    assert len(name) == 255 and name.endswith(".pdf")


@pytest.mark.parametrize("raw", ["", "   ", "../", "\u202e", "..", "dir/"])
def test_names_with_nothing_left_are_refused(raw: str) -> None:
    with pytest.raises(FileNameInvalid):
        sanitize_name(raw)


def test_content_disposition_names_the_file_for_every_browser() -> None:
    assert content_disposition("attachment", 'Отчёт "Q3".pdf') == (
        "attachment; filename=\"_____ _Q3_.pdf\"; filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20%22Q3%22.pdf"
    )
