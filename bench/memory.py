"""Idle memory of the `make run` stack, per process, next to a bare Reflex app with as many workers.

Starts the stack the way `make run` does (`scripts/serve.py run` with the variables of
scripts/frontend.sh), with its own embedded servers on free ports and a throw-away data folder
(first initialised by `scripts/serve.py migrate`, so that the measured start is a restart on
existing data, like most of a developer's starts; --data-dir reuses a folder), or attaches to a
running stack (--attach PID: the launcher's pid, i.e. the `devtools/supervisor.py`
process that `make run` leaves behind). Waits until the app answers /ping and the login page, uses
it the way a person would (headless Chromium, one browser per app worker: the demo manager signs in
and opens the home, team, projects, audit and account pages; skipped with --no-warm or when
Chromium/Playwright are missing), waits until the whole process tree is idle, and reads PSS from
/proc/<pid>/smaps_rollup for every process.

Then, in the same run, it starts the baseline: a bare Reflex app (one counter page, nothing else)
with the same number of Granian workers and the same Redis, used the same way (each browser opens
the page and clicks the counter) and measured the same way. Attached stacks are measured as found
(no demo sign-in into somebody's running app).

PSS divides every shared page among the processes that map it, so per-process numbers add up to the
real footprint of the group. The kernel also divides pages shared with processes outside the group
(another `weed` or `postgres` started from the same binary by a test run, other Python programs), so
on a busy machine PSS reads low. The script therefore also prints "alone": the same sum with each
page divided only among the group's own processes, from the physical frame numbers in
/proc/<pid>/pagemap (root only; without root that column is empty), which is what the group costs
on a machine that runs nothing else, and what the target is checked against.

    .venv/bin/python bench/memory.py                 # start a stack, measure, stop it
    .venv/bin/python bench/memory.py --attach PID    # measure a running `make run`
    options: --settle S (idle wait, default 15), --no-warm, --no-baseline, --data-dir DIR

A started stack builds the frontend for its own port into this checkout's .web/, like every
`reflex run`: a `make run` of the same checkout running at the same time then needs a restart (its
pages would open their websocket on the bench's port). Measure that one with --attach instead.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.proctree import cpu_seconds, stat, tree  # noqa: E402
from devtools.devstack import free_port, free_s3_port  # noqa: E402
from devtools.supervisor import stop_group  # noqa: E402

TARGET_MB = 450
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
DEMO_LOGIN = ("manager@acme.example.com", "demo-manager-password")  # devtools/seed.py
PAGES_AFTER_LOGIN = ("/", "/team", "/projects", "/audit", "/account")
START_TIMEOUT_S = 300.0
IDLE_CPU_FRACTION = 0.02  # of one core, over IDLE_WINDOW_S
IDLE_WINDOW_S = 5.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
PAGE_PRESENT = 1 << 63  # /proc/<pid>/pagemap: bit 63 present, bits 0-54 the frame number
FRAME_MASK = (1 << 55) - 1
FRONTEND_ENV = 'eval "$(bash scripts/frontend.sh env)"'

# The same plugins as rxconfig.py, so both build the same kind of frontend.
BARE_CONFIG = """import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

config = rx.Config(
    app_name="bare",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[rx.plugins.RadixThemesPlugin()],
    disable_plugins=[SitemapPlugin],
)
"""
BARE_APP = """import reflex as rx


class Counter(rx.State):
    count: int = 0

    @rx.event
    def increment(self):
        self.count += 1


def index() -> rx.Component:
    return rx.hstack(rx.text(Counter.count), rx.button("+1", on_click=Counter.increment))


