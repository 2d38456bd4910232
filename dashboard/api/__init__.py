"""HTTP on Reflex's backend: our routes (`rx.App(api_transformer=api_app())`) and the security headers
around everything the backend answers.

Reflex mounts its own ASGI app (pages, /_event, /ping, /_upload) under the Starlette app of
`api_app()` at "", so these routes are matched first. `App` wraps the finished ASGI app, built
frontend files and Reflex's own CORS answers included, in dashboard/api/headers.py's middleware.
"""

from __future__ import annotations

import reflex as rx
from starlette.applications import Starlette
from starlette.types import ASGIApp

from dashboard.api import audit, auth, billing, files, tasks
from dashboard.api.headers import with_security_headers


def api_app() -> Starlette:
    return Starlette(routes=[*auth.routes, *audit.routes, *billing.routes, *files.routes, *tasks.routes])


class App(rx.App):
    """rx.App whose ASGI app (what Granian serves: Reflex calls `app()` as a factory) carries the
    security headers on every response. An api_transformer would run inside Reflex's outermost
    Starlette app, whose CORS and error answers would then go out without them."""

    def __call__(self) -> ASGIApp:
        return with_security_headers(super().__call__())
