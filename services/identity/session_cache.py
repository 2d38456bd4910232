"""A short per-process cache of resolved sessions, dropped on every process when a session is revoked.

Why: every guarded handler call and HTTP route turns the session cookie into an Actor
(`services.identity.resolve_actor`). From the database that is a system-scope transaction of several
round trips (about 2 ms); from this cache it is a dictionary lookup (microseconds).

What is cached, per process, keyed by the token's SHA-256 (the raw token is never kept): the Actor
(without the request's ip and user agent, which the caller puts in on every hit), the session's id and
`valid_until`, the earliest of the session's absolute expiry, its idle expiry and the moment its
`last_seen_at` is due for a refresh (once a minute, LAST_SEEN_EVERY). Only a session the database
found active is cached: unknown, expired and revoked tokens go to the database every time.

A hit needs all three:
1. the subscriber is in sync: the newest PING it got answered was sent less than SYNC_LIMIT_S ago;
2. the entry is younger than HARD_TTL_S (real time): it bounds any change we do not publish (a new
   name, say) to a few seconds;
3. `clock.now() < valid_until`: absolute and idle expiry are enforced on the hit itself, without the
   database; once `last_seen_at` is due, the call goes to the database, which writes it.
Otherwise the caller asks the database and refills the entry (`ticket` before the read, `put` after).

Revocation takes effect on every process within SYNC_LIMIT_S (+ the publish's own latency):
- The functions that revoke sessions (logout, revoke one, log out everywhere, and the
  `revoke_user_sessions` / `revoke_company_sessions` behind a password change, a role change, a user
  or a company deactivation) call `drop_after_commit(session, ids)`. A rollback forgets the ids; after
  the commit this process drops the entries at once, then publishes the ids on CHANNEL.
- Every process runs one subscriber thread (started on first use, again in a forked child) on a Redis
  connection of its own. It drops the entries of every id it receives, and every PING_EVERY_S it sends
  a PING carrying the time it was sent. Redis answers on that connection in order, so the answer to a
  PING sent at t comes after every message published before t: the cache is "in sync as of t". A
  revocation published at T is thus applied by any process that serves from its cache after
  T + SYNC_LIMIT_S. A subscriber that is down, lagging or starved of CPU stops its process from
  serving within SYNC_LIMIT_S: every call then asks the database.
- A lost connection or a (re)subscription clears the whole cache: what was published while we were
  not subscribed is lost.
- A database read that races a revocation cannot put the revoked session back: `put` stores nothing
  if any invalidation arrived since the `ticket` taken before the read.
Left open: if the publish itself fails (Redis unreachable from the revoking process alone), the error
is logged and the other processes may serve the revoked session up to HARD_TTL_S.

Without a Redis URL nothing is ever served from the cache.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import event
from sqlmodel import Session

from services.core import clock
from services.core.actor import Actor
from services.core.errors import ServiceUnavailable
from services.core.redis_client import get_redis, subscriber_client
from services.core.settings import get_settings

log = logging.getLogger(__name__)

CHANNEL = "wd:sessions:revoked"
HARD_TTL_S = 5.0
SYNC_LIMIT_S = 0.5
PING_EVERY_S = 0.1
RECONNECT_DELAY_S = 0.5
SWEEP_EVERY_S = 1.0
MAX_ENTRIES = 50_000
LAST_SEEN_EVERY = timedelta(minutes=1)  # how stale sessions.last_seen_at may get while in use
_PENDING_KEY = "workdash.sessions_to_drop"  # Session.info: ids to drop once the transaction commits


@dataclass(frozen=True, slots=True)
class _Entry:
    actor: Actor
    session_id: uuid.UUID
    valid_until: datetime  # clock.now() time
    dies_at: float  # time.monotonic() time


class SessionCache:
    """One process's cache and its subscriber. Reads take no lock; writes take `_lock`."""

    def __init__(self, redis_url: str | None, *, channel: str = CHANNEL) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._synced_at = -math.inf  # monotonic send time of the newest answered PING
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> SessionCache:
        if self.redis_url and self._thread is None:
            self._thread = threading.Thread(target=self._listen_forever, name="session-cache", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._lose_sync()

    @property
    def in_sync(self) -> bool:
        return time.monotonic() - self._synced_at < SYNC_LIMIT_S

    def wait_in_sync(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.in_sync:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def __len__(self) -> int:
        return len(self._entries)

    # ---- lookups ----

    def get(self, token_hash: str) -> Actor | None:
        """The cached Actor of a session, or None: not cached, expired, or the cache is not in sync."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        now = time.monotonic()
        if now - self._synced_at >= SYNC_LIMIT_S or now >= entry.dies_at or clock.now() >= entry.valid_until:
            return None  # the sweep removes it; popping here could remove a fresher entry put meanwhile
        return entry.actor

    def ticket(self) -> int:
        """Take before reading the session from the database; give to `put`."""
        return self._generation

    def put(self, token_hash: str, ticket: int, *, actor: Actor, session_id: uuid.UUID, valid_until: datetime) -> None:
        entry = _Entry(actor, session_id, valid_until, time.monotonic() + HARD_TTL_S)
        with self._lock:
            if ticket != self._generation or not self.in_sync:
                return  # something was revoked since the read (or we cannot tell): do not cache it
            if len(self._entries) >= MAX_ENTRIES:
                self._sweep_locked()
                if len(self._entries) >= MAX_ENTRIES:
                    return
            self._entries[token_hash] = entry

    # ---- invalidation ----

    def drop(self, session_ids: Iterable[uuid.UUID]) -> None:
        ids = set(session_ids)
        with self._lock:
            self._generation += 1
            for key in [key for key, entry in self._entries.items() if entry.session_id in ids]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def _sweep_locked(self) -> None:
        now = time.monotonic()
        for key in [key for key, entry in self._entries.items() if entry.dies_at <= now]:
            del self._entries[key]

    def _lose_sync(self) -> None:
        self._synced_at = -math.inf
        self.clear()

    # ---- the subscriber thread ----

    def _listen_forever(self) -> None:
        url, reported = self.redis_url, False
        while url and not self._stopping.is_set():
            try:
                self._listen(url)
            except (redis.RedisError, OSError) as exc:
                if not reported or self._synced_at > -math.inf:  # once per outage, not once per retry
                    log.warning("session cache: no Redis pub/sub (%s); sessions are read from the database", exc)
                reported = True
            finally:
                self._lose_sync()
            self._stopping.wait(RECONNECT_DELAY_S)

    def _listen(self, url: str) -> None:
        client = subscriber_client(url)
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            next_ping = next_sweep = time.monotonic()
            while not self._stopping.is_set():
                now = time.monotonic()
                if now >= next_ping:
                    pubsub.ping(repr(now))
                    next_ping = now + PING_EVERY_S
                if now >= next_sweep:
                    with self._lock:
                        self._sweep_locked()
                    next_sweep = now + SWEEP_EVERY_S
                message = pubsub.get_message(timeout=max(0.0, next_ping - time.monotonic()))
                if message is not None:
                    self._handle(message)
        finally:
            pubsub.close()
            client.close()

    def _handle(self, message: dict[str, Any]) -> None:
        kind, data = message.get("type"), message.get("data")
        if kind == "subscribe":
            self.clear()  # from here on nothing is missed; before, anything may have been
        elif kind == "pong":
            try:
                sent = float(data)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return
            self._synced_at = max(self._synced_at, sent)
        elif kind == "message":
            try:
                ids = [uuid.UUID(part) for part in str(data).split()]
            except ValueError:
                log.error("session cache: unreadable invalidation %r; dropping every entry", data)
                self.clear()
                return
            self.drop(ids)


# ---- the process's cache ----------------------------------------------------------------------

_process_cache: SessionCache | None = None
_process_lock = threading.Lock()


def process_cache() -> SessionCache:
    """This process's cache, created (and its subscriber started) on first use."""
    cache = _process_cache
    if cache is not None:
        return cache
    return _create_process_cache()


def started_process_cache() -> SessionCache | None:
    """This process's cache if something has created it already (no thread started, no I/O)."""
    return _process_cache


def _create_process_cache() -> SessionCache:
    global _process_cache  # one per process, by design
    with _process_lock:
        if _process_cache is None:
            _process_cache = SessionCache(get_settings().redis_url).start()
        return _process_cache


def _forget_in_child() -> None:
    """A forked child has the parent's entries but not its subscriber thread: start afresh."""
    global _process_cache, _process_lock
    _process_cache = None
    _process_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)


# ---- revocation hooks -------------------------------------------------------------------------


def drop_after_commit(session: Session, session_ids: Iterable[uuid.UUID]) -> None:
    """Once `session`'s transaction commits, drop these sessions from every process's cache."""
    pending: set[uuid.UUID] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = set()
        event.listen(session, "after_commit", _publish_pending)
        event.listen(session, "after_rollback", _forget_pending)
    pending.update(session_ids)


def _publish_pending(session: Session) -> None:
    pending: set[uuid.UUID] = session.info.get(_PENDING_KEY) or set()
    if not pending:
        return
    ids = set(pending)
    pending.clear()
    if _process_cache is not None:
        _process_cache.drop(ids)  # this process at once, without waiting for its own message
    try:
        get_redis().publish(CHANNEL, " ".join(sorted(str(i) for i in ids)))
    except (redis.RedisError, OSError, ServiceUnavailable):
        # The revocation is committed; other processes drop it when their entry ages out (HARD_TTL_S).
        log.exception("session cache: could not publish %d revoked session(s)", len(ids))


def _forget_pending(session: Session) -> None:
    pending: set[uuid.UUID] | None = session.info.get(_PENDING_KEY)
    if pending:
        pending.clear()