app = rx.App()
app.add_page(index)
"""


@dataclass
class Proc:
    pid: int
    ppid: int
    cmdline: str
    exe: str
    pss_kb: int
    uss_kb: int
    role: str = ""
    alone_kb: int | None = None  # PSS among the measured group only (see the module docstring)


# ---- /proc --------------------------------------------------------------------------------------


def read_proc(pid: int) -> Proc | None:
    try:
        rollup = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    found = stat(pid)
    kb = {key.strip(): int(value.split()[0]) for key, value in rollup.items()}
    return Proc(
        pid=pid,
        ppid=found[0] if found else 0,
        cmdline=cmdline,
        exe=exe,
        pss_kb=kb["Pss"],
        uss_kb=kb["Private_Clean"] + kb["Private_Dirty"],
    )


def _frames(pid: int) -> set[int] | None:
    """Physical frames of the pages `pid` has in memory; None when they cannot be read (not root)."""
    frames: set[int] = set()
    try:
        maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
        with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
            for line in maps:
                start, end = (int(address, 16) for address in line.split()[0].split("-"))
                pagemap.seek(start // PAGE_SIZE * 8)
                try:
                    entries = array("Q", pagemap.read((end - start) // PAGE_SIZE * 8))
                except OSError:  # [vsyscall] and the like
                    continue
                frames.update(entry & FRAME_MASK for entry in entries if entry & PAGE_PRESENT)
    except OSError:
        return None
    return frames if any(frames) else None  # without CAP_SYS_ADMIN every frame number reads 0


def add_pss_alone(procs: list[Proc]) -> None:
    """Fill `alone_kb`: each resident page divided among the processes of `procs` that map it."""
    frames = {p.pid: _frames(p.pid) for p in procs}
    if any(f is None for f in frames.values()):
        return
    users = Counter(frame for found in frames.values() if found for frame in found)
    for p in procs:
        p.alone_kb = round(sum(1 / users[frame] for frame in frames[p.pid] or ()) * PAGE_SIZE / 1024)


def classify(procs: list[Proc], launcher: int | None) -> None:
    app_pids = {
        p.pid
        for p in procs
        if p.pid != launcher
        and Path(p.exe).name.startswith("python")
        and ("scripts/app_server.py" in p.cmdline or " reflex run " in p.cmdline)
    }
    for p in procs:
        name = Path(p.exe).name
        if p.pid == launcher:
            p.role = "launcher"
        elif p.pid in app_pids:
            p.role = "app: workers" if p.ppid in app_pids else "app: main (Granian)"
        elif name == "postgres" or p.cmdline.startswith("postgres:"):
            p.role = "PostgreSQL"
        elif name == "redis-server":
            p.role = "Redis"
        elif name == "weed":
            p.role = "S3 (SeaweedFS)"
        else:
            p.role = "other: " + name


def wait_idle(root: int, settle: float) -> float:
    """Wait `settle` seconds, then until the tree used under 2% of a core for 5 s; returns that share."""
    time.sleep(settle)
    deadline = time.monotonic() + 120
    while True:
        pids = tree(root)
        before = cpu_seconds(pids)
        time.sleep(IDLE_WINDOW_S)
        share = (cpu_seconds(pids) - before) / IDLE_WINDOW_S
        if share < IDLE_CPU_FRACTION or time.monotonic() > deadline:
            return share


def wait_answering(base: str, paths: tuple[str, ...], proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise SystemExit(f"exited with {proc.returncode} while starting:\n{tail}")
        try:
            for path in paths:  # a few requests, so that the workers have served something
                with urllib.request.urlopen(base + path, timeout=5) as response:  # noqa: S310 - our own app on loopback
                    response.read()
            return
        except urllib.error.HTTPError as exc:  # answering, but not as expected: waiting will not help
            raise SystemExit(f"{exc.url} answered {exc.code}") from exc
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    raise SystemExit(f"{base} did not answer within {START_TIMEOUT_S:.0f}s")


def warm_up(base: str, browsers: int, *, sign_in: bool) -> str:
    """Use the app as people would, one browser per worker; returns what was done, for the report."""
    if not Path(CHROMIUM).exists():
        return f"not used ({CHROMIUM} missing)"
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        return "not used (Playwright missing: make install)"
    home = Path(tempfile.mkdtemp(prefix="bench-chromium-"))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
                env={**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home), "XDG_CACHE_HOME": str(home)},
            )
            expect.set_options(timeout=30_000)
            for _ in range(browsers):  # a context each: its own websocket, likely on another worker
                page = browser.new_context().new_page()
                if sign_in:
                    page.goto(base + "/login")
                    expect(page.locator("#hydrated")).to_be_attached()
                    page.fill("#email", DEMO_LOGIN[0])
                    page.fill("#password", DEMO_LOGIN[1])
                    page.click("#login-submit")
                    expect(page.locator("#signed-in-as")).to_be_visible()
                    for path in PAGES_AFTER_LOGIN:
                        page.goto(base + path)
                        expect(page.locator("#hydrated")).to_be_attached()
                else:
                    page.goto(base + "/")
                    page.get_by_role("button", name="+1").click()
                    expect(page.get_by_text("1", exact=True)).to_be_visible()
                page.context.close()
            browser.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if sign_in:
        return f"{browsers} browser(s) signed in and opened {', '.join(PAGES_AFTER_LOGIN)}"
    return f"{browsers} browser(s) opened the page and clicked the counter"


def measure(root: int, launcher: int | None, settle: float) -> tuple[list[Proc], float]:
    share = wait_idle(root, settle)
    procs = [p for pid in tree(root) if (p := read_proc(pid)) is not None]
    classify(procs, launcher)
    add_pss_alone(procs)
    return procs, share


def report(title: str, procs: list[Proc], share: float) -> float:
    """Print the table; returns the total that counts: PSS alone when known, else PSS."""
    print(f"\n{title}  (idle: {share * 100:.1f}% of a core)")
    print(f"  {'role / process':<44} {'PSS MB':>8} {'alone MB':>9} {'USS MB':>8}")
    for role in dict.fromkeys(p.role for p in sorted(procs, key=_role_order)):
        members = [p for p in procs if p.role == role]
        print(f"  {role + f' ({len(members)})':<44} {_columns(members)}")
        for p in sorted(members, key=lambda p: -p.pss_kb):
            print(f"      {p.pid:>7} {p.cmdline[:34]:<34} {_columns([p])}")
    print(f"  {'total':<44} {_columns(procs)}")
    return _mb(procs, alone=all(p.alone_kb is not None for p in procs))


def _mb(procs: list[Proc], *, alone: bool) -> float:
    return sum((p.alone_kb or 0) if alone else p.pss_kb for p in procs) / 1024


def _columns(procs: list[Proc]) -> str:
    alone = f"{_mb(procs, alone=True):9.1f}" if all(p.alone_kb is not None for p in procs) else f"{'-':>9}"
    return f"{_mb(procs, alone=False):8.1f} {alone} {sum(p.uss_kb for p in procs) / 1024:8.1f}"


def _role_order(p: Proc) -> tuple[int, str]:
    order = ["launcher", "app: main", "app: workers", "PostgreSQL", "Redis", "S3"]
    return next((i for i, prefix in enumerate(order) if p.role.startswith(prefix)), len(order)), p.role


# ---- starting things ----------------------------------------------------------------------------


def _shell(command: str, *, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                "bash",
                "-c",
                f"cd {shlex.quote(str(ROOT))} && {FRONTEND_ENV} && cd {shlex.quote(str(cwd))} && exec {command}",
            ],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextlib.contextmanager
def started_stack(data_dir: Path, log: Path) -> Iterator[tuple[int, int]]:
    """`make run` on free ports with its own embedded servers; stopped like a Ctrl-C afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "ENV": "local",
        "DATA_DIR": str(data_dir),
        "APP_PORT": str(port),
        "PUBLIC_URL": f"http://localhost:{port}",
        "EMBEDDED_POSTGRES_PORT": str(free_port()),
        "EMBEDDED_REDIS_PORT": str(free_port()),
        "EMBEDDED_S3_PORT": str(free_s3_port()),
        # The embedded servers, whatever .env says about external ones.
        "DATABASE_URL": "",
        "POSTGRES_HOST": "",
        "REDIS_URL": "",
        "S3_ENDPOINT_URL": "",
    }
    python = shlex.quote(sys.executable)
    if not (data_dir / "credentials.json").exists():
        # Measure what a developer sees every day: servers restarted on existing data (SeaweedFS
        # replays its metadata journal then, PostgreSQL its WAL), not the very first start.
        subprocess.run(
            [sys.executable, "scripts/serve.py", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
        )
    proc = _shell(f"{python} scripts/serve.py run", cwd=ROOT, env=env, log=log)
    try:
        wait_answering(f"http://127.0.0.1:{port}", ("/ping", "/", "/login", "/signup"), proc, log)
        yield proc.pid, port
    finally:
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)  # what Ctrl-C sends; the supervisor stops everything
        try:
            proc.wait(timeout=90)
            print(f"\nstack stopped by SIGINT in {time.monotonic() - started:.1f}s")
        except subprocess.TimeoutExpired:
            print("\nthe stack did not stop within 90s after SIGINT; killing its process group")
            stop_group(proc.pid, signal.SIGKILL, reap=proc.poll)


