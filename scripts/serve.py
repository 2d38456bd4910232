"""One entry point for `make run`, `make serve` (Docker), `make migrate` and `make revision`.

When no external PostgreSQL/Redis/S3 is configured (ENV local or test), the project's own servers
are started under DATA_DIR (default .data/) and stopped again on exit; their data is kept.

`run` does the setup here (servers, migrations, demo data, the frontend build), then replaces this
process (exec: same pid, same terminal) with devtools/supervisor.py on a bare interpreter, which
starts the app server (scripts/app_server.py) and stops it, the job worker (`--worker`, which
`make run` passes; in docker compose the worker is its own service) and the servers on Ctrl-C: the process
that waits for hours holds about 4 MB, not the ~100 MB of SQLAlchemy, Alembic and the models that
the setup needed.

    python scripts/serve.py run [--no-seed] [--worker]
                                              migrate, load demo data, serve the app (and run the
                                              job worker); Ctrl-C stops all
    python scripts/serve.py migrate           alembic upgrade head
    python scripts/serve.py revision -m MSG   alembic revision --autogenerate
    python scripts/serve.py seed              load the demo data
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools import supervisor  # noqa: E402 - standard library only
from services.core.settings import get_settings  # noqa: E402

if TYPE_CHECKING:
    from devtools.devstack import EmbeddedStack


@contextmanager
def backing_services() -> Iterator[EmbeddedStack | None]:
    """Start the embedded servers if needed and point the settings (and child processes) at them."""
    settings = get_settings()
    if not settings.uses_embedded_services:
        yield None
        return
    # Only here: production (external servers) never loads the embedded servers' code.
    from devtools.devstack import EmbeddedStack, StackError, StackPorts

    stack = EmbeddedStack(
        settings.data_dir,
        StackPorts(settings.embedded_postgres_port, settings.embedded_redis_port, settings.embedded_s3_port),
        bucket=settings.s3_bucket,
        persistent=True,
    )
    try:
        urls = stack.start()
    except StackError as exc:
        sys.exit(f"error: {exc}")
    os.environ.update(urls.environ())
    get_settings.cache_clear()
    try:
        yield stack
    finally:
        # A second Ctrl-C or a SIGTERM arriving now must not cut the stop short and orphan a server.
        signal.pthread_sigmask(signal.SIG_BLOCK, set(supervisor.STOP_SIGNALS))
        stack.stop()


def migrate() -> None:
    from services.core.schema import upgrade_head

    url = get_settings().resolved_database_url
    if not url:  # backing_services() or the environment sets it; production refuses to start without it
        sys.exit("error: no database configured (DATABASE_URL or POSTGRES_*)")
    upgrade_head(url)
    print("database migrated to head")


def seed() -> None:
    from devtools.seed import load_demo_data
    from services.core.db import system_scope

    with system_scope() as session:  # seeding is system work: the system role sees every row
        inserted = load_demo_data(session)
    print("demo data loaded" if inserted else "demo data already present")


def refuse_unsafe_roles() -> None:
    """Production: stop here, before serving, if a database role could bypass row-level security."""
    from services.core.db_roles import UnsafeDatabaseRole, refuse_unsafe_database

    try:
        refuse_unsafe_database()
    except UnsafeDatabaseRole as exc:
        sys.exit(f"error: {exc}")


def print_banner(with_demo: bool, stack: EmbeddedStack | None) -> None:
    settings = get_settings()
    lines = [
        "",
        f"  Work dashboard is starting at {settings.public_url}",
        f"  environment: {settings.env}",
    ]
    if stack is not None:
        lines.append(f"  data (PostgreSQL, Redis, S3, logs): {stack.root}")
    if with_demo:
        from devtools.seed import DEMO_USERS

        lines.append("  demo logins (email / password):")
        lines += [f"    {u.role.value:<8} {u.email:<30} {u.password}" for u in DEMO_USERS]
    lines += ["  Press Ctrl-C to stop everything.", ""]
    print("\n".join(lines), flush=True)


def build_frontend() -> None:
    """Compile the pages and build the frontend with `reflex export`, in a process that exits, so that
    the app server does not carry the compiler's memory into its workers (scripts/app_server.py)."""
    settings = get_settings()
    port = str(settings.app_port)
    # What `reflex run --backend-host H --backend-port P --loglevel warning` keeps in the environment
    # for its workers; the build writes the port into the pages (the websocket's address).
    os.environ.update(
        {
            "REFLEX_BACKEND_HOST": settings.app_host,
            "REFLEX_BACKEND_PORT": port,
            "REFLEX_FRONTEND_PORT": port,
            "REFLEX_LOGLEVEL": "warning",
        }
    )
    build = [sys.executable, "-m", "reflex", "export", "--env", "prod", "--frontend-only", "--no-zip"]
    if subprocess.run(build, cwd=ROOT, check=False).returncode != 0:
        sys.exit("error: the frontend build failed (reflex export, output above)")


