"""scripts/app_server.py repeats what `reflex run --env prod` does after its compile step. A Reflex
upgrade that renames or reorders those steps must fail here, in `make test`, rather than at the next
`make run` (the browser tests start the app with `reflex run` itself, so they would not notice)."""

from __future__ import annotations

import inspect

from reflex import reflex as reflex_cli
from reflex.utils import exec as reflex_exec
from reflex_base import constants
from reflex_base.environment import environment


def test_the_backend_entry_points_app_server_calls_still_exist() -> None:
    parameters = inspect.signature(reflex_exec.run_backend_prod).parameters
    assert list(parameters)[:3] == ["host", "port", "loglevel"]
    assert "mount_frontend_compiled_app" in parameters
    assert inspect.signature(reflex_exec.notify_frontend).parameters.keys() == {"url", "backend_present"}
    assert callable(reflex_exec.notify_app_running)
    for variable in (environment.REFLEX_SKIP_COMPILE, environment.REFLEX_ENV_MODE):
        assert callable(variable.set) and callable(variable.get)
    assert constants.Env.PROD.value == "prod"


def test_reflex_run_prod_still_compiles_then_serves_the_mounted_build_without_compiling() -> None:
    source = inspect.getsource(reflex_cli._run_prod)
    compile_at = source.index("_compile_app(")
    skip_at = source.index("_skip_compile()")
    serve_at = source.index("exec.run_backend_prod(")
    assert compile_at < skip_at < serve_at, "reflex run --env prod changed its steps: update scripts/app_server.py"
    assert "running_mode.has_frontend()" in source[serve_at:], "the built pages are no longer mounted the same way"
