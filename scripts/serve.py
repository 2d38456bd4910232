"""One entry point for `make run`, `make serve` (Docker), `make migrate` and `make revision`.

When no external PostgreSQL/Redis/S3 is configured (ENV local or test), the project's own servers
are started under DATA_DIR (default .data/) and stopped again on exit; their data is kept.

    python scripts/serve.py run [--no-seed]   migrate, load demo data, serve the app; Ctrl-C stops all
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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.devstack import EmbeddedStack, StackError, StackPorts, stop_process_group  # noqa: E402
from services.core.settings import get_settings  # noqa: E402


@contextmanager
def backing_services() -> Iterator[EmbeddedStack | None]:
    """Start the embedded servers if needed and point the settings (and child processes) at them."""
    settings = get_settings()
    if not settings.uses_embedded_services:
        yield None
        return
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


def serve_app() -> int:
    """Run Reflex in production mode (one port: frontend, websocket and API); stop it on Ctrl-C/SIGTERM."""
    settings = get_settings()
    command = [
        sys.executable,
        "-m",
        "reflex",
        "run",
        "--env",
        "prod",
        "--backend-host",
        settings.app_host,
        "--backend-port",
        str(settings.app_port),
        "--loglevel",
        "warning",
    ]
    # Reflex starts 2*CPU+1 workers with Redis; one per core is plenty and saves ~120 MB each.
    env = {"GRANIAN_WORKERS": str(max(2, os.cpu_count() or 2)), **os.environ}
    app = subprocess.Popen(command, cwd=ROOT, start_new_session=True, env=env)
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        while app.poll() is None and not stopping:
            time.sleep(0.2)
    finally:
        stop_process_group(app)
    return 0 if stopping else (app.returncode or 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="migrate, load demo data, serve")
    run.add_argument("--no-seed", action="store_true", help="do not load the demo data")
    sub.add_parser("migrate", help="apply migrations")
    sub.add_parser("seed", help="load the demo data")
    revision = sub.add_parser("revision", help="autogenerate a migration")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args()

    try:
        settings = get_settings()
    except ValueError as exc:  # pydantic's ValidationError: a clear message, not a trace
        sys.exit(f"configuration error: {exc}")

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
            return serve_app()
    return 0


if __name__ == "__main__":
    sys.exit(main())
