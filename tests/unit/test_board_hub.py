"""The per-process board hub: who gets which news, without Redis (the listener is not started)."""

from __future__ import annotations

import uuid

from dashboard.features.board.live import QUEUE_SIZE, BoardHub
from tests.run_async import run_async


def hub_without_listener() -> BoardHub:
    hub = BoardHub()
    hub._ensure_running = lambda: None  # type: ignore[method-assign]  # no Redis here
    return hub


def test_news_reaches_the_boards_viewers_but_not_their_author() -> None:
    async def run() -> None:
        hub = hub_without_listener()
        board, other = uuid.uuid4(), uuid.uuid4()
        author, viewer, elsewhere = hub.join(board, "a"), hub.join(board, "b"), hub.join(other, "c")
        task = uuid.uuid4()
        hub._deliver(board, [task], origin="a")
        assert author.empty() and elsewhere.empty()
        assert viewer.get_nowait() == [task]
        hub.leave(board, viewer)
        hub._deliver(board, [task], origin="x")
        assert author.get_nowait() == [task] and viewer.empty()

    run_async(run())


def test_a_viewer_that_falls_behind_is_asked_to_reload() -> None:
    async def run() -> None:
        hub = hub_without_listener()
        board = uuid.uuid4()
        queue = hub.join(board, "slow")
        for _ in range(QUEUE_SIZE + 1):
            hub._deliver(board, [uuid.uuid4()])
        assert queue.qsize() == 1 and queue.get_nowait() is None

    run_async(run())


def test_one_follower_per_viewer_and_id() -> None:
    hub = hub_without_listener()
    assert hub.claim("v", "1") and not hub.claim("v", "1")
    assert hub.claim("v", "2")  # a new load takes over; the old follower ends at its next wake
    hub.release("v", "1")  # the old one's release leaves the new claim alone
    assert not hub.claim("v", "2")
    hub.release("v", "2")
    assert hub.claim("v", "2")
