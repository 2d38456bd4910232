"""Server CPU per card move against a bare Reflex `counter += 1`, side by side in one run.

The move is the board's keyboard move (`BoardState.key_move`, arrow down then up, alternately, on
one card of a 20-task board): the guard, the version check, the one-row write, its audit entry, the
commit, the live news on Redis, and this viewer's own follower re-reading the card. Each client has a
board of its own (a board's news goes to its viewers: fan-out is bench/board_live.py's business).
The bare app, the clients and the CPU reading (the app's whole process tree from /proc) are
bench/guard_cpu.py's. Target (issue 8): ours/bare <= 5x.

    .venv/bin/python bench/board_move_cpu.py [--seconds 10] [--clients 1 4] [--workers 2] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import guard_cpu
from bench.board_common import BoardSocket, add_project, our_app, stack, worker_cookie
from bench.guard_cpu import BARE_APP, BARE_CONFIG, App, bare_event, drive, frontend_env, report, start_reflex
from devtools import devstack


class MoveClient:
    """guard_cpu.Client's interface (`call`, `sio`) for a board viewer that moves one card."""

    boards: list[str] = []  # one project id per client, taken in turn
    cookie = ""

    def __init__(self, app: App) -> None:
        if app.name == "bare":
            self._bare = guard_cpu_client(app)
            self.sio = self._bare.sio
            return
        self._bare = None
        project = MoveClient.boards.pop()
        self.socket = BoardSocket(app.url, MoveClient.cookie, project)
        self.sio = self.socket.sio
        self.socket.send("load")
        self.card = ""
        self.down = True

    def call(self) -> float:
        if self._bare is not None:
            return float(self._bare.call())
        if not self.card:  # the first card of "to do", read from the board's own state after load
            self.card = first_todo_card(self.socket)
        key = "ArrowDown" if self.down else "ArrowUp"
        self.down = not self.down
        return self.socket.send("key_move", {"task_id": self.card, "key": key})


_ORIGINAL_CLIENT = guard_cpu.Client


def guard_cpu_client(app: App) -> Any:
    return _ORIGINAL_CLIENT(app)


def first_todo_card(socket: BoardSocket) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(os.environ["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL app.rls_bypass = 'on'"))
            return str(
                conn.execute(
                    text("SELECT id FROM tasks WHERE project_id = :p AND status = 'todo' ORDER BY position LIMIT 1"),
                    {"p": socket.project_id},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    with stack() as st:
        boards = [add_project(st.urls, f"CPU{i}", 20) for i in range(max(args.clients) * args.repeat * 2)]
        common = {**os.environ, **frontend_env(), "GRANIAN_WORKERS": str(args.workers), "PYTHONUNBUFFERED": "1"}
        bare_dir = st.root / "bare"
        (bare_dir / "bare").mkdir(parents=True)
        (bare_dir / "rxconfig.py").write_text(textwrap.dedent(BARE_CONFIG))
        (bare_dir / "bare" / "__init__.py").write_text("")
        (bare_dir / "bare" / "bare.py").write_text(textwrap.dedent(BARE_APP))
        port = devstack.free_port()
        bare = App(
            "bare",
            start_reflex(bare_dir, port, common, st.root / "bare.log"),
            f"http://localhost:{port}",
            *bare_event(),
        )
        try:
            with our_app(st, args.workers, backend_only=True) as app:
                from bench.board_common import board_state

                ours = App("ours", app.proc, app.url, f"{board_state()}.key_move", board_state())
                MoveClient.cookie = worker_cookie(app.url)
                guard_cpu.Client = MoveClient  # type: ignore[misc,assignment]  # drive() builds its clients by this name
                print(
                    f"{os.cpu_count()} CPUs, {args.workers} Granian workers per app, {args.repeat} x {args.seconds:.0f} s"
                )
                print(f"bare: {bare.event}\nours: {ours.event} (a keyboard move, as the demo worker)")
                runs = []
                for _ in range(args.repeat):
                    for clients in args.clients:
                        MoveClient.boards = list(boards)
                        runs.append(drive(bare, clients, args.seconds, st.backing))
                        runs.append(drive(ours, clients, args.seconds, st.backing))
                report(runs)
        finally:
            devstack.stop_process_group(bare.proc)


if __name__ == "__main__":
    main()
