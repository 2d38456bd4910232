"""argon2 work runs one hash at a time per process, in a thread of lowered priority
(services/core/passwords.py): a burst of logins must not starve the event loop of CPU."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import pytest

from services.core import passwords


class _SlowHasher:
    """Stands in for argon2: records how many hashes ran at once, where, and at what niceness."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.seen: list[tuple[str, int]] = []  # (thread name, niceness)

    def _work(self) -> None:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) if sys.platform == "linux" else 0
            self.seen.append((threading.current_thread().name, niceness))
        time.sleep(0.02)
        with self.lock:
            self.running -= 1

    def hash(self, password: str) -> str:
        self._work()
        return f"hashed:{password}"

    def verify_and_update(self, password: str, password_hash: str) -> tuple[bool, None]:
        self._work()
        return password_hash == f"hashed:{password}", None


def test_real_hashes_still_verify() -> None:
    stored = passwords.hash_password("violet-harbour-engine-42")
    assert passwords.verify_password("violet-harbour-engine-42", stored)[0]
    assert not passwords.verify_password("violet-harbour-engine-43", stored)[0]
    assert passwords.verify_password("anything", None) == (False, None)


def test_hashes_run_one_at_a_time_in_the_low_priority_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _SlowHasher()
    monkeypatch.setattr(passwords, "hasher", lambda: fake)
    results: list[Any] = []

    def login_burst(i: int) -> None:
        results.append(passwords.verify_password(f"password-{i}", passwords.hash_password(f"password-{i}")))

    callers = [threading.Thread(target=login_burst, args=(i,)) for i in range(6)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert results == [(True, None)] * 6
    assert fake.most_at_once == 1
    assert {name for name, _ in fake.seen} == {"argon2_0"}
    if sys.platform == "linux":
        assert {niceness for _, niceness in fake.seen} == {min(19, os.nice(0) + passwords.HASHING_NICENESS)}
