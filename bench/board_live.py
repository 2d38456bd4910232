"""How fast a move reaches everyone on the board: N viewers (default 50) on one board, served by two
app processes (Granian workers, Reflex's Redis state manager), while one more client moves a card
back and forth between two columns. For each move and each viewer: the time from sending the move
to the viewer receiving the update that shows the card in its new column. Target (issue 8): p95
<= 1 s with 50 viewers.

Baseline in the same run: the mover's own answer (the round trip of the move event itself), which
no broadcast can beat.

    .venv/bin/python bench/board_live.py [--viewers 50] [--moves 30] [--workers 2] [--tasks 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text

from bench.board_common import BoardSocket, add_project, board_state, manager_cookie, our_app, stack, worker_cookie

COLUMNS = ("todo", "in_progress")


class Viewer:
    def __init__(self, url: str, cookie: str, project: str) -> None:
        self.lock = threading.Lock()
        self.waiting: tuple[str, str, float] | None = None  # (card, column var, sent at)
        self.samples: list[float] = []
        self.socket = BoardSocket(url, cookie, project, self.on_update)
        self.state = board_state()

    def expect(self, card: str, column: str, sent_at: float) -> None:
        with self.lock:
            self.waiting = (card, f"cards_{column}_rx_state_", sent_at)

    def on_update(self, data: Any, arrived: float) -> None:
        with self.lock:
            if self.waiting is None or not isinstance(data, dict):
                return
            card, var, sent_at = self.waiting
            cards = ((data.get("delta") or {}).get(self.state) or {}).get(var)
            if isinstance(cards, list) and any(isinstance(c, dict) and c.get("id") == card for c in cards):
                self.samples.append(arrived - sent_at)
                self.waiting = None

    def missed(self) -> bool:
        with self.lock:
            missed = self.waiting is not None
            self.waiting = None
            return missed


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--moves", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between moves")
    args = parser.parse_args()

    with stack() as st:
        project = add_project(st.urls, "LIVE", args.tasks)
        engine = create_engine(st.urls.database_url)
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL app.rls_bypass = 'on'"))
            card = str(
                conn.execute(
                    text("SELECT id FROM tasks WHERE project_id = :p AND status = 'todo' ORDER BY position LIMIT 1"),
                    {"p": project},
                ).scalar_one()
            )
        engine.dispose()
        with our_app(st, args.workers, backend_only=True) as app:
            viewer_cookie = worker_cookie(app.url)
            viewers = [Viewer(app.url, viewer_cookie, project) for _ in range(args.viewers)]
            for viewer in viewers:
                viewer.socket.send("load")
            mover = BoardSocket(app.url, manager_cookie(app.url), project)
            mover.send("load")
            time.sleep(2)  # every follower subscribed
            own: list[float] = []
            missed = 0
            for i in range(args.moves):
                column = COLUMNS[(i + 1) % 2]
                sent_at = time.perf_counter()
                for viewer in viewers:
                    viewer.expect(card, column, sent_at)
                key = "ArrowRight" if column == "in_progress" else "ArrowLeft"
                own.append(mover.send("key_move", {"task_id": card, "key": key}))
                time.sleep(args.pause)
                missed += sum(viewer.missed() for viewer in viewers)
            samples = [s for v in viewers for s in v.samples]
            for viewer in viewers:
                viewer.socket.close()
            mover.close()
    print(
        f"{args.viewers} viewers on one board of {args.tasks} tasks, {args.workers} app processes, {args.moves} moves"
    )
    print(f"mover's own answer:  p50 {statistics.median(own) * 1000:7.1f} ms   p95 {pct(own, 95) * 1000:7.1f} ms")
    if samples:
        print(
            f"reaching the others: p50 {statistics.median(samples) * 1000:7.1f} ms   p95 {pct(samples, 95) * 1000:7.1f} ms"
            f"   max {max(samples) * 1000:7.1f} ms   ({len(samples)} deliveries, {missed} not within {args.pause:.1f} s)"
        )
    target = "met" if samples and pct(samples, 95) <= 1.0 and not missed else "NOT met"
    print(f"target p95 <= 1 s: {target}")


if __name__ == "__main__":
    main()
