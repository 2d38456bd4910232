"""Does slow handler work stall the other websockets of an app worker? (issue 6, part 5)

Starts the embedded PostgreSQL, Redis and S3 (a temp dir), migrates and seeds the demo data, starts
an SMTP server that answers each message only after `--smtp-delay` seconds (aiosmtpd), then the app
itself (`reflex run --env prod`, as the browser tests do; ONE Granian worker by default, so every
socket below shares one event loop). Then six websockets, each with its own client token:
- four signed-in users each loop a password change (two argon2 hashes and a few queries per call);
- a manager loops resending an invitation (the handler waits for the slow SMTP server);
- the sixth, anonymous, measures the round trip of its language switch (`UIState.set_language`):
  from sending the event to receiving its update.
Idle phases (the load sockets connected but silent) and loaded phases alternate `--rounds` times,
so both see the same machine. Prints the sixth socket's p50/p95 idle and under load, and the ratio
of the p95s (the target is at most 2x).

The code before issue 6 is measured with the same script (its imports fall back to the old layout):
copy it into that checkout's bench/ and run it there.
    .venv/bin/python bench/event_loop.py [--samples 200] [--load-seconds 120] [--rounds 4] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import socketio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

try:
    from devtools.devstack import EmbeddedStack, StackPorts, free_port, free_s3_port, stop_process_group
    from devtools.seed import DEMO_USERS, load_demo_data
    from services.core.db import system_scope
    from services.core.schema import upgrade_head
except ImportError:  # the flat `services/` layout before issue 6, to measure the old code with this script
    from services.db import system_scope  # type: ignore[no-redef]
    from services.devstack import (  # type: ignore[no-redef]
        EmbeddedStack,
        StackPorts,
        free_port,
        free_s3_port,
        stop_process_group,
    )
    from services.schema import upgrade_head  # type: ignore[no-redef]
    from services.seed import DEMO_USERS, load_demo_data  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "/_event"
PASSWORDS = ("Bench-loop-A-7f3k2q9z", "Bench-loop-B-4m8x1w6v")  # alternated after the first change
CHANGERS = (  # one socket each; a password change ends the user's other sessions, so four users
    "worker@acme.example.com",
    "client@acme.example.com",
    "worker@globex.example.com",
    "client@globex.example.com",
)
RESENDER = "manager@acme.example.com"
INVITEE = "bench-invitee@example.com"
START_TIMEOUT_S = 240


# ---- the slow SMTP server ----------------------------------------------------------------------


class _SlowSink:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.received = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay)  # on aiosmtpd's own loop: other SMTP sessions go on meanwhile
        self.received += 1
        return "250 Message accepted for delivery"


# ---- the app -----------------------------------------------------------------------------------


def _frontend_env() -> dict[str, str]:
    """The variables scripts/frontend.sh exports (bun on PATH, project-local caches)."""
    subprocess.run(["bash", str(ROOT / "scripts" / "frontend.sh"), "install"], check=True, cwd=ROOT)
    out = subprocess.run(
        ["bash", "-c", 'eval "$(bash scripts/frontend.sh env)" && env -0'], check=True, cwd=ROOT, capture_output=True
    ).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}:\n{_tail(log_path)}")
        try:
            for path in ("/ping", "/login"):  # the backend, then the built pages
                httpx.get(url + path, timeout=5, follow_redirects=True).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise RuntimeError(f"the app did not start within {START_TIMEOUT_S} s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def running_app(env: dict[str, str], port: int, log_path: Path) -> Iterator[str]:
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-host", "127.0.0.1"]
    command += ["--backend-port", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_ready(base, proc, log_path)
        yield base
    finally:
        stop_process_group(proc)


def login_cookie(base: str, email: str, password: str) -> str:
    response = httpx.post(f"{base}/api/auth/login", data={"email": email, "password": password}, timeout=60)
    cookie = response.cookies.get("wd_session")
    if response.status_code != 303 or not cookie:
        raise RuntimeError(f"login of {email} failed: {response.status_code} {response.headers.get('location')}")
    return cookie


# ---- websocket clients -------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """Full Reflex names of the states the bench talks to (they differ between code layouts)."""

    ui: str
    auth: str
    account: str
    team: str

    @classmethod
    def find(cls) -> Names:
        import reflex as rx

        import dashboard.dashboard  # noqa: F401  (registers every state)

        found: dict[str, str] = {}
        todo: list[type[rx.State]] = [rx.State]
        while todo:
            state = todo.pop()
            found.setdefault(state.__name__, state.get_full_name())
            todo.extend(state.get_substates())
        return cls(found["UIState"], found["AuthState"], found["AccountState"], found["TeamState"])


def _var(delta: dict[str, Any], state: str, name: str) -> Any:
    values = delta.get(state, {})
    return next((v for k, v in values.items() if k.split("_rx_state_")[0] == name), None)


class Socket:
    """One browser tab: its own client token, optionally our session cookie on the handshake.

    python-socketio's threaded client (the async one needs aiohttp, which the project does not
    install): updates arrive on the client's own thread, stamped on arrival.
    """

    def __init__(self, base: str, names: Names, cookie: str | None = None) -> None:
        self.names = names
        self.lang = "en"  # a fresh token's language
        self._updates: list[tuple[float, dict[str, Any]]] = []
        self._arrived = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("event", self._on_update, namespace=NAMESPACE)
        self.client.connect(
            f"{base}?token={secrets.token_hex(16)}",
            socketio_path="/_event",
            transports=["websocket"],
            headers={"Cookie": f"wd_session={cookie}"} if cookie else {},
            namespaces=[NAMESPACE],
            wait_timeout=10,
        )

    def _on_update(self, data: Any) -> None:
        arrived = time.perf_counter()
        delta = (data.get("delta") or {}) if isinstance(data, dict) else {}
        with self._arrived:
            self._updates.append((arrived, delta))
            self._arrived.notify_all()

    def _emit(self, name: str, payload: dict[str, Any], path: str) -> None:
        router_data = {"pathname": path, "asPath": path, "query": {}}
        self.client.emit("event", {"name": name, "payload": payload, "router_data": router_data}, namespace=NAMESPACE)

    def switch_language(self, path: str = "/login") -> float:
        """Switch en <-> ru; the round trip in seconds. Reflex answers one token's events in order, so
        the switch's update also marks the end of every event sent before it."""
        lang = self.lang = "ru" if self.lang == "en" else "en"
        with self._arrived:
            first = len(self._updates)
        start = time.perf_counter()
        self._emit(f"{self.names.ui}.set_language", {"lang": lang}, path)

        def answered() -> float | None:
            hit = (t for t, delta in self._updates[first:] if _var(delta, self.names.ui, "lang") == lang)
            return next(hit, None)

        with self._arrived:
            if not self._arrived.wait_for(lambda: answered() is not None, timeout=120):
                raise TimeoutError("no answer to the language switch within 120 s")
            return answered() - start  # type: ignore[operator]

    def call(self, handler: str, payload: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
        """Call a handler and wait until it has answered; every var it changed, by state."""
        with self._arrived:
            first = len(self._updates)
        self._emit(handler, payload, path)
        self.switch_language(path)
        merged: dict[str, dict[str, Any]] = {}
        with self._arrived:
            for _, delta in self._updates[first:]:
                for state, values in delta.items():
                    for key, value in values.items():
                        merged.setdefault(state, {})[key.split("_rx_state_")[0]] = value
            del self._updates[:]
        return merged

    def close(self) -> None:
        self.client.disconnect()


# ---- the measurement ---------------------------------------------------------------------------


class Load:
    """The five load sockets' loops, each in its own thread; paused between the measured phases."""

    def __init__(self) -> None:
        self.password_changes = 0
        self.resends = 0
        self.errors: list[str] = []
        self._state = threading.Condition()
        self._running = False
        self._stopped = False
        self._in_flight = 0
        self._threads: list[threading.Thread] = []

    def add(self, loop: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._repeat, args=(loop,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _repeat(self, one_call: Callable[[], None]) -> None:
        while True:
            with self._state:
                self._state.wait_for(lambda: self._running or self._stopped)
                if self._stopped:
                    return
                self._in_flight += 1
            try:
                one_call()
            finally:
                with self._state:
                    self._in_flight -= 1
                    self._state.notify_all()

    def resume(self) -> None:
        with self._state:
            self._running = True
            self._state.notify_all()

    def pause(self) -> None:
        """Stop starting calls and wait for the ones in flight (a resend waits for the slow SMTP server)."""
        with self._state:
            self._running = False
            if not self._state.wait_for(lambda: self._in_flight == 0, timeout=120):
                raise TimeoutError("load calls still running after 120 s")

    def stop(self) -> None:
        with self._state:
            self._stopped = True
            self._state.notify_all()
        for thread in self._threads:
            thread.join(timeout=10)


def password_changer(socket: Socket, demo_password: str, load: Load) -> Callable[[], None]:
    handler = f"{socket.names.account}.change_password"
    current = [demo_password]

    def change() -> None:
        new = PASSWORDS[1] if current[0] == PASSWORDS[0] else PASSWORDS[0]
        form = {"current_password": current[0], "new_password": new, "repeat_password": new}
        outcome = socket.call(handler, {"form_data": form}, "/account").get(socket.names.auth, {})
        if outcome.get("notice_key") == "account.password_changed":
            load.password_changes += 1
            current[0] = new
        else:
            load.errors.append(f"password change: {outcome}")
            time.sleep(1)

    return change


def invitation_resender(socket: Socket, invitation_id: str, load: Load) -> Callable[[], None]:
    handler = f"{socket.names.team}.resend_invitation"

    def resend() -> None:
        outcome = socket.call(handler, {"invitation_id": invitation_id}, "/team").get(socket.names.auth, {})
        if outcome.get("notice_key") == "team.invite_resent":
            load.resends += 1
        else:
            load.errors.append(f"resend: {outcome}")
            time.sleep(1)

    return resend


def pending_invitation(socket: Socket) -> str:
    """Invite someone through the app (its mail goes through the slow server once); the invitation's id."""
    team = socket.names.team
    changed = socket.call(f"{team}.invite", {"form_data": {"email": INVITEE, "role": "worker"}}, "/team")
    if changed.get(socket.names.auth, {}).get("notice_key") != "team.invited":
        raise RuntimeError(f"could not invite: {changed.get(socket.names.auth)}")
    rows = changed.get(team, {}).get("invitations") or []
    return next(str(row["id"]) for row in rows if row.get("email") == INVITEE)


def sample(probe: Socket, count: int, until: float, gap: float) -> list[float]:
    rounds: list[float] = []
    while len(rounds) < count and time.monotonic() < until:
        rounds.append(probe.switch_language())
        time.sleep(gap)
    return rounds


def percentiles(rounds: list[float]) -> tuple[float, float]:
    ordered = sorted(rounds)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000


def measure(base: str, names: Names, cookies: dict[str, str], args: argparse.Namespace) -> None:
    """Idle and loaded phases alternate (`--rounds` of each), so both see the same machine: the
    round trips of a shared machine drift by more than the effect measured here."""
    resender = Socket(base, names, cookies[RESENDER])
    invitation_id = pending_invitation(resender)
    demo_passwords = {u.email: u.password for u in DEMO_USERS}
    changers = [(Socket(base, names, cookies[email]), demo_passwords[email]) for email in CHANGERS[: args.changers]]
    probe = Socket(base, names)
    for socket, _ in changers:  # a tab's first event loads its page first: not part of the load
        socket.switch_language("/account")
    for _ in range(20):  # warm-up of the measuring tab
        probe.switch_language()

    load = Load()
    for socket, password in changers:
        load.add(password_changer(socket, password, load))
    load.add(invitation_resender(resender, invitation_id, load))
    idle: list[float] = []
    loaded: list[float] = []
    per_phase, phase_seconds = -(-args.samples // args.rounds), args.load_seconds / args.rounds
    loaded_seconds = 0.0
    try:
        for _ in range(args.rounds):
            idle += sample(probe, per_phase, time.monotonic() + phase_seconds, args.gap)
            load.resume()
            time.sleep(2)  # every load socket has a call in flight
            started = time.monotonic()
            loaded += sample(probe, per_phase, started + phase_seconds, args.gap)
            loaded_seconds += time.monotonic() - started
            load.pause()
    finally:
        load.stop()
        for socket in (probe, resender, *(s for s, _ in changers)):
            socket.close()

    idle_p50, idle_p95 = percentiles(idle)
    load_p50, load_p95 = percentiles(loaded)
    print(
        f"sixth socket's language switch round trip ({args.workers} app worker(s); load: {len(changers)} sockets"
        f" looping a password change, 1 resending an invitation, SMTP answering after {args.smtp_delay:g} s)"
    )
    print(f"  idle:        p50 {idle_p50:8.1f} ms   p95 {idle_p95:8.1f} ms   (n={len(idle)})")
    print(f"  under load:  p50 {load_p50:8.1f} ms   p95 {load_p95:8.1f} ms   (n={len(loaded)})")
    print(f"  load done in {loaded_seconds:.0f} s: {load.password_changes} password changes, {load.resends} resends")
    print(f"  p95 under load / p95 idle: {load_p95 / idle_p95:.1f}x   (target <= 2x)")
    if load.errors:
        print(f"  {len(load.errors)} load calls failed, first: {load.errors[0]}")


# ---- setup -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200, help="round trips measured idle and under load")
    parser.add_argument("--load-seconds", type=float, default=120, help="at most this long under load in all")
    parser.add_argument("--rounds", type=int, default=4, help="idle and loaded phases, alternating")
    parser.add_argument("--gap", type=float, default=0.1, help="pause between two round trips (s)")
    parser.add_argument("--workers", type=int, default=1, help="app worker processes (GRANIAN_WORKERS)")
    parser.add_argument("--changers", type=int, default=4, choices=range(5), help="sockets looping a password change")
    parser.add_argument("--smtp-delay", type=float, default=5.0, help="the SMTP server's answer delay (s)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="workdash-bench-loop-"))
    stack = EmbeddedStack(root / "stack", StackPorts(free_port(), free_port(), free_s3_port()), persistent=False)
    sink = _SlowSink(args.smtp_delay)
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp_started = False
    try:
        urls = stack.start()
        os.environ.update(urls.environ())
        app_role = make_url(urls.app_database_url).username
        upgrade_head(urls.database_url, app_role=app_role)
        owner = create_engine(urls.database_url)
        with system_scope(owner) as session:  # seeding is system work: every row
            load_demo_data(session)
        owner.dispose()
        smtp.start()
        smtp_started = True
        port = free_port()
        env = {
            **os.environ,
            **_frontend_env(),
            **urls.environ(),
            "ENV": "test",
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "APP_HOST": "127.0.0.1",
            "APP_PORT": str(port),
            "GRANIAN_WORKERS": str(args.workers),
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_STARTTLS": "false",
            "SMTP_USERNAME": "",
            "SMTP_PASSWORD": "",
            # The load resends one invitation over and over: lift the anti-abuse mail quotas so every
            # resend really waits for the slow SMTP server instead of being refused at once.
            "INVITE_MAILS_PER_MANAGER_PER_HOUR": "100000",
            "INVITE_MAILS_PER_COMPANY_PER_DAY": "100000",
            "INVITE_MAILS_PER_ADDRESS_PER_DAY": "100000",
            "MAIL_FROM": "Workdash Bench <no-reply@workdash.example.com>",
            "PYTHONUNBUFFERED": "1",
        }
        names = Names.find()
        log_path = root / "app.log"
        with running_app(env, port, log_path) as base:
            passwords = {u.email: u.password for u in DEMO_USERS}
            cookies = {email: login_cookie(base, email, passwords[email]) for email in (*CHANGERS, RESENDER)}
            measure(base, names, cookies, args)
    finally:
        if smtp_started:
            smtp.stop()
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
