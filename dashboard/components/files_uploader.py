"""The files panel's upload script (files_uploader.js beside this file) as a module of the built
frontend: `FilesUploaderPlugin` (listed in rxconfig.py) writes it into `.web` at every compile, and
the panel imports it from UPLOADER_IMPORT. Bundled like the app's own code, it is covered by the
Content-Security-Policy's script-src 'self' (no inline script). No state is imported here: rxconfig
loads this module before the app.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reflex.plugins import Plugin

UPLOADER_FILE = Path("files") / "uploader.js"  # inside .web
UPLOADER_IMPORT = "$/" + UPLOADER_FILE.with_suffix("").as_posix()
UPLOADER_SOURCE = Path(__file__).with_suffix(".js")


class FilesUploaderPlugin(Plugin):
    """Writes the uploader module into `.web` whenever Reflex compiles the frontend."""

    def get_static_assets(self, **context: Any) -> Sequence[tuple[Path, str | bytes]]:
        return [(UPLOADER_FILE, UPLOADER_SOURCE.read_text(encoding="utf-8"))]
