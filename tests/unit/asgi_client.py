"""Requests to an ASGI app in-process, through httpx's ASGI transport (no server, no lifespan)."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.types import ASGIApp

from tests.run_async import run_async


def request(app: ASGIApp, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://work.example.com") as client:
            return await client.request(method, url, **kwargs)

    return run_async(send())
