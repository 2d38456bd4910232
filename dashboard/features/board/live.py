"""One Redis subscriber per app process that hands board news to the viewers this process serves.

Every viewer of a board runs a background handler (BoardState.follow) that waits on its own queue
here; the hub, a single asyncio task on the process's event loop with one pub/sub connection,
subscribes to the pattern of every board channel (services/work/live.py) and puts each message's task
ids into the queues of that project's viewers. So a change made on any process reaches every viewer
on every process, with one Redis connection per process whatever the number of viewers.

Messages carry ids only; each viewer re-reads the cards with its own Actor and filters. A lost Redis
connection is retried every RECONNECT_S; viewers then get a `None` ("you may have missed news":
reload the counts and the cards you show), so nothing is silently stale.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import redis.asyncio as aioredis

from services.core.settings import get_settings
from services.work import BOARD_CHANNEL_PREFIX, board_of_channel, parse_board_news

log = logging.getLogger(__name__)

RECONNECT_S = 0.5
QUEUE_SIZE = 256  # a viewer that falls this far behind reloads instead (a None in its queue)

News = list[uuid.UUID] | None  # task ids, or None: reload everything


class BoardHub:
    def __init__(self) -> None:
        self._viewers: dict[uuid.UUID, dict[asyncio.Queue[News], str]] = {}  # queue -> its viewer's origin
        self._following: dict[str, str] = {}  # viewer origin -> the ticket of the follower running for it
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def join(self, project_id: uuid.UUID, origin: str) -> asyncio.Queue[News]:
        """A queue of this project's news for one viewer, leaving out the news of its own changes
        (`origin`, see services.work.news_origin); call `leave` when done."""
        self._ensure_running()
        queue: asyncio.Queue[News] = asyncio.Queue(QUEUE_SIZE)
        self._viewers.setdefault(project_id, {})[queue] = origin
        return queue

    def leave(self, project_id: uuid.UUID, queue: asyncio.Queue[News]) -> None:
        viewers = self._viewers.get(project_id)
        if viewers is not None:
            viewers.pop(queue, None)
            if not viewers:
                del self._viewers[project_id]

    def claim(self, origin: str, ticket: str) -> bool:
        """Whether a follower `ticket` may run for this viewer: one per viewer and ticket, so a client
        that replays the follow event cannot start a crowd of them."""
        if self._following.get(origin) == ticket:
            return False
        self._following[origin] = ticket
        return True

    def release(self, origin: str, ticket: str) -> None:
        if self._following.get(origin) == ticket:
            del self._following[origin]

    def viewers(self, project_id: uuid.UUID) -> int:
        return len(self._viewers.get(project_id, ()))

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            self._loop = loop
            self._task = loop.create_task(self._listen_forever(), name="board-news")

    def _deliver(self, project_id: uuid.UUID, news: News, origin: str = "") -> None:
        for queue, own in list(self._viewers.get(project_id, {}).items()):
            if origin and own == origin:
                continue  # the viewer's own change: its state already shows it
            try:
                queue.put_nowait(news)
            except asyncio.QueueFull:
                while not queue.empty():  # too far behind: drop the backlog, ask for a reload
                    queue.get_nowait()
                queue.put_nowait(None)

    def _everyone_reloads(self) -> None:
        for project_id in list(self._viewers):
            self._deliver(project_id, None)

    async def _listen_forever(self) -> None:
        url = get_settings().redis_url
        if not url:
            log.warning("board news: no Redis configured; boards update only on reload")
            return
        while True:
            client: Any = aioredis.Redis.from_url(url, decode_responses=True, health_check_interval=10)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.psubscribe(BOARD_CHANNEL_PREFIX + "*")
                    self._everyone_reloads()  # whatever was published while we were not listening
                    while True:
                        message = await pubsub.get_message(timeout=5.0)
                        if message is None or message.get("type") != "pmessage":
                            continue
                        project_id = board_of_channel(str(message["channel"]))
                        if project_id is not None and project_id in self._viewers:
                            task_ids, origin = parse_board_news(str(message["data"]))
                            if task_ids:
                                self._deliver(project_id, task_ids, origin)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: retry; the viewers reload once we are back
                log.exception("board news: subscriber lost its connection")
                await asyncio.sleep(RECONNECT_S)
            finally:
                await client.aclose()


HUB = BoardHub()
