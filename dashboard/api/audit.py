"""GET /api/audit/export.csv: the audit log as a streamed CSV download.

A plain HTTP route, so it resolves the Actor itself from our session cookie (system scope: no
tenant is known yet), then works in the actor's tenant scope. The answers reveal nothing: 403 for
no session, another origin (dashboard/api/origins.py) or a role without Action.AUDIT_EXPORT (or
another company's filter); 404 for a malformed filter. The export's audit entry is committed before the first row is sent,
so an abandoned download is still on record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from dashboard.api.auth import client_ip
from dashboard.api.origins import origin_allowed
from dashboard.state.args import FILTER_FIELDS, audit_filter_arg
from dashboard.state.base import session_token_from_cookie_header
from services import audit
from services.core.clock import now
from services.core.db import tenant_scope
from services.core.errors import PermissionDenied, ServiceError
from services.core.policy import Action, scope_for
from services.identity import resolve_actor

log = logging.getLogger(__name__)


def _forbidden() -> Response:
    return PlainTextResponse("Forbidden", status_code=403, headers={"Cache-Control": "no-store"})


def _not_found() -> Response:
    return PlainTextResponse("Not found", status_code=404, headers={"Cache-Control": "no-store"})


def _start_export(request: Request) -> Response:
    """Runs in a worker thread: resolve the actor, open the scope, start the export (or refuse)."""
    actor = resolve_actor(
        session_token_from_cookie_header(request.headers.get("cookie")),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    if actor is None or scope_for(actor, Action.AUDIT_EXPORT) is None:
        return _forbidden()
    try:
        filters = audit_filter_arg({k: request.query_params.get(k, "") for k in FILTER_FIELDS})
    except ServiceError:
        return _not_found()

    stack = ExitStack()
    try:
        session = stack.enter_context(tenant_scope(actor))
        lines = audit.export_csv(session, actor, filters)
        session.commit()  # the audit_exported entry; the rows are read in the scope's next transaction
    except BaseException as exc:
        stack.close()
        if isinstance(exc, PermissionDenied):
            return _forbidden()
        if isinstance(exc, ServiceError):
            return _not_found()
        raise

    def body() -> Iterator[str]:
        with stack:  # commits after the last row, rolls back if the download is abandoned
            yield from lines

    filename = f"audit-{now().strftime('%Y%m%d-%H%M%S')}.csv"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


async def export_route(request: Request) -> Response:
    if not origin_allowed(request.headers):
        return _forbidden()
    try:
        return await run_in_threadpool(_start_export, request)
    except Exception:
        log.exception("audit export failed")
        return PlainTextResponse("Error", status_code=500, headers={"Cache-Control": "no-store"})


routes = [Route("/api/audit/export.csv", export_route, methods=["GET"])]
