"""An invoice as PDF (fpdf2, pure Python), with Cyrillic and every other script DejaVu Sans covers.

The font file ships with the code (services/billing/fonts/DejaVuSans.ttf, its license beside it), so
rendering depends on nothing installed on the host. The caller has already checked access
(services.billing.get_invoice): this only draws what it is given.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF, FontFace

from services.billing.invoices import InvoiceInfo
from services.billing.money import format_money

FONT = Path(__file__).resolve().parent / "fonts" / "DejaVuSans.ttf"
FAMILY = "DejaVu"


def _day(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d}" if moment else "—"


def invoice_pdf(invoice: InvoiceInfo, *, seller: str = "Workdash", compress: bool = True) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_compression(compress)
    pdf.set_title(f"Invoice {invoice.number}")
    pdf.set_author(seller)
    pdf.add_font(FAMILY, "", str(FONT))
    pdf.add_page()
    pdf.set_font(FAMILY, size=20)
    pdf.cell(0, 12, f"Invoice {invoice.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=10)
    status = invoice.status.value.upper()
    facts = [
        ("From", seller),
        ("Bill to", invoice.bill_to_name),
        ("Status", status + (f" ({invoice.void_reason})" if invoice.void_reason else "")),
        ("Issued", _day(invoice.issued_at)),
        ("Due", _day(invoice.due_at)),
        ("Period", f"{_day(invoice.period_start)} – {_day(invoice.period_end)}"),
    ]
    for label, value in facts:
        pdf.cell(35, 6, label)
        pdf.multi_cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    widths = (100, 20, 35, 35)
    heading = FontFace(emphasis="", fill_color=(230, 230, 230))  # one font file: no bold face to ask for
    with pdf.table(col_widths=widths, text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"), headings_style=heading) as table:
        table.row(("Description", "Qty", "Unit price", "Amount"))
        for line in invoice.lines:
            table.row(
                (
                    line.description,
                    str(line.quantity),
                    format_money(line.unit_price_minor, invoice.currency),
                    format_money(line.amount_minor, invoice.currency),
                )
            )
    pdf.ln(4)
    rate = f"{invoice.tax_rate_bp / 100:g} %"
    totals = [
        ("Subtotal", format_money(invoice.subtotal_minor, invoice.currency)),
        (f"Tax ({rate})", format_money(invoice.tax_minor, invoice.currency)),
        ("Total", format_money(invoice.total_minor, invoice.currency)),
        ("Paid", format_money(invoice.paid_minor, invoice.currency)),
        ("Balance due", format_money(invoice.balance_minor, invoice.currency)),
    ]
    for label, value in totals:
        pdf.cell(155, 7, label, align="R")
        pdf.cell(35, 7, value, align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
