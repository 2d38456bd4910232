"""What the board benchmarks share: their own PostgreSQL/Redis/S3 (devtools), the demo data plus big
projects of Acme (N tasks spread over the columns), our app started with `reflex run --env prod`,
and a websocket client that loads a board and sends board events.

Used by bench/board_move_cpu.py, bench/board_live.py and bench/board_open.py.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import socketio
from sqlalchemy import create_engine, text

from bench.guard_cpu import frontend_env, manager_cookie, prepare_database, start_reflex
from devtools import devstack

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "/_event"
STATUSES = ("backlog", "todo", "in_progress", "review", "done", "approved", "rejected")


@dataclass
class Stack:
    root: Path
    urls: Any
    backing: list[int]


@contextmanager
def stack() -> Iterator[Stack]:
    root = Path(tempfile.mkdtemp(prefix="workdash-board-bench-"))
    embedded = devstack.EmbeddedStack(
        root / "stack",
        devstack.StackPorts(devstack.free_port(), devstack.free_port(), devstack.free_s3_port()),
        persistent=False,
    )
    try:
        urls = embedded.start()
        os.environ.update(urls.environ())
        os.environ.setdefault("ENV", "test")
        from services.core.settings import get_settings

        get_settings.cache_clear()
        prepare_database(urls)
        backing = [proc.pid for proc in getattr(embedded, "_procs", {}).values() if proc.pid]
        yield Stack(root, urls, backing)
    finally:
        embedded.stop()
        shutil.rmtree(root, ignore_errors=True)


def add_project(urls: Any, key: str, tasks: int) -> str:
    """A project of Acme (the demo worker on it) with `tasks` tasks over the columns; its id."""
    engine = create_engine(urls.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL app.rls_bypass = 'on'"))
            company = conn.execute(text("SELECT id FROM companies WHERE slug = 'acme'")).scalar_one()
            worker = conn.execute(text("SELECT id FROM users WHERE email = 'worker@acme.example.com'")).scalar_one()
            project = conn.execute(
                text(
                    "INSERT INTO projects (id, company_id, name, key, task_counter) "
                    "VALUES (gen_random_uuid(), :c, :n, :k, :t) RETURNING id"
                ),
                {"c": company, "n": f"Bench {key}", "k": key, "t": tasks},
            ).scalar_one()
            conn.execute(
                text("INSERT INTO project_members (project_id, user_id, company_id) VALUES (:p, :u, :c)"),
                {"p": project, "u": worker, "c": company},
            )
            conn.execute(
                text(
                    "INSERT INTO tasks (id, company_id, project_id, number, title, description, status, position,"
                    " assignee_id) SELECT gen_random_uuid(), :c, :p, n, 'Task number ' || n,"
                    " 'Some words about task ' || n, ((:s)::text[])[1 + n % 7]::task_status, n * 1024.0,"
                    " CASE WHEN n % 3 = 0 THEN :u END FROM generate_series(1, :t) AS n"
                ),
                {"c": company, "p": project, "t": tasks, "u": worker, "s": list(STATUSES)},
            )
    finally:
        engine.dispose()
    return str(project)


@dataclass
class OurApp:
    proc: Any
    url: str


@contextmanager
def our_app(st: Stack, workers: int, *, backend_only: bool) -> Iterator[OurApp]:
    port = devstack.free_port()
    env = {
        **os.environ,
        **frontend_env(),
        "GRANIAN_WORKERS": str(workers),
        "PYTHONUNBUFFERED": "1",
        "PUBLIC_URL": f"http://localhost:{port}",
        "APP_HOST": "127.0.0.1",
        "APP_PORT": str(port),
        "MAIL_BACKEND": "outbox",
    }
    if backend_only:
        proc = start_reflex(ROOT, port, env, st.root / "ours.log")
    else:
        proc = _start_full(port, env, st.root / "ours.log")
    try:
        yield OurApp(proc, f"http://localhost:{port}")
    finally:
        devstack.stop_process_group(proc)


def _start_full(port: int, env: dict[str, str], log_path: Path) -> Any:
    import subprocess
    import urllib.request

    command = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-host", "127.0.0.1"]
    command += ["--backend-port", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.5)
    devstack.stop_process_group(proc)
    raise RuntimeError(f"the app did not answer within 300 s; see {log_path}")


def worker_cookie(url: str) -> str:
    import httpx

    response = httpx.post(
        f"{url}/api/auth/login", data={"email": "worker@acme.example.com", "password": "demo-worker-password"}
    )
    cookie = response.cookies.get("wd_session")
    if response.status_code != 303 or not cookie:
        raise RuntimeError(f"login failed: {response.status_code}")
    return cookie


def board_state() -> str:
    from dashboard.features.board.state import BoardState

    return BoardState.get_full_name()


class BoardSocket:
    """One browser-like websocket on a board: `load`, then `send(handler, payload)`; every update that
    arrives is passed to `on_update(data, arrived_at)`."""

    def __init__(self, url: str, cookie: str, project_id: str, on_update: Callable[[Any, float], None] | None = None):
        self.project_id = project_id
        self.state = board_state()
        self.on_update = on_update
        self.answered = threading.Event()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("event", self._on_update, namespace=NAMESPACE)
        for attempt in range(3):
            try:
                self.sio.connect(
                    f"{url}?token={secrets.token_hex(16)}",
                    socketio_path="/_event",
                    transports=["websocket"],
                    headers={"Cookie": f"wd_session={cookie}"},
                    namespaces=[NAMESPACE],
                    wait_timeout=20,
                )
                break
            except socketio.exceptions.ConnectionError:
                if attempt == 2:
                    raise
                time.sleep(1)

    def _on_update(self, data: Any) -> None:
        now = time.perf_counter()
        if isinstance(data, dict) and self.state in (data.get("delta") or {}):
            self.answered.set()
        if self.on_update is not None:
            self.on_update(data, now)

    def send(self, handler: str, payload: dict[str, Any] | None = None, *, wait: bool = True) -> float:
        self.answered.clear()
        path = f"/projects/{self.project_id}/board"
        router_data = {"pathname": path, "asPath": path, "query": {"project_id": self.project_id}}
        start = time.perf_counter()
        self.sio.emit(
            "event",
            {"name": f"{self.state}.{handler}", "payload": payload or {}, "router_data": router_data},
            namespace=NAMESPACE,
        )
        if wait and not self.answered.wait(timeout=60):
            raise RuntimeError(f"no answer to {handler} within 60 s")
        return time.perf_counter() - start

    def close(self) -> None:
        self.sio.disconnect()


__all__ = ["BoardSocket", "add_project", "manager_cookie", "our_app", "stack", "worker_cookie"]
