"""HTTP routes mounted on Reflex's backend (`rx.App(api_transformer=api_app())`).

Reflex mounts its own ASGI app (pages, /_event, /ping, /_upload) under this Starlette app at "",
so these routes are matched first.
"""

from __future__ import annotations

from starlette.applications import Starlette

from dashboard.api import audit, auth


def api_app() -> Starlette:
    return Starlette(routes=[*auth.routes, *audit.routes])
