"""The small process that stays behind while `make run` / `make serve` runs: it starts the app, waits,
and on Ctrl-C (SIGINT), SIGTERM or SIGHUP stops the app and then the embedded servers, in that order.

Why a separate program: `scripts/serve.py` needs SQLAlchemy, Alembic, the models and the servers'
client libraries to start the servers, migrate and seed (about 100 MB). It then replaces itself
(exec, same pid, same terminal) with this module run by a bare interpreter (`python -I -S`, about
4 MB), which only has to wait for hours. Only the standard library is imported here, on purpose.

    python -I -S devtools/supervisor.py [--server NAME:PID:SIGNAME]... -- APP_COMMAND...

Contract with the caller:
- every `--server` is already a child of this process (started before the exec) and leads its own
  process group; they are stopped in the order given, each with its signal (PostgreSQL: SIGINT);
- SIGINT, SIGTERM, SIGHUP and SIGCHLD arrive blocked (the caller blocks them before the exec, so a
  Ctrl-C during the hand-over waits here instead of killing a half-started stack);
- the app is started in its own session with no signal blocked; when it exits on its own, the
  servers are stopped too and its exit code is returned; after a requested stop the code is 0.

`stop_group` is also what the tests and `devtools.devstack` use to stop a process tree.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_GRACE_S = 20.0  # then SIGKILL; PostgreSQL's fast shutdown and Granian's drain fit well within it
KILL_GRACE_S = 5.0


def stop_group(
    leader: int, first: int = signal.SIGTERM, *, reap: Callable[[], object], grace: float = STOP_GRACE_S
) -> None:
    """Stop process `leader` and everything in its process group: `first`, then SIGKILL after `grace`.

    Returns once the whole group is gone (a leader can exit while its workers still wind down).
    `reap` collects the leader once it has exited (a zombie still counts as a member of its group).
    """
    for sig, wait in ((first, grace), (signal.SIGKILL, KILL_GRACE_S)):
        try:
            os.killpg(leader, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            reap()
            try:
                os.killpg(leader, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def _reap_children(exit_codes: dict[int, int]) -> None:
    """Collect every child that has exited, recording its exit code (negative: killed by a signal)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        exit_codes[pid] = os.waitstatus_to_exitcode(status)


def _parse(argv: list[str]) -> tuple[list[tuple[str, int, int]], list[str]]:
    usage = "usage: supervisor.py [--server NAME:PID:SIGNAME]... -- APP_COMMAND..."
    if "--" not in argv:
        raise SystemExit(usage)
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    if len(options) % 2:
        raise SystemExit(usage)
    servers = []
    for flag, value in zip(options[::2], options[1::2], strict=True):
        if flag != "--server":
            raise SystemExit(f"supervisor: unknown option {flag}")
        name, pid, sig = value.split(":")
        servers.append((name, int(pid), int(signal.Signals[sig])))
    if not command:
        raise SystemExit("supervisor: no app command")
    return servers, command


def main(argv: list[str]) -> int:
    servers, command = _parse(argv)
    waited = {*STOP_SIGNALS, signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    exit_codes: dict[int, int] = {}

    def reap() -> None:
        _reap_children(exit_codes)

    try:
        # A new session keeps the terminal's Ctrl-C away from the app: the stop order is ours to decide.
        app: int | None = os.posix_spawn(command[0], command, os.environ, setsid=True, setsigmask=())
    except OSError as exc:
        sys.stderr.write(f"error: cannot start {command[0]}: {exc}\n")
        app = None
    stop_requested = False
    while app is not None and app not in exit_codes:
        if signal.sigwaitinfo(waited).si_signo in STOP_SIGNALS:
            stop_requested = True
            break
        reap()  # SIGCHLD: the app, or a server that died (stopping its empty group later is a no-op)
    groups = [(pid, sig) for _name, pid, sig in servers]
    if app is not None:
        groups.insert(0, (app, signal.SIGTERM))  # the app first: it holds connections to the servers
    for leader, sig in groups:
        stop_group(leader, sig, reap=reap)
    if app is None:
        return 1
    return 0 if stop_requested else exit_codes[app]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
