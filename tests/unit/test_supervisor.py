"""devtools/supervisor.py, the process `make run` leaves behind: it stops the app, then the servers in
order, and leaves nothing running, whether the stop comes from Ctrl-C or from the app exiting.

Each case starts a small launcher that does what scripts/serve.py does: it starts fake "servers" in
their own sessions, blocks the stop signals, and execs the supervisor. The fakes write a line when
their stop signal arrives, so the order can be checked.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devtools import supervisor

# A fake process: records its name when `signal` arrives, then exits (or ignores it with "ignore").
FAKE = textwrap.dedent(
    """
    import os, signal, sys, time
    name, log, how = sys.argv[1], sys.argv[2], sys.argv[3]
    def stop(signum, frame):
        with open(log, "a") as out:
            out.write(f"{name} {signal.Signals(signum).name}\\n")
        if how != "ignore":
            sys.exit(0)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    with open(log, "a") as out:
        out.write(f"{name} started\\n")
    if how.startswith("exit"):
        time.sleep(0.5)
        sys.exit(int(how[4:]))
    while True:
        time.sleep(0.1)
    """
)

# What scripts/serve.py does before handing over: servers in their own sessions, signals blocked, exec.
LAUNCHER = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    fake, log, supervisor_path, app_how, interrupt_early = sys.argv[1:6]
    servers = []
    for name, sig in (("s3", "SIGTERM"), ("postgres", "SIGINT")):
        proc = subprocess.Popen([sys.executable, fake, name, log, "run"], start_new_session=True)
        servers += ["--server", f"{name}:{proc.pid}:{sig}"]
    def started():
        try:
            with open(log) as lines:
                return sum(line.strip().endswith("started") for line in lines)
        except FileNotFoundError:
            return 0
    while started() < 2:
        time.sleep(0.05)  # the fakes' handlers are in place: their stop signal gets logged
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD})
    if interrupt_early == "yes":  # a Ctrl-C that lands during the hand-over
        os.kill(os.getpid(), signal.SIGINT)
    app = [sys.executable, fake, "app", log, app_how]
    os.execv(sys.executable, [sys.executable, "-I", "-S", supervisor_path, *servers, "--", *app])
    """
)


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _wait_for(log: Path, count: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while len([line for line in _lines(log) if line.endswith("started")]) < count:
        assert time.monotonic() < deadline, f"fakes did not start: {_lines(log)}"
        time.sleep(0.05)


def _alive(log: Path) -> list[str]:
    """Processes of this test still running: their command line names its log (a zombie's is empty)."""
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if str(log).encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                alive.append(pid)
        except OSError:
            continue
    return alive


Start = Callable[..., tuple[subprocess.Popen[bytes], Path]]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """Starts the launcher; afterwards kills whatever a failing case left running."""
    fake, launcher, log = tmp_path / "fake.py", tmp_path / "launcher.py", tmp_path / "events.log"
    fake.write_text(FAKE)
    launcher.write_text(LAUNCHER)

    def run(app_how: str = "run", interrupt_early: str = "no") -> tuple[subprocess.Popen[bytes], Path]:
        args = [sys.executable, str(launcher), str(fake), str(log), supervisor.__file__, app_how, interrupt_early]
        return subprocess.Popen(args, start_new_session=True), log

    yield run
    for pid in _alive(log):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


def test_ctrl_c_stops_the_app_then_the_servers_in_order(start: Start) -> None:
    proc, log = start()
    _wait_for(log, 3)
    os.kill(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C reaches the supervisor (same pid as the launcher)
    assert proc.wait(timeout=30) == 0
    stops = [line for line in _lines(log) if not line.endswith("started")]
    assert stops == ["app SIGTERM", "s3 SIGTERM", "postgres SIGINT"]
    assert _alive(log) == []


def test_app_exiting_stops_the_servers_and_passes_its_code_on(start: Start) -> None:
    proc, log = start(app_how="exit3")
    assert proc.wait(timeout=30) == 3
    stops = [line for line in _lines(log) if not line.endswith("started")]
    assert stops == ["s3 SIGTERM", "postgres SIGINT"]
    assert _alive(log) == []


def test_a_ctrl_c_during_the_hand_over_is_not_lost(start: Start) -> None:
    proc, log = start(interrupt_early="yes")
    assert proc.wait(timeout=30) == 0
    assert "postgres SIGINT" in _lines(log)
    assert _alive(log) == []


def test_stop_group_kills_what_ignores_its_signal(tmp_path: Path) -> None:
    fake, log = tmp_path / "fake.py", tmp_path / "events.log"
    fake.write_text(FAKE)
    stubborn = subprocess.Popen([sys.executable, str(fake), "stubborn", str(log), "ignore"], start_new_session=True)
    _wait_for(log, 1)
    started = time.monotonic()
    supervisor.stop_group(stubborn.pid, signal.SIGTERM, reap=stubborn.poll, grace=0.5)
    assert stubborn.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5
    assert _lines(log)[-1] == "stubborn SIGTERM"


@pytest.mark.parametrize(
    "argv", [["--"], ["--server", "s3:1:SIGTERM"], ["--bogus", "x", "--", "true"], ["--server", "--", "true"]]
)
def test_bad_arguments_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        supervisor.main(argv)