def start_job_worker() -> int:
    """The job worker (services/worker.py) as a child leading its own process group, like the servers:
    the supervisor stops it (SIGTERM: it finishes its running jobs) after the app, before PostgreSQL."""
    command = [sys.executable, "-m", "services.worker"]
    return os.posix_spawn(command[0], command, os.environ, setsid=True, setsigmask=())


def hand_over_to_supervisor(stack: EmbeddedStack | None, *, worker: bool) -> None:
    """Replace this process with devtools/supervisor.py, which runs the app and stops everything on
    Ctrl-C/SIGTERM. Returns only if the exec fails (the caller then stops the servers and the worker)."""
    # Reflex starts 2*CPU+1 workers with Redis; one per core is plenty and saves ~60 MB each.
    os.environ.setdefault("GRANIAN_WORKERS", str(max(2, os.cpu_count() or 2)))
    servers = [f"{name}:{pid}:{sig.name}" for name, pid, sig in stack.running()] if stack else []
    worker_pid = start_job_worker() if worker else None
    if worker_pid is not None:
        servers.insert(0, f"worker:{worker_pid}:SIGTERM")
    argv = [sys.executable, "-I", "-S", supervisor.__file__]
    for server in servers:
        argv += ["--server", server]
    argv += ["--", sys.executable, str(ROOT / "scripts" / "app_server.py")]
    # Blocked signals stay blocked across exec and stay pending: a Ctrl-C during the hand-over is
    # acted on by the supervisor instead of killing a process whose servers would then be orphaned.
    signal.pthread_sigmask(signal.SIG_BLOCK, {*supervisor.STOP_SIGNALS, signal.SIGCHLD})
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter, arguments built above
    finally:
        if worker_pid is not None:  # only reached when the exec failed
            supervisor.stop_group(worker_pid, reap=lambda: os.waitpid(worker_pid, os.WNOHANG))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {*supervisor.STOP_SIGNALS, signal.SIGCHLD})


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="migrate, load demo data, serve")
    run.add_argument("--no-seed", action="store_true", help="do not load the demo data")
    run.add_argument("--worker", action="store_true", help="run the job worker too (make run; compose runs its own)")
    sub.add_parser("migrate", help="apply migrations")
    sub.add_parser("seed", help="load the demo data")
    revision = sub.add_parser("revision", help="autogenerate a migration")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args()

    try:
        settings = get_settings()
    except ValueError as exc:  # pydantic's ValidationError: a clear message, not a trace
        sys.exit(f"configuration error: {exc}")
    # SIGTERM (docker stop, `kill`) and SIGHUP (terminal closed) during the setup unwind like Ctrl-C,
    # so the servers started so far are stopped; the supervisor handles them after the hand-over.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)

    with backing_services() as stack:
        if args.command == "migrate":
            migrate()
        elif args.command == "seed":
            seed()
        elif args.command == "revision":
            subprocess.run(
                [sys.executable, "-m", "alembic", "revision", "--autogenerate", "-m", args.message],
                cwd=ROOT,
                check=True,
            )
        else:
            migrate()
            refuse_unsafe_roles()
            with_demo = not args.no_seed and settings.env != "production"
            if with_demo:
                seed()
            print_banner(with_demo, stack)
            build_frontend()
            hand_over_to_supervisor(stack, worker=args.worker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
