"""Run a coroutine to completion from a synchronous test.

`asyncio.run` refuses to start while another event loop runs in the thread, and the browser tests
(pytest-playwright) leave theirs running in the main thread for the rest of the session; so the
coroutine gets a fresh loop in a thread of its own, with the caller's context variables.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(contextvars.copy_context().run, asyncio.run, coroutine).result()
