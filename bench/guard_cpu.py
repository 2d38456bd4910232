"""Server CPU per websocket event: our guarded read handler against a bare Reflex `counter += 1`.

Starts its own PostgreSQL, Redis and S3 (devtools), migrates and seeds a database, then two apps on
this machine, both `reflex run --env prod --backend-only` with the same number of Granian workers
and Reflex's Redis state manager on the same Redis:
- ours, whose event is the home page's `HomeState.load` (guard + the company's project count), called
  by the demo manager, signed in through the real login route (the session cookie rides on the
  handshake). The count comes from services/work/project_count.py's cache when it may answer (one
  Redis MGET on the event loop); with `--miss` every event follows a bump of the generation (as after
  a project or membership change), so each one counts in the database, in a worker thread;
- a bare app written to a temp dir, whose event is `CounterState.increment` (`counter += 1`).
Only the backend runs: the built pages play no part in a websocket event, and skipping the frontend
build keeps the script quick. Each app is driven alone (the other idles) by 1 and by N concurrent
clients, each a socket.io websocket that sends one event and waits for its answer (the state delta)
before sending the next. Printed for each: events/s, p50 latency, server CPU per event (utime+stime
from /proc of the app's whole process tree, before and after the run) and ours/bare; also, for
information only, the CPU that PostgreSQL and Redis spent per event.

Works on older checkouts too (the flat `services/` layout, before `devtools/`): copy it into their
`bench/` and run it with their virtualenv.
    .venv/bin/python bench/guard_cpu.py [--seconds 10] [--clients 1 50] [--workers 2] [--repeat 1] [--miss]
"""

from __future__ import annotations

import argparse
import importlib
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import socketio
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from bench.proctree import tree_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "/_event"
START_TIMEOUT_S = 240.0

BARE_CONFIG = """
import reflex as rx

config = rx.Config(app_name="bare", telemetry_enabled=False, show_built_with_reflex=False)
"""

BARE_APP = """
import reflex as rx


class CounterState(rx.State):
    counter: int = 0

    @rx.event
    def increment(self):
        self.counter += 1


def index():
    return rx.text(CounterState.counter)


app = rx.App()
app.add_page(index)
"""


def first_module(*names: str) -> ModuleType:
    """The first of `names` that imports: the same script runs on the old and the new layout."""
    for name in names:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError(names[-1])


devstack = first_module("devtools.devstack", "services.devstack")
seed = first_module("devtools.seed", "services.seed")


# ---- CPU of process trees ------------------------------------------------------------------------


# ---- the apps ------------------------------------------------------------------------------------


@dataclass
class App:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    event: str  # full handler name
    answer_state: str  # the state whose delta answers the event
    cookie: str | None = None
    before_call: Callable[[], object] | None = None  # the driver's own work before each event (not measured)


