"""GET /api/projects/<project_id>/tasks.csv: the board as filtered (the same query fields as the board's
filter form), as CSV in UTF-8 with a byte-order mark. `route_requires(Action.TASK_EXPORT)` resolves
the caller; a project the caller may not see, and any malformed argument, is a plain 404."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from dashboard.api.guard import forbidden, route_requires
from dashboard.state.args import task_filter_arg, uuid_arg
from dashboard.state.base import off_loop
from services import work
from services.core.actor import Actor
from services.core.clock import now
from services.core.db import tenant_scope
from services.core.errors import PermissionDenied, ServiceError
from services.core.policy import Action

FILTER_FIELDS = ("assignee", "label", "priority", "due", "search")


def _not_found() -> Response:
    return PlainTextResponse("Not found", status_code=404, headers={"Cache-Control": "no-store"})


def _export(request: Request, actor: Actor) -> Response:
    """Runs in a worker thread."""
    try:
        project_id = uuid_arg(request.path_params.get("project_id", ""))
        filters = task_filter_arg({k: request.query_params.get(k, "") for k in FILTER_FIELDS})
        with tenant_scope(actor) as session:
            body = work.export_csv(session, actor, project_id, filters)
    except PermissionDenied:
        return forbidden()
    except ServiceError:
        return _not_found()
    filename = f"tasks-{now().strftime('%Y%m%d-%H%M%S')}.csv"
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@route_requires(Action.TASK_EXPORT)
async def export_route(request: Request, actor: Actor) -> Response:
    return await off_loop(_export, request, actor)


routes = [Route("/api/projects/{project_id}/tasks.csv", export_route, methods=["GET"])]
