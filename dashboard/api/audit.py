"""GET /api/audit/export.csv: the audit log as a streamed CSV download.

`route_requires(Action.AUDIT_EXPORT)` resolves the Actor from our session cookie; the export then
works in the actor's tenant scope, in worker threads: one short transaction per batch of rows, ended
before the batch's lines are sent, so a slow reader holds no pooled database connection. The answers reveal nothing: 403 for no
session, another origin (dashboard/api/origins.py) or a role without Action.AUDIT_EXPORT (or another company's filter); 404 for
a malformed filter. The export's audit entry is committed before the first row is sent,
so an abandoned download is still on record.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from dashboard.api.guard import forbidden, request_language, route_requires
from dashboard.i18n import text
from dashboard.state.args import FILTER_FIELDS, audit_filter_arg
from dashboard.state.base import off_loop
from services import audit
from services.core.actor import Actor
from services.core.clock import now
from services.core.db import tenant_scope
from services.core.errors import PermissionDenied, ServiceError
from services.core.policy import Action


def _not_found() -> Response:
    return PlainTextResponse("Not found", status_code=404, headers={"Cache-Control": "no-store"})


def _start_export(request: Request, actor: Actor) -> Response:
    """Runs in a worker thread: open the scope, start the export (or refuse)."""
    try:
        filters = audit_filter_arg({k: request.query_params.get(k, "") for k in FILTER_FIELDS})
    except ServiceError:
        return _not_found()

    stack = ExitStack()
    try:
        session = stack.enter_context(tenant_scope(actor))
        lines = audit.export_csv(
            session,
            actor,
            filters,
            operator_label=text("audit.operator", request_language(request)),
            between_batches=session.commit,  # the connection goes back to the pool while the client reads
        )
        session.commit()  # the audit_exported entry; the rows are read in the scope's next transactions
    except BaseException as exc:
        stack.close()
        if isinstance(exc, PermissionDenied):
            return forbidden()
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


@route_requires(Action.AUDIT_EXPORT)
async def export_route(request: Request, actor: Actor) -> Response:
    return await off_loop(_start_export, request, actor)


routes = [Route("/api/audit/export.csv", export_route, methods=["GET"])]
