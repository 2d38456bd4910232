"""Billing's HTTP routes.

GET /api/billing/invoices/{id}/pdf: an invoice's PDF for the company's manager or the operator
(route_requires(Action.INVOICE_DOWNLOAD)); another company's invoice is 404, like a missing one.

POST /api/billing/webhook: the payment provider's signed events (services.billing.webhooks says what
is checked and what each status means). No session and no origin check: the caller is a server,
authenticated by the HMAC signature alone. The work runs in a worker thread in one system-scope
transaction, committed only when the event was processed.
"""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from dashboard.api.guard import route_requires
from dashboard.state.args import uuid_arg
from dashboard.state.base import off_loop
from services import billing
from services.core.actor import Actor
from services.core.db import system_scope, tenant_scope
from services.core.errors import NotFound
from services.core.policy import Action


def _handle(body: bytes, signature: str | None) -> billing.WebhookAnswer:
    with system_scope() as session:
        answer = billing.handle_provider_event(session, body, signature)
        if answer.outcome != "processed":
            session.rollback()  # refusals, duplicates and ignored events write nothing
        return answer


async def webhook_route(request: Request) -> Response:
    body = await request.body()
    answer = await off_loop(_handle, body, request.headers.get(billing.SIGNATURE_HEADER))
    return JSONResponse({"status": answer.outcome}, status_code=answer.status, headers={"Cache-Control": "no-store"})


routes = [Route("/api/billing/webhook", webhook_route, methods=["POST"])]


@route_requires(Action.INVOICE_DOWNLOAD)
async def invoice_pdf_route(request: Request, actor: Actor) -> Response:
    """GET /api/billing/invoices/{id}/pdf: the company's manager or the operator; another company's
    invoice, or no such id, is 404 (services.billing.get_invoice through services.core.access)."""
    raw = str(request.path_params.get("invoice_id", ""))
    try:
        invoice_id = uuid_arg(raw)
        content, number = await off_loop(_render, actor, invoice_id)
    except NotFound:
        return PlainTextResponse("Not found", status_code=404, headers={"Cache-Control": "no-store"})
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{number}.pdf"', "Cache-Control": "no-store"},
    )


def _render(actor: Actor, invoice_id: uuid.UUID) -> tuple[bytes, str]:
    with tenant_scope(actor) as session:
        invoice = billing.get_invoice(session, actor, invoice_id)
    return billing.invoice_pdf(invoice), invoice.number


routes.append(Route("/api/billing/invoices/{invoice_id}/pdf", invoice_pdf_route, methods=["GET"]))
