"""Password hashing: argon2id through pwdlib.

argon2 is expensive on purpose: every hash or check takes 64 MiB and a few cores for a good part of
a second. So each process runs them one at a time, in one thread of lowered OS priority (niceness +10;
the lane threads libargon2 starts inherit it). A burst of logins or password changes then queues
up instead of multiplying the memory and starving the event loop, PostgreSQL and Redis of CPU: the
other users' clicks stay fast. Callers block until their turn comes; they run in worker threads,
never on the event loop (dashboard/state/base.py).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_PASSWORD_LENGTH = 12
HASHING_NICENESS = 10  # added to the niceness of the thread that starts it

T = TypeVar("T")


@lru_cache(maxsize=1)
def hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(),))


def _lower_priority() -> None:
    # Linux sets the niceness per thread; raising it needs no privilege (lowering it again would).
    if sys.platform == "linux":
        with contextlib.suppress(OSError):  # a sandbox that forbids it: hashes still run one at a time
            thread = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + HASHING_NICENESS))


@lru_cache(maxsize=1)
def _hashing_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2", initializer=_lower_priority)


# A forked child has none of its parent's threads: it starts its own hashing thread.
os.register_at_fork(after_in_child=_hashing_thread.cache_clear)


def _in_turn(work: Callable[[], T]) -> T:
    return _hashing_thread().submit(work).result()


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """Verified against when the email is unknown, so a miss costs as much time as a hit."""
    return hash_password("dummy-password-for-timing-equality")


def hash_password(password: str) -> str:
    return _in_turn(lambda: hasher().hash(password))


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """(matches, new hash if the stored one uses outdated parameters)."""
    if password_hash is None:
        dummy = dummy_hash()  # computed here: inside the hashing thread it would wait for itself
        _in_turn(lambda: hasher().verify(password, dummy))
        return False, None
    return _in_turn(lambda: hasher().verify_and_update(password, password_hash))
