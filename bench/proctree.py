"""Process trees from /proc, for the benchmarks that measure a whole app (its workers included)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stat(pid: int) -> tuple[int, int] | None:
    """(ppid, user + system CPU ticks) of a process, None when it is gone (the name may hold spaces)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[11]) + int(fields[12])


def tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (found := stat(int(name))) is not None:
            children.setdefault(found[0], []).append(int(name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += children.get(pid, [])
    return pids


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU time (user + system) the given processes have used so far."""
    return sum(found[1] for pid in pids if (found := stat(pid)) is not None) / CLOCK_TICKS


def tree_cpu_seconds(roots: Iterable[int]) -> float:
    """CPU time of every process under `roots`."""
    return cpu_seconds(pid for root in roots for pid in tree(root))
