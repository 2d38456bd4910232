"""Billing's HTTP routes.

POST /api/billing/webhook: the payment provider's signed events (services.billing.webhooks says what
is checked and what each status means). No session and no origin check: the caller is a server,
authenticated by the HMAC signature alone. The work runs in a worker thread in one system-scope
transaction, committed only when the event was processed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dashboard.state.base import off_loop
from services import billing
from services.core.db import system_scope


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
