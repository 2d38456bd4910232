"""The app's web server as `make run` and `make serve` start it (through devtools/supervisor.py):
Reflex's production backend, Granian, with the pages, the websocket, /ping and the API on one port.

scripts/serve.py has already built the frontend with `reflex export`, in a process that has exited.
`reflex run --env prod` would compile the pages in this very process and then fork the Granian
workers from it, so every worker would inherit what the compiler left in memory: about 45 MB PSS
more for two workers after use (bench/memory.py). Here the process only imports the app, then forks.

It does what `reflex run --env prod` does after its compile step (reflex 0.10.1, `_run_prod` in
reflex/reflex.py; tests/unit/test_app_server.py checks the calls still exist): production mode, no
compile in the workers (they read the stateful-pages marker the build wrote, as with
`--backend-only`), the built pages mounted on the backend's port. Host, port and log level come from
the REFLEX_* variables scripts/serve.py sets, the way `reflex run` passes them to its workers.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reflex.utils import exec as reflex_exec  # noqa: E402
from reflex_base import constants  # noqa: E402
from reflex_base.config import get_config  # noqa: E402
from reflex_base.environment import environment  # noqa: E402

MMAP_THRESHOLD = 1 << 20  # bytes
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def fixed_mmap_threshold() -> None:
    """Blocks of 1 MiB and more (an upload's S3 parts, services/core/storage.py) get memory of their
    own, returned when freed. glibc's default raises the threshold after the first such free, and
    8 MiB parts then stay behind in the threads' arenas: bench/upload.py measured a 200 MB upload
    raising a worker's RSS by 80-150 MB in some runs, against a steady ~35 MB with this setting.
    Same as MALLOC_MMAP_THRESHOLD_=1048576; the Granian workers inherit it (fork)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def main() -> None:
    fixed_mmap_threshold()
    os.chdir(ROOT)  # Reflex reads rxconfig.py and .web/ from the working directory
    environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
    environment.REFLEX_SKIP_COMPILE.set(True)  # inherited by the workers
    config = get_config()
    host, port = config.backend_host, config.backend_port
    if port is None:
        sys.exit("error: REFLEX_BACKEND_PORT is not set (start the app with `make run` or `make serve`)")
    reflex_exec.notify_app_running()
    reflex_exec.notify_frontend(f"http://{host}:{port}", backend_present=True)
    reflex_exec.run_backend_prod(
        host,
        port,
        config.loglevel.subprocess_level(),
        mount_frontend_compiled_app=True,
    )


if __name__ == "__main__":
    main()