@contextlib.contextmanager
def started_bare_app(workers: int, redis_url: str, folder: Path) -> Iterator[tuple[int, int]]:
    (folder / "bare").mkdir(parents=True, exist_ok=True)
    (folder / "rxconfig.py").write_text(BARE_CONFIG)
    (folder / "bare" / "__init__.py").write_text("")
    (folder / "bare" / "bare.py").write_text(BARE_APP)
    port = free_port()
    env = {**os.environ, "GRANIAN_WORKERS": str(workers), "REFLEX_REDIS_URL": redis_url}
    log = folder / "bare.log"
    proc = _shell(
        f"{shlex.quote(sys.executable)} -m reflex run --env prod --backend-host 127.0.0.1 --backend-port {port} --loglevel warning",
        cwd=folder,
        env=env,
        log=log,
    )
    try:
        wait_answering(f"http://127.0.0.1:{port}", ("/ping", "/", "/ping"), proc, log)
        yield proc.pid, port
    finally:
        stop_group(proc.pid, reap=proc.poll)


def count_workers(launcher: int) -> int:
    procs = [p for pid in tree(launcher) if (p := read_proc(pid)) is not None]
    classify(procs, launcher)
    return sum(p.role == "app: workers" for p in procs)


def app_environ(procs: list[Proc]) -> dict[str, str]:
    main = next(p for p in procs if p.role.startswith("app: main"))
    raw = Path(f"/proc/{main.pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


# ---- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attach", type=int, metavar="PID", help="measure a running stack (the launcher's pid)")
    parser.add_argument("--settle", type=float, default=15.0, help="seconds to wait before the idle check")
    parser.add_argument("--no-warm", action="store_true", help="measure right after start, without using the app")
    parser.add_argument("--no-baseline", action="store_true", help="skip the bare Reflex app")
    parser.add_argument("--data-dir", type=Path, help="data folder for the started stack (default: a temp dir)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="workdash-bench-memory-"))
    try:
        with contextlib.ExitStack() as running:
            if args.attach:  # measured as it is: no demo sign-in into somebody's running app
                launcher, used = args.attach, "as found"
                title = f"running stack, launcher pid {launcher}"
            else:
                data_dir = args.data_dir or scratch / "data"
                launcher, port = running.enter_context(started_stack(data_dir, scratch / "stack.log"))
                title = f"`make run` stack on port {port}, data in {data_dir}"
                workers = count_workers(launcher)
                used = "not used" if args.no_warm else warm_up(f"http://localhost:{port}", workers, sign_in=True)
            procs, share = measure(launcher, launcher, args.settle)
            workers = sum(p.role == "app: workers" for p in procs)
            total = report(f"{title}: {workers} app workers; app {used}", procs, share)
            basis = "alone" if all(p.alone_kb is not None for p in procs) else "PSS (may read low: not root)"
            print(f"  target: <= {TARGET_MB} MB ({basis}) -> {'met' if total <= TARGET_MB else 'NOT met'}")
            if args.no_baseline:
                return 0
            environ = app_environ(procs)
            redis_url = environ.get("REFLEX_REDIS_URL") or environ.get("REDIS_URL") or ""
            if not redis_url:
                print("\nbaseline skipped: the app runs without Redis (no REFLEX_REDIS_URL in its environment)")
                return 0
            bare_root, bare_port = running.enter_context(started_bare_app(workers, redis_url, scratch / "bare"))
            bare_used = "not used" if args.no_warm else warm_up(f"http://localhost:{bare_port}", workers, sign_in=False)
            bare, bare_share = measure(bare_root, None, args.settle)
            bare_total = report(
                f"baseline: bare Reflex app (a counter page), {workers} workers, same Redis; app {bare_used}",
                bare,
                bare_share,
            )
            app = [p for p in procs if p.role.startswith("app:")]
            app_total = _mb(app, alone=all(p.alone_kb is not None for p in procs + bare))
            print(
                f"\napp processes {app_total:.1f} MB vs bare Reflex {bare_total:.1f} MB "
                f"(+{app_total - bare_total:.1f} MB, x{app_total / bare_total:.2f}); whole stack {total:.1f} MB ({basis})"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
