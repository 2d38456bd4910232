"""The invoice PDF: drawn with the bundled DejaVu Sans, so Cyrillic comes out as real glyphs."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from models import InvoiceStatus
from services.billing import invoice_pdf
from services.billing.invoices import InvoiceInfo, LineInfo
from services.billing.pdf import FONT

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def invoice(name: str) -> InvoiceInfo:
    return InvoiceInfo(
        id=uuid.uuid4(),
        company_id=uuid.uuid4(),
        company_name=name,
        number="ROMASHKA-2026-0001",
        status=InvoiceStatus.OPEN,
        currency="RUB",
        subtotal_minor=100_000,
        tax_rate_bp=2000,
        tax_minor=20_000,
        total_minor=120_000,
        paid_minor=0,
        bill_to_name=name,
        period_start=NOW,
        period_end=NOW,
        issued_at=NOW,
        due_at=NOW,
        paid_at=None,
        void_reason="",
        lines=(LineInfo("Тариф «Команда» (month)", 1, 100_000, 100_000),),
    )


def test_cyrillic_is_embedded_as_glyphs_of_the_bundled_font() -> None:
    pdf = invoice_pdf(invoice("ООО «Ромашка»"), compress=False)
    assert pdf.startswith(b"%PDF") and FONT.exists()
    assert b"/FontFile2" in pdf and b"DejaVu" in pdf  # the TrueType font is embedded (a subset)
    mapped = {int(code, 16) for code in re.findall(rb"<([0-9A-F]{4})>", pdf)}
    assert {ord(c) for c in "ООРомашкаТрифКнд"} <= mapped  # every letter has its glyph and Unicode mapping


def test_the_compressed_pdf_is_a_pdf() -> None:
    pdf = invoice_pdf(invoice("Acme"))
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