def frontend_env() -> dict[str, str]:
    """What scripts/frontend.sh exports (Reflex's dir and caches inside the project)."""
    out = subprocess.run(
        ["bash", "-c", 'eval "$(bash scripts/frontend.sh env)" && env -0'], check=True, cwd=ROOT, capture_output=True
    ).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def start_reflex(cwd: Path, port: int, env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--backend-only"]
    command += ["--backend-host", "127.0.0.1", "--backend-port", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cwd} exited with {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            pass
        time.sleep(0.5)
    devstack.stop_process_group(proc)
    raise RuntimeError(f"{cwd} did not answer /ping within {START_TIMEOUT_S:.0f}s; see {log_path}")


def prepare_database(urls: Any) -> None:
    schema = first_module("services.core.schema", "services.schema")
    db = first_module("services.core.db", "services.db")
    app_role = make_url(urls.app_database_url).username
    schema.upgrade_head(urls.database_url, app_role=app_role)
    engine = create_engine(urls.database_url)
    try:
        with db.system_scope(engine) as session:
            seed.load_demo_data(session)
    finally:
        engine.dispose()


def manager_cookie(url: str) -> str:
    manager = next(u for u in seed.DEMO_USERS if u.role.value == "manager")
    response = httpx.post(f"{url}/api/auth/login", data={"email": manager.email, "password": manager.password})
    cookie = response.cookies.get("wd_session")
    if response.status_code != 303 or not cookie:
        raise RuntimeError(f"login failed: {response.status_code} {response.headers.get('location')}")
    return cookie


def home_load_event() -> tuple[str, str]:
    home = first_module("dashboard.features.home.state", "dashboard.state.home").HomeState
    return f"{home.get_full_name()}.load", home.get_full_name()


def cache_buster() -> Callable[[], object]:
    """An INCR of the project count cache's global generation: the next count is read from the database."""
    redis = first_module("services.core.redis_client").get_redis()
    key = first_module("services.work.project_count").GLOBAL_KEY
    return lambda: redis.incr(key)


def bare_event() -> tuple[str, str]:
    import reflex as rx
    from reflex.utils import format as rx_format

    state = f"{rx.State.get_full_name()}.{rx_format.to_snake_case('bare___bare___CounterState')}"
    return f"{state}.increment", state


# ---- the clients ---------------------------------------------------------------------------------


class Client:
    """One websocket: `call` sends the event and returns once its answer (the delta) is in."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.answered = threading.Event()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("event", self._on_update, namespace=NAMESPACE)
        self.sio.connect(
            f"{app.url}?token={secrets.token_hex(16)}",
            socketio_path="/_event",
            transports=["websocket"],
            headers={"Cookie": f"wd_session={app.cookie}"} if app.cookie else {},
            namespaces=[NAMESPACE],
            wait_timeout=10,
        )

    def _on_update(self, data: Any) -> None:
        if isinstance(data, dict) and self.app.answer_state in (data.get("delta") or {}):
            self.answered.set()

    def call(self) -> float:
        self.answered.clear()
        if self.app.before_call is not None:
            self.app.before_call()
        start = time.perf_counter()
        router_data = {"pathname": "/", "asPath": "/", "query": {}}
        self.sio.emit("event", {"name": self.app.event, "payload": {}, "router_data": router_data}, namespace=NAMESPACE)
        if not self.answered.wait(timeout=30):
            raise RuntimeError(f"{self.app.name}: no answer to {self.app.event} within 30 s")
        return time.perf_counter() - start


@dataclass
class Run:
    app: str
    clients: int
    events: int
    seconds: float
    latencies: list[float] = field(repr=False)
    server_cpu: float
    backing_cpu: float
    driver_cpu: float  # this script's own clients

    @property
    def per_second(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.server_cpu / self.events * 1000

    @property
    def backing_ms(self) -> float:
        return self.backing_cpu / self.events * 1000

    @property
    def driver_ms(self) -> float:
        return self.driver_cpu / self.events * 1000

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000


def drive(app: App, clients: int, seconds: float, backing: list[int], warmup: int = 20) -> Run:
    sockets = [Client(app) for _ in range(clients)]
    try:
        for socket in sockets:
            for _ in range(warmup):
                socket.call()
        latencies: list[list[float]] = [[] for _ in sockets]
        errors: list[Exception] = []
        start = threading.Barrier(clients + 1)
        stop_at = [0.0]

        def loop(index: int) -> None:
            start.wait()
            try:
                while time.perf_counter() < stop_at[0]:
                    latencies[index].append(sockets[index].call())
            except (RuntimeError, socketio.exceptions.SocketIOError) as exc:  # reported after the run
                errors.append(exc)

        threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        cpu_before, backing_before = tree_cpu_seconds([app.proc.pid]), tree_cpu_seconds(backing)
        driver_before = time.process_time()
        began = time.perf_counter()
        stop_at[0] = began + seconds
        start.wait()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        driver = time.process_time() - driver_before
        cpu_after, backing_after = tree_cpu_seconds([app.proc.pid]), tree_cpu_seconds(backing)
        if errors:
            raise errors[0]
        samples = [x for per_socket in latencies for x in per_socket]
        server, backing_cpu = cpu_after - cpu_before, backing_after - backing_before
        return Run(app.name, clients, len(samples), elapsed, samples, server, backing_cpu, driver)
    finally:
        for socket in sockets:
            socket.sio.disconnect()


def report(runs: list[Run]) -> None:
    """Each figure is the median over the repetitions; the ratio's range shows how much they varied."""
    print("\nCPU per event in ms: the app's process tree; for information, PostgreSQL + Redis and this script")
    print(f"{'clients':>7}  {'app':<5} {'events/s':>9} {'p50 ms':>8} {'server CPU':>11} {'PG+Redis':>9} {'driver':>7}")
    for clients in sorted({r.clients for r in runs}):
        of = {name: [r for r in runs if r.clients == clients and r.app == name] for name in ("bare", "ours")}
        for name, group in of.items():

            def median(metric: str, group: list[Run] = group) -> float:
                return statistics.median(getattr(r, metric) for r in group)

            print(
                f"{clients:>7}  {name:<5} {median('per_second'):>9.0f} {median('p50_ms'):>8.1f} "
                f"{median('cpu_ms'):>11.3f} {median('backing_ms'):>9.3f} {median('driver_ms'):>7.3f}"
            )
        ratios = [ours.cpu_ms / bare.cpu_ms for bare, ours in zip(of["bare"], of["ours"], strict=True)]
        ratio = statistics.median(r.cpu_ms for r in of["ours"]) / statistics.median(r.cpu_ms for r in of["bare"])
        spread = f" (runs: {min(ratios):.2f}x to {max(ratios):.2f}x)" if len(ratios) > 1 else ""
        print(f"{'':>7}  ours/bare: server CPU per event {ratio:.2f}x{spread}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured run")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--workers", type=int, default=2, help="Granian workers of each app")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each app and client count (medians)")
    parser.add_argument(
        "--miss",
        action="store_true",
        help="bump the project count's generation before each event of ours: no cache hits",
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="workdash-guard-cpu-"))
    stack = devstack.EmbeddedStack(
        root / "stack",
        devstack.StackPorts(devstack.free_port(), devstack.free_port(), devstack.free_s3_port()),
        persistent=False,
    )
    apps: list[App] = []
    try:
        urls = stack.start()
        os.environ.update(urls.environ())
        os.environ.setdefault("ENV", "test")
        first_module("services.core.settings", "services.settings").get_settings.cache_clear()
        prepare_database(urls)
        backing = [proc.pid for proc in getattr(stack, "_procs", {}).values() if proc.pid]

        common = {**os.environ, **frontend_env(), "GRANIAN_WORKERS": str(args.workers), "PYTHONUNBUFFERED": "1"}
        bare_dir = root / "bare"
        (bare_dir / "bare").mkdir(parents=True)
        (bare_dir / "rxconfig.py").write_text(textwrap.dedent(BARE_CONFIG))
        (bare_dir / "bare" / "__init__.py").write_text("")
        (bare_dir / "bare" / "bare.py").write_text(textwrap.dedent(BARE_APP))
        port = devstack.free_port()
        bare_proc = start_reflex(bare_dir, port, common, root / "bare.log")
        apps.append(App("bare", bare_proc, f"http://localhost:{port}", *bare_event()))

        port = devstack.free_port()
        ours_env = {
            **common,
            "PUBLIC_URL": f"http://localhost:{port}",
            "APP_HOST": "127.0.0.1",
            "APP_PORT": str(port),
            "MAIL_BACKEND": "outbox",
        }
        ours_proc = start_reflex(ROOT, port, ours_env, root / "ours.log")
        ours = App("ours", ours_proc, f"http://localhost:{port}", *home_load_event())
        ours.cookie = manager_cookie(ours.url)
        if args.miss:
            ours.before_call = cache_buster()
        apps.append(ours)

        print(
            f"{os.cpu_count()} CPUs, {args.workers} Granian workers per app, {args.repeat} x {args.seconds:.0f} s runs"
        )
        print(f"bare: {apps[0].event}\nours: {ours.event} (as the demo manager)")
        if args.miss:
            print("ours: every event follows a bump of the project count's generation (a cache miss each time)")
        runs = [
            drive(app, clients, args.seconds, backing)
            for _ in range(args.repeat)
            for clients in args.clients
            for app in apps  # bare, then ours: one pair at a time, so both see the same machine
        ]
        report(runs)
    finally:
        for app in apps:
            devstack.stop_process_group(app.proc)
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
