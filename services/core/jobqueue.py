"""Enqueue a job for the worker inside the caller's transaction (procrastinate's queue, revision
938036124e90): the job exists if and only if the change that needs it is committed, and the worker
is woken by the queue's NOTIFY at commit. Task names are strings here (the core imports no domain);
services/worker.py defines the tasks under the same names.

Both the app role (may only insert jobs) and the system role can call it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

DEFAULT_QUEUE = "default"


def enqueue(
    session: Session, task_name: str, args: Mapping[str, Any], *, queue: str = DEFAULT_QUEUE, lock: str | None = None
) -> int:
    """Add one job (run once, at the first free worker); returns its id."""
    job_id = session.execute(
        sa.text(
            "SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, :lock, NULL, CAST(:args AS jsonb), NULL)"
            "::procrastinate_job_to_defer_v1]))[1]"
        ),
        {"queue": queue, "task": task_name, "lock": lock, "args": json.dumps(dict(args))},
    ).scalar_one()
    return int(job_id)
